"""Sweep files: a sweep written down in YAML, beyond the grid a command line can give.

`sweep=<name>` picks conf/sweep/<name>.yaml (a config group: its `sweep:` node), and
`sweep_file=<path>` reads a file of the user's own. A file is in one of two forms.

seqlab's form is a *block*; every key is optional:

    fixed:    {key: value}                   set in every setting of the block
    grid:     {key: [values]}                the product of the axes, as -m gives it
    zip:      {key: [values], ...}           keys that move together (or a list of such)
    settings: [{key: value, ...}, ...]       settings written out one by one
    union:    [block, ...]                   sub-sweeps, each with its own axes and values
    when:     [{if: {key: value}, <block>}]  keys swept only where another has a value
    seeds:    3 | [7, 8]                     replicates of every setting (top level only)

A block's settings are the product of its `settings`, `zip` groups and `grid` axes; each is
then joined with every setting of its `union` (the inner value wins), `fixed` goes under
all of them, and each `when` clause expands the settings that match its `if`. `seeds: 3`
gives seed=1,2,3 for every setting. Values are written as Hydra overrides; a grid value
that is a string in Hydra's sweep syntax (`range(1,5)`, `choice(a,b)`) gives its values.

W&B's form (`method`, `parameters`, `metric`, `early_terminate`, `run_cap`) is read as W&B
documents it and mapped onto seqlab's sweepers: grid onto a list of settings for
seqlab_basic, random and bayes onto an Optuna study (`SearchFromFile`). Nothing W&B offers
that seqlab cannot honour is dropped silently: it is refused in one line naming the field.
Nothing here opens a network connection.

A light module: YAML and Hydra's override parser only.
"""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from seqlab.config import ConfigError

BLOCK_KEYS = ("fixed", "grid", "zip", "settings", "union", "when")
SEQLAB_KEYS = ("description", *BLOCK_KEYS, "seeds")
WANDB_KEYS = (
    "method", "parameters", "metric", "early_terminate", "run_cap",
    "program", "command", "name", "description", "project", "entity",
)  # fmt: skip
WANDB_IGNORED = ("name", "description", "project", "entity")  # W&B's server's, not a run's
SEED_KEY = "seed"
Setting = dict[str, str]  # override key (as written, with any +/~ prefix) -> value text


@dataclass(frozen=True)
class SearchFromFile:
    """A W&B random or bayes sweep as seqlab's Optuna sweeper's settings."""

    sampler: str  # random, tpe
    params: dict[str, str]  # key -> search space in Hydra's syntax: choice(...), interval(...)
    n_trials: int | None  # run_cap; None: the sweeper's own n_trials
    pruner: str | None = None  # hyperband, from early_terminate
    pruner_options: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class SweepFile:
    """A sweep file, read and checked: the settings of a grid-like sweep (`settings`), or
    the search it asks for (`search`, with `fixed` values), and the lines to log about it."""

    where: str  # what names it in messages: `sweep=notebook`, or the file's path
    form: str  # seqlab or wandb
    settings: list[Setting] | None  # None for a search
    fixed: Setting = field(default_factory=dict)  # a search's fixed values
    search: SearchFromFile | None = None
    notes: list[str] = field(default_factory=list)
    # A seqlab file as a search space, where it is one: {key: choice(...)}; else the field
    # that keeps it from being one.
    space: dict[str, str] | None = None
    not_searchable: str = ""
    # Why a seqlab file has no settings of a grid (an interval to search, say), if so.
    no_grid: str = ""

    def grid_settings(self) -> list[Setting] | None:
        """The settings a grid-like sweeper runs (None for a W&B search)."""
        if self.settings is None and self.search is None:
            raise ConfigError(self.no_grid)
        return self.settings

    def search_space(self) -> tuple[dict[str, str], Setting]:
        """For the Optuna sweeper: {key: choice(...) or interval(...)} and the fixed values.
        A seqlab file's grid axes become choice() (a Hydra sweep string stays as it is);
        only a grid with fixed values describes a space of independent keys."""
        if self.search is not None:
            return dict(self.search.params), dict(self.fixed)
        if self.space is None:
            raise ConfigError(
                f"{self.where}: {self.not_searchable}: the Optuna sweeper searches a space of "
                "independent keys (grid and fixed only); run this file with "
                "hydra/sweeper=seqlab_basic"
            )
        return dict(self.space), dict(self.fixed)


