"""A sweep as data: its jobs, what each overrode and recorded, the keys it swept.

Reads every job directory of a multirun (its `.hydra/overrides.yaml` and `metrics.json`).
Works on a sweep that is still running or has failed jobs: each keeps its status. The
replicates (sweep.replicates) and the report (seqlab.report) are built on this.
"""

from __future__ import annotations

import math
import os
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import yaml

from seqlab.locking import held
from seqlab.names import (
    DEFAULT_MONITOR,
    FAILED,
    FINISHED,
    INTERRUPTED,
    PBT_PREFIX,
    PENDING,
    RESUME,
    RUNNING,
    TRIAL_PREFIX,
    UNREADABLE,
)
from seqlab.rundir import METRICS_FILE, read_metrics

# libyaml's loader where PyYAML was built with it: reading thousands of jobs' overrides
# (seqlab.load, the report) is several times faster, and the values are the same.
YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
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


# A follower's memory of a sweep's jobs (seqlab.sweeps.status reads a running sweep every
# second): job directory -> (its metrics.json's mtime and size, the job as read then).
JobCache = dict[Path, tuple[tuple[int, int] | None, Job]]


def read_jobs(sweep_dir: Path, cache: JobCache | None = None) -> list[Job]:
    """Every job directory of a sweep (those with .hydra/overrides.yaml), in job order.

    A job whose files cannot be read is `unreadable`, with the file and the cause under
    `error`; one that says `running` while no process holds its directory's lock was
    killed (SIGKILL, the kernel's OOM killer, a lost node) and is `interrupted`. With a
    `cache`, a job is read again only when its metrics.json changed.
    """
    jobs = []
    for job_dir in job_directories(sweep_dir):
        stamp = _stamp(job_dir / METRICS_FILE) if cache is not None else None
        cached = cache.get(job_dir) if cache is not None else None
        if cached is not None and stamp is not None and cached[0] == stamp:
            job = cached[1]
        else:
            overrides, unreadable = read_overrides(job_dir / ".hydra" / "overrides.yaml")
            metrics = unreadable or read_metrics(job_dir)
            job = Job(job_dir.relative_to(sweep_dir).as_posix(), overrides, metrics)
            if cache is not None:
                cache[job_dir] = (stamp, job)
        jobs.append(Job(job.name, job.overrides, live_metrics(job_dir, job.metrics)))
    return sorted(jobs, key=lambda job: job_order(job.name))


def _stamp(path: Path) -> tuple[int, int] | None:
    try:
        info = path.stat()
    except OSError:
        return None
    return info.st_mtime_ns, info.st_size


def live_metrics(job_dir: Path, metrics: dict[str, Any]) -> dict[str, Any]:
    """A job's metrics as they stand now: one that says `running` while no process holds
    its directory's lock was killed, and is `interrupted`."""
    if metrics.get("status") == RUNNING and held(job_dir) is False:
        return {**metrics, "status": INTERRUPTED, "interrupted_by": "its process ended"}
    return metrics


def job_order(name: str) -> tuple[bool, int, str]:
    """Sort key of job names: numbered jobs by number, then named ones by name."""
    return (not name.isdigit(), int(name) if name.isdigit() else 0, name)


def job_directories(sweep_dir: Path) -> list[Path]:
    """The directories under `sweep_dir` that hold a job (`.hydra/overrides.yaml`), at any
    depth: `hydra.sweep.subdir` may name them `${hydra.job.num}`, `lr=0.1/seed=2` or
    `${hydra.job.override_dirname}` with a path in a value. A job's own directory and
    hidden ones (.submitit, .hydra) are not searched further."""
    found = []
    for here, dirs, _ in os.walk(sweep_dir):
        if os.path.isfile(os.path.join(here, ".hydra", "overrides.yaml")) and here != str(
            sweep_dir
        ):
            found.append(Path(here))
            dirs.clear()
        else:
            dirs[:] = [d for d in dirs if not d.startswith(".")]
    return found


def read_overrides(path: Path) -> tuple[dict[str, str], dict[str, Any]]:
    """A job's overrides as {key: value}, and {} or, when the file cannot be read, the
    metrics that say so."""
    try:
        items = yaml.load(path.read_bytes(), Loader=YAML_LOADER) or []
        if not isinstance(items, list):
            raise ValueError("not a list of overrides")
    except (OSError, ValueError, yaml.YAMLError) as e:
        why = str(e).splitlines()[0] if str(e) else type(e).__name__
        return {}, {"status": UNREADABLE, "error": f"{path}: {why}"}
    return job_settings(items), {}


def job_settings(overrides: list[Any]) -> dict[str, str]:
    """A job's overrides as {key: value}. A search trial's own `trial.*` bookkeeping, and
    `resume=` (given to the jobs of a resumed sweep that ran again), are no settings of
    the job."""
    pairs = (str(item).split("=", 1) for item in overrides if "=" in str(item))
    return {k: v for k, v in pairs if not k.startswith((TRIAL_PREFIX, PBT_PREFIX)) and k != RESUME}


def swept_axes(jobs: list[Job]) -> list[str]:
    """Override keys whose value differs between jobs, in the order they appear."""
    keys: dict[str, set[str]] = {}
    jobs = [job for job in jobs if job.overrides or job.status != UNREADABLE]  # none known
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


def unfinished_jobs(sweep_dir: Path) -> str | None:
    """One line on the jobs of a sweep that neither finished nor failed, or None."""
    jobs = read_jobs(sweep_dir)
    left = [job for job in jobs if job.status not in (*FINISHED, FAILED)]
    if not left:
        return None
    counts = Counter(job.status for job in left)
    how = ", ".join(f"{n} {status}" for status, n in sorted(counts.items()))
    names = " ".join(job.name for job in left)
    return (
        f"{len(left)} of {len(jobs)} jobs did not finish ({how}: jobs {names}); run the same "
        f"command with resume={sweep_dir} to carry the sweep on"
    )
