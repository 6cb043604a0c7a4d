"""The notebook's 48-job grid as a plain PyTorch script: the baseline of `make bench`'s
sweep item. The same trainings as `scripts/notebook_grid.sh`, one after another in one
process, with nothing around them: the tutorial_sum preset's data (the notebook's numpy
draws), model and optimiser, full-batch Adam for at most 100 epochs, stopping once an
epoch's train loss is below 1, validation every epoch and a test at the end.

    .venv/bin/python scripts/notebook_grid_plain.py [--epochs 100] [--threads N] [--lr 0.1]
        [--allocator system|reuse]

Prints each job's final validation and test MSE and wall time, and the whole grid's. By
default the C allocator is glibc's as it comes, as in a script written by hand; `--allocator
reuse` sets it as seqlab's runs set it by default (seqlab.allocator), which shows what
seqlab's guarantees cost apart from what its allocator setting saves.
"""

from __future__ import annotations

import argparse
import itertools
import time

import numpy as np
import torch
import torch.nn.functional as F

from seqlab.allocator import ALLOCATORS, use_allocator
from seqlab.config import available_cores
from seqlab.data.random_sum import generate_sums_tutorial
from seqlab.nets import LSTMRegressor

GRID = {
    "hidden_dim": (8, 32, 64),
    "lr": (0.1, 0.5),
    "length": (2, 4, 8, 16),
    "n": (1000, 10000),
}
N_VAL = N_TEST = 1000  # the random_sum data's defaults


def one_job(
    hidden_dim: int, lr: float, length: int, n: int, epochs: int, seed: int = 1, stop: bool = True
):
    """Train and test one grid point; return (epochs trained, final val MSE, test MSE).
    `stop=False` trains every epoch (scripts/profile_job.py compares epoch for epoch)."""
    torch.manual_seed(seed)
    rng = np.random.RandomState(seed)
    (x, y), (xv, yv), (xt, yt) = (
        generate_sums_tutorial(size, length, 1.0, rng) for size in (n, N_VAL, N_TEST)
    )
    model = LSTMRegressor(1, hidden_dim, 1)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    val, trained = float("nan"), 0
    for trained in range(1, epochs + 1):  # noqa: B007 (the count is returned)
        model.train()
        optimizer.zero_grad(set_to_none=True)
        loss = F.mse_loss(model(x), y)
        loss.backward()
        optimizer.step()
        model.eval()
        with torch.no_grad():
            val = F.mse_loss(model(xv), yv).item()
        if stop and loss.item() < 1:  # the notebook's rule
            break
    with torch.no_grad():
        test = F.mse_loss(model(xt), yt).item()
    return trained, val, test


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=100)
    parser.add_argument("--threads", type=int, default=available_cores())
    parser.add_argument(
        "--lr", type=float, action="append", help="only these learning rates (default: all)"
    )
    parser.add_argument("--allocator", choices=ALLOCATORS, default="system")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    use_allocator(args.allocator)
    grid = {**GRID, "lr": tuple(args.lr or GRID["lr"])}
    start = time.perf_counter()
    for hidden_dim, lr, length, n in itertools.product(*grid.values()):
        job_start = time.perf_counter()
        epochs, val, test = one_job(hidden_dim, lr, length, n, args.epochs)
        print(
            f"hidden_dim={hidden_dim} lr={lr} length={length} n={n}: {epochs} epochs, "
            f"val MSE {val:.4g}, test MSE {test:.4g}, {time.perf_counter() - job_start:.2f} s",
            flush=True,
        )
    print(f"grid wall time: {time.perf_counter() - start:.1f} s")


if __name__ == "__main__":
    main()
