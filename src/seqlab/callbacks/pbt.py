"""The pause of a population-based training member at the end of its generation
(seqlab.tuning.pbt), from inside its job."""

from __future__ import annotations

import logging
from typing import Any

import lightning as L

log = logging.getLogger(__name__)


class PbtBoundary(L.Callback):
    """In a PBT member's job, stops training once the epoch `pbt.stop_at` is done, before
    the run's max_epochs: the population's next step (the sweeper) then copies or keeps
    the member, and its next generation resumes it from last.ckpt. train() records the run
    as `paused` at `paused_at` (contracts.PausesRuns). A member resumed at or past its stop
    trains no epoch. Outside a PBT sweep it does nothing (conf/callbacks/pbt_boundary.yaml).

    The checkpoint callback always writes last.ckpt at an epoch where training stops, so
    the paused member's last.ckpt holds that very epoch. A member that copied another
    resumes from that member's checkpoint, whose optimizer holds the other's learning
    rate and settings: `apply_configured_values` puts the member's own (explored) values
    in their place."""

    def __init__(self, pbt: Any) -> None:
        self.stop_at = None if pbt is None else pbt.get("stop_at")
        self.paused_at: dict[str, Any] | None = None

    def _pause(self, trainer: L.Trainer, epoch: int) -> None:
        if self.stop_at is None or trainer.max_epochs is None:
            return
        if epoch >= self.stop_at and self.stop_at < trainer.max_epochs:
            self.paused_at = {"epoch": int(epoch)}
            trainer.should_stop = True

    def on_train_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if self.stop_at is not None:
            apply_configured_values(trainer, pl_module)
        self._pause(trainer, trainer.current_epoch)  # resumed at its stop: nothing to train

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._pause(trainer, trainer.current_epoch + 1)
        if self.paused_at:
            log.info("PBT: paused at epoch %d for the population's step", self.stop_at)


def apply_configured_values(trainer: L.Trainer, pl_module: L.LightningModule) -> None:
    """Set the restored optimizers' settings (lr, weight decay, betas, ...) to those the
    run's config gives, as a fresh `configure_optimizers()` makes them. Under a learning-
    rate scheduler the schedule's position is kept: the rate is rescaled by the new base
    rate over the old (`initial_lr`), and the scheduler's base rates follow. Values that
    did not change leave every setting as restored, exactly."""
    fresh = pl_module.configure_optimizers()
    if isinstance(fresh, dict):
        fresh = fresh["optimizer"]
    fresh_optimizers = fresh if isinstance(fresh, (list, tuple)) else [fresh]
    schedulers = [config.scheduler for config in trainer.lr_scheduler_configs]
    for restored, made in zip(trainer.optimizers, fresh_optimizers, strict=False):
        for i, (group, new) in enumerate(
            zip(restored.param_groups, made.param_groups, strict=True)
        ):
            for key, value in new.items():
                if key in ("params", "initial_lr") or key not in group:
                    continue
                if key == "lr" and "initial_lr" in group:
                    if group["initial_lr"] != value:
                        group["lr"] *= value / group["initial_lr"]
                        group["initial_lr"] = value
                        for scheduler in schedulers:
                            if getattr(scheduler, "optimizer", None) is restored:
                                scheduler.base_lrs[i] = value
                elif group[key] != value:
                    log.info("PBT: %s %s -> %s", key, group[key], value)
                    group[key] = value
