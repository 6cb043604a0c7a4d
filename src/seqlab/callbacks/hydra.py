"""Hydra callbacks (conf/hydra/default.yaml): before a multirun submits, and after it ends.

Hydra loads these for every run, `--help` included, so they import neither torch nor
lightning at module level (an import-linter contract in pyproject.toml holds them to it).
"""

from __future__ import annotations

import shutil
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from hydra.experimental.callback import Callback
from omegaconf import DictConfig

from seqlab.locking import DirectoryInUse, acquire, release
from seqlab.report.summary import write_report
from seqlab.sweep.jobs import unfinished_jobs


class LauncherCheck(Callback):
    """Before a multirun submits anything, check that its launcher can run here (the SLURM
    launcher needs SLURM's commands)."""

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        target = str(config.hydra.launcher.get("_target_", ""))
        if target.endswith(".SlurmLauncher") and shutil.which("sbatch") is None:
            # Hydra turns a callback's exceptions into warnings: exit instead.
            print(
                "seqlab-train: error: hydra/launcher=slurm: SLURM's sbatch is not on PATH "
                "here; run on a cluster's login node, or try the same sweep locally with "
                "hydra/launcher=submitit_local",
                file=sys.stderr,
            )
            sys.exit(2)


class SweepLock(Callback):
    """The process that drives a multirun holds its sweep directory's lock
    (seqlab.locking): a second `resume=<sweep dir>` started meanwhile is refused in one line
    instead of running the same jobs in the same directories."""

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        try:
            acquire(config.hydra.sweep.dir)
        except (DirectoryInUse, OSError) as e:  # Hydra turns a callback's exceptions into warnings
            print(f"seqlab-train: error: {e}", file=sys.stderr)
            sys.exit(2 if isinstance(e, DirectoryInUse) else 1)

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        release(config.hydra.sweep.dir)


class SweepReportCallback(Callback):
    """Write the sweep report when a multirun ends (also if some jobs failed). Jobs that
    differ only in one of `replicate_keys` are replicates of one setting.

    A sweep some of whose jobs did not finish (a SLURM array cancelled, jobs out of time)
    then ends with one line saying so and exit status 1: `resume=<sweep dir>` carries it
    on. Failed jobs do not count: the sweep went on without them, as it meant to.
    """

    def __init__(self, replicate_keys: Sequence[str] = ("seed",)) -> None:
        self.replicate_keys = list(replicate_keys)

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        sweep_dir = Path(config.hydra.sweep.dir)
        try:
            path = write_report(sweep_dir, replicate_keys=self.replicate_keys)
        except Exception as e:  # a report must never turn a finished sweep into an error
            print(
                f"seqlab-report: could not write the report for {sweep_dir}: {e}", file=sys.stderr
            )
            return
        print(f"Sweep report: {path}")
        print(f"Compare the jobs with: tensorboard --logdir {sweep_dir / 'tensorboard'}")
        if unfinished := unfinished_jobs(sweep_dir):
            print(f"seqlab-train: error: {unfinished}", file=sys.stderr)
            sys.exit(1)
