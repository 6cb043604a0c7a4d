"""Curriculum over sequence lengths: one regressor trained through growing lengths.

The notebook's last cell trains one model on lengths 2, 4, ..., 256 in turn (100 epochs
each, on fresh data) and plots the final loss of each stage against its length on log-log
axes. `Curriculum` does that inside one Lightning run: one model, one optimizer (its
state carries over, as in the notebook), one TensorBoard run.
"""

from __future__ import annotations

import csv
import logging
import math
from pathlib import Path
from typing import Any

import lightning as L

from seqlab.callbacks import tensorboard_writers
from seqlab.config import ConfigError
from seqlab.plots import length_axis, new_figure, publish

log = logging.getLogger(__name__)

CSV_FILE, MD_FILE, PNG_FILE = "curriculum.csv", "curriculum.md", "curriculum.png"


class Curriculum(L.Callback):
    """Switches the data module to each stage's length (and n) when its epochs begin.

    `stages` is a list of {length, epochs, n}; n may be left out to keep the data's n.
    The Trainer trains for the stages' epochs in total and must reload its dataloaders
    every epoch (`reload_dataloaders_every_n_epochs: 1`). At the end of each stage its
    final train and validation losses are logged; at the end of training the table
    (curriculum.csv/.md) and the log-log plot (curriculum.png) go into the run directory.
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
        self.rows: list[dict[str, Any]] = []

    def stage_at(self, epoch: int) -> int:
        """Index of the stage that epoch `epoch` (0-based) belongs to."""
        return next((i for i, end in enumerate(self.ends) if epoch < end), len(self.ends) - 1)

    def setup(self, trainer: L.Trainer, pl_module: L.LightningModule, stage: str) -> None:
        if stage != "fit":
            return
        datamodule = trainer.datamodule
        if not hasattr(datamodule, "set_shape"):
            raise ConfigError("curriculum: the data module cannot change its sequence length")
        if trainer.reload_dataloaders_every_n_epochs != 1:
            raise ConfigError("curriculum: set trainer.reload_dataloaders_every_n_epochs=1")
        trainer.fit_loop.max_epochs = self.ends[-1]
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
            "train_loss": _value(metrics.get("train/loss_epoch")),
            "val_loss": _value(metrics.get("val/loss")),
            "val_mse": _value(metrics.get("val/mse")),
        }
        self.rows.append(row)
        log.info("curriculum length %d: final train loss %.4g", row["length"], row["train_loss"])
        for writer in tensorboard_writers(trainer):
            writer.add_scalar("curriculum/final_train_loss", row["train_loss"], row["length"])
            writer.add_scalar("curriculum/final_val_mse", row["val_mse"], row["length"])
        if index + 1 < len(self.stages):
            self._apply(trainer.datamodule, index + 1)

    def on_fit_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if not trainer.is_global_zero or not self.rows:
            return
        out_dir = Path(trainer.default_root_dir)
        write_tables(self.rows, out_dir)
        writers = tensorboard_writers(trainer)
        publish(
            figure(self.rows),
            out_dir / PNG_FILE,
            writers,
            "curriculum/loss_by_length",
            trainer.global_step,
        )

    def state_dict(self) -> dict[str, Any]:
        return {"rows": self.rows}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self.rows = list(state_dict.get("rows", []))


def _value(tensor: Any) -> float:
    return float(tensor) if tensor is not None else math.nan


def write_tables(rows: list[dict[str, Any]], out_dir: Path) -> None:
    columns = ["length", "epochs", "n", "train_loss", "val_loss", "val_mse"]
    with (out_dir / CSV_FILE).open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=columns)
        writer.writeheader()
        writer.writerows(rows)
    lines = [
        "| length | epochs | n | final train loss | final val loss | final val MSE |",
        "|---:|---:|---:|---:|---:|---:|",
        *(
            f"| {r['length']} | {r['epochs']} | {r['n']} | {r['train_loss']:.4g} | "
            f"{r['val_loss']:.4g} | {r['val_mse']:.4g} |"
            for r in rows
        ),
    ]
    (out_dir / MD_FILE).write_text("\n".join(lines) + "\n")


def figure(rows: list[dict[str, Any]]) -> Any:
    """Final loss of each stage against its length, log-log (the notebook's plot)."""
    fig, ax = new_figure()
    ax.loglog(
        [r["length"] for r in rows],
        [r["train_loss"] for r in rows],
        marker="o",
        label="final train loss",
    )
    ax.loglog(
        [r["length"] for r in rows],
        [r["val_mse"] for r in rows],
        marker="s",
        linestyle="--",
        label="final val MSE",
    )
    length_axis(ax, [r["length"] for r in rows])
    ax.set(xlabel="sequence length", ylabel="loss", title="curriculum: loss by length")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig
