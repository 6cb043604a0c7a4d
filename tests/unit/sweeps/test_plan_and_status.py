"""A sweep's plan (its slots, its estimate, resume's check) and its live status, read from
hand-made sweep directories."""

from __future__ import annotations

import io
import json
import time
from pathlib import Path

import pytest

from seqlab.config import ConfigError
from seqlab.locking import acquire, release
from seqlab.sweeps.plan import (
    Slots,
    check_resumed_jobs,
    duration,
    makespan,
    plan_lines,
    write_plan,
)
from seqlab.sweeps.status import StatusReporter, read_status


def make_job(sweep: Path, num: int, overrides: list[str], **metrics) -> Path:
    job = sweep / str(num)
    (job / ".hydra").mkdir(parents=True, exist_ok=True)
    (job / ".hydra" / "overrides.yaml").write_text("".join(f"- {o}\n" for o in overrides))
    if metrics:
        (job / "metrics.json").write_text(json.dumps(metrics))
    return job


def done(best: float, wall: float = 10.0) -> dict:
    return {"status": "completed", "monitor": "val/mse", "mode": "min", "wall_s": wall,
            "best": {"val/mse": best}}  # fmt: skip


def test_jobs_go_to_the_slot_that_frees_first():
    assert makespan([10, 10, 10, 10], 2) == 20
    assert makespan([30, 10, 10, 10], 2) == 30
    assert makespan([5, 5], 1) == 10
    assert [duration(s) for s in (4, 65, 7380)] == ["4s", "1m05s", "2h03m"]


def test_the_plan_says_where_each_estimate_comes_from():
    jobs = [["model.lr=0.1"], ["model.lr=0.5"], ["model.lr=1.0"]]
    estimates = [(60.0, "from earlier runs"), (None, "without an earlier run (no estimate)"),
                 (30.0, "from a probe")]  # fmt: skip
    lines = plan_lines(jobs, Slots(2, "two at once"), estimates, "sweep=x")
    assert lines[0] == "Plan: 3 job(s) from sweep=x"
    assert lines[1:4] == [
        "  #0 model.lr=0.1  ~1m00s",
        "  #1 model.lr=0.5",
        "  #2 model.lr=1.0  ~30s",
    ]
    assert lines[4] == "Slots: 2 (two at once); about 2 job(s) per slot"
    # The job without an estimate counts as the mean of the others: 45 s.
    assert lines[5] == (
        "Estimated wall time: 1m15s (2m15s of jobs; 1 job(s) from earlier runs, 1 job(s) "
        "without an earlier run (no estimate), 1 job(s) from a probe; those without one "
        "counted at the others' mean)"
    )


def test_resume_refuses_a_command_that_gives_other_jobs(tmp_path):
    planned = [["model.lr=0.1", "seed=1", "threads=1"], ["model.lr=0.5", "seed=1", "threads=1"]]
    write_plan(tmp_path, planned, 2, 1, "sweep=x")
    # The same jobs, a value set for all of them changed, and resume= itself: carried on.
    check_resumed_jobs(tmp_path, [[*job[:2], "threads=2", f"resume={tmp_path}"] for job in planned])
    with pytest.raises(ConfigError, match=r"job 1 was model.lr=0.5, now model.lr=0.7"):
        check_resumed_jobs(tmp_path, [["model.lr=0.1", "seed=1"], ["model.lr=0.7", "seed=1"]])
    with pytest.raises(ConfigError, match=r"\(2 jobs then, 3 now\)"):
        check_resumed_jobs(tmp_path, [*planned, ["model.lr=0.9", "seed=1", "threads=1"]])


def test_the_status_counts_the_jobs_and_gives_an_eta_and_the_best(tmp_path):
    write_plan(tmp_path, [[f"seed={i}"] for i in range(6)], 6, 2, "the command line")
    make_job(tmp_path, 0, ["seed=0"], **done(5.0, wall=10.0))
    make_job(tmp_path, 1, ["seed=1"], **done(3.0, wall=30.0))
    make_job(tmp_path, 2, ["seed=2"], status="failed", error="ValueError: no", wall_s=1.0)
    make_job(tmp_path, 3, ["seed=3"])  # made, not started
    running = make_job(tmp_path, 4, ["seed=4"], status="running")
    acquire(running)  # its process holds it, as a training run does
    try:
        status = read_status(tmp_path, driving=True)
    finally:
        release(running)
    assert status.total == 6 and status.counts["pending"] == 2 and status.counts["running"] == 1
    assert status.best == ("val/mse", 3.0, "1")
    # 3 jobs left, at the finished jobs' mean time (41 s / 3), 2 slots at once.
    assert status.eta_s == pytest.approx(41 / 3 * 3 / 2)
    line = status.line()
    assert line.startswith("2/6 done · 1 running · 1 failed · 2 pending · ")
    assert "ETA 20s" in line and line.endswith("best val/mse 3 (job 1)")
    # Read by another process: the sweep has ended once no process holds its lock.
    assert read_status(tmp_path).ended
    acquire(tmp_path)
    try:
        assert not read_status(tmp_path).ended
    finally:
        release(tmp_path)


def test_a_reporter_announces_each_failure_once_and_a_line_per_change(tmp_path):
    write_plan(tmp_path, [["seed=0"], ["seed=1"]], 2, 1, "x")
    out = io.StringIO()
    reporter = StatusReporter(tmp_path, driving=True, every_s=0, out=out)
    reporter.poll()
    make_job(tmp_path, 0, ["seed=0"], status="diverged", wall_s=1.0,
             diverged_at={"metric": "train/loss", "epoch": 3})  # fmt: skip
    reporter.poll()
    reporter.poll()  # nothing new: no line
    time.sleep(0.01)
    make_job(tmp_path, 1, ["seed=1"], **done(2.0))
    reporter.poll(final=True)
    lines = out.getvalue().splitlines()
    assert lines[0].startswith("sweep: 0/2 done · 2 pending")
    assert lines[1] == f"job 0 diverged: train/loss not finite at epoch 3 ({tmp_path / '0'})"
    assert lines[2].startswith("sweep: 0/2 done · 1 diverged · 1 pending")
    assert lines[3].startswith("sweep: 1/2 done · 1 diverged · ") and " ended" in lines[3]
    assert len(lines) == 4
