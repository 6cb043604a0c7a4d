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
    resumes from that member's checkpoint, whose optimizer holds the other's settings:
    `apply_explored_values` puts the member's own (explored) values in their place."""

    def __init__(self, pbt: Any) -> None:
        self.stop_at = None if pbt is None else pbt.get("stop_at")
        self.paused_at: dict[str, Any] | None = None
        self.restored: dict[str, Any] | None = None  # the checkpoint's hyperparameters

    def on_load_checkpoint(
        self, trainer: L.Trainer, pl_module: L.LightningModule, checkpoint: dict[str, Any]
    ) -> None:
        self.restored = dict(checkpoint.get("hyper_parameters") or {})

    def _pause(self, trainer: L.Trainer, epoch: int) -> None:
        if self.stop_at is None or trainer.max_epochs is None:
            return
        if epoch >= self.stop_at and self.stop_at < trainer.max_epochs:
            self.paused_at = {"epoch": int(epoch)}
            trainer.should_stop = True

    def on_train_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if self.stop_at is not None and self.restored is not None:
            apply_explored_values(trainer, pl_module, self.restored)
        self._pause(trainer, trainer.current_epoch)  # resumed at its stop: nothing to train

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._pause(trainer, trainer.current_epoch + 1)
        if self.paused_at:
            log.info("PBT: paused at epoch %d for the population's step", self.stop_at)


def apply_explored_values(trainer: Any, pl_module: Any, restored: dict[str, Any]) -> None:
    """Give the restored optimizers this run's own settings where they differ from those
    of the checkpoint's run (`restored`: its hyperparameters), as a member that copied
    another must. A new learning rate rescales the current one by new over old, and so
    the base rates of its schedulers: a warmup, a decay or a reduction on plateau keeps
    its place. Other optimizer settings (weight decay, betas), where the optimizer's
    config changed, are set as a fresh `configure_optimizers()` makes them. Settings that
    did not change are left exactly as restored."""
    hparams = pl_module.hparams
    old, new = restored.get("lr"), hparams.get("lr")
    numbers = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (old, new))
    if numbers and old and new != old:
        ratio = new / old
        log.info("PBT: learning rate %s -> %s", old, new)
        for optimizer in trainer.optimizers:
            for i, group in enumerate(optimizer.param_groups):
                group["lr"] = group["lr"] * ratio
                if "initial_lr" in group:
                    group["initial_lr"] = group["initial_lr"] * ratio
                for config in trainer.lr_scheduler_configs:
                    scheduler = config.scheduler
                    if getattr(scheduler, "optimizer", None) is optimizer:
                        if hasattr(scheduler, "base_lrs"):
                            scheduler.base_lrs[i] *= ratio
                        if hasattr(scheduler, "min_lrs"):  # ReduceLROnPlateau's floor
                            scheduler.min_lrs[i] *= ratio
    if _plain(restored.get("optimizer")) == _plain(hparams.get("optimizer")):
        return
    fresh = pl_module.configure_optimizers()
    if isinstance(fresh, dict):
        fresh = fresh["optimizer"]
    fresh_optimizers = fresh if isinstance(fresh, (list, tuple)) else [fresh]
    for optimizer, made in zip(trainer.optimizers, fresh_optimizers, strict=False):
        for group, given in zip(optimizer.param_groups, made.param_groups, strict=True):
            for key, value in given.items():
                if key not in ("params", "lr", "initial_lr") and group.get(key) != value:
                    log.info("PBT: %s %s -> %s", key, group.get(key), value)
                    group[key] = value


def _plain(value: Any) -> Any:
    from omegaconf import DictConfig, ListConfig, OmegaConf

    if isinstance(value, (DictConfig, ListConfig)):
        return OmegaConf.to_container(value, resolve=True)
    return value
