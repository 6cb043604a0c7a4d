"""hydra/sweeper=seqlab_basic: Hydra's basic sweeper, composing a sweep's configs faster.

Before launching a batch, Hydra's basic sweeper composes every job's config once, to fail
before any job runs, and the launcher then composes each again: a large part of a big
grid's overhead. This sweeper composes, before launching, only the jobs that bring an
override value not seen yet: every value of every swept key is still composed once before
any job runs.

Each composition also set up Hydra's config sources, read every config file again and
merged them all. The sweeper's compositions (its own and its launcher's) go through
`SweepConfigLoader` instead: each choice of config groups is composed once per sweep, from
config files read once (as they were when the sweep started), and a job's values are set
on a copy. docs/benchmarks.md gives the costs.

Its config is `SeqlabBasicSweeperConf` (config.py), Hydra's own basic sweeper's settings.
"""

from __future__ import annotations

import copy
import logging
import time
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from hydra._internal.config_loader_impl import ConfigLoaderImpl, get_overrides_dirname
from hydra._internal.config_repository import CachingConfigRepository
from hydra._internal.core_plugins.basic_sweeper import BasicSweeper
from hydra.core.config_search_path import ConfigSearchPath
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.core.override_parser.types import Override
from hydra.core.utils import JobReturn
from hydra.plugins.config_source import ConfigResult
from hydra.types import HydraContext, TaskFunction
from omegaconf import DictConfig, OmegaConf

from hydra_plugins.seqlab_sweepers.config import (
    SeqlabBasicSweeperConf,
    SeqlabOptunaSweeperConf,
    check_keys,
)
from seqlab.names import RESUME
from seqlab.sweeps.files import SweepFile, combined_jobs, configured_sweep

log = logging.getLogger(__name__)


def covering_jobs(batch: Sequence[Sequence[str]]) -> list[Sequence[str]]:
    """The jobs of `batch`, in order, that each bring an override (`key=value`) no earlier
    chosen job has: together they hold every override of the batch."""
    seen: set[str] = set()
    chosen = []
    for overrides in batch:
        if not seen.issuperset(overrides):
            chosen.append(overrides)
            seen.update(overrides)
    return chosen


class _SharedCache(CachingConfigRepository):
    """A file cache that outlives a composition: it hands out copies, since composing
    merges the loaded configs' nodes into the result without copying them, and then
    changes them (overrides, flags)."""

    def load_config(self, config_path: str) -> ConfigResult | None:
        loaded = super().load_config(config_path)
        return copy.deepcopy(loaded)


class SweepConfigLoader(ConfigLoaderImpl):
    """Hydra's config loader, composing each choice of config groups once per sweep.

    A job's config is the composition of the config files its group choices select, with
    its values (`model.lr=0.1`) then set on it. Jobs that choose the same groups share the
    composition: each gets a copy, with its values set as Hydra sets them, and its own
    `hydra.overrides.task` and `hydra.job.override_dirname`. The config files themselves
    are read once (Hydra makes a new file cache for every composition). A test holds the
    results equal to Hydra's own.
    """

    def __init__(self, config_search_path: ConfigSearchPath) -> None:
        super().__init__(config_search_path)
        self._repositories: dict[tuple[str, ...], _SharedCache] = {}
        self._compositions: dict[tuple[str, ...], DictConfig] = {}

    def _parse_overrides_and_create_caching_repo(
        self, config_name: str | None, overrides: list[str]
    ) -> tuple[list[Override], CachingConfigRepository]:
        parsed = OverridesParser.create().parse_overrides(overrides=overrides)
        # Only the primary config and `hydra.searchpath` overrides change the sources.
        search = [o.input_line for o in parsed if o.key_or_group == "hydra.searchpath"]
        key = (str(config_name), *search)
        if key not in self._repositories:
            repository = _SharedCache(self.repository)
            self._process_config_searchpath(config_name, parsed, repository)
            self._repositories[key] = repository
        return parsed, self._repositories[key]

    def load_sweep_config(
        self, master_config: DictConfig, sweep_overrides: list[str]
    ) -> DictConfig:
        config_name = master_config.hydra.job.config_name
        # Unresolved, as Hydra's loader copies them: `hydra.sweep.subdir=${hydra.job.num}`
        # is the job's to resolve, not the sweep's.
        fixed = OmegaConf.to_container(master_config.hydra.overrides.hydra)
        assert isinstance(fixed, list)
        parsed, repository = self._parse_overrides_and_create_caching_repo(
            config_name, [*fixed, *sweep_overrides]
        )
        # As Hydra tells them apart (defaults_list.Overrides): an override that names no
        # config group, or gives a dict, sets a value; the others choose config files.
        values = [
            o
            for o in parsed
            if not o.is_hydra_override()
            and (isinstance(o.value(), dict) or not repository.group_exists(o.key_or_group))
        ]
        choices = [o.input_line for o in parsed[len(fixed) :] if o not in values]
        key = (str(config_name), *fixed, *choices)
        if key not in self._compositions:
            self._compositions[key] = super().load_sweep_config(master_config, choices)
        cfg = copy.deepcopy(self._compositions[key])
        ConfigLoaderImpl._apply_overrides_to_config(values, cfg)
        task = [o for o in parsed if not o.is_hydra_override()]
        cfg.hydra.overrides.task = [o.input_line for o in task]
        dirname = cfg.hydra.job.config.override_dirname
        cfg.hydra.job.override_dirname = get_overrides_dirname(
            overrides=task,
            kv_sep=dirname.kv_sep,
            item_sep=dirname.item_sep,
            exclude_keys=dirname.exclude_keys,
        )
        OmegaConf.copy_cache(from_config=master_config, to_config=cfg)
        return cfg


