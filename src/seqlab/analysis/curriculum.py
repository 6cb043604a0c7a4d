"""The curriculum report: each stage's final losses against its length (the notebook's plot)."""

from __future__ import annotations

from typing import Any

from seqlab.analysis.base import RunContext
from seqlab.contracts import StagedTraining
from seqlab.render.plots import by_length, publish
from seqlab.render.tables import write_tables

STEM = "curriculum"
COLUMNS = ("length", "epochs", "n", "train_loss", "val_loss", "val_mse")
HEADERS = ("length", "epochs", "n", "final train loss", "final val loss", "final val MSE")


def figure(rows: list[dict[str, Any]]) -> Any:
    """Final loss of each stage against its length, log-log."""
    curves = [
        ("final train loss", [r["train_loss"] for r in rows], {"marker": "o"}),
        ("final val MSE", [r["val_mse"] for r in rows], {"marker": "s", "linestyle": "--"}),
    ]
    lengths = [r["length"] for r in rows]
    return by_length(lengths, curves, "loss", "curriculum: loss by length")


class CurriculumReport:
    """For a run trained by a staged schedule (the Curriculum callback): one row per stage
    in curriculum.csv/.md and metrics.json, and the log-log plot as curriculum.png and
    `curriculum/loss_by_length` in TensorBoard."""

    key = STEM
    files = (f"{STEM}.csv", f"{STEM}.md", f"{STEM}.png")

    def applies(self, run: RunContext) -> bool:
        return bool(self._rows(run))

    def run(self, run: RunContext) -> list[dict[str, Any]]:
        rows = self._rows(run)
        write_tables(run.run_dir, STEM, rows, COLUMNS, HEADERS)
        fig = figure(rows)
        publish(fig, run.run_dir / f"{STEM}.png", run.writers, f"{STEM}/loss_by_length", run.step)
        return rows

    @staticmethod
    def _rows(run: RunContext) -> list[dict[str, Any]]:
        schedules = [cb for cb in run.trainer.callbacks if isinstance(cb, StagedTraining)]
        return [row for schedule in schedules for row in schedule.stage_rows]
