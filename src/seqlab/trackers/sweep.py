"""A multirun in the trackers its jobs log to, from the process that drives it: before the
jobs start, MLflow's parent run and W&B's group, recorded in the sweep directory for the
jobs to find; when the multirun ends, the report to MLflow's parent."""

from __future__ import annotations

import atexit
import contextlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from seqlab.trackers import MLFLOW, WANDB, check_trackers, configured_trackers
from seqlab.trackers.state import fixed_keys, read_state, write_state


def start_sweep_trackers(config: Any) -> None:
    """Check the configured trackers (installed, store reachable and writable), then open
    the sweep in each, or reopen it for a resumed sweep."""
    trackers = configured_trackers(config.get("logger"))
    if not trackers:
        return
    check_trackers(config.get("logger"))
    sweep_dir = Path(config.hydra.sweep.dir)
    sweep_dir.mkdir(parents=True, exist_ok=True)
    overrides = [str(o) for o in config.hydra.overrides.task]
    fixed = fixed_keys(overrides)
    sweeper = str(config.hydra.sweeper.get("_target_", "")).rsplit(".", 1)[-1]
    if MLFLOW in trackers:
        from seqlab.trackers.mlflow_sweep import start_sweep

        node = trackers[MLFLOW][1]
        experiment = node.get("experiment_name") or "seqlab"
        start_sweep(sweep_dir, node.tracking_uri, experiment, overrides, fixed, sweeper)
        _RUNNING.add(str(sweep_dir))
        atexit.register(_end_if_running, str(sweep_dir))
    if WANDB in trackers and read_state(sweep_dir, WANDB) is None:
        group = trackers[WANDB][1].get("group") or "/".join(sweep_dir.parts[-2:])
        write_state(sweep_dir, WANDB, {"group": group, "fixed": fixed})


# Sweeps whose MLflow run this process opened and has not ended: a driver stopped before
# the multirun's end (Ctrl-C; Hydra then calls no end callback) ends them as it exits.
_RUNNING: set[str] = set()


def _end_if_running(sweep_dir: str) -> None:
    if sweep_dir in _RUNNING:
        from seqlab.trackers.mlflow_sweep import end_interrupted

        with contextlib.suppress(Exception):  # exiting: nothing left to tell
            end_interrupted(sweep_dir)


def publish_sweep_trackers(
    sweep_dir: str | Path, report: Path | None, replicate_keys: Sequence[str]
) -> None:
    """At the end of the multirun: the report, plots and settings' means to MLflow."""
    _RUNNING.discard(str(Path(sweep_dir)))
    if read_state(sweep_dir, MLFLOW) is not None:
        from seqlab.trackers.mlflow_sweep import publish_sweep

        publish_sweep(sweep_dir, report, replicate_keys)
