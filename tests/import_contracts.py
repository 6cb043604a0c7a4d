"""An import-linter contract type that import-linter lacks: forbidden at module level only.

seqlab's light modules (names, config, the sweep report, the commands' entry points) may
use torch, lightning or matplotlib inside a function that needs them, but must never import
them when they are themselves imported: `--help`, `--cfg job`, a bad command line and
`seqlab-report` would otherwise pay seconds for imports they never use. import-linter's own
`forbidden` contract counts every import wherever it stands; this one leaves out imports in
a function body and under `if TYPE_CHECKING:`.

pyproject.toml registers it (`[tool.importlinter] contract_types`) and states the contract.
"""

from __future__ import annotations

import ast
import importlib.util
from pathlib import Path

from importlinter import Contract, ContractCheck, fields, output


class ModuleLevelForbiddenContract(Contract):
    """Importing any of `source_modules` (or the modules inside them) imports none of
    `forbidden_modules`: not directly, and not through the seqlab modules it imports at
    module level, which run too."""

    type_name = "module_level_forbidden"

    source_modules = fields.ListField(subfield=fields.StringField())
    forbidden_modules = fields.ListField(subfield=fields.StringField())

    def check(self, graph, verbose: bool) -> ContractCheck:
        forbidden = set(self.forbidden_modules)  # type: ignore[arg-type]
        roots = self.source_modules  # type: ignore[union-attr]
        sources = sorted({m for root in roots for m in {root, *graph.find_descendants(root)}})
        broken = []
        for source in sources:
            chain = _forbidden_chain(graph, source, forbidden)
            if chain:
                broken.append(chain)
            output.verbose_print(verbose, f"checked {source}")
        return ContractCheck(kept=not broken, metadata={"broken": broken})

    def render_broken_contract(self, check: ContractCheck) -> None:
        for chain in check.metadata["broken"]:
            output.print_error(f"{chain[0][0]} imports {chain[-1][1]} at module level:")
            output.new_line()
            for importer, imported, line, text in chain:
                output.print_error(f"  {importer}:{line} -> {imported}: {text}")
            output.new_line()


Step = tuple[str, str, int, str]  # importer, imported, line number, line


def _eager_imports(graph, module: str) -> list[Step]:
    """What importing `module` imports at once: its module-level import statements, and
    the packages above each imported module (whose __init__ runs first)."""
    eager = _module_level_import_lines(module)
    steps = []
    for imported in sorted(graph.find_modules_directly_imported_by(module)):
        for detail in graph.get_import_details(importer=module, imported=imported):
            if detail["line_number"] in eager:
                steps.append((module, imported, detail["line_number"], detail["line_contents"]))
                break
    return steps


def _forbidden_chain(graph, source: str, forbidden: set[str]) -> list[Step] | None:
    """The shortest chain of module-level imports from `source` to a forbidden package."""
    seen, queue = {source}, [(source, [])]
    while queue:
        module, path = queue.pop(0)
        for step in _eager_imports(graph, module):
            imported = step[1]
            if imported.split(".", 1)[0] in forbidden:
                return [*path, step]
            parts = imported.split(".")
            for depth in range(1, len(parts) + 1):  # a package's __init__ runs first
                name = ".".join(parts[:depth])
                if (
                    name not in seen
                    and name in graph.modules
                    and not graph.is_module_squashed(name)
                ):
                    seen.add(name)
                    queue.append((name, [*path, step]))
    return None


def _module_level_import_lines(module: str) -> set[int]:
    """Line numbers of the imports that run when `module` is imported: every import
    statement outside function bodies and `if TYPE_CHECKING:` blocks."""
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.origin or not spec.origin.endswith(".py"):
        return set()
    tree = ast.parse(Path(spec.origin).read_text())
    lines: set[int] = set()

    def visit(node: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
                continue  # runs when called, not when imported
            if isinstance(child, ast.If) and _is_type_checking(child.test):
                for orelse in child.orelse:
                    visit(ast.Module(body=[orelse], type_ignores=[]))
                continue
            if isinstance(child, (ast.Import, ast.ImportFrom)):
                lines.add(child.lineno)
            visit(child)

    visit(tree)
    return lines


def _is_type_checking(test: ast.expr) -> bool:
    name = test.attr if isinstance(test, ast.Attribute) else getattr(test, "id", None)
    return name == "TYPE_CHECKING"
