"""Figures without a display: one place that sets matplotlib up, saves, logs and closes.

matplotlib is imported only when a figure is made, so importing seqlab stays cheap.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any


def new_figure(figsize: tuple[float, float] = (5.5, 4)) -> tuple[Any, Any]:
    """A (figure, axes) pair on the Agg backend (no display needed)."""
    import matplotlib

    matplotlib.use("Agg")  # must precede pyplot's first import
    import matplotlib.pyplot as plt

    return plt.subplots(figsize=figsize)


def publish(
    fig: Any, path: Path | None, writers: Sequence[Any] = (), tag: str = "", step: int = 0
) -> None:
    """Save `fig` as a PNG at `path` (unless None), add it to each TensorBoard writer as
    `tag`, close it."""
    import matplotlib.pyplot as plt

    if path is not None:
        fig.savefig(path, dpi=100)
    for writer in writers:
        writer.add_figure(tag, fig, step, close=False)
    plt.close(fig)


def length_axis(ax: Any, lengths: Sequence[int]) -> None:
    """A log2 x axis labelled at exactly the given lengths."""
    from matplotlib.ticker import NullLocator

    ax.set_xscale("log", base=2)
    ax.set_xticks(list(lengths), [str(n) for n in lengths])
    ax.xaxis.set_minor_locator(NullLocator())


def tensorboard_writers(trainer: Any) -> list[Any]:
    """The SummaryWriters of a Trainer's TensorBoard loggers (none if there are none)."""
    from lightning.pytorch.loggers import TensorBoardLogger

    return [lg.experiment for lg in trainer.loggers if isinstance(lg, TensorBoardLogger)]
