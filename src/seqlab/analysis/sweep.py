"""The sweep report: one table and a few plots for a whole multirun.

Reads every job directory of a multirun (its `.hydra/overrides.yaml` and `metrics.json`)
and writes `summary.csv`, `summary.md` and `plot_<axis>.png` into the sweep directory.
Works on a sweep that is still running or has failed jobs: they are listed with their
status. Imports neither torch nor lightning, so it is quick.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import yaml

from seqlab.analysis.tables import markdown_table, write_csv
from seqlab.names import COMPLETED, DEFAULT_MONITOR, FAILED, PENDING, RESUME, TRIAL_PREFIX
from seqlab.provenance import code_label
from seqlab.rundir import METRICS_FILE

SUMMARY_CSV, SUMMARY_MD, GROUPS_CSV = "summary.csv", "summary.md", "groups.csv"
REPLICATE_KEYS = ("seed",)  # swept keys whose jobs are replicates of one setting
LEVEL = 0.95  # of the replicates' confidence intervals
T = TypeVar("T")


@dataclass
class Job:
    """One job of a sweep: where it ran, what it overrode, what it recorded."""

    name: str
    overrides: dict[str, str]
    metrics: dict[str, Any] = field(default_factory=dict)

    @property
    def status(self) -> str:
        # A job directory without metrics.json was created but has not started training.
        return self.metrics.get("status", PENDING)

    def best(self, metric: str) -> float:
        value = self.metrics.get("best", {}).get(metric)
        return float(value) if value is not None else math.nan


def read_jobs(sweep_dir: Path) -> list[Job]:
    """Every job directory of a sweep (those with .hydra/overrides.yaml), in job order."""
    jobs = []
    for overrides_file in sweep_dir.glob("*/.hydra/overrides.yaml"):
        job_dir = overrides_file.parent.parent
        items = yaml.safe_load(overrides_file.read_text()) or []
        # A search trial's own `trial.*` bookkeeping, and `resume=` (given to the jobs of a
        # resumed sweep that ran again), are no settings of the job.
        pairs = (item.split("=", 1) for item in items if "=" in item)
        overrides = {k: v for k, v in pairs if not k.startswith(TRIAL_PREFIX) and k != RESUME}
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


def monitor_of(jobs: list[Job], metric: str | None) -> tuple[str, str]:
    """The metric to rank by (the runs' own monitored metric unless given) and its mode."""
    for job in jobs:
        if "monitor" in job.metrics:
            return metric or job.metrics["monitor"], job.metrics.get("mode", "min")
    return metric or DEFAULT_MONITOR, "min"


def best_column(metric: str) -> str:
    return f"best {metric}"


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
            **{best_column(metric): job.best(metric), "best epoch": best.get("epoch", "")},
        )
        row.update({f"final {k}": job.metrics.get("final", {}).get(k, "") for k in finals})
        if job.status == FAILED:
            row["error"] = job.metrics.get("error", "")
        rows.append(row)
    return rows


def best_first(items: list[T], score: Callable[[T], float], mode: str) -> list[T]:
    """Items by score, best first ("min": lowest); those without a finite score last, in
    their order. The one ranking of jobs and of replicated settings."""

    def order(item: T) -> tuple[bool, float]:
        value = score(item)
        usable = math.isfinite(value)
        return (not usable, (value if mode == "min" else -value) if usable else 0.0)

    return sorted(items, key=order)


def override_value(text: str) -> float | str:
    """An override's value as written on the command line: a number if it reads as one."""
    try:
        return float(text)
    except (TypeError, ValueError):
        return text


def value_order(value: Any) -> tuple:
    """Sort key of override values: numbers by size first, then text."""
    value = override_value(value) if isinstance(value, str) else value
    return (0, value, "") if isinstance(value, float) else (1, 0.0, str(value))


def usable(row: dict[str, Any], metric: str) -> bool:
    """Whether a row's result counts: a completed job with a finite best value."""
    value = row[best_column(metric)]
    return row["status"] == COMPLETED and isinstance(value, float) and math.isfinite(value)


def ranked(rows: list[dict[str, Any]], metric: str, mode: str) -> list[dict[str, Any]]:
    """Best first; jobs that did not complete with a finite value last, in job order."""
    return best_first(
        rows, lambda row: row[best_column(metric)] if usable(row, metric) else math.nan, mode
    )


def summary_markdown(
    sweep_dir: Path,
    jobs: list[Job],
    rows: list[dict],
    axes: list[str],
    metric: str,
    mode: str,
    grouped: list[dict] | None = None,
) -> str:
    """summary.md: the counts, then the grouped table (with replicates) and the job table."""
    columns = ["job", *axes, best_column(metric), "best epoch", "status", "epochs", "wall_s"]
    jobs_table = markdown_table(ranked(rows, metric, mode), columns)
    text = _summary_header(sweep_dir, jobs, axes, metric, mode, grouped)
    if grouped is None:
        return "\n".join([*text, "", jobs_table, ""])
    return "\n".join(
        [
            *text,
            "",
            markdown_table(grouped, list(grouped[0])),
            "",
            f"<details><summary>All {len(jobs)} jobs</summary>",
            "",
            jobs_table,
            "",
            "</details>",
            "",
        ]
    )


