"""seqlab's Lightning callbacks: what a run records and shows beyond Lightning's own."""

from __future__ import annotations

import logging
import math
import time
from pathlib import Path
from typing import Any

import lightning as L
import torch
from lightning.pytorch.callbacks import EMAWeightAveraging

from seqlab.plots import new_figure, publish
from seqlab.rundir import metric_name

log = logging.getLogger(__name__)


def scalar_metrics(metrics: dict[str, Any]) -> dict[str, float]:
    """Epoch-level metrics as floats, named without Lightning's `_epoch` suffix.

    A value logged per step and per epoch appears as `x_step`, `x_epoch` and `x` (the epoch
    value); only the epoch value is kept, as `x`.
    """
    out = {}
    for key, value in sorted(metrics.items()):
        if "/" in key and not key.endswith("_step"):
            out[metric_name(key)] = float(value)
    return out


def tensorboard_writers(trainer: L.Trainer) -> list[Any]:
    """The SummaryWriters of the trainer's TensorBoard loggers (none if there are none)."""
    return [lg.experiment for lg in trainer.loggers if hasattr(lg.experiment, "add_text")]


class MetricHistory(L.Callback):
    """Keeps every epoch's metrics, for metrics.json: `history` and the best epoch.

    Each row also has `epoch_s`, the epoch's wall time (training and validation).
    """

    def __init__(self, monitor: str, mode: str) -> None:
        self.monitor, self.mode = metric_name(monitor), mode
        self.history: list[dict[str, float]] = []
        self.restored_epochs = 0
        self._epoch_start = time.perf_counter()

    def on_train_epoch_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._epoch_start = time.perf_counter()

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if trainer.sanity_checking:
            return
        row = {"epoch": trainer.current_epoch + 1, **scalar_metrics(trainer.callback_metrics)}
        row["epoch_s"] = round(time.perf_counter() - self._epoch_start, 4)
        self.history.append(row)

    def best(self) -> dict[str, float] | None:
        """The epoch row with the best finite monitored value, or None."""
        rows = [r for r in self.history if math.isfinite(r.get(self.monitor, math.nan))]
        if not rows:
            return None
        pick = min if self.mode == "min" else max
        return pick(rows, key=lambda r: r[self.monitor])

    def state_dict(self) -> dict[str, Any]:
        return {"history": self.history}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self.history = list(state_dict.get("history", []))
        self.restored_epochs = len(self.history)  # epochs a resumed run does not train again


class DivergenceGuard(L.Callback):
    """Stops training at the first epoch whose loss is NaN or infinite.

    Checked once per epoch (not per step), so it costs no extra device synchronisation.
    The best checkpoint is left as it was: a non-finite value never counts as better.
    """

    def __init__(self, keys: tuple[str, ...] = ("train/loss_epoch", "val/loss")) -> None:
        self.keys = keys
        self.diverged_at: dict[str, Any] | None = None

    def _check(self, trainer: L.Trainer) -> None:
        if trainer.sanity_checking or self.diverged_at:
            return
        for key in self.keys:
            value = trainer.callback_metrics.get(key)
            if value is not None and not torch.isfinite(value).all():
                self.diverged_at = {"metric": key, "epoch": trainer.current_epoch + 1}
                log.warning(
                    "%s is %s at epoch %d: stopping", key, float(value), trainer.current_epoch + 1
                )
                trainer.should_stop = True
                return

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._check(trainer)

    def on_validation_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._check(trainer)


class ConfigInCheckpoint(L.Callback):
    """Stores the run's resolved config in every checkpoint, as plain data.

    A checkpoint then carries all it needs to be evaluated again (data settings included),
    even when it has been moved away from its run directory.
    """

    def __init__(self, config: dict) -> None:
        self.config = config

    def on_save_checkpoint(
        self, trainer: L.Trainer, pl_module: L.LightningModule, checkpoint: dict
    ) -> None:
        checkpoint["seqlab_config"] = self.config


class TagExamples(L.Callback):
    """After training, tags a few example sentences, prints them and logs them as text."""

    def __init__(self, sentences: list[str]) -> None:
        self.sentences = [s.split() for s in sentences]

    def on_fit_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if not trainer.is_global_zero or not self.sentences:
            return
        if not hasattr(pl_module, "tag"):
            raise TypeError(f"TagExamples needs a tagger; {type(pl_module).__name__} cannot tag")
        tagged = pl_module.tag(self.sentences)
        lines = [
            " ".join(f"{w}/{t}" for w, t in zip(words, tags, strict=True))
            for words, tags in zip(self.sentences, tagged, strict=True)
        ]
        for line in lines:
            log.info("tagged: %s", line)
        text = "\n\n".join(f"`{line}`" for line in lines)  # markdown: one paragraph each
        for writer in tensorboard_writers(trainer):
            writer.add_text("examples/tagged", text, trainer.global_step)


class PredictionPlot(L.Callback):
    """After training, plots predictions against targets on the validation set.

    Logs the figure to TensorBoard and saves it as `predictions.png` in the run directory.
    Values are shown in the data's original units.
    """

    def __init__(self, max_points: int = 1000, filename: str = "predictions.png") -> None:
        self.max_points = max_points
        self.filename = filename

    @torch.no_grad()
    def on_fit_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if not trainer.is_global_zero or trainer.datamodule is None:
            return
        preds, targets, seen = [], [], 0
        was_training = pl_module.training
        pl_module.eval()
        for batch in trainer.datamodule.val_dataloader():
            preds.append(pl_module(batch["x"], batch.get("lengths")).flatten().cpu())
            targets.append(batch["y"].flatten().cpu())
            seen += len(batch["y"])
            if seen >= self.max_points:
                break
        pl_module.train(was_training)
        scale = pl_module.hparams.get("target_scale", 1.0)
        pred = torch.cat(preds)[: self.max_points] / scale
        target = torch.cat(targets)[: self.max_points] / scale
        figure = prediction_figure(target.numpy(), pred.numpy())
        path = Path(trainer.default_root_dir) / self.filename
        publish(figure, path, tensorboard_writers(trainer), "val/predictions", trainer.global_step)


def prediction_figure(target: Any, pred: Any) -> Any:
    """Scatter of predictions against targets, with the identity line."""
    fig, ax = new_figure((4.5, 4.5))
    ax.scatter(target, pred, s=6, alpha=0.5)
    lo, hi = float(min(target.min(), pred.min())), float(max(target.max(), pred.max()))
    ax.plot([lo, hi], [lo, hi], color="black", linewidth=1, label="prediction = target")
    mse = float(((pred - target) ** 2).mean())
    ax.set(xlabel="target", ylabel="prediction", title=f"validation set (MSE {mse:.3g})")
    ax.legend(loc="upper left")
    fig.tight_layout()
    return fig


class WeightEMA(EMAWeightAveraging):
    """An exponential moving average of the weights (Lightning's EMAWeightAveraging), used
    for validation and stored as the checkpoints' weights, so testing, `seqlab-eval` and
    `seqlab-tag` all use the average. The raw weights travel in the checkpoint too, for
    resuming.

    Lightning's callback also swaps the raw weights back in whenever a checkpoint is loaded
    after fitting has begun, which would test the best checkpoint's raw weights instead of
    its average; here they are restored only when fitting resumes.
    """

    def on_load_checkpoint(
        self, trainer: L.Trainer, pl_module: L.LightningModule, checkpoint: dict[str, Any]
    ) -> None:
        if trainer.state.fn == "fit":
            super().on_load_checkpoint(trainer, pl_module, checkpoint)