def override_text(value: Any) -> str:
    """A value as Hydra's override grammar reads it back: 0.1, true, null, 'a b', [1,2]."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(override_text(v) for v in value) + "]"
    if isinstance(value, Mapping):
        return "{" + ",".join(f"{k}:{override_text(v)}" for k, v in value.items()) + "}"
    text = str(value)
    if _BARE.fullmatch(text) and not _reads_as_other_type(text) or _INTERPOLATION.fullmatch(text):
        return text
    # Hydra's quoted strings: a backslash escapes only a quote, or the string's end.
    escaped = re.sub(r"(\\*)'", lambda m: m.group(1) * 2 + "\\'", text)
    escaped = re.sub(r"(\\+)$", lambda m: m.group(1) * 2, escaped)
    return f"'{escaped}'"


_BARE = re.compile(r"[A-Za-z_/][\w./@:+-]*")  # what Hydra reads back as this very string
_INTERPOLATION = re.compile(r"\$\{[^{}'\"\\]+\}")  # ${metric:val/mse}: resolved per job


def _reads_as_other_type(text: str) -> bool:
    """Whether Hydra would read `text`, unquoted, as a bool, null or number."""
    if text.lower() in ("true", "false", "null", "nan", "inf", "+inf", "-inf"):
        return True
    try:
        float(text)
    except ValueError:
        return False
    return True


def bare_key(key: str) -> str:
    """A key without its override prefix: `+model.x` and `++model.x` are `model.x`."""
    return key.lstrip("+~")


# ---------------------------------------------------------------------------------------
# Reading


def read_sweep_file(path: str | Path) -> SweepFile:
    """A file of the user's own (`sweep_file=`), in seqlab's form or W&B's."""
    where = f"sweep_file={path}"
    try:
        text = Path(path).read_text()
    except OSError as e:
        raise ConfigError(f"{where}: cannot be read ({e.strerror or type(e).__name__})") from e
    try:
        # OmegaConf's loader, as Hydra reads conf/sweep/: 1e-3 is a number, as in YAML 1.2.
        from omegaconf._utils import get_yaml_loader

        data = yaml.load(text, Loader=get_yaml_loader())  # noqa: S506 (a safe loader)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        at = f" at line {mark.line + 1}" if mark is not None else ""
        raise ConfigError(f"{where}: not valid YAML{at}") from e
    if not isinstance(data, Mapping):
        raise ConfigError(f"{where}: a sweep file is a mapping (fixed, grid, ... or W&B's form)")
    if "method" in data or "parameters" in data:
        return wandb_sweep(data, where)
    return seqlab_sweep(data, where)


def seqlab_sweep(data: Mapping[str, Any], where: str) -> SweepFile:
    """A sweep in seqlab's form: its settings, seeds included."""
    _known(data, SEQLAB_KEYS, where)
    beyond = [k for k in (*BLOCK_KEYS, "seeds") if k in data and k not in ("fixed", "grid")]
    fixed = _mapping(data.get("fixed") or {}, f"{where}: fixed")
    space = None
    if not beyond:
        grid = _mapping_node(data.get("grid"), f"{where}: grid")
        space = {k: _choice(v) for k, v in grid.items()}
    try:
        settings = block_settings({k: v for k, v in data.items() if k in BLOCK_KEYS}, where)
    except ConfigError as e:
        if space is None or "has no grid points" not in str(e):
            raise
        # A grid with an interval is a search space only (hydra/sweeper=seqlab_optuna).
        return SweepFile(where, "seqlab", None, fixed=fixed, space=space, no_grid=str(e))
    if "seeds" in data:
        seeds = _seeds(data["seeds"], f"{where}: seeds")
        clash = [s for s in settings if SEED_KEY in map(bare_key, s)]
        if clash:
            raise ConfigError(f"{where}: seeds: a setting already sets seed ({_shown(clash[0])})")
        settings = [{**s, SEED_KEY: str(seed)} for s in settings for seed in seeds]
    settings, dropped = _distinct(settings)
    notes = [f"{where}: {dropped} duplicate setting(s) left out"] if dropped else []
    if not settings:
        raise ConfigError(f"{where}: gives no settings")
    return SweepFile(
        where, "seqlab", settings, fixed=fixed, notes=notes, space=space,
        not_searchable=", ".join(beyond),
    )  # fmt: skip


