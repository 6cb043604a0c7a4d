"""hydra/launcher=slurm: hydra-submitit-launcher's SLURM launcher, for sweeps that get
interrupted and resumed.

What it does differently:
- Each job's directory and `.hydra/overrides.yaml` are written at submission, so the report
  lists a job that waits in the queue (or was cancelled before it started) as pending.
- A job that ends without a result (cancelled, timed out more often than `max_num_timeout`
  allows, lost with its node) does not end the sweep while the other jobs still run: each
  is waited for, and each one without a result is logged in one line with its SLURM state.
  The sweep's report lists it, and seqlab-train ends non-zero (SweepReportCallback).
- With `resume=<sweep dir>`, jobs whose directory holds a finished run are not submitted
  again: the array holds only the jobs still to do.
- SLURM's signal before the time limit requeues a job only while its run has not finished
  (seqlab.sweeps.requeue): a job whose run completed ends COMPLETED, not requeued or FAILED.
"""

# No `from __future__ import annotations`: Hydra's plugin scan imports this module.
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from hydra.core.singleton import Singleton
from hydra.core.utils import JobReturn, JobStatus, filter_overrides
from hydra_plugins.hydra_submitit_launcher import submitit_launcher
from omegaconf import OmegaConf

from hydra_plugins.seqlab_launchers.config import SlurmLauncherConf  # noqa: F401 (registers it)
from hydra_plugins.seqlab_launchers.results import job_result

log = logging.getLogger(__name__)


