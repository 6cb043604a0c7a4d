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
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from seqlab.config import ConfigError

STUDY_FILE = "optuna.journal"  # in the sweep directory; optuna-dashboard opens it

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
    """The sweeper's settings (conf/hydra/sweeper/ and hparams_search/), checked."""

    study_name: str
    n_trials: int
    n_jobs: int
    sampler: str
    pruner: str
    direction: str  # "minimize" or "maximize", from monitor.mode

    @classmethod
    def from_config(cls, sweeper: Any, mode: str) -> SearchSettings:
        """Check every setting; a bad one is a one-line ConfigError naming its key."""
        name = "hydra.sweeper"
        if mode not in DIRECTIONS:
            raise ConfigError(f"monitor.mode={mode}: allowed: min, max")
        direction = DIRECTIONS[mode]
        given = sweeper.get("direction")
        if given is not None and given != direction:
            raise ConfigError(
                f"{name}.direction={given} contradicts monitor.mode={mode}: the direction "
                f"follows monitor.mode; leave {name}.direction unset (or set it to {direction})"
            )
        for key, table in (("sampler", SAMPLERS), ("pruner", PRUNERS)):
            if str(sweeper.get(key)) not in table:
                raise ConfigError(f"{name}.{key}={sweeper.get(key)}: allowed: {', '.join(table)}")
        for key in ("n_trials", "n_jobs"):
            value = sweeper.get(key)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ConfigError(f"{name}.{key}={value}: allowed: a whole number >= 1")
        return cls(
            study_name=str(sweeper.get("study_name") or "seqlab"),
            n_trials=sweeper.n_trials,
            n_jobs=sweeper.n_jobs,
            sampler=str(sweeper.sampler),
            pruner=str(sweeper.pruner),
            direction=direction,
        )


def search_space(overrides: list[str], parser: Any) -> tuple[dict[str, Any], list[str]]:
    """Optuna distributions for the sweeps among `overrides` (`key=choice(...)` and the
    like, from hydra.sweeper.params and the command line), and the other overrides, which
    every trial gets as they are. `parser` is Hydra's OverridesParser. A bad range or
    interval is a one-line ConfigError."""
    from hydra.core.override_parser.types import ChoiceSweep, IntervalSweep, RangeSweep

    space: dict[str, Any] = {}
    fixed: list[str] = []
    for text in overrides:
        override = parser.parse_override(text)
        value = override.value()
        key = override.get_key_element()
        where = text
        if isinstance(value, ChoiceSweep):
            space[key] = _choice(list(value.list), where)
        elif isinstance(value, RangeSweep):
            space[key] = _range(value, where)
        elif isinstance(value, IntervalSweep):
            space[key] = _interval(value, where)
        elif override.is_sweep_override():
            raise ConfigError(f"{where}: allowed: choice(...), range(...) or interval(...)")
        else:
            fixed.append(text)
    if not space:
        raise ConfigError(
            "hydra.sweeper.params: nothing to search; give choice(...), range(...) or "
            "interval(...) values there or on the command line"
        )
    return space, fixed


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
    """The grid sampler's search space: every value of each choice() and range()."""
    from optuna.distributions import CategoricalDistribution, IntDistribution

    grid = {}
    for key, dist in space.items():
        if isinstance(dist, CategoricalDistribution):
            grid[key] = list(dist.choices)
        elif isinstance(dist, IntDistribution) and not dist.log:
            grid[key] = list(range(dist.low, dist.high + 1, dist.step))
        else:
            raise ConfigError(
                f"hydra.sweeper.sampler=grid: hydra.sweeper.params.{key} is an interval; "
                "allowed with grid: choice(...) or integer range(...)"
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

    repair_journal(sweep_dir / STUDY_FILE)
    seed = sweeper.get("seed")
    sampler = _sampler(settings, sweeper, space, seed)
    pruner_options = _options(sweeper, "pruner", settings.pruner, PRUNERS)
    try:
        pruner = make_pruner(settings.pruner, pruner_options)
    except TypeError as e:
        raise ConfigError(f"hydra.sweeper.pruner_options: {e}") from e
    study = optuna.create_study(
        study_name=settings.study_name,
        storage=storage(sweep_dir),
        sampler=sampler,
        pruner=pruner,
        direction=settings.direction,
        load_if_exists=True,
    )
    if study.direction.name.lower() != settings.direction:
        raise ConfigError(
            f"{sweep_dir / STUDY_FILE}: study {settings.study_name} was run to "
            f"{study.direction.name.lower()}, not to {settings.direction} (monitor.mode)"
        )
    study.set_user_attr("pruner", {"name": settings.pruner, "options": pruner_options})
    # A seeded sampler restarted on a resumed study would draw its first trials' settings
    # again: it carries on from a seed moved on by the trials the study has.
    if seed is not None and (done := len(study.get_trials(deepcopy=False))):
        study.sampler = _sampler(settings, sweeper, space, seed + done)
    return study


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


def _parses(line: bytes) -> bool:
    import json

    try:
        json.loads(line)
    except ValueError:
        return False
    return True


def repair_journal(path: Path) -> bool:
    """Cut a study's journal back to its last complete record, if a kill tore the last one.

    The journal is one JSON record per line. Optuna skips a torn last line when it reads,
    but appends the next record right after it, fusing the two into a line no reader can
    parse. So before a resumed study writes, an incomplete last record is cut off, after a
    copy of the whole file is kept beside it (`optuna.journal.torn-<time>`). Whether it
    cut anything. Run by the sweep's driver, which holds the sweep's lock.
    """
    import logging
    import shutil
    import time

    if not path.is_file():
        return False
    data = path.read_bytes()
    if not data or (data.endswith(b"\n") and _parses(data[data.rfind(b"\n", 0, -1) + 1 :])):
        return False
    end = data.rfind(b"\n", 0, len(data) - 1) + 1  # where the torn last line starts
    if end and not _parses(data[data.rfind(b"\n", 0, end - 1) + 1 : end]):
        raise ConfigError(
            f"{path}: damaged before its last record (not a kill's torn write); "
            "left as it is: repair or remove it by hand"
        )
    stamp = time.strftime("%Y%m%d-%H%M%S")
    backup = next(
        candidate
        for n in range(1000)
        if not (
            candidate := path.with_name(f"{path.name}.torn-{stamp}{f'-{n}' if n else ''}")
        ).exists()
    )
    shutil.copy2(path, backup)
    with path.open("r+b") as f:
        f.truncate(end)
    logging.getLogger(__name__).info(
        "%s: cut a torn last record (%d bytes) off; the whole file is kept as %s",
        path,
        len(data) - end,
        backup.name,
    )
    return True


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
    directory), with the study's pruner; None outside an Optuna sweep."""
    if trial_cfg is None or trial_cfg.get("number") is None:
        return None
    import optuna

    study = optuna.load_study(study_name=trial_cfg.study, storage=storage(trial_cfg.sweep_dir))
    pruner = study.user_attrs.get("pruner", {"name": "none", "options": {}})
    study.pruner = make_pruner(pruner["name"], pruner["options"])
    return trial_by_number(study, int(trial_cfg.number))


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
