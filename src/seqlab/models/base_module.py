"""What seqlab's LightningModules share: optimizer and LR scheduler built from config."""

from __future__ import annotations

from typing import Any

import lightning as L
import torch
from hydra.utils import instantiate

from seqlab.data.batches import Batch

# Used when a config gives no optimizer: the lr always comes from the module's `lr`.
DEFAULT_OPTIMIZER = {"_target_": "torch.optim.Adam", "_partial_": True}


class SeqlabModule(L.LightningModule):
    """Base LightningModule: `lr`, `optimizer`, `scheduler` and `scheduler_interval` hparams.

    `optimizer` and `scheduler` are Hydra configs with `_partial_: true`, kept as plain dicts
    in the hyperparameters (so checkpoints hold data, not objects) and instantiated here.
    The learning rate lives in `lr` alone, so a sweep over `model.lr` needs no interpolation.
    """

    # Subclasses set `metric_name` ("mse", "acc") and, in __init__, `self.val_metric` and
    # `self.test_metric` (torchmetrics objects that `step` updates during evaluation).
    metric_name: str

    def step(self, batch: Batch, stage: str) -> torch.Tensor:
        """Loss of one batch; logs it, and updates the evaluation metric outside training."""
        raise NotImplementedError

    def training_step(self, batch: Batch, batch_idx: int) -> torch.Tensor:
        return self.step(batch, "train")

    def validation_step(self, batch: Batch, batch_idx: int) -> None:
        self.step(batch, "val")

    def test_step(self, batch: Batch, batch_idx: int) -> None:
        self.step(batch, "test")

    # Metric objects are updated per batch and computed once per epoch. Calling them per
    # step (torchmetrics' forward) or logging them per step cost ~3 ms a step here, a
    # fifth of a small LSTM's whole step; training logs plain tensors instead.
    def on_validation_epoch_end(self) -> None:
        self._log_metric("val", self.val_metric)

    def on_test_epoch_end(self) -> None:
        self._log_metric("test", self.test_metric)

    def _log_metric(self, stage: str, metric: Any) -> None:
        if metric.update_called:
            self.log(f"{stage}/{self.metric_name}", metric.compute())
        metric.reset()

    def configure_optimizers(self) -> Any:
        hp = self.hparams
        make_optimizer = instantiate(hp.optimizer or DEFAULT_OPTIMIZER)
        optimizer = make_optimizer(self.parameters(), lr=hp.lr)
        if not hp.get("scheduler"):
            return optimizer
        scheduler = instantiate(hp.scheduler)(optimizer)
        interval = hp.get("scheduler_interval", "epoch")
        return {
            "optimizer": optimizer,
            "lr_scheduler": {"scheduler": scheduler, "interval": interval},
        }

    def log_split(self, stage: str, name: str, value: torch.Tensor, batch_size: int) -> None:
        """Log a tensor as `stage/name`: the epoch's mean weighted by `batch_size`, and for
        training also every step (sent to loggers every `log_every_n_steps`)."""
        self.log(
            f"{stage}/{name}",
            value,
            on_step=stage == "train",
            on_epoch=True,
            prog_bar=name == "loss",
            batch_size=batch_size,
        )
