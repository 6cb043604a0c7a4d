"""The confusion report of a tested tagger: per-tag results, the matrix as CSV and figure."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

from seqlab.analysis.base import RunContext
from seqlab.contracts import CountsConfusion
from seqlab.models.tag_metrics import accuracies, per_tag
from seqlab.names import TEST
from seqlab.render.figures import confusion_figure
from seqlab.render.plots import publish
from seqlab.render.tables import write_csv

STEM = f"confusion_{TEST}"


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
