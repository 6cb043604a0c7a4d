"""hydra/launcher=local_parallel: a sweep's jobs side by side on this machine, and on its
GPUs `jobs_per_gpu` at a time on each.

- Where there is no GPU (or `gpus: []`), it is hydra-joblib-launcher, unchanged: `n_jobs`
  processes of joblib's pool run the jobs.
- With GPUs (all visible ones by default; inside a SLURM allocation, the allocation's), it
  keeps `jobs_per_gpu` slots on each GPU (seqlab.sweeps.gpu_slots). A job waits for a free
  slot, then runs in a process of its own that submitit's local executor starts with only
  that GPU in its `CUDA_VISIBLE_DEVICES`, so the job cannot touch another GPU. The slot
  frees when the job ends, however it ends, and the next job starts in it at once: no
  batches, so a long job holds back none but itself.

Why not joblib's pool for GPU jobs: its worker processes are reused, and a process's CUDA
devices are fixed the first time it touches CUDA, so a worker cannot move to the GPU of its
next job; and a worker that dies (the OOM killer, a crash in a CUDA kernel) breaks the pool
and, with it, every job still running. A process per job costs each job its start-up.

The slots belong to the launcher, not to one `launch()`: the Optuna sweeper's worker
threads, each launching one trial at a time, share them.
"""

# No `from __future__ import annotations`: Hydra's plugin scan imports this module.
import logging
import shlex
import sys
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from hydra.core.singleton import Singleton
from hydra.core.utils import JobReturn, filter_overrides
from hydra.types import HydraContext, TaskFunction
from hydra_plugins.hydra_joblib_launcher.joblib_launcher import JoblibLauncher
from omegaconf import DictConfig

from hydra_plugins.seqlab_launchers.config import LocalParallelLauncherConf
from hydra_plugins.seqlab_launchers.results import job_result
from seqlab.config import available_cores
from seqlab.sweeps.gpu_slots import GpuSlots, Slot, check_jobs_per_gpu, chosen_gpus
from seqlab.sweeps.order import check_order, job_work, longest_first

log = logging.getLogger(__name__)

# A local job has no time limit (as a joblib job has none); submitit's local executor wants
# one, and signals the job before it: a year.
NO_TIME_LIMIT_MIN = 60 * 24 * 365
POLL_S = 0.2  # how often a slot's thread looks whether its job's process has ended