def _summary_header(
    sweep_dir: Path,
    jobs: list[Job],
    axes: list[str],
    metric: str,
    mode: str,
    grouped: list[dict] | None,
) -> list[str]:
    counts = Counter(job.status for job in jobs)
    text = [
        f"# Sweep {sweep_dir.name}",
        "",
        f"{len(jobs)} jobs: " + ", ".join(f"{n} {s}" for s, n in sorted(counts.items())) + ".",
    ]
    if grouped is None:
        text.append(f"Ranked by best `{metric}` ({mode}imised), best first.")
    else:
        text.append(
            f"{len(grouped)} settings, each run by its replicates; ranked by the mean of their "
            f"best `{metric}` ({mode}imised), best first. `tied`: the setting's "
            f"{LEVEL:.0%} interval (Student t) overlaps the best's."
        )
    fixed = {k: v for k, v in jobs[0].overrides.items() if k not in axes} if jobs else {}
    if fixed:
        text.append("Fixed: " + " ".join(f"`{k}={v}`" for k, v in fixed.items()) + ".")
    if warning := mixed_code_warning(jobs):
        text.append(warning)
    return text


def mixed_code_warning(jobs: list[Job]) -> str | None:
    """One line when the sweep's jobs ran different code (seqlab version, git commit, or
    uncommitted changes), e.g. a sweep resumed after a change; else None."""
    labels = Counter(code_label(j.metrics.get("provenance")) for j in jobs if j.metrics)
    if len(labels) < 2:
        return None
    mixed = ", ".join(f"`{label}` ({n} jobs)" for label, n in labels.most_common())
    return f"**Warning: the jobs ran different code:** {mixed}."


def tensorboard_view(sweep_dir: Path, jobs: list[Job], axes: list[str], metric: str) -> None:
    """`<sweep>/tensorboard/`: the jobs' TensorBoard runs named by their swept values, and
    the HParams columns: swept keys, then best, final and test values (tensorboard_view)."""
    from seqlab.analysis import tensorboard_view as view
    from seqlab.analysis.replicates import stage_metrics

    if not any((sweep_dir / job.name / view.VIEW_DIR).is_dir() for job in jobs):
        return  # no job logged to TensorBoard (e.g. logger=csv)
    directory = view.link_runs(sweep_dir, view.run_labels(jobs, axes))
    val_metric, test_metric = stage_metrics(metric)
    metrics = [
        ("hp_metric", f"best {metric}"),
        (f"final/{val_metric}", f"final {val_metric}"),
        (f"final/{test_metric}", test_metric),
    ]
    view.write_experiment(directory, jobs, axes, metrics)


def write_report(
    sweep_dir: str | Path,
    metric: str | None = None,
    plots: bool = True,
    replicate_keys: Sequence[str] = REPLICATE_KEYS,
) -> Path:
    """Write summary.csv (one row per job), summary.md, the plots and, when a replicate
    key (seed) was swept, groups.csv (one row per setting) into `sweep_dir`; return
    summary.md."""
    from seqlab.analysis.replicates import group_jobs, group_rows
    from seqlab.analysis.sweep_plots import plot_axes, plot_groups

    sweep_dir = Path(sweep_dir)
    jobs = read_jobs(sweep_dir)
    if not jobs:
        raise FileNotFoundError(f"{sweep_dir}: no job directories (*/.hydra/overrides.yaml)")
    axes = swept_axes(jobs)
    metric, mode = monitor_of(jobs, metric)
    rows = summary_rows(jobs, axes, metric)
    write_csv(sweep_dir / SUMMARY_CSV, rows, digits=6)
    groups = group_jobs(jobs, axes, metric, mode, replicate_keys)
    grouped = group_rows(groups, metric) if groups else None
    if grouped:
        write_csv(sweep_dir / GROUPS_CSV, grouped, digits=6)
    markdown = summary_markdown(sweep_dir, jobs, rows, axes, metric, mode, grouped)
    (sweep_dir / SUMMARY_MD).write_text(markdown)
    tensorboard_view(sweep_dir, jobs, axes, metric)
    if plots and groups:
        plot_groups(sweep_dir, groups, [a for a in axes if a not in replicate_keys], metric)
    elif plots:
        plot_axes(sweep_dir, [r for r in rows if usable(r, metric)], axes, metric, mode)
    return sweep_dir / SUMMARY_MD
