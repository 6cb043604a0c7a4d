"""The docs pages show what the code has: the run directory's entries (seqlab.rundir.CONTRACT),
the source and config layout, and a README that links every page and stays short."""

from __future__ import annotations

import re
from pathlib import Path

from seqlab.rundir import CONTRACT
from tests.conftest import REPO

DOCS = REPO / "docs"
SRC = REPO / "src"
CONF = REPO / "conf"
README_MAX_LINES = 250


def first_code_block(page: Path, heading: str) -> str:
    """The first fenced code block of the section `heading` (a `## ` line) of `page`."""
    assert page.is_file(), f"{page.relative_to(REPO)} is missing"
    lines = page.read_text().splitlines()
    starts = [i for i, line in enumerate(lines) if line.rstrip() == heading]
    assert starts, f"{page.relative_to(REPO)} has no section {heading!r}"
    section = []
    for line in lines[starts[0] + 1 :]:
        if line.startswith("## "):
            break
        section.append(line)
    fences = [i for i, line in enumerate(section) if line.lstrip().startswith("```")]
    assert len(fences) >= 2, f"{page.relative_to(REPO)}: {heading!r} has no fenced code block"
    return "\n".join(section[fences[0] + 1 : fences[1]])


def names(block: str, name: str) -> bool:
    """Whether `block` has `name` as a word of its own (or the end of a path)."""
    return re.search(rf"(?<![\w.-]){re.escape(name)}(?![\w-])", block) is not None


def source_files() -> list[Path]:
    return sorted(
        path
        for top in ("seqlab", "hydra_plugins")
        for path in (SRC / top).glob("**/*.py")
        if path.name != "__init__.py"
    )


def config_groups() -> list[Path]:
    """Every folder under conf/ that holds yaml files, except local/ and what it holds."""
    return sorted(
        folder
        for folder in CONF.glob("**/")
        if folder != CONF
        and "local" not in folder.relative_to(CONF).parts
        and list(folder.glob("*.yaml"))
    )


def test_runs_page_shows_every_entry_of_the_run_directory_contract():
    run_dir = first_code_block(DOCS / "runs.md", "## Run directory")
    for entry, _ in CONTRACT:
        assert f"── {entry}" in run_dir, f"docs/runs.md's Run directory lacks {entry}"


def test_architecture_page_shows_every_source_file_and_config_group():
    layout = first_code_block(DOCS / "architecture.md", "## Layout")
    for path in source_files():
        assert names(layout, path.name), (
            f"docs/architecture.md's Layout lacks {path.relative_to(REPO)}"
        )
    for group in config_groups():
        assert names(layout, f"{group.name}/"), (
            f"docs/architecture.md's Layout lacks {group.relative_to(REPO)}/"
        )


def test_architecture_page_names_no_source_file_that_is_gone():
    layout = first_code_block(DOCS / "architecture.md", "## Layout")
    existing = {path.name for path in SRC.glob("**/*.py")}
    named = set(re.findall(r"(?<![\w.-])(\w+\.py)(?![\w-])", layout))
    assert named, "docs/architecture.md's Layout names no .py file"
    stale = sorted(named - existing)
    assert not stale, f"docs/architecture.md's Layout names files not under src/: {stale}"


def test_readme_links_every_docs_page():
    readme = (REPO / "README.md").read_text()
    pages = sorted(DOCS.glob("*.md"))
    assert pages, "docs/ holds no pages"
    for page in pages:
        link = rf"\]\(docs/{re.escape(page.name)}(#[^)]*)?\)"
        assert re.search(link, readme), f"README.md does not link docs/{page.name}"


def test_readme_is_at_most_250_lines():
    lines = len((REPO / "README.md").read_text().splitlines())
    assert lines <= README_MAX_LINES, f"README.md has {lines} lines (at most {README_MAX_LINES})"