class LocalParallelLauncher(JoblibLauncher):
    """Jobs side by side; on GPUs, in slots (see the module's docstring)."""

    def __init__(
        self,
        gpus: Any = None,
        jobs_per_gpu: int = 1,
        submitit_folder: str = LocalParallelLauncherConf.submitit_folder,
        order: str = LocalParallelLauncherConf.order,
        **joblib: Any,
    ) -> None:
        from seqlab.config import ConfigError, unknown_key

        # For Hydra apps without seqlab's PluginCheck callback, which checks this earlier.
        if line := unknown_key(LocalParallelLauncherConf, joblib, "hydra.launcher"):
            raise ConfigError(line)
        self.jobs_per_gpu = check_jobs_per_gpu(jobs_per_gpu)
        self.order = check_order(order)
        self.gpus = chosen_gpus(gpus)
        self.submitit_folder = submitit_folder
        super().__init__(**joblib)
        n_jobs = joblib.get("n_jobs", -1)
        limit = n_jobs if isinstance(n_jobs, int) and n_jobs > 0 else None
        self.slots = GpuSlots(self.gpus, self.jobs_per_gpu, limit) if self.gpus else None
        self._runner: Any = None
        self._running: set[Any] = set()  # submitit jobs whose processes run now
        self._lock = threading.Lock()

    def setup(
        self, *, hydra_context: HydraContext, task_function: TaskFunction, config: DictConfig
    ) -> None:
        super().setup(hydra_context=hydra_context, task_function=task_function, config=config)
        if self.slots is not None:
            from hydra_plugins.hydra_submitit_launcher.submitit_launcher import LocalLauncher

            # What runs in a job's process: submitit's Hydra job (Hydra's run_job on the
            # job's config). It is pickled for each job; the slots stay here.
            self._runner = LocalLauncher(submitit_folder=self.submitit_folder)
            self._runner.setup(
                hydra_context=hydra_context, task_function=task_function, config=config
            )
            log.info(
                "GPUs %s, %d job(s) on each at once (%d slots)",
                ",".join(self.gpus),
                self.jobs_per_gpu,
                self.slots.size,
            )

    def launch(
        self, job_overrides: Sequence[Sequence[str]], initial_job_idx: int
    ) -> Sequence[JobReturn]:
        order = self._start_order(job_overrides)
        if self.slots is None:
            return self._launch_in_pool(job_overrides, initial_job_idx, order)
        assert self.config is not None
        Path(str(self.config.hydra.sweep.dir)).mkdir(parents=True, exist_ok=True)
        stop = threading.Event()
        # Threads only wait: each job runs in a process of its own, one per slot taken.
        # They take the jobs in the order submitted: the slots go to the longest first.
        pool = ThreadPoolExecutor(max_workers=min(self.slots.size, len(job_overrides)))
        futures = {
            i: pool.submit(self._run_in_slot, list(job_overrides[i]), initial_job_idx + i, stop)
            for i in order
        }
        try:
            return [futures[i].result() for i in range(len(job_overrides))]
        except BaseException:  # Ctrl-C: start no other job, and stop those running
            stop.set()
            with self._lock:
                for job in self._running:
                    job.cancel()
            raise
        finally:
            pool.shutdown(wait=False, cancel_futures=True)

    def _start_order(self, job_overrides: Sequence[Sequence[str]]) -> list[int]:
        """The positions of the jobs in the order they start (seqlab.sweeps.order)."""
        given = list(range(len(job_overrides)))
        workers = self.slots.size if self.slots is not None else self._pool_size()
        if self.order == "given" or len(job_overrides) <= workers:
            return given
        assert self.config is not None and self.hydra_context is not None
        loader = self.hydra_context.config_loader
        works = []
        for overrides in job_overrides:
            try:
                works.append(job_work(loader.load_sweep_config(self.config, list(overrides))))
            except Exception:  # (an ordering hint: a job that cannot compose fails when run)
                return given
        order = longest_first(works)
        if order != given:
            log.info("Starting the longest jobs first: #%s", ", #".join(map(str, order)))
        return order

    def _pool_size(self) -> int:
        n_jobs = self.joblib.get("n_jobs", -1)
        return n_jobs if isinstance(n_jobs, int) and n_jobs > 0 else available_cores()

    def _launch_in_pool(
        self, job_overrides: Sequence[Sequence[str]], initial_job_idx: int, order: list[int]
    ) -> Sequence[JobReturn]:
        """hydra-joblib-launcher's launch, submitting the jobs in `order`: each keeps its
        number, and the results come back in Hydra's order."""
        from hydra.core.utils import configure_log, setup_globals
        from hydra_plugins.hydra_joblib_launcher._core import execute_job, process_joblib_cfg
        from joblib import Parallel, delayed

        setup_globals()
        assert self.config is not None and self.hydra_context is not None
        configure_log(self.config.hydra.hydra_logging, self.config.hydra.verbose)
        sweep_dir = Path(str(self.config.hydra.sweep.dir))
        sweep_dir.mkdir(parents=True, exist_ok=True)
        joblib_cfg = self.joblib
        joblib_cfg["backend"] = "loky"  # (Hydra's: its threading backend cannot run Hydra jobs)
        process_joblib_cfg(joblib_cfg)
        settings = ",".join(f"{k}={v}" for k, v in joblib_cfg.items())
        log.info(f"Joblib.Parallel({settings}) is launching {len(job_overrides)} jobs")
        log.info(f"Launching jobs, sweep output dir : {sweep_dir}")
        for idx, overrides in enumerate(job_overrides):
            log.info(f"\t#{initial_job_idx + idx} : {' '.join(filter_overrides(overrides))}")
        singleton_state = Singleton.get_state()
        runs = Parallel(**joblib_cfg)(
            delayed(execute_job)(
                initial_job_idx + i,
                job_overrides[i],
                self.hydra_context,
                self.config,
                self.task_function,
                singleton_state,
            )  # fmt: skip
            for i in order
        )
        results: list[JobReturn] = [None] * len(order)  # type: ignore[list-item]
        for i, run in zip(order, runs, strict=True):
            assert isinstance(run, JobReturn)
            results[i] = run
        return results

    def jobs_at_once(self) -> int:
        """How many jobs run side by side: the slots, or fewer trials in flight."""
        assert self.slots is not None and self.config is not None
        in_flight = self.config.hydra.sweeper.get("n_jobs")
        if isinstance(in_flight, int) and in_flight > 0:
            return min(self.slots.size, in_flight)
        return self.slots.size

    def _run_in_slot(self, overrides: list[str], num: int, stop: threading.Event) -> JobReturn:
        assert self.slots is not None
        with self.slots.taken() as slot:
            if stop.is_set():
                raise KeyboardInterrupt
            log.info(f"\t#{num} : {' '.join(filter_overrides(overrides))} (GPU {slot.gpu})")
            with self._lock:
                job = self._executor(slot).submit(
                    self._runner, overrides, "hydra.sweep.dir", num, f"job_id_for_{num}",
                    Singleton.get_state(),
                )  # fmt: skip
                self._running.add(job)
            try:
                while not job.done():
                    time.sleep(POLL_S)
            finally:
                with self._lock:
                    self._running.discard(job)
        # Its process has ended, so the slot is free already: a job killed without leaving a
        # result makes submitit wait a while for one, which must not keep the GPU idle.
        return job_result(job, num, overrides)

    def _executor(self, slot: Slot) -> Any:
        """submitit's local executor for one job in `slot`: the job's process starts with
        the slot's environment (only its GPU visible), set before Python starts, so that
        nothing the job imports can have created a CUDA context on another GPU first."""
        import submitit

        environment = slot.environment(self.jobs_per_gpu, self.jobs_at_once())
        assignments = " ".join(shlex.quote(f"{k}={v}") for k, v in environment.items())
        python = f"env {assignments} {shlex.quote(sys.executable)}"
        executor = submitit.LocalExecutor(folder=self.submitit_folder, python=python)
        executor.update_parameters(timeout_min=NO_TIME_LIMIT_MIN, gpus_per_node=0)
        return executor
