"""Runs as pandas DataFrames: one row per run, learning curves in long format, and seeds
averaged into settings by the report's own code (seqlab.sweeps.replicates).

Column names follow the report: `best val/mse`, `final val/mse`, `test/mse`; config values
by their dotted keys (`model.hidden_dim`), code provenance under `provenance.`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import pandas as pd

from seqlab.config import flat_values
from seqlab.names import FAILED, UNREADABLE, final_name
from seqlab.results.records import RunEntry
from seqlab.sweeps.jobs import (
    LEVEL,
    REPLICATE_KEYS,
    Job,
    best_column,
    monitor_of,
    swept_axes,
)
from seqlab.sweeps.replicates import Group, group_jobs, group_rows, stage_metrics

# The columns that say which run a row is, first in every table.
ID_COLUMNS = ["run", "sweep", "job", "status"]
# metrics.json's own fields that the table carries, by their names there.
RECORD_FIELDS = [
    "monitor",
    "mode",
    "epochs",
    "global_step",
    "wall_s",
    "started_at",
    "ended_at",
    "attempts",
    "threads",
    "parameters",
    "device",
    "error",
    "interrupted_by",
    "config_error",
]


def table(entries: Sequence[RunEntry]) -> pd.DataFrame:
    """One row per run: who it is, every config value, then what it recorded."""
    rows = [_row(entry) for entry in entries]
    frame = pd.DataFrame(rows)
    if frame.empty:
        return pd.DataFrame(columns=[*ID_COLUMNS, "error"])
    config = sorted({k for e in entries for k in e.config})
    recorded = [c for c in frame.columns if c not in (*ID_COLUMNS, *config)]
    frame = frame[[*ID_COLUMNS, *config, *_result_order(recorded)]]
    frame["job"] = _job_numbers(frame["job"])
    for column in ("started_at", "ended_at"):
        if column in frame:
            frame[column] = pd.to_datetime(frame[column], utc=True, errors="coerce")
    return frame


def _row(entry: RunEntry) -> dict[str, Any]:
    metrics = entry.metrics
    row: dict[str, Any] = {
        "run": str(entry.path),
        "sweep": str(entry.sweep) if entry.sweep else None,
        "job": entry.job,
        "status": entry.status,
        **entry.config,
    }
    monitor = metrics.get("monitor")
    best = metrics.get("best") or {}
    if monitor:
        row[best_column(monitor)] = _number(best.get(monitor))
    if "epoch" in best:
        row["best epoch"] = best["epoch"]
    for key, value in (metrics.get("final") or {}).items():
        row[final_name(key)] = _number(value)
    for key in RECORD_FIELDS:
        if key in metrics:
            row[key] = metrics[key]
    if entry.status in (FAILED, UNREADABLE) and "error" not in row:
        row["error"] = metrics.get("error", "")
    for key, value in flat_values(metrics.get("provenance") or {}, "provenance.").items():
        row[key] = value
    return row


def _result_order(columns: list[str]) -> list[str]:
    """best, final and test values first, then the record's fields, then provenance."""

    def order(column: str) -> tuple[int, str]:
        if column.startswith("best "):
            return (0, column)
        if column.startswith(("final ", "test/")):
            return (1, column)
        if column.startswith("provenance."):
            return (3, column)
        return (2, str(RECORD_FIELDS.index(column)).zfill(3) if column in RECORD_FIELDS else column)

    return sorted(columns, key=order)


def _job_numbers(jobs: pd.Series) -> pd.Series:
    """Job names as integers where every one is a number (`0`, `1`, ...), else as text."""
    named = [j for j in jobs if isinstance(j, str)]
    if named and all(j.isdigit() for j in named):
        numbers = [int(j) if isinstance(j, str) else None for j in jobs]
        return pd.Series(pd.array(numbers, dtype="Int64"), index=jobs.index)
    return jobs


def _number(value: Any) -> float:
    return float(value) if isinstance(value, (int, float)) else math.nan


def curves(entries: Sequence[RunEntry], metrics: Sequence[str] | None = None) -> pd.DataFrame:
    """Learning curves in long format: one row per run, epoch and metric (`run`, `sweep`,
    `job`, `epoch`, `metric`, `value`), every epoch metric unless `metrics` names some."""
    ids = ["run", "sweep", "job", "epoch"]
    numbered = all(e.job is None or e.job.isdigit() for e in entries)
    rows = []  # one per run and epoch: its ids and its metrics, made long by melt below
    for index, entry in enumerate(entries):
        job = int(entry.job) if numbered and entry.job is not None else entry.job
        run, sweep = str(entry.path), str(entry.sweep) if entry.sweep else None
        for epoch_row in entry.history():
            rows.append({**epoch_row, "run": run, "sweep": sweep, "job": job, "_index": index})
    wide = pd.DataFrame(rows)
    if wide.empty:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in [*ids, "metric", "value"]})
    names = [c for c in wide.columns if "/" in c and (metrics is None or c in metrics)]
    long = wide.melt(
        id_vars=[*ids, "_index"], value_vars=names, var_name="metric", value_name="value"
    )
    long = long.dropna(subset=["value"])
    # Run by run in the order given, each epoch's metrics together, as metrics.json has them.
    long["_order"] = long["metric"].map({name: i for i, name in enumerate(names)})
    long = long.sort_values(["_index", "epoch", "_order"], kind="stable")
    long = long.drop(columns=["_index", "_order"]).reset_index(drop=True)
    long["epoch"] = long["epoch"].astype("Int64")
    long["value"] = long["value"].astype(float)
    if numbered:
        long["job"] = long["job"].astype("Int64")
    return long


