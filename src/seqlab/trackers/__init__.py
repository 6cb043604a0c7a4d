"""Experiment trackers beside TensorBoard: MLflow (`logger=mlflow`) and Weights & Biases
(`logger=wandb`), and how seqlab's runs and sweeps map onto them (docs/trackers.md).

A run is one tracker run. A sweep is one MLflow parent run with its jobs as children, and
one W&B group. metrics.json and the checkpoints stay the record of truth: a tracker that
fails during a run costs a warning, never the run.

This package is light (no torch, lightning, mlflow or wandb at module level): the config
checks and the sweep's driver use it before any training starts. The Lightning loggers
that write to the trackers are in seqlab.loggers.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Mapping
from typing import Any

from seqlab.config import ConfigError
from seqlab.names import COMPLETED, DIVERGED, FAILED, INTERRUPTED, PRUNED, RUNNING

MLFLOW, WANDB = "mlflow", "wandb"
# seqlab's logger classes for each tracker (`_target_`s; Lightning's own are left alone).
TARGETS = {
    MLFLOW: ("seqlab.loggers.MLFlowLogger", "seqlab.loggers.mlflow.MLFlowLogger"),
    WANDB: ("seqlab.loggers.WandbLogger", "seqlab.loggers.wandb.WandbLogger"),
}

# MLflow's run statuses for seqlab's: a finished run whose training went wrong (diverged)
# is FAILED; one stopped from outside is KILLED; a pruned trial ended as its study meant.
# The tag `seqlab.status` keeps seqlab's own word.
MLFLOW_STATUS = {
    RUNNING: "RUNNING",
    COMPLETED: "FINISHED",
    PRUNED: "FINISHED",
    DIVERGED: "FAILED",
    FAILED: "FAILED",
    INTERRUPTED: "KILLED",
}
STATUS_TAG = "seqlab.status"


class TrackerError(ConfigError):
    """A tracker that cannot be used as configured: not installed, unreachable, read-only."""


def configured_trackers(loggers: Mapping[str, Any] | None) -> dict[str, tuple[str, Any]]:
    """The trackers among a config's `logger` entries: tracker -> (entry name, node)."""
    found: dict[str, tuple[str, Any]] = {}
    for name, node in (loggers or {}).items():
        target = str((node or {}).get("_target_", ""))
        for tracker, targets in TARGETS.items():
            if target in targets:
                found[tracker] = (name, node)
    return found


def require(tracker: str, where: str) -> None:
    """Refuse, in one line naming the pip command, a tracker whose package is missing."""
    if importlib.util.find_spec(tracker) is None:
        raise TrackerError(
            f"{where}: the {tracker} package is not installed here; pip install 'seqlab[{tracker}]'"
        )


def check_trackers(loggers: Mapping[str, Any] | None, probe: bool = True) -> None:
    """Before training: each configured tracker is installed, and MLflow's store can be
    written and (with `probe`) its server reached (seqlab.trackers.mlflow_store). A
    sweep's driver probes once; its jobs leave the probe out (`probe=False`)."""
    from seqlab.trackers.mlflow_store import check_store
    from seqlab.trackers.wandb_mode import check_mode

    for tracker, (name, node) in configured_trackers(loggers).items():
        require(tracker, f"logger.{name} ({tracker})")
        if tracker == MLFLOW:
            check_store(node.get("tracking_uri"), f"logger.{name}.tracking_uri", probe)
        else:
            check_mode(node.get("mode"), f"logger.{name}.mode")


def provenance_tags(provenance: Mapping[str, Any] | None) -> dict[str, str]:
    """A run's code provenance (metrics.json's `provenance`) as tracker tags: MLflow's own
    `mlflow.source.git.commit`, which its UI links, and seqlab's version, whether the
    checkout had uncommitted changes, and the libraries'."""
    provenance = provenance or {}
    tags = {f"seqlab.code.{k}": str(v) for k, v in provenance.items() if k != "git" and v}
    if (git := provenance.get("git")) and git.get("commit"):
        tags["mlflow.source.git.commit"] = str(git["commit"])
        tags["seqlab.code.dirty"] = str(bool(git.get("dirty"))).lower()
    return tags


def setting_label(settings: Mapping[str, Any]) -> str:
    """`model.hidden_dim=8,model.lr=0.01`: a setting by its swept keys, as both its jobs'
    tag and its own run in MLflow name it; `all jobs` for a sweep of seeds alone."""
    return ",".join(f"{k}={v}" for k, v in settings.items()) or "all jobs"


def is_missing(error: BaseException) -> bool:
    """Whether MLflow said that the run (or experiment) asked for does not exist."""
    return getattr(error, "error_code", None) == "RESOURCE_DOES_NOT_EXIST"
