"""What seqlab's guarantees cost a tiny job each epoch (checkpoints, records, TensorBoard,
early stopping, the divergence guard, Lightning's loop), against a plain PyTorch loop that
trains and validates the same model on the same data, side by side in this test.

The job is the notebook grid's smallest (hidden 8, length 2, 1000 sums, full-batch Adam),
with 1 thread. The two run interleaved, epoch by epoch: at the start of each of seqlab's
epochs a callback runs one epoch of the plain loop and times it, and seqlab's epoch is the
time from there to the next epoch's start. This machine's speed drifts by tens of percent
within seconds; interleaved, the drift weighs on both sides alike. The bound is the target
of docs/benchmarks.md: the work around the plain loop's training and validation at most
twice that work itself, so seqlab's whole epoch at most three plain ones.
"""

from __future__ import annotations

import statistics
import time

import lightning as L
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from seqlab.data.random_sum import generate_sums_tutorial
from seqlab.nets import LSTMRegressor
from tests.conftest import compose_train

pytestmark = pytest.mark.perf

EPOCHS = 300
JOB = [
    "experiment=tutorial_sum",
    "model.hidden_dim=8",
    "data.length=2",
    "data.n=1000",
    "callbacks.early_stopping.stopping_threshold=null",  # every epoch, as the plain loop
    f"trainer.max_epochs={EPOCHS}",
    "+callbacks.plain_beside._target_=tests.perf.test_epoch_overhead.PlainBeside",
]


class PlainBeside(L.Callback):
    """Runs and times one epoch of the plain loop at each of seqlab's epoch starts, and
    times seqlab's epochs between them (class attributes: the test reads them)."""

    plain: list[float] = []
    seqlab: list[float] = []

    def __init__(self) -> None:
        torch.manual_seed(1)
        rng = np.random.RandomState(1)
        (self.x, self.y), (self.xv, self.yv) = (
            generate_sums_tutorial(n, 2, 1.0, rng) for n in (1000, 1000)
        )
        self.model = LSTMRegressor(1, 8, 1)
        self.optimizer = torch.optim.Adam(self.model.parameters(), lr=0.1)
        self.ended: float | None = None
        PlainBeside.plain, PlainBeside.seqlab = [], []

    def plain_epoch(self) -> None:
        self.model.train()
        self.optimizer.zero_grad(set_to_none=True)
        F.mse_loss(self.model(self.x), self.y).backward()
        self.optimizer.step()
        self.model.eval()
        with torch.no_grad():
            F.mse_loss(self.model(self.xv), self.yv).item()

    def on_train_epoch_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        start = time.perf_counter()
        if self.ended is not None:
            PlainBeside.seqlab.append(start - self.ended)
        self.plain_epoch()
        self.ended = time.perf_counter()
        PlainBeside.plain.append(self.ended - start)


def test_a_tiny_jobs_epoch_costs_at_most_three_plain_epochs(tmp_path):
    from seqlab.training import train

    train(compose_train(JOB, tmp_path / "run"), parallel_jobs=1)
    # The first epochs warm both up (torch's first calls, the first checkpoint writes). The
    # mean: the epochs that write a checkpoint count with their cost.
    plain = statistics.mean(PlainBeside.plain[20:])
    ours = statistics.mean(PlainBeside.seqlab[20:])
    ratio = ours / plain
    print(f"an epoch: seqlab {1000 * ours:.3f} ms, plain {1000 * plain:.3f} ms: {ratio:.2f}x")
    assert len(PlainBeside.seqlab) == EPOCHS - 1
    assert ratio <= 3.0, f"seqlab's epoch is {ratio:.2f}x the plain loop's (at most 3x)"
