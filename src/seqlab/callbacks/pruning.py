"""Pruning of a hyperparameter search's trials (seqlab.search), from inside their jobs."""

from __future__ import annotations

import logging
import math
from typing import Any

import lightning as L

from seqlab.names import logged_key

log = logging.getLogger(__name__)


class TrialPruning(L.Callback):
    """Reports the monitored value to the job's Optuna trial after every validation, and
    stops training at once when the study's pruner says the trial is hopeless.

    The report goes through the study's storage, so it works from any process or node that
    sees the sweep directory. train() then records the run as `pruned` at `pruned_at`.
    """

    def __init__(self, trial: Any, monitor: str) -> None:
        self.trial = trial
        self.monitor = logged_key(monitor)
        self.pruned_at: dict[str, Any] | None = None

    def on_validation_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if trainer.sanity_checking or self.pruned_at:
            return
        epoch = trainer.current_epoch + 1
        value = trainer.callback_metrics.get(self.monitor)
        prune = False
        # Rank 0 alone talks to the study; under DDP every rank follows its decision.
        if trainer.is_global_zero and value is not None and math.isfinite(float(value)):
            self.trial.report(float(value), epoch)  # a diverged value is DivergenceGuard's
            prune = self.trial.should_prune()
        if trainer.world_size > 1:
            prune = trainer.strategy.broadcast(prune, src=0)
        if prune:
            self.pruned_at = {"epoch": epoch, "value": float(value)}
            log.info("trial %d pruned at epoch %d", self.trial.number, epoch)
            trainer.should_stop = True
