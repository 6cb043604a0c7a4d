"""The sweep report: summary.csv, summary.md, groups.csv, the plots and the TensorBoard view.

Written at the end of every multirun (seqlab.callbacks.hydra) and by `seqlab-report`; works
on a sweep that is still running or has failed jobs, listing them with their status.
A light module (no torch or lightning: pyproject.toml's import-linter contracts), so it
is quick.
"""

from __future__ import annotations

import contextlib
import math
from collections import Counter
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from seqlab.files import remove_temporaries, write_text_atomic
from seqlab.locking import DirectoryInUse, acquire, release
from seqlab.names import COMPLETED, FAILED, TRAIN_LOSS, UNREADABLE, metric_range
from seqlab.provenance import code_label
from seqlab.render.tables import markdown_table, write_csv
from seqlab.report.pbt_section import pbt_markdown
from seqlab.report.plots import plot_axes, plot_curves, plot_groups
from seqlab.report.race_section import race_markdown
from seqlab.report.tensorboard_view import VIEW_DIR, setting_label, write_view
from seqlab.search import read_results
from seqlab.sweeps.curves import averaged_jobs, mean_curves
from seqlab.sweeps.jobs import (
    LEVEL,
    REPLICATE_KEYS,
    Job,
    best_column,
    best_first,
    monitor_of,
    read_jobs,
    swept_axes,
)
from seqlab.sweeps.replicates import Group, group_jobs, group_rows
from seqlab.sweeps.stats import interval_kind
from seqlab.tuning.importance import EVALUATOR, importance_rows
from seqlab.tuning.pbt import read_pbt
from seqlab.tuning.race import read_race

SUMMARY_CSV, SUMMARY_MD, GROUPS_CSV = "summary.csv", "summary.md", "groups.csv"


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
        if job.status in (FAILED, UNREADABLE):
            row["error"] = job.metrics.get("error", "")
        rows.append(row)
    return rows


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
            f"{LEVEL:.0%} interval ({interval_kind(metric_range(metric))}) overlaps the "
            "best's."
        )
    fixed = {k: v for k, v in jobs[0].overrides.items() if k not in axes} if jobs else {}
    if fixed:
        text.append("Fixed: " + " ".join(f"`{k}={v}`" for k, v in fixed.items()) + ".")
    if warning := mixed_code_warning(jobs):
        text.append(warning)
    for job in jobs:
        if job.status == UNREADABLE:
            text.append(f"Job {job.name} is unreadable: `{job.metrics.get('error', '')}`.")
    return text


def confirmation_markdown(
    confirmed: dict[str, Any], groups: list[Group], jobs: int, metric: str, mode: str
) -> str:
    """A search's confirmation stage (optimization_results.yaml's `confirmed`, and its
    `jobs` grouped by setting) as the first section of summary.md: mean, interval and
    ties."""
    rows = group_rows(groups, metric)
    seeds = ", ".join(map(str, confirmed.get("seeds", [])))
    text = [
        "",
        f"## Confirmed over seeds: the best {confirmed.get('top_k')} setting(s), seeds {seeds}",
        "",
        f"The study's best settings, each run again with fresh seeds as ordinary jobs "
        f"({jobs} jobs); ranked by the mean of their best `{metric}` ({mode}imised). "
        f"`tied`: the setting's {LEVEL:.0%} interval overlaps the best's.",
    ]
    if "best_params" in confirmed:
        best = " ".join(f"`{k}={v}`" for k, v in confirmed["best_params"].items())
        low, high = confirmed["best_interval"]
        verdict = (
            f"tied with {len(confirmed['tied_with'])} other setting(s)"
            if confirmed.get("tied")
            else "ahead of the others"
        )
        text.append(
            f"Best: {best}, mean {confirmed['best_mean']:.4g} [{low:.4g}, {high:.4g}]; {verdict}."
        )
    return "\n".join([*text, "", markdown_table(rows, list(rows[0])) if rows else "", ""])


def pareto_markdown(results: dict[str, Any]) -> str:
    """A multi-objective study's Pareto front (optimization_results.yaml) as a section of
    summary.md: the trials no other trial beats on every objective; "" for other sweeps."""
    front, objectives = results.get("pareto_front"), results.get("objectives") or {}
    if front is None:
        return ""
    rows = [
        {"job": t.get("job"), "trial": t.get("trial"), **t.get("values", {}), **t.get("params", {})}
        for t in front
    ]
    goals = ", ".join(
        f"`{m}` ({str(d).removesuffix('imize')}imised)" for m, d in objectives.items()
    )
    text = ["", f"## Pareto front: {len(rows)} trial(s)", ""]
    text.append(f"No other trial is better on every objective: {goals}.")
    return "\n".join([*text, "", markdown_table(rows, list(rows[0])) if rows else "", ""])


def importance_markdown(
    jobs: list[Job], axes: list[str], metric: str, mode: str, replicate_keys: Sequence[str]
) -> str:
    """The section "What mattered": each swept key's share of the monitored value's
    variation (seqlab.tuning.importance); "" for a sweep with fewer than two swept keys."""
    rows = importance_rows(jobs, axes, metric, mode, replicate_keys)
    if not rows:
        return ""
    done = sum(1 for job in jobs if job.status == COMPLETED)
    text = [
        "",
        "## What mattered",
        "",
        f"How much each swept key explains of the best `{metric}` over the {done} completed "
        f"jobs: Optuna's {EVALUATOR} importance (each key's values among the best 10% of the "
        "jobs against all of them), as shares of 1.",
    ]
    shown = [{**row, "importance": round(row["importance"], 3)} for row in rows]
    return "\n".join([*text, "", markdown_table(shown, list(shown[0])), ""])


