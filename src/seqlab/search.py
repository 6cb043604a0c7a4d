"""Hyperparameter search on Optuna: what the sweeper (hydra/sweeper=seqlab_optuna) and the
trials' jobs share.

- The search space is `hydra.sweeper.params` in Hydra's override syntax: `choice(...)`,
  `range(...)`, `interval(...)`, with `tag(log, ...)` for a log scale and `tag(int, ...)`
  for integers; `search_space` turns it into Optuna distributions.
- Samplers and pruners are picked by name from the tables below.
- The study lives in the sweep directory (`STUDY_FILE`, Optuna's journal file storage): the
  sweeper asks and tells there, each job reports its monitored value there every epoch
  (`open_trial`), and `resume=<sweep dir>` continues it.

Optuna is imported only where it is used: `seqlab-train --help` and plain sweeps never pay
for it.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from seqlab.config import ConfigError
from seqlab.journal import repair_journal

STUDY_FILE = "optuna.journal"  # in the sweep directory; optuna-dashboard opens it
RESULTS_FILE = "optimization_results.yaml"  # the best trial, or the Pareto front

SAMPLERS = {
    "tpe": "optuna.samplers.TPESampler",
    "random": "optuna.samplers.RandomSampler",
    "cmaes": "optuna.samplers.CmaEsSampler",  # needs the `cmaes` package
    "grid": "optuna.samplers.GridSampler",  # choice() and range() only
}
PRUNERS = {
    "median": "optuna.pruners.MedianPruner",
    "hyperband": "optuna.pruners.HyperbandPruner",
    "asha": "optuna.pruners.SuccessiveHalvingPruner",
    "none": "optuna.pruners.NopPruner",
}
DIRECTIONS = {"min": "minimize", "max": "maximize"}


@dataclass(frozen=True)
class SearchSettings:
    """The sweeper's settings (hydra_plugins.seqlab_sweepers.config and hparams_search/),
    checked."""

    study_name: str
    n_trials: int
    n_jobs: int
    sampler: str
    pruner: str
    # (metric as metrics.json names it, "minimize" or "maximize"): the run's monitor, or
    # `objectives` for a multi-objective study.
    objectives: tuple[tuple[str, str], ...]
    max_failure_rate: float
    # The best settings re-run after the trials, and the fresh seeds each gets (0: none).
    confirm_top_k: int = 0
    confirm_seeds: int = 0
    # A Hydra app other than seqlab's (no `monitor`): its task's return value is the
    # objective, as in hydra-optuna-sweeper, and its jobs report nothing while they run.
    from_return: bool = False
    # hydra-optuna-sweeper's `custom_search_space`: a function (cfg, trial) that suggests
    # more values, for conditional spaces; its dotted path.
    custom_search_space: str | None = None

    @property
    def directions(self) -> list[str]:
        return [direction for _, direction in self.objectives]

    @property
    def metric_names(self) -> list[str]:
        return [metric for metric, _ in self.objectives]

    @property
    def multi_objective(self) -> bool:
        return len(self.objectives) > 1

    @classmethod
    def from_config(cls, sweeper: Any, monitor: Any) -> SearchSettings:
        """Check every setting; a bad one is a one-line ConfigError naming its key.
        `monitor` is the run's config node (metric, mode), or None in a Hydra app that has
        none, whose task returns the objective."""
        from seqlab.names import recorded_name

        name = "hydra.sweeper"
        for key, table in (("sampler", SAMPLERS), ("pruner", PRUNERS)):
            if str(sweeper.get(key)) not in table:
                raise ConfigError(f"{name}.{key}={sweeper.get(key)}: allowed: {', '.join(table)}")
        for key in ("n_trials", "n_jobs"):
            value = sweeper.get(key)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ConfigError(f"{name}.{key}={value}: allowed: a whole number >= 1")
        rate = sweeper.get("max_failure_rate", 0.0)
        if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not 0 <= rate <= 1:
            raise ConfigError(f"{name}.max_failure_rate={rate}: allowed: a number from 0 to 1")
        if monitor is None:
            objectives = _returned_objectives(sweeper)
        else:
            objectives = _objectives(sweeper, recorded_name(str(monitor.metric)), monitor.mode)
        if len(objectives) > 1 and str(sweeper.sampler) == "cmaes":
            raise ConfigError(
                f"{name}.sampler=cmaes: it optimises one objective; with {name}.objectives "
                "allowed: tpe, random, grid"
            )
        custom = sweeper.get("custom_search_space")
        if custom is not None and str(sweeper.sampler) == "grid":
            raise ConfigError(
                f"{name}.custom_search_space={custom}: the grid sampler draws only the grid of "
                f"{name}.params; allowed with it: tpe, random, cmaes"
            )
        confirm = sweeper.get("confirm") or {}
        top_k, seeds = confirm.get("top_k", 0), confirm.get("seeds", 0)
        for key, value in (("top_k", top_k), ("seeds", seeds)):
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise ConfigError(f"{name}.confirm.{key}={value}: allowed: a whole number >= 0")
        if (confirm.get("race") or {}).get("min_seeds"):  # checked by seqlab.tuning.race
            if seeds or top_k < 2:
                raise ConfigError(
                    f"{name}.confirm.race races the top_k settings over seeds: give "
                    f"{name}.confirm.top_k >= 2 and leave {name}.confirm.seeds at 0 "
                    f"(top_k={top_k}, seeds={seeds})"
                )
        elif (top_k == 0) != (seeds == 0) or seeds == 1:
            raise ConfigError(
                f"{name}.confirm.top_k={top_k} and {name}.confirm.seeds={seeds}: give both "
                "(top_k >= 1 settings, seeds >= 2 each, for an interval), or neither"
            )
        if top_k and len(objectives) > 1:
            raise ConfigError(
                f"{name}.confirm: a multi-objective study has a Pareto front, not a winner to "
                "confirm; leave confirm unset"
            )
        if top_k and monitor is None:
            raise ConfigError(
                f"{name}.confirm: confirming re-runs settings over seeds, which needs a seqlab "
                "run (a `seed` and a `monitor` in the config); leave confirm unset"
            )
        return cls(
            study_name=str(sweeper.get("study_name") or "seqlab"),
            n_trials=sweeper.n_trials,
            n_jobs=sweeper.n_jobs,
            sampler=str(sweeper.sampler),
            pruner=str(sweeper.pruner),
            objectives=objectives,
            max_failure_rate=float(rate),
            confirm_top_k=top_k,
            confirm_seeds=seeds,
            from_return=monitor is None,
            custom_search_space=None if custom is None else str(custom),
        )


def _objectives(sweeper: Any, monitor: str, mode: str) -> tuple[tuple[str, str], ...]:
    """The study's objectives: the run's monitor (direction from monitor.mode), or the
    {metric: mode} of `objectives`."""
    name = "hydra.sweeper"
    if mode not in DIRECTIONS:
        raise ConfigError(f"monitor.mode={mode}: allowed: min, max")
    given = sweeper.get("direction")
    wanted = sweeper.get("objectives")
    if wanted:
        if given is not None:
            raise ConfigError(
                f"{name}.direction={given}: {name}.objectives gives each objective its "
                f"direction; leave {name}.direction unset"
            )
        objectives = []
        for metric, how in wanted.items():
            if how not in DIRECTIONS:
                raise ConfigError(f"{name}.objectives.{metric}={how}: allowed: min, max")
            objectives.append((str(metric), DIRECTIONS[how]))
        if len(objectives) == 1 and objectives[0] != (monitor, DIRECTIONS[mode]):
            raise ConfigError(
                f"{name}.objectives: a single objective is the run's monitor "
                f"({monitor}, {mode}); set monitor.metric and monitor.mode instead, or give "
                "two or more objectives"
            )
        return tuple(objectives)
    direction = DIRECTIONS[mode]
    if given is not None and given != direction:
        raise ConfigError(
            f"{name}.direction={given} contradicts monitor.mode={mode}: the direction "
            f"follows monitor.mode; leave {name}.direction unset (or set it to {direction})"
        )
    return ((monitor, direction),)


def _returned_objectives(sweeper: Any) -> tuple[tuple[str, str], ...]:
    """A Hydra app's objectives, as hydra-optuna-sweeper takes them: `direction`, one
    (minimize by default) or a list for a task that returns several values, named `value`
    or `value_0`, `value_1`, ..."""
    name = "hydra.sweeper"
    if sweeper.get("objectives"):
        raise ConfigError(
            f"{name}.objectives: names metrics of a seqlab run's metrics.json, and this app "
            f"has no `monitor`; for a task that returns several values give {name}.direction "
            "a list: [minimize, maximize]"
        )
    given = sweeper.get("direction") or "minimize"
    directions = [given] if isinstance(given, str) else list(given)
    allowed = set(DIRECTIONS.values())
    if not directions or any(d not in allowed for d in directions):
        raise ConfigError(
            f"{name}.direction={given}: allowed: minimize, maximize, or a list of them"
        )
    if len(directions) == 1:
        return (("value", directions[0]),)
    return tuple((f"value_{i}", d) for i, d in enumerate(directions))


@dataclass
class SearchSpace:
    """What `search_space` makes of the sweeper's params and the command line."""

    space: dict[str, Any]  # {key: Optuna distribution}
    fixed: list[str]  # overrides every trial gets as they are
    pinned: list[str]  # fixed overrides that took a key out of hydra.sweeper.params


