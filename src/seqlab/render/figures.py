"""The figures runs show: a tagger's confusion matrix, a regressor's predictions.

They take plain arrays (a CPU tensor is one) and return a matplotlib figure for
`plots.publish`; the callbacks and analyses that draw them hold the tensors.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from seqlab.render.plots import new_figure


def confusion_figure(confusion: Any, tags: Sequence[str], title: str) -> Any:
    """A (T, T) matrix of counts (an array or a CPU tensor), rows gold, columns predicted:
    colour is the share of the row, numbers are counts."""
    import numpy as np

    counts = np.asarray(confusion, dtype=np.float64)
    shares = counts / np.maximum(counts.sum(1, keepdims=True), 1)
    size = 2.5 + 0.42 * len(tags)
    fig, ax = new_figure((size, size * 0.9))
    ax.imshow(shares, cmap="Blues", vmin=0, vmax=1)
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


def prediction_figure(target: Any, pred: Any) -> Any:
    """Scatter of predictions against targets, with the identity line."""
    fig, ax = new_figure((4.5, 4.5))
    ax.scatter(target, pred, s=6, alpha=0.5)
    lo, hi = float(min(target.min(), pred.min())), float(max(target.max(), pred.max()))
    ax.plot([lo, hi], [lo, hi], color="black", linewidth=1, label="prediction = target")
    mse = float(((pred - target) ** 2).mean())
    ax.set(xlabel="target", ylabel="prediction")
    # Drawn in every run of a sweep, so laid out by hand: tight_layout, and the title's
    # automatic position, measure every tick label, and each tick costs as much again;
    # five a side are plenty for a scatter.
    ax.set_title(f"validation set (MSE {mse:.3g})", y=1.01)
    ax.locator_params(nbins=5)
    ax.legend(loc="upper left")
    fig.subplots_adjust(left=0.16, right=0.96, bottom=0.12, top=0.92)
    return fig
