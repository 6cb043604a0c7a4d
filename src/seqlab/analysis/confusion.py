"""The confusion report of a tested tagger: per-tag results, the matrix as CSV and figure."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

from seqlab.analysis.base import RunContext
from seqlab.analysis.plots import new_figure, publish
from seqlab.analysis.tables import write_csv
from seqlab.contracts import CountsConfusion
from seqlab.models.tag_metrics import accuracies, per_tag
from seqlab.names import TEST

STEM = f"confusion_{TEST}"


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
                color = "white" if light else "black"
                ax.text(pred, gold, str(count), ha="center", va="center", fontsize=6, color=color)
    fig.tight_layout()
    return fig


def confusion_rows(confusion: torch.Tensor, tags: Sequence[str]) -> list[dict[str, Any]]:
    """The matrix as table rows: the gold tag, then one count per predicted tag."""
    return [
        {"gold \\ predicted": tag, **dict(zip(tags, row, strict=True))}
        for tag, row in zip(tags, confusion.tolist(), strict=True)
    ]


class ConfusionReport:
    """For a tagger that has been tested (CountsConfusion): per-tag results in metrics.json
    (`test_by_tag`: tokens, accuracy, the tag each is most often mistaken for), and the
    matrix as confusion_test.csv, confusion_test.png and `test/confusion` in TensorBoard."""

    key = f"{TEST}_by_tag"
    files = (f"{STEM}.csv", f"{STEM}.png")

    def applies(self, run: RunContext) -> bool:
        return isinstance(run.model, CountsConfusion) and TEST in run.model.confusion

    def run(self, run: RunContext) -> dict[str, dict[str, Any]]:
        confusion, tags = run.model.confusion[TEST], run.model.tag_names
        write_csv(run.run_dir / f"{STEM}.csv", confusion_rows(confusion, tags))
        title = f"{TEST}: accuracy {float(accuracies(confusion)[0]):.2%}"
        fig = confusion_figure(confusion, tags, title)
        publish(fig, run.run_dir / f"{STEM}.png", run.writers, f"{TEST}/confusion", run.step)
        return per_tag(confusion, tags)