def search_space(params: list[str], arguments: list[str], parser: Any) -> SearchSpace:
    """Optuna distributions for the sweeps of `params` (hydra.sweeper.params) and
    `arguments` (the command line): `key=choice(...)` and the like. The command line wins,
    key by key, as in Hydra's Optuna sweeper: a sweep there replaces the params' one, and a
    plain value there fixes the key, which leaves the search space. `parser` is Hydra's
    OverridesParser. A bad range or interval is a one-line ConfigError."""
    space: dict[str, Any] = {}
    given: dict[str, str] = {}  # fixed values, by key: the command line's replace params'
    pinned: list[str] = []
    for text in params:
        override = parser.parse_override(text)
        key = override.get_key_element()
        if override.is_sweep_override():
            space[key] = _distribution(override, text)
        else:
            given[key] = text
    for text in arguments:
        override = parser.parse_override(text)
        key = override.get_key_element()
        if override.is_sweep_override():
            space[key] = _distribution(override, text)
            given.pop(key, None)
        else:
            if space.pop(key, None) is not None:
                pinned.append(text)
            given[key] = text
    fixed = list(given.values())
    if not space:
        raise ConfigError(
            "hydra.sweeper.params: nothing to search; give choice(...), range(...) or "
            "interval(...) values there or on the command line"
            + (f" ({', '.join(pinned)} fixed every searched key)" if pinned else "")
        )
    return SearchSpace(space, fixed, pinned)


