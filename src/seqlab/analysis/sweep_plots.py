"""The sweep report's plots: the best monitored value against each swept axis."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from seqlab.analysis.plots import new_figure, publish
from seqlab.analysis.sweep import best_column

Lines = dict[str, dict[Any, float]]  # label -> {x: best value}


def plot_axes(
    sweep_dir: Path, rows: list[dict[str, Any]], axes: list[str], metric: str, mode: str
) -> list[Path]:
    """One PNG per swept axis, `plot_<axis>.png`, from the rows of completed jobs.

    With two or more axes, one line per value of the axis with the fewest values; each
    point is the best value over the remaining axes.
    """
    paths = []
    for axis in axes:
        others = [a for a in axes if a != axis]
        group = min(others, key=lambda a: len({r[a] for r in rows})) if others else None
        lines = axis_lines(rows, axis, group, metric, mode)
        if not lines:
            continue
        rest = [a for a in others if a != group]  # each point is the best over these
        title = f"{metric} by {axis}" + (f" (best over {', '.join(rest)})" if rest else "")
        path = sweep_dir / f"plot_{axis.replace('/', '_')}.png"
        publish(line_figure(lines, axis, best_column(metric), title, legend=bool(group)), path)
        paths.append(path)
    return paths


def axis_lines(
    rows: list[dict[str, Any]], axis: str, group: str | None, metric: str, mode: str
) -> Lines:
    """The best value at each value of `axis`, one line per value of `group`."""
    pick = min if mode == "min" else max
    key = best_column(metric)
    lines: Lines = {}
    for row in rows:
        line = lines.setdefault(f"{group}={row[group]}" if group else metric, {})
        x = _number(row[axis])
        line[x] = pick(line.get(x, row[key]), row[key])
    return lines


def line_figure(lines: Lines, xlabel: str, ylabel: str, title: str, legend: bool) -> Any:
    """Lines sorted by label and x; log axes where the values span two decades (y) or one
    (positive numeric x)."""
    fig, ax = new_figure()
    for label, points in sorted(lines.items(), key=lambda kv: _sort_key(kv[0])):
        xs = sorted(points, key=_sort_key)
        shown = [str(x) if isinstance(x, str) else x for x in xs]
        ax.plot(shown, [points[x] for x in xs], marker="o", label=label)
    values = [v for pts in lines.values() for v in pts.values()]
    if min(values) > 0 and max(values) / min(values) > 100:
        ax.set_yscale("log")
    xs_all = [x for pts in lines.values() for x in pts]
    if all(isinstance(x, float) and x > 0 for x in xs_all) and max(xs_all) / min(xs_all) >= 10:
        ax.set_xscale("log")
    ax.set(xlabel=xlabel, ylabel=ylabel, title=title)
    ax.title.set_fontsize(9)
    if legend:
        ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def _number(text: str) -> float | str:
    try:
        return float(text)
    except (TypeError, ValueError):
        return text


def _sort_key(value: Any) -> tuple:
    value = _number(value.split("=", 1)[-1]) if isinstance(value, str) else value
    return (0, value, "") if isinstance(value, float) else (1, 0.0, str(value))
