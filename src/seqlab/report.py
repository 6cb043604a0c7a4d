"""seqlab-report: one table and a few plots for a whole sweep.

Reads every job directory of a multirun (its `.hydra/overrides.yaml` and `metrics.json`)
and writes `summary.csv`, `summary.md` and `plot_<axis>.png` into the sweep directory.
Works on a sweep that is still running or has failed jobs: they are listed with their
status. Imports neither torch nor lightning, so it is quick.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from hydra.experimental.callback import Callback
from omegaconf import DictConfig

from seqlab.plots import new_figure, publish
from seqlab.rundir import METRICS_FILE

SUMMARY_CSV, SUMMARY_MD = "summary.csv", "summary.md"


@dataclass
class Job:
    """One job of a sweep: where it ran, what it overrode, what it recorded."""

    name: str
    overrides: dict[str, str]
    metrics: dict[str, Any] = field(default_factory=dict)

    @property
    def status(self) -> str:
        # A job directory without metrics.json was created but has not started training.
        return self.metrics.get("status", "pending")

    def best(self, metric: str) -> float:
        value = self.metrics.get("best", {}).get(metric)
        return float(value) if value is not None else math.nan


def read_jobs(sweep_dir: Path) -> list[Job]:
    """Every job directory of a sweep (those with .hydra/overrides.yaml), in job order."""
    jobs = []
    for overrides_file in sweep_dir.glob("*/.hydra/overrides.yaml"):
        job_dir = overrides_file.parent.parent
        items = yaml.safe_load(overrides_file.read_text()) or []
        overrides = dict(item.split("=", 1) for item in items if "=" in item)
        metrics_file = job_dir / METRICS_FILE
        metrics = json.loads(metrics_file.read_text()) if metrics_file.is_file() else {}
        jobs.append(Job(job_dir.name, overrides, metrics))
    return sorted(
        jobs, key=lambda j: (not j.name.isdigit(), int(j.name) if j.name.isdigit() else 0, j.name)
    )


def swept_axes(jobs: list[Job]) -> list[str]:
    """Override keys whose value differs between jobs, in the order they appear."""
    keys: dict[str, set[str]] = {}
    for job in jobs:
        for key, value in job.overrides.items():
            keys.setdefault(key, set()).add(value)
    return [k for k, values in keys.items() if len(values) > 1 or _missing_somewhere(jobs, k)]


def _missing_somewhere(jobs: list[Job], key: str) -> bool:
    return any(key not in j.overrides for j in jobs)


def _number(text: str) -> float | str:
    try:
        return float(text)
    except (TypeError, ValueError):
        return text


def _monitor(jobs: list[Job], metric: str | None) -> tuple[str, str]:
    """The metric to rank by (the runs' own monitored metric unless given) and its mode."""
    for job in jobs:
        if "monitor" in job.metrics:
            return metric or job.metrics["monitor"], job.metrics.get("mode", "min")
    return metric or "val/loss", "min"


def summary_rows(jobs: list[Job], axes: list[str], metric: str) -> list[dict[str, Any]]:
    finals = sorted({k for j in jobs for k in j.metrics.get("final", {})})
    rows = []
    for job in jobs:
        row: dict[str, Any] = {"job": job.name}
        row.update({axis: job.overrides.get(axis, "") for axis in axes})
        best = job.metrics.get("best", {})
        row.update(
            status=job.status,
            epochs=job.metrics.get("epochs", ""),
            wall_s=job.metrics.get("wall_s", ""),
            **{f"best {metric}": job.best(metric), "best epoch": best.get("epoch", "")},
        )
        row.update({f"final {k}": job.metrics.get("final", {}).get(k, "") for k in finals})
        if job.status == "failed":
            row["error"] = job.metrics.get("error", "")
        rows.append(row)
    return rows


def ranked(rows: list[dict[str, Any]], metric: str, mode: str) -> list[dict[str, Any]]:
    """Best first; jobs that did not complete with a finite value last, in job order."""
    key = f"best {metric}"
    sign = 1 if mode == "min" else -1

    def order(row: dict[str, Any]) -> tuple:
        value = row[key]
        usable = row["status"] == "completed" and isinstance(value, float) and math.isfinite(value)
        return (not usable, sign * value if usable else 0.0)

    return sorted(rows, key=order)


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return "" if math.isnan(value) else f"{value:.6g}"
    return str(value).replace("|", "\\|").replace("\n", " ")


def write_csv(path: Path, rows: list[dict[str, Any]]) -> None:
    columns = list(dict.fromkeys(k for row in rows for k in row))
    with path.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=columns)
        writer.writeheader()
        for row in rows:
            writer.writerow({k: _cell(row.get(k, "")) for k in columns})


def markdown_table(rows: list[dict[str, Any]], columns: list[str]) -> str:
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(_cell(row.get(c, "")) for c in columns) + " |" for row in rows]
    return "\n".join(lines)


