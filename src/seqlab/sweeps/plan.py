"""A sweep's plan: the jobs it will run, where they run side by side, how long it may take.

`seqlab-train -m ... --plan` prints it and runs nothing (the sweeper returns before
launching); every sweep writes it to `<sweep dir>/plan.json` when it starts, so that its
status (seqlab.sweeps.status) knows the total, and `resume=` runs the jobs it planned.

A light module: no torch, lightning or pandas.
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

from seqlab.config import ConfigError, available_cores
from seqlab.files import read_json_object, write_json_atomic
from seqlab.names import RESUME
from seqlab.sweeps.jobs import Job, job_settings, swept_axes

PLAN_FILE = "plan.json"
# Set by `--plan` (seqlab.cli.train) and seqlab.plan: "probe" times what no earlier run
# has; "history" only looks at earlier runs. The sweepers then show the plan and launch
# nothing.
PLAN_ENV = "SEQLAB_PLAN"


def planning() -> str | None:
    """`--plan`'s mode when this process only plans its sweep, else None."""
    return os.environ.get(PLAN_ENV) or None


@dataclass
class Plan:
    """What `--plan` shows, as data (seqlab.plan makes a DataFrame of it): each job's
    overrides and estimate, or a study's search space."""

    source: str
    slots: Slots
    jobs: list[list[str]] = field(default_factory=list)
    estimates: list[tuple[float | None, str]] | None = None
    space: dict[str, str] = field(default_factory=dict)  # a study's: key -> distribution
    total: int = 0


# The plans this process showed, in order: how the Python API (seqlab.plan) gets its own.
SHOWN_PLANS: list[Plan] = []


@dataclass
class Slots:
    """Where a launcher runs a sweep's jobs: how many at once, in words, and what it asks
    of a cluster."""

    count: int
    how: str
    details: list[str] = field(default_factory=list)


def launcher_slots(config: DictConfig, n_jobs: int) -> Slots:
    """The slots of `config.hydra.launcher` for a sweep of `n_jobs` jobs."""
    launcher = config.hydra.launcher
    target = str(launcher.get("_target_", ""))
    in_flight = config.hydra.sweeper.get("n_jobs")  # an Optuna study's trials in flight
    if target.endswith("SlurmLauncher"):
        slots = _slurm(launcher, n_jobs)
    elif target.endswith(("LocalParallelLauncher", "JoblibLauncher")):
        slots = _local_parallel(launcher)
    elif target.endswith("LocalLauncher"):  # submitit's local: every job at once
        slots = Slots(max(1, n_jobs), "hydra/launcher=submitit_local: every job at once")
    else:
        slots = Slots(1, "hydra/launcher=basic: one job at a time, in this process")
    if isinstance(in_flight, int) and 0 < in_flight < slots.count:
        slots.count, slots.how = in_flight, f"{slots.how}; hydra.sweeper.n_jobs={in_flight}"
    return slots


def _local_parallel(launcher: DictConfig) -> Slots:
    from seqlab.sweeps.gpu_slots import chosen_gpus

    n_jobs = launcher.get("n_jobs", -1)
    cores = available_cores()
    gpus = chosen_gpus(OmegaConf.to_container(launcher).get("gpus"))  # type: ignore[union-attr]
    if gpus:
        per_gpu = int(launcher.get("jobs_per_gpu", 1))
        count = len(gpus) * per_gpu
        if isinstance(n_jobs, int) and n_jobs > 0:
            count = min(count, n_jobs)
        return Slots(count, f"hydra/launcher=local_parallel: GPUs {','.join(gpus)}, "
                     f"{per_gpu} job(s) on each")  # fmt: skip
    count = n_jobs if n_jobs > 0 else max(1, cores + 1 + n_jobs)  # joblib: -1 is every core
    return Slots(count, f"hydra/launcher=local_parallel: n_jobs={n_jobs}, {cores} cores here")


def _slurm(launcher: DictConfig, n_jobs: int) -> Slots:
    from seqlab.sweeps.gpu_slots import slurm_gpu_request

    request = slurm_gpu_request(OmegaConf.to_container(launcher))  # type: ignore[arg-type]
    parallel = int(launcher.get("array_parallelism") or n_jobs)
    gpus, shards = request.get("gpus_per_node"), request.get("gres")
    if shards:
        packing = f"{shards} per job: SLURM packs jobs onto a GPU as its shards allow"
    elif gpus:
        packing = f"{gpus} whole GPU(s) per job"
    else:
        packing = "no GPU"
    details = [
        f"SLURM array of {n_jobs} task(s), at most {parallel} running at once",
        "per task: "
        + ", ".join(
            f"{name} {value}"
            for name, value in (
                ("partition", launcher.get("partition")),
                ("account", launcher.get("account")),
                ("cpus", launcher.get("cpus_per_task")),
                ("mem", f"{launcher.get('mem_gb')} GB" if launcher.get("mem_gb") else None),
                ("time limit", f"{launcher.get('timeout_min')} min"),
                ("tasks", launcher.get("tasks_per_node")),
            )
            if value is not None
        ),
        f"GPUs: {packing}",
        "canary: "
        + (
            "each model and data shape is built and stepped once on the CPU here before sbatch"
            if launcher.get("canary", True)
            else "off"
        ),
    ]
    return Slots(max(1, min(parallel, n_jobs)), "hydra/launcher=slurm", details)


