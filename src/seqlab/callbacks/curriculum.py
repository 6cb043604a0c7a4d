"""Curriculum over sequence lengths: one regressor trained through growing lengths.

The notebook's last cell trains one model on lengths 2, 4, ..., 256 in turn (100 epochs
each, on fresh data) and plots the final loss of each stage against its length on log-log
axes. `Curriculum` does the training inside one Lightning run: one model, one optimizer (its
state carries over, as in the notebook), one TensorBoard run. The table and the plot are
the curriculum report's (seqlab.analysis.curriculum), made from the rows recorded here.
"""

from __future__ import annotations

import logging
import math
from typing import Any

import lightning as L

from seqlab.config import ConfigError
from seqlab.contracts import Reshapeable
from seqlab.loggers import tensorboard_writers
from seqlab.names import MSE, TRAIN_LOSS, VAL, VAL_LOSS, logged_key, metric

log = logging.getLogger(__name__)


class Curriculum(L.Callback):
    """Switches the data module to each stage's length (and n) when its epochs begin.

    `stages` is a list of {length, epochs, n}; n may be left out to keep the data's n.
    The Trainer must train for the stages' epochs in total and reload its dataloaders
    every epoch (`reload_dataloaders_every_n_epochs: 1`); its data must be Reshapeable.
    At the end of each stage its final train and validation losses are logged and kept in
    `stage_rows` (seqlab.contracts.StagedTraining).
    """

    def __init__(self, stages: list[dict[str, Any]]) -> None:
        if not stages:
            raise ConfigError("curriculum.stages: at least one stage is needed")
        for i, stage in enumerate(stages):
            if int(stage.get("length", 0)) < 1 or int(stage.get("epochs", 0)) < 1:
                raise ConfigError(
                    f"curriculum.stages[{i}]={dict(stage)}: needs length >= 1 and epochs >= 1"
                )
        self.stages = [dict(s) for s in stages]
        ends = []
        for stage in self.stages:
            ends.append((ends[-1] if ends else 0) + int(stage["epochs"]))
        self.ends = ends  # epoch count at which each stage is over
        self.stage_rows: list[dict[str, Any]] = []

    def stage_at(self, epoch: int) -> int:
        """Index of the stage that epoch `epoch` (0-based) belongs to."""
        return next((i for i, end in enumerate(self.ends) if epoch < end), len(self.ends) - 1)

    def setup(self, trainer: L.Trainer, pl_module: L.LightningModule, stage: str) -> None:
        if stage != "fit":
            return
        datamodule = trainer.datamodule
        if not isinstance(datamodule, Reshapeable):
            raise ConfigError(
                f"curriculum: {type(datamodule).__name__} cannot change its sequence length "
                "(it is not Reshapeable)"
            )
        if trainer.reload_dataloaders_every_n_epochs != 1:
            raise ConfigError("curriculum: set trainer.reload_dataloaders_every_n_epochs=1")
        if trainer.max_epochs != self.ends[-1]:  # conf/experiment/curriculum.yaml agrees
            raise ConfigError(
                f"trainer.max_epochs={trainer.max_epochs} contradicts curriculum.stages, whose "
                f"epochs add up to {self.ends[-1]}"
            )
        self._apply(datamodule, self.stage_at(trainer.current_epoch))

    def _apply(self, datamodule: Any, index: int) -> None:
        stage = self.stages[index]
        datamodule.set_shape(int(stage["length"]), stage.get("n"))
        log.info("curriculum stage %d/%d: length %d", index + 1, len(self.stages), stage["length"])

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        epoch = trainer.current_epoch  # the epoch that just ended (0-based)
        index = self.stage_at(epoch)
        if epoch + 1 != self.ends[index]:
            return
        metrics = trainer.callback_metrics
        stage = self.stages[index]
        row = {
            "length": int(stage["length"]),
            "epochs": int(stage["epochs"]),
            "n": int(stage.get("n") or trainer.datamodule.hparams.n),
            "train_loss": _value(metrics.get(logged_key(TRAIN_LOSS))),
            "val_loss": _value(metrics.get(VAL_LOSS)),
            "val_mse": _value(metrics.get(metric(VAL, MSE))),
        }
        self.stage_rows.append(row)
        log.info("curriculum length %d: final train loss %.4g", row["length"], row["train_loss"])
        for writer in tensorboard_writers(trainer):
            writer.add_scalar("curriculum/final_train_loss", row["train_loss"], row["length"])
            writer.add_scalar("curriculum/final_val_mse", row["val_mse"], row["length"])
        if index + 1 < len(self.stages):
            self._apply(trainer.datamodule, index + 1)

    def state_dict(self) -> dict[str, Any]:
        return {"rows": self.stage_rows}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        # Testing the best checkpoint after fit restores callback states too: keep the rows
        # of a longer run than the checkpoint's (resuming starts with none).
        rows = list(state_dict.get("rows", []))
        if len(rows) >= len(self.stage_rows):
            self.stage_rows = rows


def _value(tensor: Any) -> float:
    return float(tensor) if tensor is not None else math.nan
