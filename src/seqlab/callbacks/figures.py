"""Callbacks that show a run as it trains: tagged examples, predictions, confusion matrices."""

from __future__ import annotations

import logging
from pathlib import Path

import lightning as L
import torch

from seqlab.contracts import CountsConfusion, ScaledRegressor, Tagger
from seqlab.loggers import tensorboard_writers
from seqlab.models.tag_metrics import accuracies
from seqlab.names import VAL
from seqlab.nets.common import evaluating
from seqlab.render.figures import confusion_figure, prediction_figure
from seqlab.render.plots import publish

log = logging.getLogger(__name__)


class TagExamples(L.Callback):
    """After training, tags a few example sentences, prints them and logs them as text."""

    def __init__(self, sentences: list[str]) -> None:
        self.sentences = [s.split() for s in sentences]

    def on_fit_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if not trainer.is_global_zero or not self.sentences:
            return
        if not isinstance(pl_module, Tagger):
            raise TypeError(f"TagExamples needs a Tagger; {type(pl_module).__name__} cannot tag")
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
        if not isinstance(pl_module, ScaledRegressor):
            raise TypeError(
                f"PredictionPlot needs a ScaledRegressor; {type(pl_module).__name__} is not one"
            )
        preds, targets, seen = [], [], 0
        # Lightning has moved the model back to the CPU by now; the data stays on the device.
        batches = (
            pl_module.transfer_batch_to_device(b, pl_module.device, 0)
            for b in trainer.datamodule.val_dataloader()
        )
        with evaluating(pl_module):
            for batch in batches:
                preds.append(pl_module(batch["x"], batch.get("lengths")).flatten().cpu())
                targets.append(batch["y"].flatten().cpu())
                seen += len(batch["y"])
                if seen >= self.max_points:
                    break
        scale = pl_module.target_scale
        pred = torch.cat(preds)[: self.max_points] / scale
        target = torch.cat(targets)[: self.max_points] / scale
        figure = prediction_figure(target.numpy(), pred.numpy())
        path = Path(trainer.default_root_dir) / self.filename
        publish(figure, path, tensorboard_writers(trainer), "val/predictions", trainer.global_step)


class ConfusionMatrixPlot(L.Callback):
    """Shows a tagger's validation confusion matrix in TensorBoard (`val/confusion`) every
    `every_n_epochs` validation epochs. (The test matrix goes into the run directory and
    TensorBoard through the confusion report, seqlab.analysis.confusion.)

    Models that count no confusion (the regressor) are left alone.
    """

    def __init__(self, every_n_epochs: int = 1) -> None:
        self.every_n_epochs = every_n_epochs

    def on_validation_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        epoch = trainer.current_epoch + 1
        if trainer.sanity_checking or self.every_n_epochs <= 0 or epoch % self.every_n_epochs:
            return
        writers = tensorboard_writers(trainer)
        if not writers or not trainer.is_global_zero or not isinstance(pl_module, CountsConfusion):
            return
        confusion = pl_module.confusion.get(VAL)
        if confusion is None:
            return
        title = f"{VAL}: accuracy {float(accuracies(confusion)[0]):.2%}, epoch {epoch}"
        fig = confusion_figure(confusion, pl_module.tag_names, title)
        publish(fig, None, writers, f"{VAL}/confusion", trainer.global_step)
