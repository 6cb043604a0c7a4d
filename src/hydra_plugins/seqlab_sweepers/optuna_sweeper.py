"""hydra/sweeper=seqlab_optuna: an Optuna study whose trials are the sweep's jobs.

Optuna picks each trial's settings (ask), any configured launcher runs the trial as a job
(basic, local_parallel, slurm), and the job's metrics.json says how it ended (tell).
Jobs report their monitored value every epoch through the study's storage, a journal file
in the sweep directory, and stop when the pruner says so (seqlab.callbacks.pruning).

- `n_jobs` worker threads each launch one trial at a time, so with a launcher that runs
  jobs in other processes `n_jobs` trials are always in flight: a new one starts as soon
  as one ends. The basic launcher runs jobs in this process, one at a time.
- `resume=<sweep dir>` loads the study: finished trials are kept; a trial that was running
  when the sweep was killed is failed and retried in its own job directory, where the job
  resumes from its last checkpoint.
- A trial's job directory is Hydra's own `hydra.sweep.dir/hydra.sweep.subdir` for that job.
- `objectives` makes it a multi-objective study, whose result is its Pareto front.
- Its config is `SeqlabOptunaSweeperConf` (config.py); docs/search.md says where its
  semantics differ from hydra-optuna-sweeper's.
"""

from __future__ import annotations

import logging
import math
import threading
from pathlib import Path
from typing import Any

from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.core.plugins import Plugins
from hydra.plugins.sweeper import Sweeper
from hydra.types import HydraContext, TaskFunction
from omegaconf import DictConfig, OmegaConf

from hydra_plugins.seqlab_sweepers.config import SeqlabOptunaSweeperConf, check_keys
from hydra_plugins.seqlab_sweepers.racing import confirm_by_race
from hydra_plugins.seqlab_sweepers.study_results import (
    best_of_confirmed,
    top_settings,
    write_results,
)
from hydra_plugins.seqlab_sweepers.trials import (
    INTERRUPTED_ATTR,
    JOB_ATTR,
    job_error,
    metrics_outcome,
    returned_outcome,
    search_space_extender,
)
from seqlab.config import ConfigError
from seqlab.files import write_text_atomic
from seqlab.names import TRIAL_PREFIX
from seqlab.sweeps.files import configured_sweep, override_text
from seqlab.sweeps.plan import (
    SHOWN_PLANS,
    Plan,
    launcher_slots,
    planning,
    slot_lines,
    write_plan,
)
from seqlab.tuning.race import RaceSettings

log = logging.getLogger(__name__)


