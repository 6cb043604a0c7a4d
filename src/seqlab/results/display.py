"""How runs look in a notebook: learning-curve figures and short HTML summaries.

Figures are matplotlib Figures handed back to the caller, who may change and save them; no
pyplot figure is left open, so a notebook shows each one once (where it is the cell's value).
"""

from __future__ import annotations

import base64
import html
import io
import math
from collections import Counter
from collections.abc import Sequence
from typing import Any

from seqlab.results.records import RunEntry
from seqlab.sweeps.curves import averaged_jobs, band_limits, mean_curves
from seqlab.sweeps.jobs import LEVEL, Job, best_first

MAX_LINES = 12  # lines a figure draws at most: the best runs or settings


def curve_figure(
    entries: Sequence[RunEntry],
    metric: str | None = None,
    groups: Sequence[tuple[str, Sequence[RunEntry]]] | None = None,
    size: tuple[float, float] = (6.0, 4.0),
    lines: int = MAX_LINES,
) -> Any:
    """A Figure of `metric` (default: the runs' monitored metric) against the epoch: one
    line per run, or with `groups` ((label, runs) pairs, best first) each group's mean with
    its interval shaded, as the report draws them; the best `lines` of them. A log axis
    where the values span a decade."""
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    metric = metric or _monitor(entries)
    fig, ax = plt.subplots(figsize=size)
    plt.close(fig)  # handed back, not shown by pyplot: a notebook shows it once
    lows: list[float] = []
    # (colour, epochs, curve): drawn once the limits of every line are known
    bands: list[tuple[Any, list[int], Any]] = []
    if groups is None:
        for entry in best_first_runs(entries)[:lines]:
            points = [(r["epoch"], r[metric]) for r in entry.history() if _finite(r.get(metric))]
            if points:
                ax.plot(*zip(*points, strict=True), label=_label(entry, entries), lw=1.2)
                lows += [v for _, v in points]
    else:
        for label, members in list(groups)[:lines]:
            jobs = averaged_jobs([Job(str(e.path), e.overrides, _with_history(e)) for e in members])
            curve = mean_curves(jobs, LEVEL).get(metric, [])
            if not curve:
                continue
            epochs = [epoch for epoch, _ in curve]
            means = [s.mean for _, s in curve]
            (line,) = ax.plot(epochs, means, label=f"{label} (n={len(jobs)})", lw=1.5)
            bands.append((line.get_color(), epochs, curve))
            lows += means
    log, floor, ceiling = band_limits(lows) if lows else (False, -math.inf, math.inf)
    for colour, epochs, curve in bands:
        low = [max(s.low, floor) if math.isfinite(s.low) else s.mean for _, s in curve]
        high = [min(s.high, ceiling) if math.isfinite(s.high) else s.mean for _, s in curve]
        ax.fill_between(epochs, low, high, color=colour, alpha=0.2, lw=0)
    if log:
        ax.set_yscale("log")
    ax.set_xlabel("epoch")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_ylabel(metric)
    ax.grid(alpha=0.3)
    if ax.lines and len(ax.lines) > 1:
        ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


def best_first_runs(entries: Sequence[RunEntry]) -> list[RunEntry]:
    """The runs by their monitored best value, best first (the report's ranking); runs
    without one last, in their order."""
    jobs = [Job(str(i), {}, e.metrics) for i, e in enumerate(entries)]
    ranked = best_first(jobs, lambda job: job.best(job.metrics.get("monitor", "")), _mode(entries))
    return [entries[int(job.name)] for job in ranked]


def _mode(entries: Sequence[RunEntry]) -> str:
    return next((e.metrics["mode"] for e in entries if "mode" in e.metrics), "min")


def _with_history(entry: RunEntry) -> dict[str, Any]:
    return {**entry.metrics, "history": entry.history()}


def _finite(value: Any) -> bool:
    return isinstance(value, (int, float)) and math.isfinite(value)


def _monitor(entries: Sequence[RunEntry]) -> str:
    for entry in entries:
        if "monitor" in entry.metrics:
            return entry.metrics["monitor"]
    return "val/loss"


def _label(entry: RunEntry, entries: Sequence[RunEntry]) -> str:
    """A run by what sets it apart: its overrides that differ from the others' runs."""
    differing = [
        k
        for k in {k for e in entries for k in e.overrides}
        if len({e.overrides.get(k) for e in entries}) > 1
    ]
    label = ",".join(f"{k.rsplit('.', 1)[-1]}={entry.overrides.get(k, '')}" for k in differing)
    return label or (entry.job if entry.job is not None else entry.path.name)


def png_data(fig: Any) -> str:
    """The figure as a base64 PNG, for an <img> in HTML."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=80)
    return base64.b64encode(buffer.getvalue()).decode()


def summary_html(title: str, facts: dict[str, Any], rows: list[dict[str, Any]], fig: Any) -> str:
    """A short HTML block: a title, facts as a line, a small table, a figure."""
    line = " &middot; ".join(
        f"{html.escape(k)}: <b>{html.escape(_shown(v))}</b>" for k, v in facts.items()
    )
    table = ""
    if rows:
        columns = list(rows[0])
        head = "".join(f"<th>{html.escape(c)}</th>" for c in columns)
        body = "".join(
            "<tr>" + "".join(f"<td>{html.escape(_shown(r.get(c)))}</td>" for c in columns) + "</tr>"
            for r in rows
        )
        table = f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
    image = ""
    if fig is not None and fig.axes and fig.axes[0].lines:
        image = f'<img src="data:image/png;base64,{png_data(fig)}" style="max-width:480px"/>'
    return f"<div><p><b>{html.escape(title)}</b><br/>{line}</p>{table}{image}</div>"


def _shown(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.6g}"
    return "" if value is None else str(value)


def status_counts(entries: Sequence[RunEntry]) -> str:
    counts = Counter(entry.status for entry in entries)
    return ", ".join(f"{n} {status}" for status, n in sorted(counts.items()))
