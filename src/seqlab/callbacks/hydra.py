"""Hydra callbacks (conf/hydra/default.yaml): before a multirun submits, and after it ends.

Hydra loads these for every run, `--help` included, so they import neither torch nor
lightning at module level (an import-linter contract in pyproject.toml holds them to it).
"""

from __future__ import annotations

import dataclasses
import shutil
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from hydra.experimental.callback import Callback
from omegaconf import DictConfig, OmegaConf

from seqlab.config import ConfigError, Refused, unknown_key
from seqlab.locking import DirectoryInUse, acquire, release
from seqlab.report.summary import write_report
from seqlab.rundir import first_line
from seqlab.search import stopped_study
from seqlab.sweeps.files import configured_sweep
from seqlab.sweeps.gpu_slots import check_jobs_per_gpu, chosen_gpus, slurm_gpu_request
from seqlab.sweeps.jobs import unfinished_jobs
from seqlab.sweeps.notice import send_notice, sweep_summary
from seqlab.sweeps.order import ORDERS, check_order
from seqlab.sweeps.plan import planning
from seqlab.sweeps.status import StatusReporter
from seqlab.trackers.sweep import publish_sweep_trackers, start_sweep_trackers


class PluginCheck(Callback):
    """Before a multirun writes or submits anything, check its sweeper and launcher: every
    key they were given is one their typed configs know (composing lets a `+key` in, and it
    would do nothing), and the SLURM launcher has SLURM's commands here."""

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        # Hydra turns a callback's exceptions into warnings: refuse (an exit) instead.
        for group in ("sweeper", "launcher"):
            if line := _unknown_key(config.hydra[group], f"hydra.{group}"):
                raise Refused(line)
        target = str(config.hydra.launcher.get("_target_", ""))
        if line := _launcher_settings(target, config.hydra.launcher):
            raise Refused(line)
        try:  # read again by the sweeper; a bad file is refused before the sweep's directory
            sweep_file = configured_sweep(config)
            sweeper = str(config.hydra.sweeper.get("_target_", ""))
            if sweep_file is not None and sweeper.endswith("SeqlabBasicSweeper"):
                sweep_file.grid_settings()
        except ConfigError as e:
            raise Refused(str(e)) from e
        if target.endswith(".SlurmLauncher") and shutil.which("sbatch") is None and not planning():
            raise Refused(
                "hydra/launcher=slurm: SLURM's sbatch is not on PATH here; run on a cluster's "
                "login node, or try the same sweep locally with hydra/launcher=submitit_local"
            )


def _unknown_key(node: DictConfig, where: str) -> str | None:
    """One line on a key of `node` that its structured config has no field for; None for
    an untyped node."""
    schema = OmegaConf.get_type(node)
    if schema is None or not dataclasses.is_dataclass(schema):
        return None
    return unknown_key(schema, node.keys(), where)


def _launcher_settings(target: str, launcher: DictConfig) -> str | None:
    """One line on the settings of seqlab's launchers where they are not allowed:
    local_parallel's `gpus`, `jobs_per_gpu` and `order`, the SLURM launcher's `shards`."""
    settings = OmegaConf.to_container(launcher)
    assert isinstance(settings, dict)
    try:
        if target.endswith(".LocalParallelLauncher"):
            chosen_gpus(settings.get("gpus"))
            check_jobs_per_gpu(settings.get("jobs_per_gpu", 1))
            check_order(settings.get("order", ORDERS[0]))
        elif target.endswith(".SlurmLauncher"):
            slurm_gpu_request(settings)
    except ConfigError as e:
        return str(e)
    return None


# The sweep directories of the multiruns this process started, in order: how the Python
# API (seqlab.api.sweep) learns where the sweep it ran went, whatever its launcher.
STARTED_SWEEPS: list[str] = []


class SweepLock(Callback):
    """The process that drives a multirun holds its sweep directory's lock
    (seqlab.locking): a second `resume=<sweep dir>` started meanwhile is refused in one line
    instead of running the same jobs in the same directories."""

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        if planning():  # --plan: no directory, nothing to hold
            return
        try:
            acquire(config.hydra.sweep.dir)
        except (DirectoryInUse, OSError) as e:  # Hydra turns a callback's exceptions into warnings
            raise Refused(str(e), 2 if isinstance(e, DirectoryInUse) else 1) from e
        STARTED_SWEEPS.append(str(config.hydra.sweep.dir))

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        if not planning():
            release(config.hydra.sweep.dir)


