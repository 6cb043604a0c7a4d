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
    `tag`, close it. The figure is drawn once for both (savefig and add_figure would each
    draw it again)."""
    import matplotlib.pyplot as plt
    import numpy as np

    fig.canvas.draw()
    image = np.asarray(fig.canvas.buffer_rgba())[..., :3]  # (H, W, 3) uint8
    if path is not None:
        plt.imsave(path, image, dpi=fig.dpi)
    for writer in writers:
        writer.add_image(tag, image, step, dataformats="HWC")
    plt.close(fig)


def by_length(
    lengths: Sequence[int],
    curves: Sequence[tuple[str, Sequence[float], dict[str, Any]]],
    ylabel: str,
    title: str,
    marked_length: int | None = None,
) -> Any:
    """Log-log curves against sequence length: (label, values, matplotlib style) each; the
    x axis is labelled at exactly the given lengths, and `marked_length` gets a line."""
    from matplotlib.ticker import NullLocator

    fig, ax = new_figure()
    for label, values, style in curves:
        ax.loglog(list(lengths), list(values), label=label, **style)
    if marked_length:
        ax.axvline(marked_length, color="black", linewidth=0.8, label="trained length")
    ax.set_xscale("log", base=2)
    ax.set_xticks(list(lengths), [str(n) for n in lengths])
    ax.xaxis.set_minor_locator(NullLocator())
    ax.set(xlabel="sequence length", ylabel=ylabel, title=title)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def tensorboard_writers(trainer: Any) -> list[Any]:
    """The SummaryWriters of a Trainer's TensorBoard loggers (none if there are none)."""
    from lightning.pytorch.loggers import TensorBoardLogger

    return [lg.experiment for lg in trainer.loggers if isinstance(lg, TensorBoardLogger)]