def _distribution(override: Any, where: str) -> Any:
    from hydra.core.override_parser.types import ChoiceSweep, IntervalSweep, RangeSweep

    value = override.value()
    if getattr(value, "shuffle", False):
        raise ConfigError(
            f"{where}: a search draws values in its own (seeded) order, so shuffle() would "
            "change nothing; give choice(...) or range(...) without it"
        )
    if isinstance(value, ChoiceSweep):
        return _choice(list(value.list), where)
    if isinstance(value, RangeSweep):
        return _range(value, where)
    if isinstance(value, IntervalSweep):
        return _interval(value, where)
    raise ConfigError(f"{where}: allowed: choice(...), range(...) or interval(...)")


def _choice(values: list[Any], where: str) -> Any:
    from optuna.distributions import CategoricalDistribution

    if not values:
        raise ConfigError(f"{where}: choice() needs at least one value")
    return CategoricalDistribution(values)


def _range(sweep: Any, where: str) -> Any:
    from optuna.distributions import FloatDistribution, IntDistribution

    start, stop, step = sweep.start, sweep.stop, sweep.step
    if step <= 0 or stop <= start:
        raise ConfigError(f"{where}: range(start, stop, step) needs start < stop and step > 0")
    if all(isinstance(v, int) for v in (start, stop, step)):
        last = start + (stop - 1 - start) // step * step  # Python's range excludes stop
        return IntDistribution(start, last, step=step)
    last = start + int((stop - start) / step - 1e-9) * step
    return FloatDistribution(start, last, step=step)


def _interval(sweep: Any, where: str) -> Any:
    from optuna.distributions import FloatDistribution, IntDistribution

    low, high, tags = sweep.start, sweep.end, set(sweep.tags or ())
    if not low < high:
        raise ConfigError(f"{where}: interval(low, high) needs low < high")
    log = "log" in tags
    if log and low <= 0:
        raise ConfigError(f"{where}: a log interval needs low > 0")
    if "int" in tags or (isinstance(low, int) and isinstance(high, int)):
        return IntDistribution(int(low), int(high), log=log)
    return FloatDistribution(float(low), float(high), log=log)