def as_jobs(entries: Sequence[RunEntry], by: Sequence[str] | None) -> list[Job]:
    """The runs as the report's Jobs. With `by`, each job's setting is the value of each
    key in `by` (as its overrides wrote it, else as its config holds it) and its seed."""
    jobs = []
    for entry in entries:
        overrides = dict(entry.overrides)
        if by is not None:
            keys = [*by, *(k for k in REPLICATE_KEYS if k not in by)]
            overrides = {k: _setting(entry, k) for k in keys}
        jobs.append(Job(str(entry.path), overrides, entry.metrics))
    return jobs


def _setting(entry: RunEntry, key: str) -> str:
    if key in entry.overrides:
        return entry.overrides[key]
    value = entry.config.get(key)
    if isinstance(value, bool):
        return "true" if value else "false"
    return "null" if value is None else str(value)


def groups(
    entries: Sequence[RunEntry],
    by: Sequence[str] | None = None,
    metric: str | None = None,
    replicate_keys: Sequence[str] = REPLICATE_KEYS,
) -> pd.DataFrame:
    """Settings with their replicates averaged, ranked best first: the report's grouped
    table (groups.csv, by the same code), with each interval also as numbers (`low`,
    `high`) and the settings' values typed. By default the settings are the swept keys,
    as the report has them; `by` names them instead (the seed is always the replicate)."""
    ranked, settings, monitor, mode = ranked_groups(entries, by, metric, replicate_keys)
    rows = group_rows(ranked, monitor)
    for row, group in zip(rows, ranked, strict=True):
        for label, summary in _summaries(group, monitor):
            row[f"{label} low"], row[f"{label} high"] = summary.low, summary.high
    frame = pd.DataFrame(rows)
    for key in settings:
        if key in frame:
            frame[key] = [typed(v) for v in frame[key]]
    frame.attrs.update(monitor=monitor, mode=mode, level=LEVEL, best=best_column(monitor))
    return frame


def importance(
    entries: Sequence[RunEntry],
    by: Sequence[str] | None = None,
    metric: str | None = None,
    replicate_keys: Sequence[str] = REPLICATE_KEYS,
) -> pd.DataFrame:
    """What mattered: each swept key's share of the monitored value's variation over the
    completed runs (Optuna's PED-ANOVA, seqlab.tuning.importance), most important first,
    as the report's "What mattered" table: key, importance, values, rank. Empty where
    fewer than two keys took two or more values. `by` names the keys instead."""
    from seqlab.tuning.importance import EVALUATOR, importance_rows

    jobs = as_jobs(entries, by)
    monitor, mode = monitor_of(jobs, metric)
    axes = swept_axes(jobs) if by is None else list(by)
    rows = importance_rows(jobs, axes, monitor, mode, replicate_keys)
    frame = pd.DataFrame(rows, columns=["key", "importance", "values", "rank"])
    frame.attrs.update(monitor=monitor, mode=mode, evaluator=EVALUATOR)
    return frame


def ranked_groups(
    entries: Sequence[RunEntry],
    by: Sequence[str] | None,
    metric: str | None,
    replicate_keys: Sequence[str] = REPLICATE_KEYS,
) -> tuple[list[Group], list[str], str, str]:
    """The report's Groups of the runs, best first (each Job named by its run's path), the
    settings' keys, the metric ranked by and its mode."""
    jobs = as_jobs(entries, by)
    monitor, mode = monitor_of(jobs, metric)
    if by is None:
        axes = swept_axes(jobs)
        if not any(axis in replicate_keys for axis in axes):
            axes = [*axes, *replicate_keys]  # one seed per setting: each its own group
    else:
        axes = [*by, *(k for k in replicate_keys if k not in by)]
    ranked = group_jobs(jobs, axes, monitor, mode, replicate_keys) or []
    return ranked, [a for a in axes if a not in replicate_keys], monitor, mode


def _summaries(group: Group, monitor: str) -> list[tuple[str, Any]]:
    val_metric, test_metric = stage_metrics(monitor)
    return [
        (best_column(monitor), group.best),
        (f"final {val_metric}", group.final),
        (test_metric, group.test),
    ]


def typed(text: Any) -> Any:
    """An override's text as the value it stands for: `8` -> 8, `1e-3` -> 0.001, `true`
    -> True; other text stays text."""
    if not isinstance(text, str):
        return text
    lowered = text.lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    if lowered in ("null", "none", ""):
        return None
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text