def _choice(values: Any) -> str:
    """A grid axis as a search space: a list is a choice(); Hydra's syntax stays."""
    if isinstance(values, (list, tuple)):
        return "choice(" + ",".join(override_text(v) for v in values) + ")"
    return values if isinstance(values, str) and "(" in values else override_text(values)


def block_settings(
    block: Mapping[str, Any], where: str, outer: list[Setting] | None = None
) -> list[Setting]:
    """The settings of one block (see the module's docstring), each joined onto every
    setting of `outer`, the enclosing block's, whose values its own replace: its `when`
    clauses see the keys a union member inherits too."""
    _known(block, BLOCK_KEYS, where)
    axes: list[list[Setting]] = []
    if "settings" in block:
        listed = block["settings"]
        if not isinstance(listed, Sequence) or isinstance(listed, str) or not listed:
            raise ConfigError(f"{where}: settings: a list of {{key: value}} mappings")
        axes.append([_mapping(s, f"{where}: settings[{i}]") for i, s in enumerate(listed)])
    axes.extend(_zip_groups(block.get("zip"), f"{where}: zip"))
    for key, values in _mapping_node(block.get("grid"), f"{where}: grid").items():
        axes.append([{key: v} for v in grid_values(key, values, f"{where}: grid.{key}")])
    own = [_joined(parts, where) for parts in itertools.product(*axes)]
    fixed = _mapping(block.get("fixed") or {}, f"{where}: fixed")
    own = [{**{k: v for k, v in fixed.items() if k not in c}, **c} for c in own]
    combos = [{**o, **c} for o in outer or [{}] for c in own]  # the inner value wins
    if "union" in block:
        members = block["union"]
        if not isinstance(members, Sequence) or isinstance(members, str) or not members:
            raise ConfigError(f"{where}: union: a list of sweeps (each a mapping)")
        combos = [
            s
            for i, member in enumerate(members)
            for s in block_settings(
                _node(member, f"{where}: union[{i}]"), f"{where}: union[{i}]", combos
            )
        ]
    for i, clause in enumerate(block.get("when") or []):
        combos = _expanded_when(combos, _node(clause, f"{where}: when[{i}]"), f"{where}: when[{i}]")
    return combos


def _expanded_when(combos: list[Setting], clause: Mapping, where: str) -> list[Setting]:
    condition = _mapping(clause.get("if") or {}, f"{where}: if")
    if not condition:
        raise ConfigError(f"{where}: if: the {{key: value}} a setting must have for this clause")
    inner = block_settings({k: v for k, v in clause.items() if k != "if"}, where)
    out, matched = [], False
    for combo in combos:
        plain = {bare_key(k): v for k, v in combo.items()}
        if all(plain.get(bare_key(k)) == v for k, v in condition.items()):
            out.extend({**combo, **s} for s in inner)
            matched = True
        else:
            out.append(combo)
    if not matched:  # a typo in the condition would otherwise change nothing, silently
        shown = " ".join(f"{k}={v}" for k, v in condition.items())
        raise ConfigError(f"{where}: if: no setting has {shown}")
    return out


def grid_values(key: str, values: Any, where: str) -> list[str]:
    """A grid axis's values as override texts: a list, one value, or a string in Hydra's
    sweep syntax (choice, range, glob); an interval has no grid points."""
    if isinstance(values, (list, tuple)):
        if not values:
            raise ConfigError(f"{where}: an empty list gives no settings")
        return [override_text(v) for v in values]
    if isinstance(values, str) and "(" in values:
        from hydra.core.override_parser.overrides_parser import OverridesParser
        from hydra.core.override_parser.types import Glob
        from hydra.errors import HydraException

        try:
            override = OverridesParser.create().parse_override(f"{key}={values}")
        except HydraException:  # not Hydra's syntax ("run (v2)"): one value, as written
            return [override_text(values)]
        if isinstance(override.value(), Glob):
            raise ConfigError(f"{where}: {values}: glob() picks config options; list them")
        if override.is_sweep_override():
            if not override.is_discrete_sweep():
                raise ConfigError(
                    f"{where}: {values} has no grid points; an interval is searched "
                    "(hydra/sweeper=seqlab_optuna)"
                )
            return list(override.sweep_string_iterator())
    return [override_text(values)]


