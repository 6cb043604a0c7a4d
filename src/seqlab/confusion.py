"""A tagger's confusion matrix (gold x predicted tag counts): per-tag report and figure."""

from __future__ import annotations

import csv
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import lightning as L
import torch

from seqlab.callbacks import tensorboard_writers
from seqlab.plots import new_figure, publish


def accuracies(confusion: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Counts (T, T), rows gold and columns predicted -> overall accuracy, accuracy per gold
    tag (T,) (the share of its tokens tagged right; 0 for a tag with no tokens) and tokens
    per gold tag (T,)."""
    correct, tokens = confusion.diag(), confusion.sum(1)
    overall = correct.sum() / tokens.sum().clamp(min=1)
    return overall, correct / tokens.clamp(min=1), tokens


def per_tag(confusion: torch.Tensor, tags: Sequence[str]) -> dict[str, dict[str, Any]]:
    """{tag: {tokens, acc, confused_with}} for every tag that occurs in the gold data.

    `acc` is the share of the tag's tokens tagged right; `confused_with` the wrong tag
    given to them most often (None if none was).
    """
    _, by_tag, tokens = accuracies(confusion)
    wrong = confusion.clone()
    wrong.fill_diagonal_(0)
    report = {}
    for i, tag in enumerate(tags):
        if tokens[i] == 0:
            continue
        report[tag] = {
            "tokens": int(tokens[i]),
            "acc": float(by_tag[i]),
            "confused_with": tags[int(wrong[i].argmax())] if wrong[i].sum() > 0 else None,
        }
    return report


def test_tag_report(model: L.LightningModule) -> dict[str, dict[str, Any]] | None:
    """A tagger's per-tag test results (see `per_tag`), if it has been tested; else None."""
    confusion = getattr(model, "confusion", {}).get("test")
    return None if confusion is None else per_tag(confusion, model.tags.itos)


def confusion_figure(confusion: torch.Tensor, tags: Sequence[str], title: str) -> Any:
    """Rows gold, columns predicted; colour is the share of the row, numbers are counts."""
    counts = confusion.double()
    shares = counts / counts.sum(1, keepdim=True).clamp(min=1)
    size = 2.5 + 0.42 * len(tags)
    fig, ax = new_figure((size, size * 0.9))
    ax.imshow(shares.numpy(), cmap="Blues", vmin=0, vmax=1)
    ticks = range(len(tags))
    ax.set_xticks(ticks, list(tags), rotation=90)
    ax.set_yticks(ticks, list(tags))
    ax.set(xlabel="predicted", ylabel="gold", title=title)
    for gold in ticks:
        for pred in ticks:
            count = int(counts[gold, pred])
            if count:
                light = shares[gold, pred] > 0.5  # white text on dark cells
                ax.text(
                    pred,
                    gold,
                    str(count),
                    ha="center",
                    va="center",
                    fontsize=6,
                    color="white" if light else "black",
                )
    fig.tight_layout()
    return fig


def write_csv(path: Path, confusion: torch.Tensor, tags: Sequence[str]) -> None:
    """The matrix as CSV: a header of predicted tags, then one row per gold tag."""
    with path.open("w", newline="") as f:
        out = csv.writer(f)
        out.writerow(["gold \\ predicted", *tags])
        for tag, row in zip(tags, confusion.tolist(), strict=True):
            out.writerow([tag, *row])


class ConfusionMatrixPlot(L.Callback):
    """Shows a tagger's confusion matrix in TensorBoard (`val/confusion` every
    `every_n_epochs` validation epochs, `test/confusion` after testing) and, after
    testing, saves it in the run directory as confusion_test.png and confusion_test.csv.

    Models without a `confusion` dict (the regressor) are left alone.
    """

    def __init__(self, every_n_epochs: int = 1) -> None:
        self.every_n_epochs = every_n_epochs

    def on_validation_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        epoch = trainer.current_epoch + 1
        if trainer.sanity_checking or self.every_n_epochs <= 0 or epoch % self.every_n_epochs:
            return
        writers = tensorboard_writers(trainer)
        if writers:  # without TensorBoard there is nothing to show it in
            self._publish(trainer, pl_module, "val", writers, save=False)

    def on_test_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._publish(trainer, pl_module, "test", tensorboard_writers(trainer), save=True)

    def _publish(
        self, trainer: L.Trainer, pl_module: Any, stage: str, writers: list, save: bool
    ) -> None:
        confusion = getattr(pl_module, "confusion", {}).get(stage)
        if confusion is None or not trainer.is_global_zero:
            return
        tags = pl_module.tags.itos
        title = f"{stage}: accuracy {float(accuracies(confusion)[0]):.2%}"
        if stage == "val":
            title += f", epoch {trainer.current_epoch + 1}"
        fig = confusion_figure(confusion, tags, title)
        path = None
        if save:
            run_dir = Path(trainer.default_root_dir)
            write_csv(run_dir / f"confusion_{stage}.csv", confusion, tags)
            path = run_dir / f"confusion_{stage}.png"
        publish(fig, path, writers, f"{stage}/confusion", trainer.global_step)