class SlurmLauncher(submitit_launcher.SlurmLauncher):
    """One SLURM job array per batch of the sweep (see the module's docstring)."""

    def __init__(self, canary: bool = True, **params: Any) -> None:
        from seqlab.sweeps.gpu_slots import slurm_gpu_request

        self.canary = canary
        self._shapes_run: set[str] = set()  # the canary's, across this sweep's batches
        # Each submitted job's run directory, by job number: the job reads it (this launcher
        # is pickled into every job) to tell whether its run has finished.
        self._run_dirs: dict[int, str] = {}
        super().__init__(**slurm_gpu_request(params))

    def launch(
        self, job_overrides: Sequence[Sequence[str]], initial_job_idx: int
    ) -> Sequence[JobReturn]:
        from seqlab.names import FINISHED, RESUME
        from seqlab.rundir import read_metrics
        from seqlab.sweeps.layout import job_dir

        assert self.config is not None
        sweep_dir = Path(str(self.config.hydra.sweep.dir))
        sweep_dir.mkdir(parents=True, exist_ok=True)
        log.info(f"Submitit 'slurm' sweep output dir : {sweep_dir}")
        resuming = bool(self.config.get(RESUME))
        results: dict[int, JobReturn] = {}
        todo, directories = [], []
        loader = self.hydra_context.config_loader
        for num, overrides in enumerate(job_overrides, start=initial_job_idx):
            directory = job_dir(loader, self.config, overrides, num)
            status = read_metrics(directory).get("status") if resuming else None
            if status in FINISHED:
                log.info(f"\t#{num} : {status} already, not submitted again")
                results[num] = JobReturn(overrides=list(overrides), status=JobStatus.COMPLETED)
                continue
            log.info(f"\t#{num} : {' '.join(filter_overrides(overrides))}")
            todo.append((list(overrides), "hydra.sweep.dir", num, f"job_id_for_{num}"))
            directories.append(directory)
            self._run_dirs[num] = str(directory)
        if todo and self.canary:  # before any job's directory is written
            self._canary([overrides for overrides, *_ in todo], [num for _, _, num, _ in todo])
        for (overrides, *_), directory in zip(todo, directories, strict=True):
            _write_overrides(directory, overrides)
        if todo:
            state = Singleton.get_state()
            params = [(*job, state) for job in todo]
            jobs = self._executor().map_array(self, *zip(*params, strict=True))
            for (overrides, _, num, _), job in zip(todo, jobs, strict=True):
                results[num] = job_result(job, num, overrides)
        return [results[num] for num in sorted(results)]

    def __call__(
        self,
        sweep_overrides: list[str],
        job_dir_key: str,
        job_num: int,
        job_id: str,
        singleton_state: dict[type, Singleton],
    ) -> JobReturn:
        """One job, in its SLURM job (submitit calls it once it has set its own signal
        handlers): SLURM's signal before the time limit requeues the job only while its run
        has not finished, and never once the job has made its result (seqlab.sweeps.requeue)."""
        import signal

        import submitit

        from seqlab.sweeps.requeue import remove_unfinished_result, requeue_only_unfinished

        env = submitit.JobEnvironment()
        remove_unfinished_result(env.paths.result_pickle)
        run_dir = getattr(self, "_run_dirs", {}).get(job_num)  # none in a job submitted before
        before_time_limit = signal.Signals[f"SIG{env.USR_SIG}"]
        with requeue_only_unfinished(before_time_limit, Path(run_dir) if run_dir else None):
            return super().__call__(sweep_overrides, job_dir_key, job_num, job_id, singleton_state)

    def _canary(self, jobs: list[list[str]], nums: list[int]) -> None:
        """Build and step once, on the CPU here, one job of each model and data shape;
        the first that fails stops the submission (a ConfigError: one line)."""
        import time

        from seqlab.config import ConfigError
        from seqlab.sweeps.estimates import distinct_shapes, probe_jobs

        assert self.config is not None
        if str(self.config.hydra.sweeper.get("_target_", "")).endswith("SeqlabOptunaSweeper"):
            # A study samples its trials one by one: a bad one fails alone, as a trial.
            return
        start = time.perf_counter()
        found = distinct_shapes(self.hydra_context.config_loader, self.config, jobs)
        shapes = [job for shape, job in found.items() if shape not in self._shapes_run]
        if not all({"model", "data", "trainer"} <= set(job) for _, job in shapes):
            log.info("canary: not seqlab-train's jobs (no model, data, trainer); skipped")
            return
        if not shapes:
            return
        log.info("canary: %d shape(s) of %d job(s), built and stepped once on the CPU here",
                 len(shapes), len(jobs))  # fmt: skip
        results = probe_jobs([job for _, job in shapes], mode="check")
        for (index, _), result in zip(shapes, results, strict=True):
            if "error" in result:
                raise ConfigError(
                    f"canary: job #{nums[index]} ({' '.join(filter_overrides(jobs[index]))}) "
                    f"fails before submission: {result['error']}; nothing was submitted "
                    "(hydra.launcher.canary=false skips this check)"
                )
        self._shapes_run.update(found)
        log.info("canary: every shape ran (%.1f s); submitting", time.perf_counter() - start)

    def _executor(self) -> Any:
        """submitit's executor with the launcher's parameters (as the base launcher sets
        them up)."""
        import submitit
        from hydra_plugins.hydra_submitit_launcher.config import BaseQueueConf

        init_keys = {"submitit_folder", "max_num_timeout"}
        executor = submitit.AutoExecutor(
            cluster=self._EXECUTOR,
            folder=self.params["submitit_folder"],
            slurm_max_num_timeout=self.params["max_num_timeout"],
        )
        base = set(OmegaConf.structured(BaseQueueConf).keys())
        executor.update_parameters(
            **{
                key if key in base else f"{self._EXECUTOR}_{key}": value
                for key, value in self.params.items()
                if key not in init_keys
            }
        )
        return executor


def _write_overrides(job_dir: Path, overrides: Sequence[str]) -> None:
    """The job's `.hydra/overrides.yaml`, as Hydra writes it when the job starts."""
    from seqlab.files import write_text_atomic

    path = job_dir / ".hydra" / "overrides.yaml"
    if not path.is_file():
        write_text_atomic(path, OmegaConf.to_yaml(OmegaConf.create(list(overrides))))
