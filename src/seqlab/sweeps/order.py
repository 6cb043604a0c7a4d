"""In which order a launcher that runs jobs side by side starts them: the longest first.

A grid's jobs differ in size by orders of magnitude (the notebook's grid: from a fraction
of a second to a minute), and Hydra lists them with its last swept values varying fastest,
so the largest often come last. Run in that order on a few workers, the largest job starts
when the others are nearly done and finishes alone, while the other workers idle.
Starting the longest jobs first (Graham's LPT rule) lets the short ones fill in around
them: the sweep ends when its work is spread evenly.

How long a job takes is estimated from its config alone, for the models and data whose
arithmetic seqlab knows (seqlab.memory reads the same settings): the work of an epoch is
the tokens it passes times the weights each token meets, and a job trains at most
`trainer.max_epochs` of them. Early stopping may end a job sooner; the estimate does not
guess when. Where any job's size is unknown, the jobs keep their given order. Only the
order in which jobs start changes: their numbers, directories and results stay Hydra's.

A light module: no torch.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from seqlab.config import ConfigError
from seqlab.memory import is_sum_regressor, lstm_weights, setting

ORDERS = ("longest_first", "given")
# Forward, then backward at about twice the forward's work.
TRAINING_PASSES = 3


def check_order(value: Any, where: str = "hydra.launcher.order") -> str:
    if value not in ORDERS:
        raise ConfigError(f"{where}={value}: allowed: {', '.join(ORDERS)}")
    return str(value)


def job_work(cfg: Any) -> float | None:
    """A job's work in relative units (weights met by tokens, over its epochs), or None for
    models and data it does not know."""
    if not is_sum_regressor(cfg):
        return None
    hidden = int(setting(cfg, "model.hidden_dim", 1))
    layers = int(setting(cfg, "model.num_layers", 1))
    length, n = int(setting(cfg, "data.length", 1)), int(setting(cfg, "data.n", 1))
    n_val = int(setting(cfg, "data.n_val", 0))
    epochs = int(setting(cfg, "trainer.max_epochs", 1))
    weights = lstm_weights(1, hidden, layers)
    return float(epochs * (TRAINING_PASSES * n + n_val) * length * weights)


def longest_first(works: Sequence[float | None]) -> list[int]:
    """The positions of `works` in the order to start them: the largest first, equal ones
    in their given order; the given order where any is unknown."""
    if any(work is None for work in works):
        return list(range(len(works)))
    return sorted(range(len(works)), key=lambda i: -works[i])  # type: ignore[operator]
