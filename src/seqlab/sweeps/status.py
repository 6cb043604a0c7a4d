"""A sweep's live status, read from what its jobs write: how many are done, running, failed,
pruned and pending, the time so far, an ETA and the best value yet.

Everything comes from the sweep directory: `plan.json` (the total, the slots, the start),
each job's `metrics.json` and directory lock (seqlab.locking), and, for a SLURM sweep, the
queue's states where `squeue` answers. No server: the sweep's driver (SweepStatusCallback)
and `seqlab-report --watch` from another terminal or machine read the same files.

A light module: no torch, lightning or pandas.
"""

from __future__ import annotations

import math
import re
import shutil
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from seqlab.locking import held
from seqlab.names import (
    COMPLETED,
    DIVERGED,
    FAILED,
    INTERRUPTED,
    PAUSED,
    PENDING,
    PRUNED,
    RUNNING,
)
from seqlab.sweeps.jobs import Job, JobCache, best_first, monitor_of, read_jobs
from seqlab.sweeps.plan import duration, read_plan

ENDED = (COMPLETED, FAILED, DIVERGED, PRUNED)  # a job in these states will not run again
BAD = (FAILED, DIVERGED)  # announced when a job ends so
SHOWN = (COMPLETED, RUNNING, PAUSED, FAILED, DIVERGED, PRUNED, INTERRUPTED, PENDING)
QUEUE_EVERY_S = 30.0  # how often a reporter asks squeue: a cluster's controller is shared
WORDS = {COMPLETED: "done"}


@dataclass
class SweepStatus:
    """A sweep's state at one moment."""

    sweep_dir: Path
    total: int
    counts: Counter = field(default_factory=Counter)
    elapsed_s: float | None = None
    eta_s: float | None = None
    best: tuple[str, float, str] | None = None  # metric, value, job
    queue: Counter = field(default_factory=Counter)  # SLURM states of its array tasks
    ended: bool = False
    jobs: list[Job] = field(default_factory=list)

    @property
    def finished(self) -> int:
        return sum(self.counts[s] for s in ENDED)

    def line(self) -> str:
        """`17/48 done · 2 running · 2 failed · 27 pending · 5m12s · ETA 6m05s · best
        val/mse 0.41 (job 12)`."""
        parts = [f"{self.counts[COMPLETED]}/{self.total} done"]
        parts += [f"{self.counts[s]} {WORDS.get(s, s)}" for s in SHOWN[1:] if self.counts[s]]
        if self.elapsed_s is not None:
            parts.append(f"{duration(self.elapsed_s)} elapsed")
        if self.ended:
            parts.append("ended")
        elif self.eta_s is not None:
            parts.append(f"ETA {duration(self.eta_s)}")
        if self.best is not None:
            metric, value, job = self.best
            parts.append(f"best {metric} {value:.4g} (job {job})")
        if self.queue:
            parts.append("queue: " + ", ".join(f"{n} {s}" for s, n in sorted(self.queue.items())))
        return " · ".join(parts)


def read_status(
    sweep_dir: str | Path,
    driving: bool = False,
    queue: bool = True,
    cache: JobCache | None = None,
) -> SweepStatus:
    """The sweep's status now. `driving`: asked by the process that runs it, which knows
    it has not ended; for anyone else it has ended once no process holds its lock.
    `cache`: a follower's (read_jobs), so that a job is read again only when it changed."""
    sweep_dir = Path(sweep_dir)
    plan = read_plan(sweep_dir)
    jobs = read_jobs(sweep_dir, cache)
    total = max(int(plan.get("total") or 0), len(jobs))
    counts = Counter(job.status for job in jobs)
    counts[PENDING] += total - len(jobs)
    status = SweepStatus(sweep_dir, total, counts, jobs=jobs)
    started = plan.get("resumed_at") or plan.get("started_at")
    if started:
        status.elapsed_s = time.time() - float(started)
    walls = [float(j.metrics.get("wall_s") or 0) for j in jobs if j.status in ENDED]
    walls = [w for w in walls if w > 0]
    left = total - status.finished
    if walls and left > 0:
        slots = max(1, int(plan.get("slots") or 1))
        status.eta_s = sum(walls) / len(walls) * left / min(slots, left)
    metric, mode = monitor_of(jobs, None)
    ranked = best_first(jobs, lambda job: job.best(metric), mode)  # the report's ranking
    if ranked and math.isfinite(ranked[0].best(metric)):
        status.best = (metric, ranked[0].best(metric), ranked[0].name)
    if queue:
        status.queue = queue_states(sweep_dir)
    if not driving:
        lock = held(sweep_dir)
        all_ended = bool(plan) and status.finished >= total
        status.ended = lock is False or (lock is None and all_ended)
    return status


def cause(job: Job) -> str:
    """A failed or diverged job's cause, in one line."""
    metrics = job.metrics
    if job.status == DIVERGED and isinstance(metrics.get("diverged_at"), dict):
        where = metrics["diverged_at"]
        return f"{where.get('metric')} not finite at epoch {where.get('epoch')}"
    return str(metrics.get("error") or job.status).splitlines()[0]


_ARRAY_TASK = re.compile(r"^(\d+)(_\d+)?$")


