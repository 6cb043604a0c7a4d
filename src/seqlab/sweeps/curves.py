"""Learning curves averaged over replicates: for each epoch metric, the mean and its
interval (seqlab.sweeps.stats, inside the metric's range) at every epoch, over the jobs of
a setting that reached that epoch.

Jobs of one setting may have trained different numbers of epochs (early stopping,
pruning, a job still running): each epoch is averaged over the jobs that recorded it,
and its Summary says how many (`n`).
"""

from __future__ import annotations

from collections.abc import Sequence

from seqlab.names import FINISHED, is_epoch_metric, metric_range
from seqlab.sweeps.jobs import LEVEL, Job
from seqlab.sweeps.stats import Summary, summarise

Curve = list[tuple[int, Summary]]  # (epoch, the replicates' values at that epoch)


def mean_curves(jobs: Sequence[Job], level: float = LEVEL) -> dict[str, Curve]:
    """{metric: [(epoch, Summary), ...]} from the jobs' metrics.json histories, epochs in
    order, for every epoch metric any job recorded (`val/mse`, `train/loss`, ...)."""
    values: dict[str, dict[int, list[float]]] = {}
    for job in jobs:
        for row in job.metrics.get("history") or []:
            epoch = row.get("epoch")
            if not isinstance(epoch, int):
                continue
            for name, value in row.items():
                if is_epoch_metric(name) and isinstance(value, (int, float)):
                    values.setdefault(name, {}).setdefault(epoch, []).append(float(value))
    return {
        name: [
            (epoch, summarise(by_epoch[epoch], level, metric_range(name)))
            for epoch in sorted(by_epoch)
        ]
        for name, by_epoch in sorted(values.items())
    }


def averaged_jobs(jobs: Sequence[Job]) -> list[Job]:
    """The jobs whose curves a setting's mean takes: those that finished (completed,
    stopped early, pruned, diverged) and recorded epochs."""
    return [j for j in jobs if j.status in FINISHED and j.metrics.get("history")]


def band_limits(means: Sequence[float]) -> tuple[bool, float, float]:
    """How to draw mean curves with their interval bands: (log axis, floor, ceiling). A log
    axis where the means are positive and span more than a decade. A band is cut a decade
    (log axis) or the means' span (linear) beyond the means, so that the wide interval of
    a few disagreeing replicates does not flatten every line to the axis."""
    low, high = min(means), max(means)
    if low > 0 and high / low > 10:
        return True, low / 10, high * 10
    margin = (high - low) or abs(high) or 1.0
    return False, low - margin, high + margin
