"""Clusters without SLURM: submitit_local, DDP on CPU, exact resume. (SLURM itself: the
real-cluster tests of tests/integration/test_slurm.py.)"""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from seqlab.models.regressor_module import RegressorModule
from tests.conftest import QUIET, SMALL_SUM, assert_run_contract, compose_train, run_cli
from tests.integration.conftest import RESUME, job_dirs, only_sweep

SMALL = [*SMALL_SUM, *QUIET]


@pytest.mark.slow  # make test-faults
def test_submitit_local_runs_the_same_sweep(cli_cwd):
    result = run_cli(
        [
            "seqlab-train",
            "-m",
            "hydra/launcher=submitit_local",
            "hydra.launcher.cpus_per_task=1",
            *SMALL,
            "model.hidden_dim=8,16",
        ],
        cli_cwd,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    jobs = job_dirs(only_sweep(cli_cwd))
    assert [j.name for j in jobs] == ["0", "1"]
    for job in jobs:
        assert_run_contract(job)


def _wait_for_epochs(run_dir: Path, epochs: int, proc: subprocess.Popen, limit: float) -> None:
    """Wait until checkpoints/last.ckpt has been written `epochs` times."""
    last = run_dir / "checkpoints" / "last.ckpt"
    seen: set[int] = set()
    deadline = time.time() + limit
    while len(seen) < epochs:
        assert proc.poll() is None, "the run ended before it could be killed"
        assert time.time() < deadline, f"only {len(seen)} epochs after {limit} s"
        if last.is_file():
            seen.add(last.stat().st_mtime_ns)
        time.sleep(0.01)


@pytest.mark.slow  # make test-faults: a kill, and the resume to the same numbers
def test_resume_after_sigkill_is_exact(cli_cwd):
    """Killed after a few epochs and restarted in its directory, a run ends with the very
    numbers of an uninterrupted one, without training the finished epochs again.

    Tolerance: none (==). Every random draw depends only on (seed, epoch): the data, the
    initial weights, each epoch's order; the optimizer and scheduler state come back from
    the checkpoint; CPU kernels with one thread are deterministic.
    """
    whole = cli_cwd / "whole"
    result = run_cli(["seqlab-train", *RESUME, f"hydra.run.dir={whole}"], cli_cwd)
    assert result.returncode == 0, result.stderr[-3000:]
    reference = assert_run_contract(whole)

    broken = cli_cwd / "broken"
    script = Path(sys.executable).parent / "seqlab-train"
    proc = subprocess.Popen(
        [str(script), *RESUME, f"hydra.run.dir={broken}"],
        cwd=cli_cwd,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        _wait_for_epochs(broken, 3, proc, limit=120)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    killed_at = torch.load(broken / "checkpoints" / "last.ckpt", weights_only=False)["epoch"] + 1
    assert json.loads((broken / "metrics.json").read_text())["status"] == "running"

    result = run_cli(["seqlab-train", *RESUME, f"resume={broken}"], cli_cwd)
    assert result.returncode == 0, result.stderr[-3000:]
    resumed = assert_run_contract(broken)
    assert resumed["resumed_from"].endswith("last.ckpt")
    assert 3 <= resumed["resumed_after_epoch"] == killed_at < 8
    assert [row["epoch"] for row in resumed["history"]] == list(range(1, 9))
    assert resumed["global_step"] == reference["global_step"]
    for key in ("val/mse", "val/loss", "train/loss"):
        assert resumed["final"][key] == reference["final"][key], key
    for got, want in zip(resumed["history"], reference["history"], strict=True):
        assert got["val/mse"] == want["val/mse"]


# Epochs of a few milliseconds: the checkpoint callback's time budget skips most saves of
# last.ckpt (conf/callbacks/model_checkpoint.yaml's max_overhead).
SHORT_EPOCHS = [
    "experiment=tutorial_sum",
    "model.hidden_dim=8",
    "data.length=2",
    "trainer.max_epochs=150",
    "callbacks.early_stopping=null",
    "callbacks.prediction_plot=null",
    "threads=1",
    *QUIET,
]


@pytest.mark.slow  # make test-faults
def test_a_run_killed_between_two_saves_resumes_to_the_same_numbers(cli_cwd):
    """SIGKILL at an epoch whose last.ckpt save the time budget skipped
    (tests/integration/self_kill.py makes that moment): last.ckpt on disk is some epochs
    old, and the resumed run trains those epochs again, to the very numbers of an
    uninterrupted run. Tolerance: none (==), as in test_resume_after_sigkill_is_exact."""
    whole = cli_cwd / "whole"
    result = run_cli(["seqlab-train", *SHORT_EPOCHS, f"hydra.run.dir={whole}"], cli_cwd)
    assert result.returncode == 0, result.stderr[-3000:]
    reference = assert_run_contract(whole)

    broken = cli_cwd / "broken"
    killer = [
        "+callbacks.killer._target_=tests.integration.self_kill.KillBetweenSaves",
        "+callbacks.killer.after_epoch=40",
    ]
    repo = {"PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    args = ["seqlab-train", *SHORT_EPOCHS, f"hydra.run.dir={broken}"]
    result = run_cli([*args, *killer], cli_cwd, **repo)
    assert result.returncode == -signal.SIGKILL, result.stderr[-3000:]
    saved = torch.load(broken / "checkpoints" / "last.ckpt", weights_only=False)["epoch"] + 1
    assert json.loads((broken / "metrics.json").read_text())["status"] == "running"

    result = run_cli([*args, "resume=" + str(broken)], cli_cwd)
    assert result.returncode == 0, result.stderr[-3000:]
    resumed = assert_run_contract(broken)
    killed_after = int((broken / "killed_after_epochs").read_text())
    assert resumed["resumed_after_epoch"] == saved < killed_after  # those between: again
    assert [row["epoch"] for row in resumed["history"]] == list(range(1, 151))
    assert resumed["global_step"] == reference["global_step"]
    for key in ("val/mse", "val/loss", "train/loss", "test/mse"):
        assert resumed["final"][key] == reference["final"][key], key
    for got, want in zip(resumed["history"], reference["history"], strict=True):
        assert (got["train/loss"], got["val/mse"]) == (want["train/loss"], want["val/mse"])


def test_ddp_in_a_local_sweep_is_refused_per_job(cli_cwd):
    result = run_cli(["seqlab-train", "-m", "trainer=ddp_cpu", *SMALL], cli_cwd)
    assert result.returncode == 0, result.stderr[-3000:]  # the sweep goes on, the job fails
    (job,) = job_dirs(only_sweep(cli_cwd))
    metrics = json.loads((job / "metrics.json").read_text())
    assert metrics["status"] == "failed"
    assert "hydra.launcher.tasks_per_node" in metrics["error"]


@pytest.mark.slow
def test_ddp_on_two_cpu_processes(cli_cwd):
    """trainer=ddp_cpu: two gloo processes, each on its half of the data; the logged val MSE
    is the MSE over the whole validation set, and one metrics.json is written."""
    run_dir = cli_cwd / "ddp"
    args = [*SMALL, "trainer=ddp_cpu", "trainer.max_epochs=3", f"hydra.run.dir={run_dir}"]
    result = run_cli(["seqlab-train", *args], cli_cwd, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    metrics = assert_run_contract(run_dir)
    assert (run_dir / "train_ddp_process_1.log").is_file()  # the second process ran
    assert metrics["global_step"] == 3 * 2  # 128 samples per process, batches of 64

    cfg = compose_train(SMALL, run_dir)
    from seqlab.build import build

    data = build(cfg.data)
    data.setup()
    model = RegressorModule.load_from_checkpoint(run_dir / metrics["checkpoints"]["best"])
    model.eval()
    val = data.splits["val"]
    with torch.no_grad():
        pred = model(val["x"]) / cfg.data.target_scale
    full_mse = torch.mean((pred - val["y"] / cfg.data.target_scale) ** 2).item()
    assert metrics["best"]["val/mse"] == pytest.approx(full_mse, rel=1e-5)
