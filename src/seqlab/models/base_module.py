"""What seqlab's LightningModules share: optimizer and LR scheduler built from config, and
epoch metrics handed to callbacks and loggers once an epoch (`SeqlabModule.publish`)."""

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
    """Base LightningModule: `lr`, `optimizer`, `scheduler` and `scheduler_interval` hparams;
    `log_train`, `log_eval` and `publish` for the metrics every run records.

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
    # step (torchmetrics' forward) or logging them per step costs a large share of a small
    # LSTM's whole step (docs/benchmarks.md).
    def on_validation_epoch_end(self) -> None:
        self.publish(VAL, self.metric_values(VAL, self.val_metric))

    def on_test_epoch_end(self) -> None:
        self.publish(TEST, self.metric_values(TEST, self.test_metric))

    def eval_metric(self, stage: str) -> Any:
        """The metric object that counts an evaluation stage ("val" or "test")."""
        return {VAL: self.val_metric, TEST: self.test_metric}[stage]

    def metric_values(self, stage: str, counter: Any) -> dict[str, torch.Tensor]:
        """{`stage/<metric_name>`: the epoch's value} of an evaluation metric object (empty
        if it counted nothing); the object is then reset for the next epoch."""
        values = {}
        if counter.update_called:  # compute() gathers all processes' states itself
            values[metric(stage, self.metric_name)] = counter.compute()
        counter.reset()
        return values

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

    # Epoch values (weighted means of the steps' values, and the metric objects') are summed
    # on the device and handed to callbacks and loggers once an epoch by `publish`, not
    # through `self.log`: Lightning's logging re-places its state on the device at every
    # call and resets a torchmetrics object per key every epoch, about as long as a small
    # LSTM's whole full-batch epoch. Step values (`train/<name>_step`,
    # every `log_every_n_steps` steps of epochs with several batches) use `self.log`.
    # One running sum per stage: validation may run inside a training epoch
    # (`val_check_interval`), and must leave that epoch's training sums alone.
    def on_train_epoch_start(self) -> None:
        self._sums_of(TRAIN).clear()

    def on_validation_epoch_start(self) -> None:
        self._sums_of(VAL).clear()

    def on_test_epoch_start(self) -> None:
        self._sums_of(TEST).clear()

    def _sums_of(self, stage: str) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
        """{metric: (weighted total, weight)} of a stage's epoch so far."""
        sums = self.__dict__.setdefault("_sums", {})  # made here: a resumed run may skip a hook
        return sums.setdefault(stage, {})

    def _add(self, stage: str, values: dict[str, tuple[torch.Tensor, torch.Tensor | int]]) -> None:
        sums = self._sums_of(stage)
        for name, (value, weight) in values.items():
            key = metric(stage, name)
            total, count = sums.get(key, (0.0, 0.0))
            sums[key] = (total + value.detach() * weight, count + weight)

    def _means(self, stage: str) -> dict[str, torch.Tensor]:
        """The weighted means of the stage's values this epoch, over all processes."""
        reduce = self.trainer.strategy.reduce
        means = {}
        for key, (total, count) in self._sums_of(stage).items():
            count = torch.as_tensor(count, dtype=total.dtype, device=total.device)
            means[key] = reduce(total, reduce_op="sum") / reduce(count, reduce_op="sum")
        return means

    def log_train(self, values: dict[str, tuple[torch.Tensor, torch.Tensor | int]]) -> None:
        """Log training values {name: (value, weight)}: `train/<name>_step` on logging steps,
        and `train/<name>_epoch`, the weighted mean over the epoch, at its last batch."""
        trainer = self.trainer
        self._add(TRAIN, values)
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
            self.publish(TRAIN)

    def log_eval(self, stage: str, loss: torch.Tensor, batch_size: int) -> None:
        """Count an evaluation loss towards `stage/loss`, the epoch's mean weighted by batch
        size (published at the epoch's end)."""
        self._add(stage, {LOSS: (loss, batch_size)})

    def publish(self, stage: str, values: dict[str, torch.Tensor] | None = None) -> None:
        """Hand the stage's epoch means and `values` to the callbacks (as
        `trainer.callback_metrics`, which checkpointing, early stopping and metrics.json
        read) and to the loggers."""
        trainer = self.trainer
        if trainer.sanity_checking:
            return
        means = {logged_key(k): v for k, v in self._means(stage).items()}
        values = {**means, **(values or {})}
        trainer.callback_metrics.update(values)
        # Lightning's own route to the loggers: the step it gives epoch values, and
        # trainer.logged_metrics.
        trainer._logger_connector.log_metrics(values)