class SeqlabOptunaSweeper(Sweeper):
    """Runs an Optuna study through Hydra's launcher; see the module docstring."""

    def __init__(self, **settings: Any) -> None:
        check_keys(SeqlabOptunaSweeperConf, settings)
        self.settings = OmegaConf.create(settings)
        self.config: DictConfig | None = None
        self.race: RaceSettings | None = None  # confirm.race

    def setup(
        self, *, hydra_context: HydraContext, task_function: TaskFunction, config: DictConfig
    ) -> None:
        self.config, self.hydra_context = config, hydra_context
        self.launcher = Plugins.instance().instantiate_launcher(
            hydra_context=hydra_context, task_function=task_function, config=config
        )

    def sweep(self, arguments: list[str]) -> Any:
        from seqlab.search import SearchSettings, create_study, search_space

        file_params, file_fixed, monitor = self._from_sweep_file()
        settings = SearchSettings.from_config(self.settings, monitor)
        parser = OverridesParser.create(config_loader=self.hydra_context.config_loader)
        params = [f"{k}={v}" for k, v in {**(self.settings.params or {}), **file_params}.items()]
        arguments = [*(f"{k}={v}" for k, v in file_fixed.items()), *arguments]
        found = search_space(params, list(arguments), parser)
        space, fixed = found.space, found.fixed
        for text in found.pinned:
            log.info("%s: fixed on the command line, so it is not searched", text)
        if settings.multi_objective and settings.pruner != "none":
            log.info(
                "hydra.sweeper.pruner=%s: off, since Optuna cannot prune a multi-objective "
                "study; every trial trains in full",
                settings.pruner,
            )
        extend = search_space_extender(settings.custom_search_space)
        self.race = RaceSettings.from_config(
            self.settings.confirm.get("race"),
            "hydra.sweeper.confirm.race",
            first_seed=int(self.config.get("seed") or 0) + 1,
        )
        if self.race is not None and self.race.budget is not None:
            first = settings.confirm_top_k * self.race.min_seeds
            if self.race.budget < first:  # found now, not after every trial has run
                raise ConfigError(
                    f"hydra.sweeper.confirm.race.budget={self.race.budget}: the race's first "
                    f"round alone runs {first} jobs (top_k {settings.confirm_top_k} x "
                    f"min_seeds {self.race.min_seeds}); allowed: {first} or more"
                )
        # Compose one trial's config before any job runs: a bad key fails here, at once.
        self.validate_batch_is_legal([[*fixed, *_overrides(_first_values(space))]])
        seeds_each = self.race.max_seeds if self.race else settings.confirm_seeds
        total = _trials_wanted(settings, space) + settings.confirm_top_k * seeds_each
        if planning():
            _show_plan(self.config, settings, space, fixed, total)
            return None
        sweep_dir = Path(self.config.hydra.sweep.dir)
        sweep_dir.mkdir(parents=True, exist_ok=True)
        write_text_atomic(sweep_dir / "multirun.yaml", OmegaConf.to_yaml(self.config))
        slots = launcher_slots(self.config, total).count
        write_plan(sweep_dir, None, total, slots, f"an Optuna study ({settings.sampler})")
        study = create_study(settings, self.settings, space, sweep_dir)
        _retry_interrupted(study)
        todo = _trials_wanted(settings, space) - len(_finished(study))
        workers = settings.n_jobs if _runs_elsewhere(self.launcher) else 1
        if workers < settings.n_jobs:
            log.warning(
                "hydra.sweeper.n_jobs=%d: the basic launcher runs jobs in this process, one "
                "at a time; hydra/launcher=local_parallel runs them side by side",
                settings.n_jobs,
            )
        log.info("study %s: %d trial(s) to run, %d at a time", study.study_name, todo, workers)
        run = _TrialRunner(study, space, fixed, self, settings, todo, extend)
        if workers == 1:  # in this thread: signals and Ctrl-C behave as in any sweep
            run.work()
        else:
            threads = [threading.Thread(target=run.work, daemon=True) for _ in range(workers)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
        if run.error is not None:
            raise run.error
        confirmed = None
        try:
            if settings.confirm_top_k and run.stopped is None:
                confirmed = self._confirm(study, settings, fixed, run.next_job)
        finally:  # the study's result is written whatever the confirmation does
            write_results(study, sweep_dir, settings, run.stopped, confirmed)
        if run.stopped and settings.from_return:
            # As hydra-optuna-sweeper ends such a sweep with an error; seqlab-train says it
            # after its report (seqlab.callbacks.hydra).
            raise RuntimeError(f"study {study.study_name}: {run.stopped}")
        return None

    def _from_sweep_file(self) -> tuple[dict[str, str], dict[str, str], Any]:
        """A sweep file's search space, fixed values and monitor (W&B's `metric`); a W&B
        random or bayes file also sets the sampler, the trials and the pruner."""
        assert self.config is not None
        sweep_file = configured_sweep(self.config)
        if sweep_file is None:  # (a Hydra app other than seqlab's has no monitor)
            return {}, {}, self.config.get("monitor")
        params, fixed = sweep_file.search_space()
        if (search := sweep_file.search) is not None:
            self.settings.sampler = search.sampler
            if search.n_trials is not None:
                self.settings.n_trials = search.n_trials
            else:
                log.info(
                    "%s: no run_cap; the study runs %d trials (run_cap in the file sets them)",
                    sweep_file.where,
                    self.settings.n_trials,
                )
            if search.pruner is not None:
                self.settings.pruner = search.pruner
                self.settings.pruner_options = {search.pruner: dict(search.pruner_options)}
            else:
                self.settings.pruner = "none"  # W&B stops no run without early_terminate
        monitor = self.config.get("monitor")
        if "monitor.metric" in fixed:
            monitor = OmegaConf.create(
                {"metric": fixed["monitor.metric"], "mode": fixed.get("monitor.mode", "min")}
            )
            monitor.metric = str(monitor.metric)  # resolved: ${metric:...}
        return params, fixed, monitor

    def _confirm(
        self, study: Any, settings: Any, fixed: list[str], first_job: int
    ) -> dict[str, Any] | None:
        """The confirmation stage: the best `confirm.top_k` settings of the finished
        trials, each run again with `confirm.seeds` fresh seeds (the config's seed + 1,
        + 2, ...) as ordinary jobs numbered after the trials' (no trials of the study:
        nothing is pruned). Their mean, interval and ties, as optimization_results.yaml
        gives them under `confirmed`. A resumed sweep launches the same jobs in the same
        directories, where finished ones are not trained again."""
        from seqlab.sweeps.jobs import read_jobs
        from seqlab.sweeps.replicates import group_jobs

        metric, direction = settings.objectives[0]
        top = top_settings(study, settings.confirm_top_k, direction)
        if not top:
            log.warning("study %s: no trial completed, nothing to confirm", study.study_name)
            return None
        if self.race is not None and len(top) < 2:
            log.warning(
                "study %s: %d setting(s) completed, and a race needs two: no confirmation",
                study.study_name,
                len(top),
            )
            return None
        base = int(self.config.get("seed") or 0)
        seeds = [base + i for i in range(1, settings.confirm_seeds + 1)]
        # The seed is the confirmation's to set, whatever the trials had.
        kept = [o for o in fixed if o.split("=", 1)[0].lstrip("+~") != "seed"]
        if self.race is not None:
            return confirm_by_race(
                self, self.race, [_overrides(params) for params in top], top, kept, first_job
            )
        batch = [[*kept, *_overrides(params), f"seed={seed}"] for params in top for seed in seeds]
        # A conditional space (custom_search_space) gives settings different keys.
        keys = list(dict.fromkeys(key for params in top for key in params))
        log.info(
            "confirming the best %d setting(s) with seeds %s: jobs %d-%d",
            len(top),
            ",".join(map(str, seeds)),
            first_job,
            first_job + len(batch) - 1,
        )
        results = self.launcher.launch(batch, initial_job_idx=first_job)
        sweep_dir = Path(self.config.hydra.sweep.dir).resolve()
        ran = zip(batch, results, strict=True)
        names = {
            self.run_dir(result, overrides, num).resolve().relative_to(sweep_dir).as_posix()
            for num, (overrides, result) in enumerate(ran, first_job)
        }
        jobs = [job for job in read_jobs(sweep_dir) if job.name in names]
        mode = "min" if direction == "minimize" else "max"
        groups = group_jobs(jobs, [*keys, "seed"], metric, mode) or []
        # Each group's setting as the study gave it (numbers as numbers), by its overrides.
        by_overrides = {frozenset(_overrides(params)): params for params in top}
        summaries = [
            {
                "params": by_overrides.get(
                    frozenset(f"{k}={g.settings[k]}" for k in keys if g.settings[k] != ""),
                    dict(g.settings),
                ),
                "n": g.best.n,
                "mean": g.best.mean,
                "interval": [g.best.low, g.best.high],
                "rank": g.rank,
            }
            for g in groups
        ]
        best = summaries[0] if summaries and summaries[0]["rank"] == "best" else None
        confirmed: dict[str, Any] = {
            "top_k": settings.confirm_top_k,
            "seeds": seeds,
            "metric": metric,
            "jobs": [job.name for job in jobs],
            "settings": summaries,
        }
        if best is not None:
            tied = [s["params"] for s in summaries[1:] if s["rank"] == "tied"]
            confirmed.update(best_of_confirmed(best, tied))
            log.info(
                "confirmed best: %s, mean %s = %s over %d seeds%s",
                best["params"],
                metric,
                best["mean"],
                best["n"],
                f", tied with {len(tied)} other(s)" if tied else "",
            )
        return confirmed

    def run_dir(self, result: Any, overrides: list[str], job: int) -> Path:
        """Where a job wrote: the directory its launcher ran it in (Hydra's
        `hydra.runtime.output_dir`), or for a job that returned no config of its own (a
        SLURM job that ended without a result) the one Hydra names for it. Not
        thread-safe (job_dir)."""
        from seqlab.sweeps.layout import ran_in

        return ran_in(self.hydra_context.config_loader, self.config, result, overrides, job)


class _TrialRunner:
    """What the worker threads share: the study, and how many trials are left to start."""

    def __init__(
        self,
        study: Any,
        space: dict,
        fixed: list,
        sweeper: SeqlabOptunaSweeper,
        settings: Any,
        todo: int,
        extend: Any,
    ) -> None:
        self.study, self.space, self.fixed = study, space, fixed
        self.sweeper, self.settings, self.todo = sweeper, settings, todo
        self.launcher = sweeper.launcher
        self.sweep_dir = Path(sweeper.config.hydra.sweep.dir)
        self.lock = threading.Lock()
        self.extend = extend  # custom_search_space, or None
        # Jobs are numbered on from the study's last, so the sweep's directories stay 0..n-1
        # when a retried trial runs in the job directory it was interrupted in.
        jobs = [t.user_attrs.get(JOB_ATTR, t.number) for t in study.get_trials(deepcopy=False)]
        self.next_job = 1 + max(jobs, default=-1)
        self.error: Exception | None = None
        self.stopped: str | None = None  # why the study stopped early (max_failure_rate)

    def work(self) -> None:
        while True:
            with self.lock:
                if self.todo <= 0 or self.error is not None or self._too_many_failures():
                    return
                self.todo -= 1
                trial = self.study.ask(self.space)
                job = trial.user_attrs.get(JOB_ATTR)
                if job is None:
                    job, self.next_job = self.next_job, self.next_job + 1
                    trial.set_user_attr(JOB_ATTR, job)
                if self.extend is not None:  # suggests more of trial.params
                    try:
                        self.extend(self.sweeper.config, trial)
                    except Exception as e:  # the user's function: it ends the study, told
                        _tell(self.study, trial, None, "FAIL")
                        self.error = self.error or e
                        return
            overrides = [*self.fixed, *_overrides(trial.params)]
            if not self.settings.from_return:  # seqlab's jobs report to their trial
                overrides += [
                    f"{TRIAL_PREFIX}number={trial.number}",
                    f"{TRIAL_PREFIX}study={override_text(self.study.study_name)}",
                    f"{TRIAL_PREFIX}sweep_dir={override_text(str(self.sweep_dir.resolve()))}",
                ]
            try:
                [result] = self.launcher.launch([overrides], initial_job_idx=job)
                self._tell(trial, job, result, self._run_dir(result, overrides, job))
            except Exception as e:  # the launcher failed to run the job: the study ends
                # (An interrupt leaves the trial running: resume= retries it.)
                with self.lock:
                    if self.study._storage.get_trial(trial._trial_id).state.name == "RUNNING":
                        _tell(self.study, trial, None, "FAIL")
                    self.error = self.error or e
                return

    def _run_dir(self, result: Any, overrides: list[str], job: int) -> Path:
        with self.lock:  # job_dir sets Hydra's process-wide config while it resolves
            return self.sweeper.run_dir(result, overrides, job)

    def _too_many_failures(self) -> bool:
        """Whether more than max_failure_rate of the finished trials failed (never when it
        is 0); the first time, says so."""
        rate = self.settings.max_failure_rate
        if self.stopped is not None:
            return True
        if rate <= 0:
            return False
        finished = _finished(self.study)
        failed = sum(1 for t in finished if t.state.name == "FAIL")
        if not finished or failed / len(finished) <= rate:
            return False
        self.stopped = (
            f"{failed} of {len(finished)} finished trials failed, more than "
            f"hydra.sweeper.max_failure_rate={rate:g}: the study stopped"
        )
        log.warning("study %s: %s", self.study.study_name, self.stopped)
        return True

    def _tell(self, trial: Any, job: int, result: Any, run_dir: Path) -> None:
        """Tell the study how the trial's job ended. A task that raised is a failed trial,
        counted against max_failure_rate, whatever app it is."""
        if (error := job_error(result)) is not None:
            log.warning("trial %d (job %d) failed: %s", trial.number, job, error)
        if self.settings.from_return:
            state, value = ("FAIL", None) if error else returned_outcome(result, self.settings)
        else:
            state, value = metrics_outcome(run_dir, self.settings)
        if state == "INTERRUPTED":
            log.warning("trial %d was interrupted: resume= retries it", trial.number)
            return  # left running, as a killed sweep leaves it
        with self.lock:
            trial.set_user_attr("status", state.lower())
            _tell(self.study, trial, value, state)


def _tell(study: Any, trial: Any, value: float | list[float] | None, state: str) -> None:
    try:
        study.tell(trial, value, state=_state(state))
    except RuntimeError as e:
        # The grid sampler calls study.stop() once every point has run, which Optuna only
        # allows inside study.optimize(); the trial is told by then.
        if "Study.stop" not in str(e):
            raise


def _state(name: str) -> Any:
    from optuna.trial import TrialState

    return TrialState[name]


def _runs_elsewhere(launcher: Any) -> bool:
    """Whether the launcher runs jobs in other processes (so several can be in flight)."""
    from hydra._internal.core_plugins.basic_launcher import BasicLauncher

    return not isinstance(launcher, BasicLauncher)


def _retry_interrupted(study: Any) -> None:
    """Fail the trials a killed sweep left running, and queue each again in its own job
    directory, where the job resumes from its last checkpoint."""
    from seqlab.search import trial_by_number

    for trial in study.get_trials(deepcopy=False, states=(_state("RUNNING"),)):
        trial_by_number(study, trial.number).set_user_attr(INTERRUPTED_ATTR, True)
        _tell(study, trial.number, None, "FAIL")
        job = trial.user_attrs.get(JOB_ATTR, trial.number)
        study.enqueue_trial(trial.params, user_attrs={JOB_ATTR: job, "retry_of": trial.number})
        log.info("trial %d was interrupted: retrying it in job %s", trial.number, job)


def _trials_wanted(settings: Any, space: dict) -> int:
    """n_trials; with the grid sampler at most the grid's size (it has no more to give)."""
    if settings.sampler != "grid":
        return settings.n_trials
    from seqlab.search import grid_values

    size = math.prod(len(values) for values in grid_values(space).values())
    if size < settings.n_trials:
        log.info("hydra.sweeper.n_trials=%d: the grid has %d points", settings.n_trials, size)
    return min(settings.n_trials, size)


def _finished(study: Any) -> list:
    """Trials that ran to an end (complete, pruned, or failed by themselves)."""
    done = tuple(_state(name) for name in ("COMPLETE", "PRUNED", "FAIL"))
    trials = study.get_trials(deepcopy=False, states=done)
    return [t for t in trials if not t.user_attrs.get(INTERRUPTED_ATTR)]


def _first_values(space: dict) -> dict:
    """A value from each distribution, to compose one trial's config with."""
    from optuna.distributions import CategoricalDistribution

    return {
        k: d.choices[0] if isinstance(d, CategoricalDistribution) else d.low
        for k, d in space.items()
    }


def _overrides(params: dict) -> list[str]:
    """A trial's params as overrides; a string quoted unless Hydra reads it back as the
    same string (a choice "001" stays a string, as the study sampled it)."""
    return [f"{k}={override_text(v) if isinstance(v, str) else v}" for k, v in params.items()]


def _show_plan(
    config: DictConfig, settings: Any, space: dict, fixed: list[str], total: int
) -> None:
    """`--plan` for a study: what it searches, how many jobs at most, where they run."""
    slots = launcher_slots(config, total)
    lines = [
        f"Plan: an Optuna study ({settings.sampler} sampler, {settings.pruner} pruner) of "
        f"{settings.n_trials} trial(s), {total} job(s) at most with its confirmation",
        *(f"  search {key}: {dist}" for key, dist in space.items()),
        *(f"  fixed  {text}" for text in fixed),
    ]
    print("\n".join([*lines, *slot_lines(slots, total)]), flush=True)
    space_text = {key: repr(dist) for key, dist in space.items()}
    SHOWN_PLANS.append(Plan("an Optuna study", slots, space=space_text, total=total))