def _zip_groups(node: Any, where: str) -> list[list[Setting]]:
    if node is None:
        return []
    groups = node if isinstance(node, (list, tuple)) else [node]
    out = []
    for i, group in enumerate(groups):
        here = f"{where}[{i}]" if isinstance(node, (list, tuple)) else where
        columns = _mapping_node(group, here)
        lengths = {k: len(v) if isinstance(v, (list, tuple)) else -1 for k, v in columns.items()}
        if not columns or any(n < 1 for n in lengths.values()):
            raise ConfigError(f"{here}: {{key: [values]}} for keys that move together")
        if len(set(lengths.values())) > 1:
            sizes = ", ".join(f"{k} has {n}" for k, n in lengths.items())
            raise ConfigError(f"{here}: zipped keys need as many values each ({sizes})")
        rows = zip(*(columns[k] for k in columns), strict=True)
        names = list(columns)
        out.append([{k: override_text(v) for k, v in zip(names, row, strict=True)} for row in rows])
    return out


def _joined(parts: Sequence[Setting], where: str) -> Setting:
    joined: Setting = {}
    for part in parts:
        for key, value in part.items():
            if bare_key(key) in map(bare_key, joined):
                raise ConfigError(f"{where}: {bare_key(key)} is given by two axes of one block")
            joined[key] = value
    return joined


def _seeds(node: Any, where: str) -> list[int]:
    if isinstance(node, bool):
        node = None
    if isinstance(node, int) and node >= 1:
        return list(range(1, node + 1))
    if isinstance(node, (list, tuple)) and node and all(isinstance(s, int) for s in node):
        return list(node)
    raise ConfigError(f"{where}: a count of replicates (3: seed=1,2,3) or a list of seeds")


def _distinct(settings: list[Setting]) -> tuple[list[Setting], int]:
    seen, out = set(), []
    for s in settings:
        key = tuple(sorted(s.items()))
        if key not in seen:
            seen.add(key)
            out.append(s)
    return out, len(settings) - len(out)


def _known(node: Mapping, allowed: Sequence[str], where: str) -> None:
    for key in node:
        if key not in allowed:
            raise ConfigError(f"{where}: {key}: no such key (allowed: {', '.join(allowed)})")


def _node(node: Any, where: str) -> Mapping[str, Any]:
    if not isinstance(node, Mapping):
        raise ConfigError(f"{where}: a mapping ({', '.join(SEQLAB_KEYS)})")
    return node


def _mapping_node(node: Any, where: str) -> Mapping[str, Any]:
    if node is None:
        return {}
    if not isinstance(node, Mapping):
        raise ConfigError(f"{where}: a mapping of config keys")
    return {str(k): v for k, v in node.items()}


def _mapping(node: Any, where: str) -> Setting:
    return {k: override_text(v) for k, v in _mapping_node(node, where).items()}


def _shown(setting: Setting) -> str:
    return " ".join(f"{k}={v}" for k, v in setting.items())


# ---------------------------------------------------------------------------------------
# W&B's form

WANDB_METHODS = {"grid": None, "random": "random", "bayes": "tpe"}
# W&B's distributions that Optuna's samplers have (the others are refused by name).
WANDB_DISTRIBUTIONS = (
    "constant", "categorical", "int_uniform", "uniform", "q_uniform",
    "log_uniform_values", "log_uniform",
)  # fmt: skip
PARAMETER_KEYS = ("value", "values", "distribution", "min", "max", "mu", "sigma", "q",
                  "probabilities", "parameters")  # fmt: skip