# ---------------------------------------------------------------------------------------
# plan.json


def write_plan(
    sweep_dir: str | Path,
    jobs: Sequence[Sequence[str]] | None,
    total: int,
    slots: int,
    source: str,
) -> None:
    """The plan a sweep starts with; kept when the sweep is resumed."""
    path = Path(sweep_dir) / PLAN_FILE
    previous = read_plan(sweep_dir)
    started = previous.get("started_at") if previous else None
    write_json_atomic(
        path,
        {
            "total": total,
            "slots": slots,
            "source": source,
            "started_at": started or time.time(),
            "resumed_at": time.time() if previous else None,
            "jobs": [list(job) for job in jobs] if jobs is not None else None,
        },
    )


def read_plan(sweep_dir: str | Path) -> dict[str, Any]:
    """A sweep's plan.json, or {} (a sweep from before plans, or one not started)."""
    return read_json_object(Path(sweep_dir) / PLAN_FILE)


def _settings(job: Sequence[str]) -> list[str]:
    return [o for o in job if not o.startswith(f"{RESUME}=")]


def _jobs(overrides: Sequence[Sequence[str]]) -> list[Job]:
    return [Job(str(num), job_settings(list(job))) for num, job in enumerate(overrides)]


def check_resumed_jobs(sweep_dir: str | Path, jobs: Sequence[Sequence[str]]) -> None:
    """`resume=` carries on the jobs a sweep planned: a sweep file or command line that now
    gives other jobs (other values of the keys that tell its jobs apart, or another number
    of jobs) would put them in the directories of the old ones. One line if so. A value
    set for every job alike (notify.url, threads) may change, as for any resumed sweep."""
    planned = read_plan(sweep_dir).get("jobs")
    if not planned:
        return
    earlier, later = _jobs(planned), _jobs(jobs)
    swept = {*swept_axes(earlier), *swept_axes(later)}  # the report's swept keys
    then = [{k: v for k, v in job.overrides.items() if k in swept} for job in earlier]
    now = [{k: v for k, v in job.overrides.items() if k in swept} for job in later]
    if now == then:
        return
    where = next((i for i, (a, b) in enumerate(zip(then, now, strict=False)) if a != b), None)
    if where is None:
        what = f"{len(then)} jobs then, {len(now)} now"
    else:
        shown = [" ".join(f"{k}={v}" for k, v in job.items()) for job in (then[where], now[where])]
        what = f"job {where} was {shown[0]}, now {shown[1]}"
    raise ConfigError(
        f"resume={sweep_dir}: this command gives other jobs than the sweep started with "
        f"({what}); resume with the same command and sweep file, or start a new sweep"
    )


# ---------------------------------------------------------------------------------------
# Showing a plan


def duration(seconds: float) -> str:
    """12s, 4m05s, 2h13m."""
    seconds = max(0.0, seconds)
    if seconds < 60:
        return f"{seconds:.0f}s"
    if seconds < 3600:
        return f"{int(seconds // 60)}m{int(seconds % 60):02d}s"
    return f"{int(seconds // 3600)}h{int(seconds % 3600 // 60):02d}m"


def makespan(estimates: Sequence[float], slots: int) -> float:
    """The wall time of jobs taking `estimates` seconds on `slots` slots, each job going
    to the slot that frees first, in the sweep's order (as the launchers start them)."""
    ends = [0.0] * max(1, slots)
    for seconds in estimates:
        i = min(range(len(ends)), key=ends.__getitem__)
        ends[i] += seconds
    return max(ends)


def slot_lines(slots: Slots, n_jobs: int) -> list[str]:
    """Where the jobs run: the slots, and what a cluster is asked for."""
    per_slot = -(-n_jobs // max(1, slots.count))
    head = f"Slots: {slots.count} ({slots.how}); about {per_slot} job(s) per slot"
    return [head, *(f"  {line}" for line in slots.details)]


def plan_lines(
    jobs: Sequence[Sequence[str]],
    slots: Slots,
    estimates: Sequence[tuple[float | None, str]] | None,
    source: str,
) -> list[str]:
    """The plan as `--plan` prints it: a line per job, the slots, the estimate."""
    width = len(str(len(jobs) - 1))
    lines = [f"Plan: {len(jobs)} job(s) from {source}"]
    for num, job in enumerate(jobs):
        seconds = estimates[num][0] if estimates else None
        tail = f"  ~{duration(seconds)}" if seconds is not None else ""
        lines.append(f"  #{num:<{width}} {' '.join(_settings(job))}{tail}")
    lines.extend(slot_lines(slots, len(jobs)))
    if estimates is None:
        lines.append("Estimate: none asked for")
        return lines
    known = [s for s, _ in estimates if s is not None]
    counts: dict[str, int] = {}
    for _, how in estimates:
        counts[how] = counts.get(how, 0) + 1
    sources = ", ".join(f"{n} job(s) {how}" for how, n in counts.items())
    if not known:
        lines.append(f"Estimate: none ({sources})")
        return lines
    mean = sum(known) / len(known)
    filled = [s if s is not None else mean for s, _ in estimates]
    guessed = "; those without one counted at the others' mean" if len(known) < len(filled) else ""
    lines.append(
        f"Estimated wall time: {duration(makespan(filled, slots.count))} "
        f"({duration(sum(filled))} of jobs; {sources}{guessed})"
    )
    return lines
