"""Replicates in a sweep: jobs that differ only in a replicate key (by default `seed`) are
one setting run several times. Each setting gets n, mean, std and an interval of its best,
final and test values (seqlab.sweeps.stats: inside the metric's range); settings are ranked
by mean, and those whose interval overlaps the best setting's are tied with it: the data
cannot tell them apart.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from seqlab.names import COMPLETED, TEST, VAL, metric, metric_range
from seqlab.sweeps.jobs import LEVEL, REPLICATE_KEYS, Job, best_column, best_first
from seqlab.sweeps.stats import Summary, summarise


@dataclass
class Group:
    """One setting of the swept keys, and its replicate jobs."""

    settings: dict[str, str]
    jobs: list[Job]
    best: Summary
    final: Summary
    test: Summary
    rank: str = ""  # "best", "tied" (interval overlaps the best's) or ""


def stage_metrics(monitor: str) -> tuple[str, str]:
    """The final validation and the test metric that go with a monitored one:
    val/mse -> (val/mse, test/mse); train/loss -> (val/loss, test/loss)."""
    name = monitor.split("/", 1)[-1]
    return metric(VAL, name), metric(TEST, name)


def group_jobs(
    jobs: list[Job],
    axes: list[str],
    monitor: str,
    mode: str,
    replicate_keys: Sequence[str] = REPLICATE_KEYS,
) -> list[Group] | None:
    """Settings ranked best first, or None when no replicate key was swept."""
    if not any(axis in replicate_keys for axis in axes):
        return None
    setting_axes = [a for a in axes if a not in replicate_keys]
    by_setting: dict[tuple[str, ...], list[Job]] = {}
    for job in jobs:
        key = tuple(job.overrides.get(a, "") for a in setting_axes)
        by_setting.setdefault(key, []).append(job)
    val_metric, test_metric = stage_metrics(monitor)
    groups = []
    for key, members in by_setting.items():
        done = [j for j in members if j.status == COMPLETED]
        finals = [j.metrics.get("final", {}) for j in done]
        groups.append(
            Group(
                settings=dict(zip(setting_axes, key, strict=True)),
                jobs=members,
                best=summarise([j.best(monitor) for j in done], LEVEL, metric_range(monitor)),
                final=summarise(
                    [f.get(val_metric, math.nan) for f in finals], LEVEL, metric_range(val_metric)
                ),
                test=summarise(
                    [f.get(test_metric, math.nan) for f in finals], LEVEL, metric_range(test_metric)
                ),
            )
        )
    return rank_groups(groups, mode)


def rank_groups(groups: list[Group], mode: str) -> list[Group]:
    """Best mean first (settings without a finished job last); mark the best and the
    settings tied with it."""
    ranked = best_first(groups, lambda group: group.best.mean, mode)
    if ranked and math.isfinite(ranked[0].best.mean):
        ranked[0].rank = "best"
        for group in ranked[1:]:
            group.rank = "tied" if group.best.overlaps(ranked[0].best) else ""
    return ranked


def group_rows(groups: list[Group], monitor: str) -> list[dict[str, Any]]:
    """The grouped table: settings, n, then mean, std and interval of each value."""
    val_metric, test_metric = stage_metrics(monitor)
    rows = []
    for group in groups:
        row: dict[str, Any] = {**group.settings, "n": group.best.n, "jobs": len(group.jobs)}
        for label, summary in (
            (best_column(monitor), group.best),
            (f"final {val_metric}", group.final),
            (test_metric, group.test),
        ):
            row[f"{label} mean"] = summary.mean
            row[f"{label} std"] = summary.std
            row[f"{label} {LEVEL:.0%} CI"] = interval(summary)
        row["rank"] = group.rank
        rows.append(row)
    return rows


def interval(summary: Summary) -> str:
    if math.isnan(summary.low):
        return ""
    return f"[{summary.low:.4g}, {summary.high:.4g}]"
