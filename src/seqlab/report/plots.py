"""The sweep report's plots: the best monitored value against each swept axis, and with
replicates each setting's mean learning curve in its 95% band."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from seqlab.render.plots import new_figure, publish
from seqlab.sweeps.curves import Curve, band_limits
from seqlab.sweeps.jobs import LEVEL, best_column, override_value, value_order

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
        group, rest = _line_axis(axis, axes, lambda a: {r[a] for r in rows})
        lines = axis_lines(rows, axis, group, metric, mode)
        if not lines:
            continue
        title = f"{metric} by {axis}" + _best_over(rest)
        path = sweep_dir / f"plot_{axis.replace('/', '_')}.png"
        publish(line_figure(lines, axis, best_column(metric), title, legend=bool(group)), path)
        paths.append(path)
    return paths


def plot_groups(sweep_dir: Path, groups: list[Any], axes: list[str], metric: str) -> list[Path]:
    """With replicates: one PNG per setting axis, each point a setting's mean best value
    with its confidence interval as an error bar (groups come ranked, best first)."""
    paths = []
    for axis in axes:
        line_axis, rest = _line_axis(axis, axes, lambda a: {g.settings[a] for g in groups})
        lines: dict[str, dict[Any, Any]] = {}
        for group in groups:  # best first: the first group at a point is the best there
            if group.best.n == 0:
                continue
            label = f"{line_axis}={group.settings[line_axis]}" if line_axis else metric
            x = override_value(group.settings[axis])
            lines.setdefault(label, {}).setdefault(x, group.best)
        if not lines:
            continue
        means = {label: {x: s.mean for x, s in pts.items()} for label, pts in lines.items()}
        title = f"mean {metric} by {axis}, with {LEVEL:.0%} intervals" + _best_over(rest)
        fig = line_figure(means, axis, f"best {metric}", title, legend=bool(line_axis))
        _error_bars(fig, lines)
        path = sweep_dir / f"plot_{axis.replace('/', '_')}.png"
        publish(fig, path)
        paths.append(path)
    return paths


def curves_path(sweep_dir: Path, metric: str) -> Path:
    return sweep_dir / f"curves_{metric.replace('/', '_')}.png"


def plot_curves(sweep_dir: Path, curves: dict[str, dict[str, Curve]], metric: str) -> Path | None:
    """`curves_<metric>.png`: per setting ({label: its mean curves}), the mean of `metric`
    by epoch with its interval as a band, on a log axis where the values span more than a
    decade; the legend says how many jobs each mean has (at its first epoch)."""
    lines = {label: run[metric] for label, run in curves.items() if run.get(metric)}
    if not lines:
        return None
    log, floor, ceiling = band_limits([s.mean for c in lines.values() for _, s in c if s.n > 0])
    fig, ax = new_figure((6.5, 4.5))
    for label, curve in sorted(lines.items(), key=lambda kv: _sort_key(kv[0])):
        points = [(e, s) for e, s in curve if s.n > 0]
        (line,) = ax.plot(
            [e for e, _ in points],
            [s.mean for _, s in points],
            label=f"{label} (n={points[0][1].n})",
        )
        banded = [(e, s) for e, s in points if s.n > 1]
        ax.fill_between(
            [e for e, _ in banded],
            [max(s.low, floor) for _, s in banded],
            [min(s.high, ceiling) for _, s in banded],
            color=line.get_color(),
            alpha=0.2,
            linewidth=0,
        )
    if log:
        ax.set_yscale("log")
        ax.set_ylim(bottom=floor)
    title = f"mean {metric} by epoch, {LEVEL:.0%} interval shaded"
    ax.set(xlabel="epoch", ylabel=metric, title=title)
    ax.title.set_fontsize(9)
    ax.legend(fontsize=7)
    fig.tight_layout()
    path = curves_path(sweep_dir, metric)
    publish(fig, path)
    return path


def _line_axis(
    axis: str, axes: list[str], values: Callable[[str], set[Any]]
) -> tuple[str | None, list[str]]:
    """For a plot against `axis`: the other axis with the fewest values, one line per value
    (None when `axis` is the only one), and the rest, each point being the best over them."""
    others = [a for a in axes if a != axis]
    line = min(others, key=lambda a: len(values(a))) if others else None
    return line, [a for a in others if a != line]


def _best_over(rest: list[str]) -> str:
    return f" (best over {', '.join(rest)})" if rest else ""


def _error_bars(fig: Any, lines: dict[str, dict[Any, Any]]) -> None:
    """Add each point's interval to the lines `line_figure` drew, in their colours."""
    ax = fig.axes[0]
    drawn = {line.get_label(): line for line in ax.get_lines()}
    for label, points in lines.items():
        xs = sorted(points, key=_sort_key)
        shown = [str(x) if isinstance(x, str) else x for x in xs]
        mean = [points[x].mean for x in xs]
        # A setting with one finished replicate has no interval: no bar.
        low = [s.mean - s.low if s.n > 1 else 0.0 for s in (points[x] for x in xs)]
        high = [s.high - s.mean if s.n > 1 else 0.0 for s in (points[x] for x in xs)]
        color = drawn[label].get_color() if label in drawn else None
        ax.errorbar(shown, mean, yerr=[low, high], fmt="none", capsize=3, color=color)


def axis_lines(
    rows: list[dict[str, Any]], axis: str, group: str | None, metric: str, mode: str
) -> Lines:
    """The best value at each value of `axis`, one line per value of `group`."""
    pick = min if mode == "min" else max
    key = best_column(metric)
    lines: Lines = {}
    for row in rows:
        line = lines.setdefault(f"{group}={row[group]}" if group else metric, {})
        x = override_value(row[axis])
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


def _sort_key(value: Any) -> tuple:
    """Line labels (`key=value`) and x values, in the order of their values."""
    return value_order(value.split("=", 1)[-1] if isinstance(value, str) else value)
