"""GPU slots of hydra/launcher=local_parallel, on a machine without CUDA: the GPUs are given
explicitly (`hydra.launcher.gpus=[0,1]`), so each job is pinned to one of them through
CUDA_VISIBLE_DEVICES, finds no CUDA device, trains on the CPU and records its slot.

What is asserted comes from the jobs' own records (metrics.json: `gpu`, `started_at`,
`ended_at`), the moments this test killed jobs, and the sweep's report.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from datetime import datetime
from pathlib import Path

import pytest

from seqlab.config import available_cores
from seqlab.locking import LOCK_FILE
from tests.conftest import NO_CONFIRM, QUIET, SMALL_SUM, run_cli, start_cli
from tests.integration.conftest import job_dirs

# Each job its own process, which starts as any seqlab-train does (seconds of imports).
SLOTS = ["hydra/launcher=local_parallel", "hydra.launcher.gpus=[0,1]"]
UNQUIET = [a for a in QUIET if not a.startswith("threads=")]  # threads=auto, the default
STEADY = [
    *[a for a in SMALL_SUM if not a.startswith("trainer.max_epochs")],
    *UNQUIET,
    "callbacks.early_stopping=null",
    "callbacks.prediction_plot=null",
    "test_after_fit=false",
]
LONG_EPOCHS = 100000  # a job that trains until this test stops it


def metrics(job: Path) -> dict:
    path = job / "metrics.json"
    return json.loads(path.read_text()) if path.is_file() else {}


def moment(text: str) -> float:
    return datetime.fromisoformat(text).timestamp()


def wait_for(condition, proc: subprocess.Popen, timeout: float = 240) -> None:
    deadline = time.time() + timeout
    while not condition():
        assert proc.poll() is None, f"the sweep ended early: {proc.returncode}"
        assert time.time() < deadline, "timed out"
        time.sleep(0.1)


def pid_of(job: Path) -> int:
    """The process training in `job` (it holds the directory's lock)."""
    return int(json.loads((job / LOCK_FILE).read_text())["pid"])


def training(job: Path) -> bool:
    return metrics(job).get("status") == "running" and (job / LOCK_FILE).is_file()


def most_at_once(spans: list[tuple[float, float]]) -> int:
    """The most of these (start, end) spans that overlap at one moment."""
    return max(sum(1 for s, e in spans if s <= start < e) for start, _ in spans)


@pytest.mark.slow  # make test-faults: a minute of 8 job processes on this machine's cores
def test_jobs_fill_the_slots_of_both_gpus_and_a_freed_slot_is_reused(tmp_path):
    """2 GPUs x 2 jobs: job 0 trains until every short job has finished; job 1 is killed
    (SIGKILL, as the OOM killer would) as soon as it trains; jobs 2-7 are short."""
    sweep = tmp_path / "sweep"
    epochs = f"trainer.max_epochs={LONG_EPOCHS},{LONG_EPOCHS + 1},2,2,3,3,4,4"
    # In Hydra's order, which the scenario is built on (jobs 4-7 wait for a slot); by
    # default the launcher would start the longest first.
    args = [*STEADY, *SLOTS, "hydra.launcher.jobs_per_gpu=2", "hydra.launcher.order=given", epochs]
    log = tmp_path / "sweep.log"
    proc = start_cli(["seqlab-train", "-m", *args, f"hydra.sweep.dir={sweep}"], tmp_path, log)
    try:
        wait_for(lambda: training(sweep / "1"), proc)
        killed_at = time.time()
        os.kill(pid_of(sweep / "1"), signal.SIGKILL)
        short = [sweep / str(n) for n in range(2, 8)]
        wait_for(lambda: all(metrics(j).get("status") == "completed" for j in short), proc)
        assert training(sweep / "0")  # the long job still trains
        stopped_at = time.time()
        os.kill(pid_of(sweep / "0"), signal.SIGTERM)  # it records "interrupted" and ends
        assert proc.wait(timeout=120) == 1, log.read_text()[-3000:]
        assert "2 of 8 jobs did not finish (2 interrupted: jobs 0 1)" in log.read_text()
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    records = {int(j.name): metrics(j) for j in job_dirs(sweep)}
    assert sorted(records) == list(range(8))
    assert records[0]["status"] == "interrupted"
    assert records[1]["status"] == "running"  # killed outright: it could not say so
    assert all(records[n]["status"] == "completed" for n in range(2, 8))
    slots = {n: (r["gpu"]["gpu"], r["gpu"]["slot"]) for n, r in records.items()}
    assert all(r["gpu"]["visible_devices"] == r["gpu"]["gpu"] for r in records.values())
    assert all(records[n]["device"].startswith("cpu") for n in range(2, 8))  # no CUDA here
    # Both GPUs were used, and never more than 2 jobs ran on one at once.
    assert {gpu for gpu, _ in slots.values()} == {"0", "1"}
    ends = {0: moment(records[0]["ended_at"]), 1: killed_at}
    spans = {
        n: (moment(r["started_at"]), ends.get(n) or moment(r["ended_at"]))
        for n, r in records.items()
    }
    for gpu in ("0", "1"):
        assert most_at_once([spans[n] for n, (g, _) in slots.items() if g == gpu]) <= 2
    # No batches: the short jobs of the first four (2, 3) and the four that waited for a
    # slot (4-7) all ended while the long job 0 still trained.
    assert all(spans[n][1] < stopped_at for n in range(2, 8)), spans
    assert all(spans[0][0] < spans[n][0] for n in range(4, 8)), spans
    # The killed job's slot was given to a job that started after the kill.
    assert any(slots[n] == slots[1] and spans[n][0] > killed_at for n in range(2, 8)), slots
    # threads=auto: the cores divided over the 4 jobs that run at once.
    assert {records[n]["threads"] for n in range(2, 8)} == {max(1, available_cores() // 4)}
    summary = (sweep / "summary.md").read_text()
    assert "8 jobs: 6 completed, 2 interrupted." in summary, summary


@pytest.mark.slow  # make test-faults: trials in their own processes, minutes on a slow machine
def test_search_trials_in_flight_share_the_slots(tmp_path):
    """hydra.sweeper.n_jobs=3 trials in flight, on 2 GPUs with 1 job each: the slots, not
    the sweeper's threads, bound the jobs at once."""
    sweep = tmp_path / "search"
    args = [
        "hparams_search=sum_optuna",
        *NO_CONFIRM,
        *STEADY,
        *SLOTS,
        "trainer.max_epochs=2",
        "hydra.sweeper.n_trials=4",
        "hydra.sweeper.n_jobs=3",
        "hydra.sweeper.sampler=random",
        f"hydra.sweep.dir={sweep}",
    ]
    done = run_cli(["seqlab-train", "-m", *args], tmp_path, timeout=400)
    assert done.returncode == 0, done.stderr[-3000:]
    records = [metrics(j) for j in job_dirs(sweep)]
    assert len(records) == 4 and all(r["status"] == "completed" for r in records)
    spans = [(moment(r["started_at"]), moment(r["ended_at"])) for r in records]
    for gpu in ("0", "1"):
        on_it = [s for s, r in zip(spans, records, strict=True) if r["gpu"]["gpu"] == gpu]
        assert on_it and most_at_once(on_it) == 1
    assert {r["threads"] for r in records} == {max(1, available_cores() // 2)}


@pytest.mark.parametrize(
    ("override", "expected"),
    [
        ("hydra.launcher.gpus=[0,0]", "hydra.launcher.gpus=[0, 0]: a GPU is named twice"),
        ("hydra.launcher.gpus=[-1]", "hydra.launcher.gpus: -1 is not a GPU"),
        ("hydra.launcher.jobs_per_gpu=0", "hydra.launcher.jobs_per_gpu=0: allowed: a whole"),
        (
            "hydra/launcher=slurm hydra.launcher.shards=1 hydra.launcher.gpus_per_node=1",
            "hydra.launcher.shards=1 and hydra.launcher.gpus_per_node=1: give one of them",
        ),
        ("hydra/launcher=slurm hydra.launcher.shards=0", "hydra.launcher.shards=0: allowed"),
    ],
)
def test_bad_gpu_settings_are_one_line_before_anything_is_written(tmp_path, override, expected):
    sweep = tmp_path / "sweep"
    launcher = [] if override.startswith("hydra/launcher=") else ["hydra/launcher=local_parallel"]
    args = [*SMALL_SUM, *launcher, *override.split(), "model.hidden_dim=4,8"]
    result = run_cli(["seqlab-train", "-m", *args, f"hydra.sweep.dir={sweep}"], tmp_path)
    assert result.returncode == 2
    [line] = result.stderr.strip().splitlines()
    assert line.startswith(f"seqlab-train: error: {expected}"), line
    assert not sweep.exists()