def grid_values(space: dict[str, Any]) -> dict[str, list[Any]]:
    """The grid sampler's search space: every value of each choice() and range() (integer
    or float)."""
    from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

    grid = {}
    for key, dist in space.items():
        if isinstance(dist, CategoricalDistribution):
            grid[key] = list(dist.choices)
        elif isinstance(dist, IntDistribution) and not dist.log:
            grid[key] = list(range(dist.low, dist.high + 1, dist.step))
        elif isinstance(dist, FloatDistribution) and dist.step is not None:
            count = round((dist.high - dist.low) / dist.step) + 1
            # start + i * step, rounded as the step is: range(0.1, 0.4, 0.1) is 0.1, 0.2, 0.3
            digits = max(0, -math.floor(math.log10(dist.step)) + 6)
            grid[key] = [round(dist.low + i * dist.step, digits) for i in range(count)]
        else:
            raise ConfigError(
                f"hydra.sweeper.sampler=grid: hydra.sweeper.params.{key} is interval(...), "
                "which has no grid points; allowed with grid: choice(...) or range(...)"
            )
    return grid


def storage(sweep_dir: str | Path) -> Any:
    """The study's storage: a journal file in the sweep directory (no server; safe for
    several processes and, on a shared file system, several machines)."""
    import optuna
    from optuna.storages.journal import JournalFileBackend, JournalFileOpenLock

    path = str(Path(sweep_dir) / STUDY_FILE)
    # The open() lock works on NFS as well as locally, where the default symlink lock can't.
    return optuna.storages.JournalStorage(JournalFileBackend(path, JournalFileOpenLock(path)))


def _built(table: dict[str, str], name: str, **options: Any) -> Any:
    from hydra.utils import get_class

    return get_class(table[name])(**options)


def make_pruner(name: str, options: dict[str, Any]) -> Any:
    return _built(PRUNERS, name, **options)


def create_study(settings: SearchSettings, sweeper: Any, space: dict, sweep_dir: Path) -> Any:
    """The sweep's study, new or loaded from the sweep directory (resume). The pruner's
    settings are kept in the study, for the jobs (`open_trial`)."""
    import optuna

    repair_journal(sweep_dir / STUDY_FILE)  # seqlab.journal
    seed = sweeper.get("seed")
    sampler = _sampler(settings, sweeper, space, seed)
    pruner_options = _options(sweeper, "pruner", settings.pruner, PRUNERS)
    pruner_name = settings.pruner
    if settings.multi_objective:  # Optuna cannot prune a multi-objective study
        pruner_name, pruner_options = "none", {}
    try:
        pruner = make_pruner(pruner_name, pruner_options)
    except TypeError as e:
        raise ConfigError(f"hydra.sweeper.pruner_options: {e}") from e
    study = optuna.create_study(
        study_name=settings.study_name,
        storage=storage(sweep_dir),
        sampler=sampler,
        pruner=pruner,
        directions=settings.directions,
        load_if_exists=True,
    )
    ran = [d.name.lower() for d in study.directions]
    # (A study made before seqlab named its objectives has no names.)
    if ran != settings.directions or study.metric_names not in (None, settings.metric_names):
        raise ConfigError(
            f"{sweep_dir / STUDY_FILE}: study {settings.study_name} was run to "
            f"{_described(study.metric_names, ran)}, not to "
            f"{_described(settings.metric_names, settings.directions)}"
        )
    # optuna-dashboard shows the objectives by these names, not as "Objective 0".
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        study.set_metric_names(settings.metric_names)
    study.set_user_attr("pruner", {"name": pruner_name, "options": pruner_options})
    # A seeded sampler restarted on a resumed study would draw its first trials' settings
    # again: it carries on from a seed moved on by the trials the study has.
    if seed is not None and (done := len(study.get_trials(deepcopy=False))):
        study.sampler = _sampler(settings, sweeper, space, seed + done)
    return study


