"""Pruning of a hyperparameter search's trials (seqlab.search), from inside their jobs."""

from __future__ import annotations

import logging
import math
from typing import Any

import lightning as L

from seqlab.names import logged_key
from seqlab.search import open_trial

log = logging.getLogger(__name__)


class TrialPruning(L.Callback):
    """In a search trial's job, reports the monitored value to its Optuna trial after every
    validation, and stops training at once when the study's pruner says the trial is
    hopeless (conf/callbacks/trial_pruning.yaml). Outside a search it does nothing.

    `trial` is the job's `trial` config node (number, study, sweep directory), which the
    sweeper sets; the trial is opened when fitting starts. The report goes through the
    study's storage, so it works from any process or node that sees the sweep directory.
    train() then records the run as `pruned` at `pruned_at` (contracts.PrunesTrials).
    """

    def __init__(self, trial: Any, monitor: str) -> None:
        self.trial_config = trial
        self.monitor = logged_key(monitor)
        self.trial: Any = None
        self.pruned_at: dict[str, Any] | None = None

    def setup(self, trainer: L.Trainer, pl_module: L.LightningModule, stage: str) -> None:
        if stage == "fit" and self.trial is None:
            self.trial = open_trial(self.trial_config)

    def on_validation_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if trainer.sanity_checking or self.pruned_at or self.trial is None:
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
