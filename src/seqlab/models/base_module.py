"""What seqlab's LightningModules share: optimizer and LR scheduler built from config."""

from __future__ import annotations

from typing import Any

import lightning as L
import torch
from hydra.utils import instantiate

from seqlab.data.batches import Batch
from seqlab.names import LOSS, STEP_SUFFIX, TEST, TRAIN, VAL, logged_key, metric

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
        return self.step(batch, TRAIN)

    def validation_step(self, batch: Batch, batch_idx: int) -> None:
        self.step(batch, VAL)

    def test_step(self, batch: Batch, batch_idx: int) -> None:
        self.step(batch, TEST)

    # Metric objects are updated per batch and computed once per epoch. Calling them per
    # step (torchmetrics' forward) or logging them per step cost ~3 ms a step here, a
    # fifth of a small LSTM's whole step; training logs plain tensors instead.
    def on_validation_epoch_end(self) -> None:
        self._log_metric(VAL, self.val_metric)

    def on_test_epoch_end(self) -> None:
        self._log_metric(TEST, self.test_metric)

    def eval_metric(self, stage: str) -> Any:
        """The metric object that counts an evaluation stage ("val" or "test")."""
        return {VAL: self.val_metric, TEST: self.test_metric}[stage]

    def _log_metric(self, stage: str, counter: Any) -> None:
        if counter.update_called:
            # compute() already gathers all processes' states; sync_dist only says so.
            self.log(metric(stage, self.metric_name), counter.compute(), sync_dist=True)
        counter.reset()

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

    # Training metrics are summed on the device and handed to `self.log` only when a logger
    # reads them: every `log_every_n_steps` steps and once, as the epoch's mean, at its last
    # batch. `self.log` costs ~1 ms a call here (Lightning re-places its result state on the
    # device at every call): logging loss and metric every step cost ~10% of a small LSTM's
    # step in `make bench`.
    def on_train_start(self) -> None:  # also when a run resumes mid-epoch
        self._train_sums: dict[str, tuple[torch.Tensor, torch.Tensor]] = {}

    def on_train_epoch_start(self) -> None:
        self._train_sums = {}

    def log_train(self, values: dict[str, tuple[torch.Tensor, torch.Tensor | int]]) -> None:
        """Log training values {name: (value, weight)}: `train/<name>_step` on logging steps
        and `train/<name>_epoch`, the weighted mean over the epoch, at its last batch."""
        trainer = self.trainer
        sums = self._train_sums
        for name, (value, weight) in values.items():
            total, count = sums.get(name, (0.0, 0.0))
            sums[name] = (total + value.detach() * weight, count + weight)
        # With one batch per epoch (full-batch training) the step values are the epoch's.
        several = trainer.num_training_batches > 1
        if several and (trainer.global_step + 1) % trainer.log_every_n_steps == 0:
            for name, (value, _) in values.items():
                self.log(
                    metric(TRAIN, name) + STEP_SUFFIX,
                    value.detach(),
                    on_step=True,
                    prog_bar=name == LOSS,
                )
        stopping = 0 < trainer.max_steps <= trainer.global_step + 1
        if trainer.is_last_batch or stopping:
            for name, (total, count) in sums.items():
                # sync_dist: under DDP the epoch value is the mean over all ranks' shares.
                self.log(
                    logged_key(metric(TRAIN, name)),
                    total / count,
                    on_step=False,
                    on_epoch=True,
                    sync_dist=True,
                    batch_size=1,  # the mean is ours; one value per epoch to "average"
                )

    def log_eval(self, stage: str, loss: torch.Tensor, batch_size: int) -> None:
        """Log an evaluation loss as `stage/loss`: the epoch's mean weighted by batch size."""
        key = metric(stage, LOSS)
        self.log(key, loss, on_epoch=True, batch_size=batch_size, sync_dist=True)