def _described(metrics: list[str] | None, directions: list[str]) -> str:
    names = metrics or [f"objective {i}" for i in range(len(directions))]
    return ", ".join(f"{d} {m}" for m, d in zip(names, directions, strict=True))


def _sampler(settings: SearchSettings, sweeper: Any, space: dict, seed: int | None) -> Any:
    options = _options(sweeper, "sampler", settings.sampler, SAMPLERS)
    if settings.sampler == "grid":
        options["search_space"] = grid_values(space)
    if seed is not None:
        options["seed"] = seed
    try:
        return _built(SAMPLERS, settings.sampler, **options)
    except (ImportError, ModuleNotFoundError) as e:
        raise ConfigError(f"hydra.sweeper.sampler={settings.sampler}: {e}") from e
    except TypeError as e:
        raise ConfigError(f"hydra.sweeper.sampler_options: {e}") from e


def _options(sweeper: Any, kind: str, name: str, table: dict[str, str]) -> dict[str, Any]:
    """The options of the chosen sampler or pruner: `<kind>_options.<name>` (each one's
    options sit under its name, so switching from the command line needs nothing else)."""
    from seqlab.config import to_plain

    every = to_plain(sweeper.get(f"{kind}_options") or {})
    for other in every:
        if other not in table:
            raise ConfigError(
                f"hydra.sweeper.{kind}_options.{other}: allowed: options under a {kind} "
                f"name ({', '.join(table)})"
            )
    return dict(every.get(name) or {})


def trial_by_number(study: Any, number: int) -> Any:
    """A live Trial of `study`, to report to or update, by its number (any process)."""
    import optuna

    trial_id = study._storage.get_trial_id_from_study_id_trial_number(study._study_id, number)
    return optuna.trial.Trial(study, trial_id)


def open_trial(trial_cfg: Any) -> Any:
    """The Optuna trial a sweep job runs (its `trial` config node: number, study, sweep
    directory), with the study's pruner; None outside an Optuna sweep, and in a
    multi-objective study, whose trials are not pruned."""
    if trial_cfg is None or trial_cfg.get("number") is None:
        return None
    import optuna

    study = optuna.load_study(study_name=trial_cfg.study, storage=storage(trial_cfg.sweep_dir))
    if len(study.directions) > 1:  # Optuna prunes single-objective studies only
        return None
    pruner = study.user_attrs.get("pruner", {"name": "none", "options": {}})
    study.pruner = make_pruner(pruner["name"], pruner["options"])
    return trial_by_number(study, int(trial_cfg.number))


def objective_values(metrics: dict[str, Any], names: list[str]) -> list[float] | None:
    """A completed job's value of each objective: a logged metric's best value, else its
    final (test) value, else a number metrics.json holds (wall_s, parameters); None when
    one is missing or not finite."""
    values = []
    for name in names:
        value = metrics.get("best", {}).get(name)
        if value is None:
            value = metrics.get("final", {}).get(name, metrics.get(name))
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return None
        if not math.isfinite(value):
            return None
        values.append(float(value))
    return values


def outcome(metrics: dict[str, Any], monitor: str | None = None) -> tuple[str, float | None]:
    """How a job's trial ended, from its metrics.json: ("COMPLETE", best value of `monitor`,
    by default the run's own monitored metric), ("PRUNED", None), or ("FAIL", None) for a
    failed or diverged run."""
    from seqlab.names import COMPLETED, PRUNED

    status = metrics.get("status")
    if status == PRUNED:
        return "PRUNED", None
    value = metrics.get("best", {}).get(monitor or metrics.get("monitor", ""))
    if status == COMPLETED and isinstance(value, (int, float)) and math.isfinite(value):
        return "COMPLETE", float(value)
    return "FAIL", None


def read_results(sweep_dir: Path) -> dict[str, Any]:
    """The sweep's optimization_results.yaml; {} when it has none (or it cannot be read)."""
    import yaml

    try:
        results = yaml.safe_load((Path(sweep_dir) / RESULTS_FILE).read_text()) or {}
    except (OSError, yaml.YAMLError):
        return {}
    return results if isinstance(results, dict) else {}


def stopped_study(sweep_dir: Path) -> str | None:
    """Why the sweep's study stopped before its n_trials (max_failure_rate), or None."""
    stopped = read_results(sweep_dir).get("stopped")
    return str(stopped) if stopped else None