def write_markdown(
    path: Path,
    sweep_dir: Path,
    jobs: list[Job],
    rows: list[dict],
    axes: list[str],
    metric: str,
    mode: str,
) -> None:
    fixed = {k: v for k, v in jobs[0].overrides.items() if k not in axes} if jobs else {}
    counts: dict[str, int] = {}
    for job in jobs:
        counts[job.status] = counts.get(job.status, 0) + 1
    columns = ["job", *axes, f"best {metric}", "best epoch", "status", "epochs", "wall_s"]
    text = [
        f"# Sweep {sweep_dir.name}",
        "",
        f"{len(jobs)} jobs: " + ", ".join(f"{n} {s}" for s, n in sorted(counts.items())) + ".",
        f"Ranked by best `{metric}` ({mode}imised), best first.",
    ]
    if fixed:
        text.append("Fixed: " + " ".join(f"`{k}={v}`" for k, v in fixed.items()) + ".")
    text += ["", markdown_table(ranked(rows, metric, mode), columns), ""]
    path.write_text("\n".join(text))


def plot_axes(
    sweep_dir: Path, rows: list[dict[str, Any]], axes: list[str], metric: str, mode: str
) -> list[Path]:
    """One PNG per swept axis: the best monitored value against that axis.

    With two or more axes, one line per value of the axis with the fewest values; each
    point is the best value over the remaining axes.
    """
    key = f"best {metric}"
    usable = [
        r
        for r in rows
        if r["status"] == "completed" and isinstance(r[key], float) and math.isfinite(r[key])
    ]
    pick = min if mode == "min" else max
    paths = []
    for axis in axes:
        others = [a for a in axes if a != axis]
        group = min(others, key=lambda a: len({r[a] for r in usable})) if others else None
        rest = [a for a in others if a != group]  # each point is the best over these
        lines: dict[str, dict[Any, float]] = {}
        for row in usable:
            label = f"{group}={row[group]}" if group else metric
            x = _number(row[axis])
            line = lines.setdefault(label, {})
            line[x] = pick(line.get(x, row[key]), row[key])
        if not lines:
            continue
        fig, ax = new_figure()
        for label, points in sorted(lines.items(), key=lambda kv: _sort_key(kv[0])):
            xs = sorted(points, key=_sort_key)
            ax.plot(
                [str(x) if isinstance(x, str) else x for x in xs],
                [points[x] for x in xs],
                marker="o",
                label=label,
            )
        values = [v for pts in lines.values() for v in pts.values()]
        if min(values) > 0 and max(values) / min(values) > 100:
            ax.set_yscale("log")
        xs_all = [x for pts in lines.values() for x in pts]
        if all(isinstance(x, float) and x > 0 for x in xs_all) and max(xs_all) / min(xs_all) >= 10:
            ax.set_xscale("log")
        ax.set(
            xlabel=axis,
            ylabel=f"best {metric}",
            title=f"{metric} by {axis}" + (f" (best over {', '.join(rest)})" if rest else ""),
        )
        ax.title.set_fontsize(9)
        if group:
            ax.legend(fontsize=8)
        fig.tight_layout()
        path = sweep_dir / f"plot_{axis.replace('/', '_')}.png"
        publish(fig, path)
        paths.append(path)
    return paths


def _sort_key(value: Any) -> tuple:
    value = _number(value.split("=", 1)[-1]) if isinstance(value, str) else value
    return (0, value, "") if isinstance(value, float) else (1, 0.0, str(value))


def write_report(sweep_dir: str | Path, metric: str | None = None, plots: bool = True) -> Path:
    """Write summary.csv, summary.md and the plots into `sweep_dir`; return summary.md."""
    sweep_dir = Path(sweep_dir)
    jobs = read_jobs(sweep_dir)
    if not jobs:
        raise FileNotFoundError(f"{sweep_dir}: no job directories (*/.hydra/overrides.yaml)")
    axes = swept_axes(jobs)
    metric, mode = _monitor(jobs, metric)
    rows = summary_rows(jobs, axes, metric)
    write_csv(sweep_dir / SUMMARY_CSV, rows)
    write_markdown(sweep_dir / SUMMARY_MD, sweep_dir, jobs, rows, axes, metric, mode)
    if plots:
        plot_axes(sweep_dir, rows, axes, metric, mode)
    return sweep_dir / SUMMARY_MD


class SweepReportCallback(Callback):
    """Hydra callback: write the report when a multirun ends (also if some jobs failed)."""

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        sweep_dir = Path(config.hydra.sweep.dir)
        try:
            path = write_report(sweep_dir)
        except Exception as e:  # a report must never turn a finished sweep into an error
            print(
                f"seqlab-report: could not write the report for {sweep_dir}: {e}", file=sys.stderr
            )
            return
        print(f"Sweep report: {path}")
        print(f"Compare the jobs with: tensorboard --logdir {sweep_dir}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="seqlab-report",
        description="Summarise a seqlab multirun: summary.csv, summary.md and plots.",
    )
    parser.add_argument("sweep_dir", type=Path, help="the multirun directory")
    parser.add_argument("--metric", help="metric to rank by (default: the runs' monitor)")
    parser.add_argument("--no-plots", action="store_true", help="write only the tables")
    args = parser.parse_args(argv)
    if not args.sweep_dir.is_dir():
        print(f"seqlab-report: error: {args.sweep_dir}: not a directory", file=sys.stderr)
        return 2
    try:
        path = write_report(args.sweep_dir, args.metric, plots=not args.no_plots)
    except FileNotFoundError as e:
        print(f"seqlab-report: error: {e}", file=sys.stderr)
        return 2
    print(path.read_text())
    return 0