def mixed_code_warning(jobs: list[Job]) -> str | None:
    """One line when the sweep's jobs ran different code (seqlab version, git commit, or
    uncommitted changes), e.g. a sweep resumed after a change; else None."""
    labels = Counter(code_label(j.metrics.get("provenance")) for j in jobs if j.metrics)
    if len(labels) < 2:
        return None
    mixed = ", ".join(f"`{label}` ({n} jobs)" for label, n in labels.most_common())
    return f"**Warning: the jobs ran different code:** {mixed}."


def write_report(
    sweep_dir: str | Path,
    metric: str | None = None,
    plots: bool = True,
    replicate_keys: Sequence[str] = REPLICATE_KEYS,
) -> Path:
    """Write summary.csv (one row per job), summary.md, the plots and, when a replicate
    key (seed) was swept, groups.csv (one row per setting) into `sweep_dir`; return
    summary.md."""
    sweep_dir = Path(sweep_dir)
    jobs = read_jobs(sweep_dir)
    if not jobs:
        raise FileNotFoundError(f"{sweep_dir}: no job directories (*/.hydra/overrides.yaml)")
    with _sole_writer(sweep_dir) as sole:
        if sole:  # what an earlier report, killed in the middle of a write, left behind
            remove_temporaries(sweep_dir, sweep_dir / VIEW_DIR)
        return _write_report(sweep_dir, jobs, metric, plots, replicate_keys)


def _plot_curves(sweep_dir: Path, groups: list[Group], metric: str) -> list[Path]:
    """curves_<metric>.png for the monitored metric and the training loss: each setting's
    mean by epoch, over its finished replicates."""
    curves = {setting_label(g): mean_curves(averaged_jobs(g.jobs)) for g in groups}
    shown = [metric] + ([TRAIN_LOSS] if metric != TRAIN_LOSS else [])
    return [p for m in shown if (p := plot_curves(sweep_dir, curves, m)) is not None]


@contextlib.contextmanager
def _sole_writer(sweep_dir: Path) -> Iterator[bool]:
    """Hold the sweep's lock while the report is written, if no other process holds it (a
    sweep still running, another report): whether this process is the sole writer now."""
    try:
        acquire(sweep_dir, wait_s=0)
    except (DirectoryInUse, OSError):  # held elsewhere, or a directory it cannot write
        yield False
        return
    try:
        yield True
    finally:
        release(sweep_dir)


def _write_report(
    sweep_dir: Path,
    jobs: list[Job],
    metric: str | None,
    plots: bool,
    replicate_keys: Sequence[str],
) -> Path:
    metric, mode = monitor_of(jobs, metric)
    results = read_results(sweep_dir)
    pbt, not_swept = read_pbt(sweep_dir), replicate_keys
    if pbt:  # a member's seed is its lineage's, not a replicate's: each job stands alone
        replicate_keys = ()
    every_job, every_axis = jobs, swept_axes(jobs)
    write_csv(sweep_dir / SUMMARY_CSV, summary_rows(jobs, every_axis, metric), digits=6)
    # A search's confirmation stage leads, and the tables after it are its trials'; the
    # TensorBoard view and the mean curves show the confirmation's replicates.
    confirmed = results.get("confirmed") or {}
    names = set(confirmed.get("jobs") or [])
    confirming = [job for job in jobs if job.name in names]
    jobs = [job for job in jobs if job.name not in names]
    axes = swept_axes(jobs)
    rows = summary_rows(jobs, axes, metric)
    groups = group_jobs(jobs, axes, metric, mode, replicate_keys)
    grouped = group_rows(groups, metric) if groups else None
    if grouped:
        write_csv(sweep_dir / GROUPS_CSV, grouped, digits=6)
    markdown = summary_markdown(sweep_dir, jobs, rows, axes, metric, mode, grouped)
    replicated = groups
    race = race_markdown(read_race(sweep_dir))
    title, _, rest = markdown.partition("\n")
    if confirming:  # after the title line, with its race if it was one
        replicated = group_jobs(confirming, swept_axes(confirming), metric, mode, replicate_keys)
        section = confirmation_markdown(confirmed, replicated or [], len(confirming), metric, mode)
        markdown = f"{title}\n{section}{race}\n## The study's trials\n{rest}"
    elif race:  # a grid's race
        markdown = f"{title}\n{race}\n## Every setting's seeds\n{rest}"
    curve_plots = _plot_curves(sweep_dir, replicated, metric) if plots and replicated else []
    if curve_plots:
        links = ", ".join(f"[{p.name}]({p.name})" for p in curve_plots)
        markdown += f"\nEach setting's mean learning curve, {LEVEL:.0%} interval shaded: {links}.\n"
    markdown += pareto_markdown(results)
    if section := pbt_markdown(pbt, sweep_dir, plots):  # after the title line
        title, _, rest = markdown.partition("\n")
        markdown = f"{title}\n{section}\n## The members\n{rest}"
    mattered = importance_markdown(every_job, every_axis, metric, mode, not_swept)
    markdown += mattered
    write_text_atomic(sweep_dir / SUMMARY_MD, markdown)
    write_view(sweep_dir, every_job, every_axis, metric, replicated, notes=mattered)
    if plots and groups:
        plot_groups(sweep_dir, groups, [a for a in axes if a not in replicate_keys], metric)
    elif plots:
        plot_axes(sweep_dir, [r for r in rows if usable(r, metric)], axes, metric, mode)
    return sweep_dir / SUMMARY_MD