def wandb_sweep(data: Mapping[str, Any], where: str) -> SweepFile:
    """A W&B sweep configuration, as W&B documents it, mapped onto seqlab's sweepers."""
    for key in data:
        if key not in WANDB_KEYS:
            raise ConfigError(f"{where}: {key}: not a W&B sweep key seqlab knows "
                              f"(allowed: {', '.join(WANDB_KEYS)})")  # fmt: skip
    if "command" in data:
        raise ConfigError(
            f"{where}: command: seqlab runs each job itself (seqlab-train with the job's "
            "settings); remove the command block"
        )
    method = data.get("method")
    if method not in WANDB_METHODS:
        raise ConfigError(f"{where}: method: {method!r}; allowed: grid, random, bayes")
    notes = []
    if "program" in data:
        notes.append(f"{where}: program: {data['program']} ignored: seqlab is the program")
    for key in WANDB_IGNORED:
        if key in data and key != "description":
            notes.append(f"{where}: {key}: ignored (W&B's server's setting; nothing is sent)")
    fixed = _wandb_metric(data.get("metric"), where)
    swept: dict[str, Any] = {}
    for key, spec in _flat_parameters(data.get("parameters"), f"{where}: parameters").items():
        here = f"{where}: parameters.{key}"
        if "value" in spec:  # W&B's constant: one value, the same in every run
            _only(spec, ("value", "distribution"), here)
            if spec.get("distribution", "constant") != "constant":
                raise ConfigError(f"{here}.value: goes with distribution: constant only")
            fixed[key] = override_text(spec["value"])
        else:
            swept[key] = (spec, here)
    run_cap = data.get("run_cap")
    if run_cap is not None and (not isinstance(run_cap, int) or run_cap < 1):
        raise ConfigError(f"{where}: run_cap: a positive number of runs, not {run_cap!r}")
    if method == "grid":
        if "early_terminate" in data:
            raise ConfigError(
                f"{where}: early_terminate: stops trials of a search; method: grid runs every "
                "setting in full (use method: random or bayes to prune)"
            )
        axes = [[(k, v) for v in _grid_values(spec, here)] for k, (spec, here) in swept.items()]
        settings = [{**fixed, **dict(combo)} for combo in itertools.product(*axes)]
        if run_cap is not None and run_cap < len(settings):
            notes.append(f"{where}: run_cap: {run_cap} of the grid's {len(settings)} settings run")
            settings = settings[:run_cap]
        # As a search space (hydra/sweeper=seqlab_optuna): each key's values, a choice().
        space = {k: "choice(" + ",".join(_grid_values(s, h)) + ")" for k, (s, h) in swept.items()}
        return SweepFile(where, "wandb", settings, fixed=fixed, notes=notes, space=space)
    if not swept:
        raise ConfigError(f"{where}: parameters: nothing to search (every parameter has a value)")
    params = {k: _search_space(spec, here) for k, (spec, here) in swept.items()}
    pruner, options = _early_terminate(data.get("early_terminate"), where)
    search = SearchFromFile(WANDB_METHODS[method], params, run_cap, pruner, options)
    if method == "bayes":
        notes.append(
            f"{where}: method: bayes runs Optuna's TPE sampler (a Bayesian optimiser; "
            "W&B's own uses a Gaussian process)"
        )
    return SweepFile(where, "wandb", None, fixed=fixed, search=search, notes=notes)


def _wandb_metric(node: Any, where: str) -> Setting:
    """W&B's `metric` is what the sweep optimises: seqlab's monitor."""
    if node is None:
        return {}
    here = f"{where}: metric"
    if not isinstance(node, Mapping) or "name" not in node:
        raise ConfigError(f"{here}: {{name: <metric>, goal: minimize | maximize}}")
    _only(node, ("name", "goal"), here)
    goal = node.get("goal", "minimize")
    if goal not in ("minimize", "maximize"):
        raise ConfigError(f"{here}.goal: {goal!r}; allowed: minimize, maximize")
    name = str(node["name"])
    return {"monitor.metric": override_text(f"${{metric:{name}}}"),
            "monitor.mode": "min" if goal == "minimize" else "max"}  # fmt: skip


