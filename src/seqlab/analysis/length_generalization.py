"""How a sum regressor's error grows with sequence length: the notebook's table, batched.

For each length, a test set drawn from the data's test stream (so at the training length
it is the run's own test set) is summed by the model; the table gives the mean and
standard deviation of the squared error in the data's original units, and the MSE of
always predicting 0, the error of a model that learnt nothing, for scale.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

from seqlab.analysis.base import RunContext
from seqlab.config import ConfigError
from seqlab.contracts import ScaledRegressor, SequenceSource
from seqlab.nets.common import evaluating
from seqlab.render.plots import by_length, publish
from seqlab.render.tables import write_tables

STEM = "length_generalization"
COLUMNS = ("length", "mse", "std", "mse_zero")
HEADERS = ("length", "MSE", "std of squared error", "MSE of predicting 0")


@torch.no_grad()
def measure(
    model: ScaledRegressor,
    data: SequenceSource,
    lengths: Sequence[int],
    n: int,
    chunk: int = 4096,
) -> list[dict[str, float]]:
    """Rows of {length, mse, std, mse_zero} for `model` on `n` test sequences per length."""
    device = next(model.parameters()).device
    rows = []
    with evaluating(model):
        for length in lengths:
            x, y = data.draw(n, int(length), "test", device)  # (n, L, 1) scaled, (n, 1)
            pred = torch.cat([model(xb) for xb in x.split(chunk)]) / model.target_scale
            squared = (pred - y).double().square()  # (n, 1), original units
            rows.append(
                {
                    "length": int(length),
                    "mse": squared.mean().item(),
                    "std": squared.std(unbiased=False).item(),
                    "mse_zero": y.double().square().mean().item(),
                }
            )
    return rows


def figure(rows: list[dict[str, float]], trained_length: int | None = None) -> Any:
    """Log-log plot of MSE against length, with the predict-0 baseline."""
    curves = [
        ("model", [max(r["mse"], 1e-12) for r in rows], {"marker": "o"}),
        ("always predict 0", [r["mse_zero"] for r in rows], {"linestyle": "--", "color": "gray"}),
    ]
    lengths = [r["length"] for r in rows]
    ylabel = "MSE (original units)"
    return by_length(lengths, curves, ylabel, "length generalisation", trained_length)


class LengthGeneralization:
    """MSE by test length (`eval.lengths`, `eval.n` sequences each) for a ScaledRegressor on
    a SequenceSource: a table, a log-log plot, and per-length scalars in TensorBoard."""

    key = STEM
    files = (f"{STEM}.csv", f"{STEM}.md", f"{STEM}.png")

    def __init__(self, lengths: Sequence[int] | None = None, n: int = 1000) -> None:
        self.lengths = list(lengths or [])
        self.n = n

    def applies(self, run: RunContext) -> bool:
        if not self.lengths:
            return False
        if not isinstance(run.model, ScaledRegressor) or not isinstance(
            run.datamodule, SequenceSource
        ):
            raise ConfigError(
                "eval.lengths: length generalisation needs a sum regressor "
                f"(model {type(run.model).__name__}, data {type(run.datamodule).__name__})"
            )
        return True

    def run(self, run: RunContext) -> list[dict[str, float]]:
        rows = measure(run.model, run.datamodule, self.lengths, self.n)
        write_tables(run.run_dir, STEM, rows, COLUMNS, HEADERS)
        for writer in run.writers:
            for r in rows:
                writer.add_scalar(f"{STEM}/mse_by_length", r["mse"], r["length"])
        fig = figure(rows, run.datamodule.length)
        publish(fig, run.run_dir / f"{STEM}.png", run.writers, f"{STEM}/mse", run.step)
        return rows
