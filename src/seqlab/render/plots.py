"""Figures without a display: one place that sets matplotlib up, saves, logs and closes.

matplotlib is imported only when a figure is made, so importing seqlab stays cheap.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from seqlab.files import write_bytes_atomic


def new_figure(figsize: tuple[float, float] = (5.5, 4)) -> tuple[Any, Any]:
    """A (figure, axes) pair drawn by Agg (no display needed). Made without pyplot, so
    the process's own backend is left alone (a notebook's inline one) and nothing is
    left open in pyplot's list of figures."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=figsize)
    FigureCanvasAgg(fig)
    return fig, fig.add_subplot()


def publish(
    fig: Any, path: Path | None, writers: Sequence[Any] = (), tag: str = "", step: int = 0
) -> None:
    """Save `fig` as a PNG at `path` (unless None), add it to each TensorBoard writer as
    `tag`. The figure is drawn once and encoded once for both: savefig and
    add_figure would each draw it again, and add_image would encode the PNG again, and
    every job of a sweep draws its figures."""
    import io

    import numpy as np
    from PIL import Image

    fig.canvas.draw()
    pixels = np.asarray(fig.canvas.buffer_rgba())[..., :3]  # (H, W, 3) uint8
    buffer = io.BytesIO()
    # A plot's flat colours compress well at the fastest level too.
    Image.fromarray(pixels).save(buffer, format="PNG", compress_level=1)
    png = buffer.getvalue()
    if path is not None:
        write_bytes_atomic(path, png)
    if writers:
        from tensorboard.compat.proto.summary_pb2 import Summary

        height, width, channels = pixels.shape
        image = Summary.Image(
            height=height, width=width, colorspace=channels, encoded_image_string=png
        )
        summary = Summary(value=[Summary.Value(tag=tag, image=image)])
        for writer in writers:
            writer._get_file_writer().add_summary(summary, step)  # as add_image does


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