def _flat_parameters(node: Any, where: str, prefix: str = "") -> dict[str, Mapping[str, Any]]:
    """W&B's parameters, nested `parameters:` blocks flattened to dotted keys."""
    if not isinstance(node, Mapping) or not node:
        raise ConfigError(f"{where}: a mapping of config keys to {{values: [...]}} and the like")
    flat: dict[str, Mapping[str, Any]] = {}
    for name, spec in node.items():
        key = f"{prefix}{name}"
        here = f"{where}.{name}"
        if not isinstance(spec, Mapping):
            raise ConfigError(f"{here}: {{value: ...}}, {{values: [...]}} or a distribution")
        for field_name in spec:
            if field_name not in PARAMETER_KEYS:
                raise ConfigError(
                    f"{here}.{field_name}: not a parameter field seqlab knows "
                    f"(allowed: {', '.join(PARAMETER_KEYS)})"
                )
        if "parameters" in spec:
            _only(spec, ("parameters",), here)
            flat.update(_flat_parameters(spec["parameters"], here, f"{key}."))
        else:
            flat[key] = spec
    return flat


def _only(spec: Mapping[str, Any], allowed: Sequence[str], where: str) -> None:
    for key in spec:
        if key not in allowed:
            raise ConfigError(f"{where}.{key}: not allowed with {', '.join(allowed)}")


def _grid_values(spec: Mapping[str, Any], where: str) -> list[str]:
    if "values" not in spec:
        raise ConfigError(f"{where}: method: grid needs values: [...] (or value:) for each key")
    _only(spec, ("values", "distribution"), where)
    if spec.get("distribution", "categorical") != "categorical":
        raise ConfigError(f"{where}.distribution: method: grid takes values (categorical)")
    values = spec["values"]
    if not isinstance(values, (list, tuple)) or not values:
        raise ConfigError(f"{where}.values: a non-empty list")
    return [override_text(v) for v in values]


def _distribution(spec: Mapping[str, Any], where: str) -> str:
    if "distribution" in spec:
        return str(spec["distribution"])
    if "values" in spec:
        return "categorical"
    if "min" in spec and "max" in spec:  # as W&B infers it
        both_int = all(isinstance(spec[k], int) for k in ("min", "max"))
        return "int_uniform" if both_int else "uniform"
    raise ConfigError(f"{where}: give values, value, or min and max (with a distribution)")


def _search_space(spec: Mapping[str, Any], where: str) -> str:
    """A W&B parameter as a search space in Hydra's syntax (seqlab.search reads it)."""
    kind = _distribution(spec, where)
    if kind not in WANDB_DISTRIBUTIONS:
        raise ConfigError(
            f"{where}.distribution: {kind} has no Optuna sampler; allowed: "
            f"{', '.join(WANDB_DISTRIBUTIONS)}"
        )
    if "probabilities" in spec:
        raise ConfigError(f"{where}.probabilities: Optuna's samplers draw a choice uniformly")
    if kind in ("constant", "categorical"):
        if kind == "constant":
            _only(spec, ("distribution", "value"), where)
            return override_text(spec["value"])
        _only(spec, ("distribution", "values"), where)
        values = spec.get("values")
        if not isinstance(values, (list, tuple)) or not values:
            raise ConfigError(f"{where}.values: a non-empty list")
        return "choice(" + ",".join(override_text(v) for v in values) + ")"
    _only(spec, ("distribution", "min", "max", "q"), where)
    if "q" in spec and kind != "q_uniform":
        raise ConfigError(
            f"{where}.q: goes with distribution: q_uniform (Optuna has no stepped log scale, "
            f"and {kind} has no step)"
        )
    low, high = _bound(spec, "min", where), _bound(spec, "max", where)
    if not low < high:
        raise ConfigError(f"{where}: min ({low}) must be below max ({high})")
    if kind == "int_uniform":
        return f"int(interval({int(low)}, {int(high)}))"
    if kind == "uniform":
        return f"interval({float(low)!r}, {float(high)!r})"
    if kind == "q_uniform":
        # W&B draws round(X / q) * q, X uniform in [min, max]: the multiples of q between
        # round(min / q) * q and round(max / q) * q.
        q = spec.get("q", 1)
        if isinstance(q, bool) or not isinstance(q, (int, float)) or q <= 0:
            raise ConfigError(f"{where}.q: a positive step")
        first, last = round(low / q), round(high / q)
        if first >= last:
            raise ConfigError(f"{where}: min and max round to one multiple of q ({first * q})")
        whole = all(isinstance(v, int) for v in (low, high, q))
        start, stop = (first * q, last * q + q) if whole else (
            round(first * q, 12), round(last * q + q, 12)
        )  # fmt: skip
        return f"range({override_text(start)}, {override_text(stop)}, {override_text(q)})"
    if kind == "log_uniform":  # W&B's bounds are natural logarithms of the values
        low, high = math.exp(low), math.exp(high)
    elif low <= 0:
        raise ConfigError(f"{where}.min: log_uniform_values needs min > 0")
    return f"tag(log, interval({float(low)!r}, {float(high)!r}))"


