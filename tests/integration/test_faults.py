"""Faults of real clusters, tried through the CLI: full disks, two processes on one
directory, kills in the middle of a write, torn and unreadable files, read-only file
systems, moved sweeps.

Each case checks that every file left under the run or sweep still parses, every
checkpoint still loads with `weights_only=True`, and the stated recovery works. Full disks
are small tmpfs mounts and read-only file systems read-only bind mounts, so those cases
need root (and a kernel that lets it mount); a kill at a write is injected with strace.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import optuna
import pytest
import yaml

from seqlab.checkpoints.resuming import latest_checkpoint
from seqlab.search import STUDY_FILE
from tests.conftest import NO_CONFIRM, QUIET, SMALL_SUM, run_cli, start_cli
from tests.integration.conftest import assert_intact, job_dirs

# A run that trains as long as its `trainer.max_epochs` says (its epochs take a few
# milliseconds), to be caught in the middle.
STEADY = [
    *[a for a in SMALL_SUM if not a.startswith("trainer.max_epochs")],
    *QUIET,
    "callbacks.early_stopping=null",
    "callbacks.prediction_plot=null",
]
LONG = [*STEADY, "trainer.max_epochs=100000"]


# --------------------------------------------------------------------------------------------
# What every case checks (besides assert_intact)


def assert_one_line_error(result, *expected: str) -> str:
    """A refusal or failure in one line: its exit status, no traceback, the line."""
    assert result.returncode != 0, result.stdout[-2000:]
    assert "Traceback" not in result.stderr and "Logging error" not in result.stderr, result.stderr
    errors = [line for line in result.stderr.splitlines() if ": error: " in line]
    assert len(errors) == 1, result.stderr
    for text in expected:
        assert text in errors[0], errors[0]
    return errors[0]


def metrics(run: Path) -> dict:
    return json.loads((run / "metrics.json").read_text())


def wait_for(condition, timeout: float = 120, proc: subprocess.Popen | None = None) -> None:
    deadline = time.time() + timeout
    while not condition():
        assert proc is None or proc.poll() is None, f"it ended: {proc and proc.returncode}"
        assert time.time() < deadline, "timed out"
        time.sleep(0.05)


def kill(proc: subprocess.Popen) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()


# --------------------------------------------------------------------------------------------
# Small disks and read-only file systems (root only)


@pytest.fixture
def mounts(tmp_path: Path) -> Iterator[list[Path]]:
    """Mount points made by the cases; unmounted at the end."""
    made: list[Path] = []
    if os.geteuid() != 0:
        pytest.skip("mounting a small or read-only file system needs root")
    yield made
    for point in reversed(made):
        subprocess.run(["umount", "-l", str(point)], check=False)


def small_disk(mounts: list[Path], point: Path, size: str) -> Path:
    point.mkdir(parents=True)
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(point)])
    if done.returncode != 0:
        pytest.skip("this kernel does not let us mount a tmpfs here")
    mounts.append(point)
    return point


def fill(disk: Path) -> Path:
    """Fill the disk to its last byte; the filler file, to delete for room again."""
    filler = disk / "filler"
    with contextlib.suppress(OSError), filler.open("wb") as f:
        while True:
            f.write(b"\0" * 4096)
            f.flush()
    return filler


def read_only(mounts: list[Path], source: Path, point: Path) -> Path:
    point.mkdir(parents=True)
    subprocess.run(["mount", "--bind", str(source), str(point)], check=True)
    mounts.append(point)
    subprocess.run(["mount", "-o", "remount,ro,bind", str(point)], check=True)
    return point


# --------------------------------------------------------------------------------------------
# Full disks


@pytest.mark.slow  # make test-faults (a full disk during the report stays in make test)
def test_a_disk_full_during_training_fails_in_one_line_and_resumes_once_freed(tmp_path, mounts):
    disk = small_disk(mounts, tmp_path / "disk", "3M")
    run = disk / "run"
    errors = tmp_path / "stderr.txt"
    proc = start_cli(["seqlab-train", *LONG, f"hydra.run.dir={run}"], tmp_path, errors)
    wait_for(lambda: (run / "checkpoints" / "last.ckpt").exists(), proc=proc)
    filler = fill(disk)
    proc.wait(timeout=120)
    result = subprocess.CompletedProcess(proc.args, proc.returncode, "", errors.read_text())
    assert_one_line_error(result, "No space left on device (ENOSPC)", "resume=")
    assert proc.returncode == 1
    assert metrics(run)["status"] == "failed" and "ENOSPC" in metrics(run)["error"]
    assert assert_intact(run) >= 3
    filler.unlink()
    done = run_cli(["seqlab-train", *SMALL_SUM, *QUIET, f"resume={run}"], tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    assert metrics(run)["status"] == "completed" and metrics(run)["attempts"] == 2


@pytest.mark.slow
def test_a_disk_full_at_a_checkpoint_keeps_the_last_good_one(tmp_path, mounts):
    # Room for one checkpoint and the run's small files, not for a second checkpoint.
    disk = small_disk(mounts, tmp_path / "disk", "400k")
    run = disk / "run"
    args = [*SMALL_SUM, *QUIET, "model.hidden_dim=64", "callbacks.early_stopping=null"]
    every_save = "callbacks.model_checkpoint.max_overhead=1e9"
    result = run_cli(["seqlab-train", *args, every_save, f"hydra.run.dir={run}"], tmp_path)
    assert_one_line_error(result, "checkpoints/last.ckpt: No space left on device (ENOSPC)")
    assert metrics(run)["status"] == "failed"
    assert [p.name for p in (run / "checkpoints").iterdir()] == ["best.ckpt"]  # no temporary
    assert assert_intact(run) >= 2
    subprocess.run(["mount", "-o", "remount,size=8M", str(disk)], check=True)
    done = run_cli(["seqlab-train", *args, every_save, f"resume={run}"], tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    assert metrics(run)["status"] == "completed"


@pytest.fixture(scope="module")
def finished_sweep(tmp_path_factory) -> Path:
    """A finished sweep of two settings with two seeds each, and its report."""
    cwd = tmp_path_factory.mktemp("sweep")
    sweep = cwd / "sweep"
    args = [*SMALL_SUM, *QUIET, "model.hidden_dim=4,8", "seed=1,2", f"hydra.sweep.dir={sweep}"]
    result = run_cli(["seqlab-train", "-m", *args], cwd)
    assert result.returncode == 0, result.stderr[-3000:]
    return sweep


REPORT_FILES = ("summary.csv", "groups.csv", "summary.md", "plot_model.hidden_dim.png")


def report_files(sweep: Path) -> dict[str, bytes]:
    return {name: (sweep / name).read_bytes() for name in REPORT_FILES}


def test_a_disk_full_during_the_report_keeps_the_previous_report(tmp_path, mounts, finished_sweep):
    disk = small_disk(mounts, tmp_path / "disk", "2M")
    sweep = disk / "sweep"
    shutil.copytree(finished_sweep, sweep, symlinks=True)
    before = report_files(sweep)
    filler = fill(disk)
    result = run_cli(["seqlab-report", str(sweep)], tmp_path)
    line = assert_one_line_error(result, "No space left on device (ENOSPC)")
    assert line.startswith("seqlab-report: error: ") and result.returncode == 1
    assert report_files(sweep) == before
    assert not list(sweep.glob(".*.tmp")) and assert_intact(sweep) >= 8
    filler.unlink()
    assert run_cli(["seqlab-report", str(sweep)], tmp_path).returncode == 0


# --------------------------------------------------------------------------------------------
# A kill at the first write of each report file


def strace() -> str:
    found = shutil.which("strace")
    if found is None and os.geteuid() == 0 and shutil.which("apt-get"):
        subprocess.run(["apt-get", "install", "-y", "-qq", "strace"], capture_output=True)
        found = shutil.which("strace")
    if found is None:
        pytest.skip("strace is not installed (apt-get install strace)")
    return found


def first_write_to(trace: str, name: str, pid: int) -> int:
    """Which write system call of process `pid` (counted from 1) is the first into `name`
    or into a temporary that will become it (`.<name>.<random>.tmp`)."""
    count = 0
    for line in trace.splitlines():
        who, _, call = line.partition(" ")
        if int(who) != pid or not call.lstrip().startswith("write("):
            continue
        count += 1
        target = Path(call.split("<", 1)[1].split(">", 1)[0]).name
        if target == name or target.startswith(f".{name}."):
            return count
    raise AssertionError(f"no write into {name}")


@pytest.mark.parametrize(
    "name", [REPORT_FILES[0], *(pytest.param(n, marks=pytest.mark.slow) for n in REPORT_FILES[1:])]
)
def test_a_kill_at_the_first_write_of_a_report_file_keeps_the_previous_one(
    tmp_path, finished_sweep, name
):
    sweep = tmp_path / "sweep"
    shutil.copytree(finished_sweep, sweep, symlinks=True)
    before = report_files(sweep)
    report = [str(Path(sys.executable).parent / "seqlab-report"), str(sweep)]
    traced = tmp_path / "trace.txt"
    writes = ["-f", "-e", "trace=write", "-y", "-qq", "-o", str(traced)]
    subprocess.run([strace(), *writes, *report], capture_output=True, check=True)
    pid = int(traced.read_text().split(" ", 1)[0])
    nth = first_write_to(traced.read_text(), name, pid)
    inject = ["-e", "trace=write", "-e", f"inject=write:signal=KILL:when={nth}", "-qq"]
    killed = subprocess.run([strace(), *inject, "-o", os.devnull, *report], capture_output=True)
    assert killed.returncode != 0, "the kill did not come"
    assert report_files(sweep) == before  # also the file it was writing
    assert assert_intact(sweep) >= 8
    assert list(sweep.glob(f".{name}.*.tmp")), "no temporary: the kill missed the write"
    again = run_cli(["seqlab-report", str(sweep)], tmp_path)
    assert again.returncode == 0 and not list(sweep.glob(".*.tmp"))


# --------------------------------------------------------------------------------------------
# Two processes on one directory


def sweep_under_way(sweep: Path, args: list[str], cwd: Path) -> subprocess.Popen:
    """A sweep started with `args`, once its first job has written a checkpoint."""
    proc = start_cli(["seqlab-train", "-m", *args, f"hydra.sweep.dir={sweep}"], cwd)
    try:
        wait_for(lambda: (sweep / "0" / "checkpoints" / "last.ckpt").exists(), proc=proc)
    except BaseException:
        kill(proc)
        raise
    return proc


def epoch_of(checkpoint: str | None) -> int:
    """The epochs a checkpoint has trained."""
    import torch

    assert checkpoint is not None
    return int(torch.load(checkpoint, map_location="cpu", weights_only=False)["epoch"])


@pytest.mark.slow  # make test-faults
def test_two_resumes_of_one_sweep_cannot_run_at_once(tmp_path):
    sweep = tmp_path / "sweep"
    sweep_args = [*STEADY, "trainer.max_epochs=3000", "model.hidden_dim=4,8"]
    first = sweep_under_way(sweep, sweep_args, tmp_path)
    try:
        events = sorted((sweep / "0" / "tensorboard").glob("events.out.tfevents.*"))
        second = run_cli(["seqlab-train", "-m", *sweep_args, f"resume={sweep}"], tmp_path)
        line = assert_one_line_error(second, f"{sweep} is in use by process {first.pid} on host")
        assert second.returncode == 2 and "seqlab-train -m" in line
        assert metrics(sweep / "0")["status"] == "running" and metrics(sweep / "0")["attempts"] == 1
        # It wrote nothing: no event files of its own beside the first's, no second job.
        assert sorted((sweep / "0" / "tensorboard").glob("events.out.tfevents.*")) == events
        assert not (sweep / "1").exists()
    finally:
        kill(first)
    # The killed sweep's job reads as interrupted, and one resume carries it on.
    report = run_cli(["seqlab-report", str(sweep), "--no-plots"], tmp_path)
    assert "1 interrupted" in report.stdout
    assert assert_intact(sweep) >= 2
    # Two epochs past where the killed job got to (a fixed count may lie behind it).
    reached = epoch_of(latest_checkpoint(sweep / "0"))
    shorter = [
        *STEADY,
        f"trainer.max_epochs={reached + 2}",
        "model.hidden_dim=4,8",
        f"resume={sweep}",
    ]
    done = run_cli(["seqlab-train", "-m", *shorter], tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    [job0, job1] = job_dirs(sweep)
    assert metrics(job0)["attempts"] == 2 and metrics(job0)["resumed_from"]
    assert metrics(job0)["status"] == metrics(job1)["status"] == "completed"


@pytest.mark.slow
def test_two_processes_on_one_run_cannot_write_it_at_once(tmp_path):
    run = tmp_path / "run"
    args = [*STEADY, "trainer.max_epochs=300"]
    first = start_cli(["seqlab-train", *args, f"hydra.run.dir={run}"], tmp_path)
    try:
        wait_for(lambda: (run / "checkpoints" / "last.ckpt").exists(), proc=first)
        second = run_cli(["seqlab-train", *args, f"resume={run}"], tmp_path)
        assert_one_line_error(second, f"{run} is in use by process {first.pid}")
        assert second.returncode == 2
        assert first.wait(timeout=300) == 0
    finally:
        kill(first)
    assert metrics(run)["status"] == "completed" and metrics(run)["attempts"] == 1
    assert "resumed_from" not in metrics(run)
    assert assert_intact(run) >= 3


# --------------------------------------------------------------------------------------------
# Torn and unreadable files


SEARCH = [
    "hparams_search=sum_optuna",
    *NO_CONFIRM,
    *SMALL_SUM,
    *QUIET,
    "trainer.max_epochs=2",
    "hydra.sweeper.sampler=random",
    "hydra.sweeper.pruner=none",
]


@pytest.mark.slow
def test_a_search_killed_in_its_confirmation_stage_resumes_it(tmp_path):
    """3 trials, then the best setting with 2 fresh seeds (jobs 3 and 4); the sweep is
    killed while job 3 trains. resume= carries job 3 on from its checkpoint, runs job 4,
    and names the confirmed best."""
    sweep = tmp_path / "study"
    args = [
        *[a for a in SEARCH if a not in NO_CONFIRM and not a.startswith("trainer.max_epochs")],
        *[a for a in STEADY if a not in SEARCH],
        "trainer.max_epochs=400",
        "hydra.sweeper.n_trials=3",
        "hydra.sweeper.confirm.top_k=1",
        "hydra.sweeper.confirm.seeds=2",
    ]
    first = start_cli(["seqlab-train", *args, f"hydra.sweep.dir={sweep}"], tmp_path)
    try:
        wait_for(lambda: (sweep / "3" / "checkpoints" / "last.ckpt").exists(), 300, first)
    finally:
        kill(first)
    assert not (sweep / "4").exists()
    done = run_cli(["seqlab-train", *args, f"resume={sweep}"], tmp_path, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    assert [metrics(sweep / str(n))["attempts"] for n in range(5)] == [1, 1, 1, 2, 1]
    assert metrics(sweep / "3")["resumed_from"] == "checkpoints/last.ckpt"
    assert all(metrics(sweep / str(n))["status"] == "completed" for n in range(5))
    confirmed = yaml.safe_load((sweep / "optimization_results.yaml").read_text())["confirmed"]
    assert confirmed["jobs"] == ["3", "4"] and confirmed["settings"][0]["n"] == 2
    assert "best_params" in confirmed


@pytest.mark.slow
def test_a_torn_journal_is_cut_back_and_resumed_studies_draw_new_settings(tmp_path):
    sweep = tmp_path / "study"
    first = run_cli(
        ["seqlab-train", *SEARCH, "hydra.sweeper.n_trials=2", f"hydra.sweep.dir={sweep}"], tmp_path
    )
    assert first.returncode == 0, first.stderr[-3000:]
    journal = sweep / STUDY_FILE
    whole = journal.read_bytes()
    journal.write_bytes(whole[:-30])  # a kill in the middle of its last record
    for trials in (4, 6):  # resumed twice
        more = run_cli(
            ["seqlab-train", *SEARCH, f"hydra.sweeper.n_trials={trials}", f"resume={sweep}"],
            tmp_path,
        )
        assert more.returncode == 0, more.stderr[-3000:]
    [backup] = sweep.glob(f"{STUDY_FILE}.torn-*")
    assert backup.read_bytes() == whole[:-30]
    assert assert_intact(sweep) >= 6  # the journal among them: every line parses
    storage = optuna.storages.JournalStorage(
        optuna.storages.journal.JournalFileBackend(str(journal))
    )
    trials = optuna.load_study(study_name="sum_optuna", storage=storage).trials
    complete = [t for t in trials if t.state.name == "COMPLETE"]
    assert len(complete) == 6
    # No setting drawn twice (a restarted seeded sampler drew the first trials' again).
    assert len({t.params["model.lr"] for t in complete}) == 6


@pytest.mark.slow  # make test-faults
@pytest.mark.parametrize("damage", ["corrupted", "deleted"])
def test_a_damaged_metrics_file_is_reported_and_resume_repairs_it(tmp_path, damage):
    sweep = tmp_path / "sweep"
    args = [*SMALL_SUM, *QUIET, "model.hidden_dim=4,8"]
    first = run_cli(["seqlab-train", "-m", *args, f"hydra.sweep.dir={sweep}"], tmp_path)
    assert first.returncode == 0, first.stderr[-3000:]
    broken = sweep / "1" / "metrics.json"
    if damage == "corrupted":
        broken.write_bytes(broken.read_bytes()[:200])
    else:
        broken.unlink()
    report = run_cli(["seqlab-report", str(sweep), "--no-plots"], tmp_path)
    assert report.returncode == 0, report.stderr[-3000:]
    if damage == "corrupted":
        assert f"Job 1 is unreadable: `{broken}: JSONDecodeError" in report.stdout
    else:
        assert "1 pending" in report.stdout
    done = run_cli(["seqlab-train", "-m", *args, f"resume={sweep}"], tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    repaired = metrics(sweep / "1")
    assert repaired["status"] == "completed" and repaired["resumed_from"]
    assert (sweep / "1" / "metrics.json.unreadable").exists() is (damage == "corrupted")
    assert "2 completed" in (sweep / "summary.md").read_text()
    assert assert_intact(sweep) >= 8


# --------------------------------------------------------------------------------------------
# Read-only output roots, moved sweeps


def test_a_read_only_output_root_gives_one_line(tmp_path, mounts, finished_sweep):
    source = tmp_path / "source"
    shutil.copytree(finished_sweep, source / "sweep", symlinks=True)
    run = source / "sweep" / "0"
    (run / "metrics.json").write_text(json.dumps({**metrics(run), "status": "interrupted"}))
    frozen = read_only(mounts, source, tmp_path / "ro")
    before = {p: p.read_bytes() for p in frozen.rglob("*") if p.is_file() and not p.is_symlink()}
    resume = f"resume={frozen / 'sweep' / '0'}"
    resumed = run_cli(["seqlab-train", *SMALL_SUM, *QUIET, resume], tmp_path)
    assert_one_line_error(resumed, "Read-only file system")
    report = run_cli(["seqlab-report", str(frozen / "sweep")], tmp_path)
    assert_one_line_error(report, "Read-only file system (EROFS)")
    after = {p: p.read_bytes() for p in frozen.rglob("*") if p.is_file() and not p.is_symlink()}
    assert after == before


@pytest.mark.slow
def test_a_sweep_moved_elsewhere_resumes_there(tmp_path):
    sweep = tmp_path / "sweep"
    args = [*STEADY, "trainer.max_epochs=3000", "model.hidden_dim=4,8"]
    first = sweep_under_way(sweep, args, tmp_path)
    time.sleep(1)
    kill(first)
    moved = tmp_path / "elsewhere" / "sweep"
    moved.parent.mkdir()
    sweep.rename(moved)
    # Two epochs past where the killed job got, however fast this machine trained it.
    reached = epoch_of(latest_checkpoint(moved / "0"))
    shorter = [
        *STEADY,
        f"trainer.max_epochs={reached + 2}",
        "model.hidden_dim=4,8",
        f"resume={moved}",
    ]
    done = run_cli(["seqlab-train", "-m", *shorter], tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    job0 = metrics(moved / "0")
    assert job0["status"] == "completed" and job0["resumed_from"] == "checkpoints/last.ckpt"
    paths = {"best": "checkpoints/best.ckpt", "last": "checkpoints/last.ckpt"}
    assert job0["checkpoints"] == paths
    assert assert_intact(moved) >= 6
