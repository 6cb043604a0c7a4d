"""The sweepers' configs, typed, in Hydra's ConfigStore: `hydra/sweeper=seqlab_basic` and
`hydra/sweeper=seqlab_optuna` work in any Hydra app that has seqlab installed, and a key
that is not a field here is refused when the config is composed, as for Hydra's own plugins.

(No `from __future__ import annotations`: OmegaConf reads these annotations at run time.)
"""

from dataclasses import dataclass, field
from typing import Any

from hydra.core.config_store import ConfigStore


@dataclass
class RaceConf:
    """Race the settings over seeds (seqlab.tuning.race, docs/search.md): each starts with
    `min_seeds` seeds, and only those whose interval still overlaps the leader's get more,
    up to `max_seeds`, within `budget` jobs in all (None: no limit but max_seeds). Seeds
    are first_seed, first_seed + 1, ...; min_seeds 0: no race."""

    min_seeds: int = 0
    max_seeds: int = 10
    budget: int | None = None
    # None: 1 in a grid; in a search's confirmation, fresh seeds (the config's seed + 1).
    first_seed: int | None = None


@dataclass
class SeqlabBasicSweeperConf:
    """Hydra's basic sweeper's settings (hydra._internal.core_plugins.basic_sweeper)."""

    _target_: str = "hydra_plugins.seqlab_sweepers.basic.SeqlabBasicSweeper"
    max_batch_size: int | None = None  # jobs launched at a time; None: all
    # {key: values}, as on the command line. (An empty dict, not None: OmegaConf cannot
    # merge a dict given on the command line into a None.)
    params: dict[str, str] | None = field(default_factory=dict)
    race: RaceConf = field(default_factory=RaceConf)


@dataclass
class ConfirmConf:
    """After the trials, re-run the best `top_k` settings with `seeds` fresh seeds each, or
    race them (`race`), as ordinary jobs of the sweep: the winner is the setting with the
    best mean over them. 0 and 0: no confirmation."""

    top_k: int = 0
    seeds: int = 0
    # Or race the top_k settings over fresh seeds (the config's seed + 1, + 2, ...) in place
    # of giving each `seeds` seeds.
    race: RaceConf = field(default_factory=RaceConf)


@dataclass
class SeqlabOptunaSweeperConf:
    """An Optuna study whose trials are the sweep's jobs (docs/search.md)."""

    _target_: str = "hydra_plugins.seqlab_sweepers.optuna_sweeper.SeqlabOptunaSweeper"
    study_name: str | None = None  # None: seqlab
    n_trials: int = 20
    # Trials in flight at once (with a launcher that runs jobs elsewhere).
    n_jobs: int = 1
    sampler: str = "tpe"  # tpe, random, cmaes, grid
    # Each sampler's own options (Optuna's arguments), under its name: {tpe: {...}}.
    sampler_options: dict[str, Any] = field(default_factory=dict)
    seed: int | None = None
    pruner: str = "median"  # median, hyperband, asha, none
    pruner_options: dict[str, Any] = field(default_factory=dict)
    # Single objective: the run's monitor, whose mode gives the direction; set `direction`
    # only to check that it does. In a Hydra app without a monitor, as in
    # hydra-optuna-sweeper: the direction of the task's return value (minimize by
    # default), or a list of them for a task that returns several values.
    direction: Any = None
    # Several objectives, {metric: min or max}, in order: a multi-objective study, whose
    # result is its Pareto front. A metric is a logged one (its best value), or a number of
    # metrics.json (wall_s, parameters). Nothing is pruned. Empty: the run's monitor.
    objectives: Any = None  # (Any: so that a dict given on the command line replaces it)
    # The study stops starting trials once more than this fraction of its finished trials
    # failed; 0: never (a failed trial never sinks a sweep).
    max_failure_rate: float = 0.0
    # {key: search space}: choice(...), range(...), interval(...), in Hydra's syntax.
    params: dict[str, str] | None = field(default_factory=dict)
    # The dotted path of a function (cfg, trial) -> None that suggests more values with
    # trial.suggest_*, for spaces where one key depends on another (as hydra-optuna-sweeper).
    custom_search_space: str | None = None
    confirm: ConfirmConf = field(default_factory=ConfirmConf)


@dataclass
class SeqlabPbtSweeperConf:
    """Population-based training (docs/search.md): `population` members train side by
    side; every `interval` epochs the bottom `quantile` copies the top's checkpoints and
    explores `hyperparams` ({key: {init, factors, resample_probability}})."""

    _target_: str = "hydra_plugins.seqlab_sweepers.pbt_sweeper.SeqlabPbtSweeper"
    population: int = 8
    interval: int = 5  # epochs per generation
    quantile: float = 0.25
    # {key: {init: [values] or {low, high, log}, factors: [0.8, 1.2], resample_probability}}
    hyperparams: dict[str, Any] = field(default_factory=dict)
    seed: int | None = None  # of the population's draws; None: the config's seed


def store() -> None:
    cs = ConfigStore.instance()
    cs.store(
        group="hydra/sweeper", name="seqlab_basic", node=SeqlabBasicSweeperConf, provider="seqlab"
    )
    cs.store(
        group="hydra/sweeper", name="seqlab_optuna", node=SeqlabOptunaSweeperConf, provider="seqlab"
    )
    cs.store(group="hydra/sweeper", name="seqlab_pbt", node=SeqlabPbtSweeperConf, provider="seqlab")


def check_keys(conf: type, given: dict[str, Any], where: str = "hydra.sweeper") -> None:
    """A one-line ConfigError for a key the sweeper does not know (seqlab.config.unknown_key),
    for Hydra apps without seqlab's PluginCheck callback, which checks it before that."""
    from seqlab.config import ConfigError, unknown_key

    if line := unknown_key(conf, given, where):
        raise ConfigError(line)


store()