def queue_states(sweep_dir: Path) -> Counter:
    """The SLURM states of a sweep's array tasks still in the queue, where submitit left
    their job ids (`.submitit/<array>`, `.submitit/<array>_<task>`) and `squeue` can be
    reached; else none."""
    folder = sweep_dir / ".submitit"
    if not folder.is_dir() or shutil.which("squeue") is None:
        return Counter()
    arrays = sorted({m.group(1) for p in folder.iterdir() if (m := _ARRAY_TASK.match(p.name))})
    if not arrays:
        return Counter()
    try:
        done = subprocess.run(
            ["squeue", "-h", "-o", "%T", "-j", ",".join(arrays)],
            capture_output=True, text=True, timeout=10, check=False,
        )  # fmt: skip
    except (OSError, subprocess.SubprocessError):
        return Counter()
    return Counter(line.strip() for line in done.stdout.splitlines() if line.strip())


# ---------------------------------------------------------------------------------------
# Following a sweep


class StatusReporter:
    """Follows a sweep: a line at each change, at most every `every_s` seconds, and at once
    a line for each job that fails or diverges, naming its cause and its directory.

    On a terminal whose process runs no job itself (`live`), the status is one line that
    Rich redraws in place, and announcements print above it. Elsewhere (a log file, a
    SLURM output, a pipe, or a driver whose jobs print their own progress bars) each change
    is a plain line.
    """

    def __init__(
        self,
        sweep_dir: str | Path,
        driving: bool,
        every_s: float = 5.0,
        poll_s: float = 1.0,
        live: bool = False,
        out: IO[str] | None = None,
    ) -> None:
        self.sweep_dir, self.driving = Path(sweep_dir), driving
        self.every_s, self.poll_s = every_s, poll_s
        self.out = out or sys.stdout
        self.live = live
        self._seen: dict[str, str] = {}
        self._last_line: str | None = None
        self._last_counts: tuple | None = None
        self._last_time = 0.0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._live: Any = None
        self._cache: JobCache = {}
        self._lock = threading.Lock()
        self._queue: Counter = Counter()
        self._queue_at = -math.inf

    def poll(self, final: bool = False) -> SweepStatus:
        with self._lock:  # the thread's and the last poll never overlap
            return self._poll(final)

    def _poll(self, final: bool) -> SweepStatus:
        ask_queue = time.monotonic() - self._queue_at >= QUEUE_EVERY_S
        status = read_status(
            self.sweep_dir, driving=self.driving, queue=ask_queue, cache=self._cache
        )
        if ask_queue:
            self._queue, self._queue_at = status.queue, time.monotonic()
        status.queue = self._queue
        status.ended = status.ended or final
        self._announce(status)
        if status.total == 0:  # the sweeper has not planned it yet
            return status
        counts = (tuple(sorted(status.counts.items())), tuple(sorted(status.queue.items())))
        changed = counts != self._last_counts
        due = time.monotonic() - self._last_time >= self.every_s
        if final or status.ended or (changed and due) or self._live is not None:
            self._show(status, final or status.ended)
            self._last_counts, self._last_time = counts, time.monotonic()
        return status

    def _announce(self, status: SweepStatus) -> None:
        """One line per job that ended failed or diverged since the last look."""
        for job in status.jobs:
            before = self._seen.get(job.name)
            self._seen[job.name] = job.status
            if job.status in BAD and before != job.status:
                self._print(
                    f"job {job.name} {job.status}: {cause(job)} ({self.sweep_dir / job.name})"
                )

    def _show(self, status: SweepStatus, final: bool) -> None:
        line = f"sweep: {status.line()}"
        if self._live is not None:
            from rich.text import Text

            self._live.update(Text(line))
            if final:
                self._stop_live()
                self._print(line)
            return
        if line != self._last_line or final:
            self._print(line)
            self._last_line = line

    def _print(self, line: str) -> None:
        if self._live is not None:
            self._live.console.print(line, highlight=False, markup=False)
        else:
            print(line, file=self.out, flush=True)

    # In the driver: a thread of its own --------------------------------------------------

    def start(self) -> None:
        # A resumed sweep's jobs that had failed before it started again are not news.
        self._seen = {job.name: job.status for job in read_jobs(self.sweep_dir, self._cache)}
        if self.live:
            from rich.console import Console
            from rich.live import Live

            console = Console(file=self.out)
            self._live = Live(
                "sweep: starting",
                console=console,
                transient=True,
                auto_refresh=False,
                redirect_stdout=False,
                redirect_stderr=False,
            )
            self._live.start()
        self._thread = threading.Thread(target=self._run, name="sweep-status", daemon=True)
        self._thread.start()
        ACTIVE.append(self)

    def _run(self) -> None:
        while not self._stop.wait(self.poll_s):
            try:
                self.poll()
                if self._live is not None:
                    self._live.refresh()
            except Exception:  # noqa: BLE001, S112  (a status line must never stop a sweep)
                continue

    def stop(self) -> None:
        """Stop following, with a last line."""
        if self._thread is None:
            return
        self._stop.set()
        self._thread.join(timeout=10)
        self._thread = None
        if self in ACTIVE:
            ACTIVE.remove(self)
        try:
            self.poll(final=True)
        finally:
            self._stop_live()

    def _stop_live(self) -> None:
        if self._live is not None:
            live, self._live = self._live, None
            live.stop()

    # From another process: until the sweep ends ------------------------------------------

    def follow(self) -> SweepStatus:
        while True:
            status = self.poll()
            if status.ended:
                return status
            time.sleep(self.poll_s)


# Reporters running in this process: the commands and the Python API stop any left when a
# sweep ends without reaching its end callbacks (a refusal, Ctrl-C).
ACTIVE: list[StatusReporter] = []


def stop_all() -> None:
    for reporter in list(ACTIVE):
        reporter.stop()