def _bound(spec: Mapping[str, Any], key: str, where: str) -> float:
    value = spec.get(key)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ConfigError(f"{where}.{key}: a number, not {value!r}")
    return value


def _early_terminate(node: Any, where: str) -> tuple[str | None, dict[str, Any]]:
    """W&B's hyperband as Optuna's HyperbandPruner; an epoch is W&B's iteration."""
    if node is None:
        return None, {}
    here = f"{where}: early_terminate"
    if not isinstance(node, Mapping) or node.get("type") != "hyperband":
        raise ConfigError(f"{here}.type: allowed: hyperband")
    _only(node, ("type", "min_iter", "max_iter", "eta", "s", "strict"), here)
    if "strict" in node:
        raise ConfigError(f"{here}.strict: Optuna's Hyperband pruner has no strict mode")
    for key, least in (("eta", 2), ("min_iter", 1), ("max_iter", 1), ("s", 0)):
        value = node.get(key)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)
                                  or value < least):  # fmt: skip
            raise ConfigError(f"{here}.{key}: an integer >= {least}, not {value!r}")
    eta = node.get("eta", 3)
    options: dict[str, Any] = {"reduction_factor": eta}
    if "min_iter" in node:
        if "s" in node:
            raise ConfigError(f"{here}.s: goes with max_iter, instead of min_iter")
        options["min_resource"] = node["min_iter"]
    if "max_iter" in node:
        options["max_resource"] = node["max_iter"]
        if "s" in node:  # W&B: the first bracket at max_iter / eta^s
            options["min_resource"] = max(1, node["max_iter"] // eta ** node["s"])
    if "min_resource" not in options:
        raise ConfigError(f"{here}: give min_iter, or max_iter with s")
    if options["min_resource"] > options.get("max_resource", math.inf):
        raise ConfigError(f"{here}: min_iter must not exceed max_iter")
    return "hyperband", options


# ---------------------------------------------------------------------------------------
# From a composed config


def configured_sweep(config: Any) -> SweepFile | None:
    """The sweep file a command asks for: `sweep=<name>` (its `sweep:` node, composed from
    conf/sweep/<name>.yaml) or `sweep_file=<path>`; None for neither."""
    from omegaconf import OmegaConf

    node, path = config.get("sweep"), config.get("sweep_file")
    if node is not None and path:
        raise ConfigError(f"sweep=... and sweep_file={path}: give one of them")
    if path:
        return read_sweep_file(str(path))
    if node is None:
        return None
    choices = OmegaConf.select(config, "hydra.runtime.choices", default=None) or {}
    where = f"sweep={choices.get('sweep', '?')}"
    data = OmegaConf.to_container(node, resolve=False)
    if not isinstance(data, dict):
        raise ConfigError(f"{where}: a sweep is a mapping (fixed, grid, zip, ...)")
    if "method" in data or "parameters" in data:
        return wandb_sweep(data, where)
    return seqlab_sweep(data, where)


def combined_jobs(
    settings: Sequence[Setting], command_jobs: Sequence[Sequence[str]]
) -> tuple[list[list[str]], list[str]]:
    """Each setting of a sweep file with each job the command line gives (its own sweeps
    multiply the file's settings), and the keys the command line fixed that the file set:
    the command line wins, key by key."""
    jobs, pinned = [], []
    for setting in settings:
        for job in command_jobs:
            given = {bare_key(o.split("=", 1)[0]) for o in job}
            for key in setting:
                if bare_key(key) in given and bare_key(key) not in pinned:
                    pinned.append(bare_key(key))
            kept = [f"{k}={v}" for k, v in setting.items() if bare_key(k) not in given]
            jobs.append([*kept, *job])
    distinct, seen = [], set()
    for job in jobs:
        key = tuple(sorted(job))
        if key not in seen:
            seen.add(key)
            distinct.append(job)
    return distinct, pinned