class SeqlabBasicSweeper(BasicSweeper):
    """Hydra's BasicSweeper whose check before launching composes `covering_jobs` only, and
    whose compositions, its own and its launcher's, go through `SweepConfigLoader`.

    Its jobs are the command line's grid, multiplied by the settings of a sweep file
    (`sweep=<name>`, `sweep_file=<path>`: seqlab.sweeps.files) where one is given. A W&B
    file asking for a random or Bayesian search runs as seqlab's Optuna study. Under
    `--plan` it shows the jobs and launches none; otherwise it writes the plan to the
    sweep directory before the first job (seqlab.sweeps.plan).
    """

    def __init__(
        self,
        max_batch_size: int | None = None,
        params: Any = None,
        race: Any = None,
        **unknown: Any,
    ):
        from seqlab.tuning.race import RaceSettings

        check_keys(SeqlabBasicSweeperConf, unknown)
        super().__init__(max_batch_size=max_batch_size, params=params)
        self.race = RaceSettings.from_config(race, "hydra.sweeper.race")

    def setup(
        self, *, hydra_context: HydraContext, task_function: TaskFunction, config: DictConfig
    ) -> None:
        loader = SweepConfigLoader(hydra_context.config_loader.config_search_path)
        hydra_context = replace(hydra_context, config_loader=loader)
        self.task_function = task_function
        super().setup(hydra_context=hydra_context, task_function=task_function, config=config)

    def sweep(self, arguments: list[str]) -> Any:
        assert self.config is not None and self.hydra_context is not None
        sweep_file = configured_sweep(self.config)
        for note in sweep_file.notes if sweep_file else []:
            log.info(note)
        if sweep_file is not None and sweep_file.search is not None:
            return self._search(arguments)
        jobs = self.jobs(arguments, sweep_file)
        source = sweep_file.where if sweep_file else "the command line"
        if self.race is not None:
            return self._race(jobs, source)
        return self._run(jobs, source)

    def jobs(self, arguments: list[str], sweep_file: SweepFile | None) -> list[list[str]]:
        """Every job's overrides: the command line's grid (Hydra's own split), times the
        sweep file's settings."""
        assert self.hydra_context is not None
        parser = OverridesParser.create(config_loader=self.hydra_context.config_loader)
        overrides = parser.parse_overrides([*self._parse_config(), *arguments])
        command = self.split_arguments(overrides, None)[0]
        if sweep_file is None:
            return command
        settings = sweep_file.grid_settings()
        assert settings is not None  # a search went to _search
        jobs, pinned = combined_jobs(settings, command)
        for key in pinned:
            log.info("%s: set on the command line, which wins over %s", key, sweep_file.where)
        return jobs

    def _run(self, jobs: list[list[str]], source: str) -> list[Sequence[JobReturn]]:
        """Hydra's BasicSweeper.sweep, on `jobs`, with the plan first."""
        from seqlab.sweeps.plan import check_resumed_jobs, launcher_slots, planning, write_plan

        assert self.config is not None and self.launcher is not None
        sweep_dir = Path(self.config.hydra.sweep.dir)
        if self.config.get(RESUME):
            check_resumed_jobs(sweep_dir, jobs)
        if planning():
            self.validate_batch_is_legal(jobs)
            self._show_plan(jobs, source)
            return []
        size = self.max_batch_size
        chunks = [jobs] if size is None else self.split_overrides_to_chunks(jobs, size)
        self.overrides = list(chunks)
        self.batch_index = 0
        sweep_dir.mkdir(parents=True, exist_ok=True)
        OmegaConf.save(self.config, sweep_dir / "multirun.yaml")
        write_plan(sweep_dir, jobs, len(jobs), launcher_slots(self.config, len(jobs)).count, source)
        returns: list[Sequence[JobReturn]] = []
        initial_job_idx = 0
        while not self.is_done():
            batch = self.get_job_batch()
            tic = time.perf_counter()
            self.validate_batch_is_legal(batch)
            log.debug("validated %d jobs in %.2f s", len(batch), time.perf_counter() - tic)
            results = self.launcher.launch(batch, initial_job_idx=initial_job_idx)
            for r in results:
                _ = r.return_value  # raises where the job raised, as Hydra's sweeper does
            initial_job_idx += len(batch)
            returns.append(results)
        return returns

    def _race(self, settings: list[list[str]], source: str) -> list[Sequence[JobReturn]]:
        """The grid's settings raced over seeds (hydra.sweeper.race; racing.py): rounds of
        jobs, each launched as a batch, until the race is decided or can go no further."""
        from hydra_plugins.seqlab_sweepers.racing import check_no_seed, check_resumed_race, run_race
        from seqlab.names import metric_range, recorded_name
        from seqlab.sweeps.layout import ran_in
        from seqlab.sweeps.plan import launcher_slots, planning, write_plan
        from seqlab.tuning.race import Race, read_race

        assert self.config is not None and self.launcher is not None and self.race is not None
        assert self.hydra_context is not None
        check_no_seed(settings)
        metric = recorded_name(str(self.config.monitor.metric))
        race = Race.start(
            self.race, settings, metric, str(self.config.monitor.mode), metric_range(metric)
        )
        most = (
            race.jobs_at_max
            if self.race.budget is None
            else min(self.race.budget, race.jobs_at_max)
        )
        race.first_round()  # a budget too small for it fails here, before any job
        sweep_dir = Path(self.config.hydra.sweep.dir)
        earlier = None
        if self.config.get(RESUME):
            check_resumed_race(sweep_dir, race)
            earlier = read_race(sweep_dir)
        if planning():
            self.validate_batch_is_legal([[*s, "seed=1"] for s in settings])
            print(
                f"Plan: a race of {len(settings)} settings from {source}, "
                f"{self.race.min_seeds} to {self.race.max_seeds} seeds each: "
                f"{len(settings) * self.race.min_seeds} to {most} jobs",
                flush=True,
            )
            return []
        sweep_dir.mkdir(parents=True, exist_ok=True)
        OmegaConf.save(self.config, sweep_dir / "multirun.yaml")
        slots = launcher_slots(self.config, most).count
        write_plan(sweep_dir, None, most, slots, f"a race of the settings of {source}")
        returns: list[Sequence[JobReturn]] = []

        def launch(batch: list[list[str]], first: int) -> Sequence[JobReturn]:
            self.validate_batch_is_legal(batch)
            results = self.launcher.launch(batch, initial_job_idx=first)
            returns.append(results)
            return results

        def run_dir(result: JobReturn, overrides: list[str], num: int) -> Path:
            assert self.hydra_context is not None and self.config is not None
            return ran_in(self.hydra_context.config_loader, self.config, result, overrides, num)

        run_race(race, sweep_dir, launch, run_dir, earlier=earlier)
        return returns

    def _show_plan(self, jobs: list[list[str]], source: str) -> None:
        from seqlab.sweeps.estimates import job_estimates
        from seqlab.sweeps.plan import SHOWN_PLANS, Plan, launcher_slots, plan_lines, planning

        assert self.config is not None and self.hydra_context is not None
        slots = launcher_slots(self.config, len(jobs))
        loader = self.hydra_context.config_loader
        estimates = job_estimates(loader, self.config, jobs, probe=planning() == "probe")
        print("\n".join(plan_lines(jobs, slots, estimates, source)), flush=True)
        SHOWN_PLANS.append(Plan(source, slots, jobs, estimates, total=len(jobs)))

    def _search(self, arguments: list[str]) -> Any:
        """A W&B random or bayes file: seqlab's Optuna sweeper runs it, with the sampler,
        run cap and pruner the file asks for (the search space it reads from the file)."""
        from hydra_plugins.seqlab_sweepers.optuna_sweeper import SeqlabOptunaSweeper
        from seqlab.sweeps.plan import launcher_slots

        assert self.config is not None and self.hydra_context is not None
        settings = OmegaConf.to_container(OmegaConf.structured(SeqlabOptunaSweeperConf))
        assert isinstance(settings, dict)
        settings.pop("_target_")
        settings["seed"] = self.config.get("seed")
        # Trials in flight: as many as the launcher runs side by side.
        settings["n_jobs"] = launcher_slots(self.config, settings["n_trials"]).count
        sweeper = SeqlabOptunaSweeper(**settings)
        sweeper.setup(
            hydra_context=self.hydra_context, task_function=self.task_function, config=self.config
        )
        return sweeper.sweep(arguments)

    def validate_batch_is_legal(self, batch: Sequence[Sequence[str]]) -> None:
        super().validate_batch_is_legal(covering_jobs(batch))