class SweepTrackers(Callback):
    """Before a multirun's jobs start, the sweep in the trackers its jobs log to
    (`logger=mlflow`, `logger=wandb`): MLflow's parent run, W&B's group, each recorded in
    the sweep directory for the jobs (seqlab.trackers). A tracker that cannot be used
    (not installed, its server unreachable, its store read-only) refuses the sweep in one
    line before any job runs. SweepReportCallback hands MLflow the report at the end."""

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        if planning():
            return
        try:
            start_sweep_trackers(config)
        except ConfigError as e:
            raise Refused(str(e)) from e
        except Exception as e:  # the store answered, then refused: nothing has run yet
            raise Refused(f"logger: cannot open the sweep in its tracker: {first_line(e)}") from e


class SweepStatusCallback(Callback):
    """While a multirun runs, its live status (seqlab.sweeps.status): done, running,
    failed, pruned and pending of the total, the time so far, an ETA and the best value
    yet; a job that fails or diverges is announced when it ends.

    `live`: auto draws one line that Rich redraws in place when the output is a terminal
    and the jobs run in other processes; otherwise (and with false) a plain line at each
    change, at most every `every_s` seconds."""

    def __init__(self, every_s: float = 5.0, live: Any = "auto") -> None:
        self.every_s, self.live = float(every_s), live
        self.reporter: StatusReporter | None = None

    def __getstate__(self) -> dict[str, Any]:
        # Launchers pickle Hydra's callbacks into each job's process; the reporter (a
        # thread) stays with the driver.
        return {**self.__dict__, "reporter": None}

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        if planning():
            return
        target = str(config.hydra.launcher.get("_target_", ""))
        elsewhere = not target.endswith("BasicLauncher")
        live = self.live is True or (self.live == "auto" and elsewhere and sys.stdout.isatty())
        self.reporter = StatusReporter(
            config.hydra.sweep.dir, driving=True, every_s=self.every_s, live=live
        )
        self.reporter.start()

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        if self.reporter is not None:
            reporter, self.reporter = self.reporter, None
            reporter.stop()


class SweepReportCallback(Callback):
    """Write the sweep report when a multirun ends (also if some jobs failed). Jobs that
    differ only in one of `replicate_keys` are replicates of one setting.

    A sweep some of whose jobs did not finish (a SLURM array cancelled, jobs out of time),
    or a study that stopped at its max_failure_rate, then ends with one line saying so and
    exit status 1: `resume=<sweep dir>` carries it on. Failed jobs alone do not count: the
    sweep went on without them, as it meant to.
    """

    def __init__(self, replicate_keys: Sequence[str] = ("seed",)) -> None:
        self.replicate_keys = list(replicate_keys)

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        if planning():
            return
        sweep_dir = Path(config.hydra.sweep.dir)
        try:
            path = write_report(sweep_dir, replicate_keys=self.replicate_keys)
        except Exception as e:  # a report must never turn a finished sweep into an error
            print(
                f"seqlab-report: could not write the report for {sweep_dir}: {e}", file=sys.stderr
            )
            path = None
        publish_sweep_trackers(sweep_dir, path, self.replicate_keys)
        _notify(config.get("notify"), sweep_dir, path)
        if path is None:
            return
        print(f"Sweep report: {path}")
        if (sweep_dir / "tensorboard").is_dir():
            print(f"Compare the jobs with: tensorboard --logdir {sweep_dir / 'tensorboard'}")
        if unfinished := unfinished_jobs(sweep_dir) or stopped_study(sweep_dir):
            raise Refused(unfinished, 1)


def _notify(notify: Any, sweep_dir: Path, report: Path | None) -> None:
    """The end-of-sweep notice, if asked for; its failure is a warning line, never the
    sweep's."""
    if not notify or not (notify.get("url") or notify.get("command")):
        return
    try:
        problems = send_notice(notify, sweep_summary(sweep_dir, report))
    except Exception as e:  # noqa: BLE001 (a notice never fails a sweep)
        problems = [f"notify: {e}"]
    for line in problems:
        print(f"seqlab-train: warning: {line}", file=sys.stderr)
