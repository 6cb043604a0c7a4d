"""Clusters without SLURM: submitit_local, DDP on CPU, exact resume. (SLURM itself: the
real-cluster tests of tests/test_slurm.py.)"""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import lightning as L
import pytest
import torch

from seqlab.data.batches import TensorBatches
from seqlab.models.regressor_module import RegressorModule
from seqlab.train import train
from tests.conftest import QUIET, SMALL_SUM, assert_run_contract, compose_train, run_cli

SMALL = [*SMALL_SUM, *QUIET]


def sweep_jobs(cwd: Path) -> list[Path]:
    sweeps = list((cwd / "outputs" / "multiruns").glob("*/*"))
    assert len(sweeps) == 1, sweeps
    return sorted((p for p in sweeps[0].iterdir() if p.is_dir() and p.name.isdigit()), key=str)


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
    jobs = sweep_jobs(cli_cwd)
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


RESUME = [
    "experiment=sum",
    "data.n=4096",
    "data.n_val=256",
    "data.n_test=256",
    "data.length=8",
    "data.batch_size=64",
    "trainer.max_epochs=8",
    "callbacks.prediction_plot=null",
    "seed=7",
    *QUIET,
]


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


class SigtermAt(L.Callback):
    """Sends its own process SIGTERM at the end of epoch `epoch`, as SLURM does to a job it
    requeues, preempts or cancels."""

    def __init__(self, epoch: int) -> None:
        self.epoch = epoch

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if trainer.current_epoch + 1 == self.epoch:
            os.kill(os.getpid(), signal.SIGTERM)


@pytest.mark.parametrize("stop_at", [3, 6])
def test_a_run_stopped_by_sigterm_says_so_and_resumes(tmp_path, stop_at):
    """SIGTERM (a SLURM requeue): Lightning stops at the next step; metrics.json says
    `interrupted`, with the epochs trained. Started again, the run resumes; `attempts`
    counts both starts and `wall_s` adds up their times. Stopped after its last epoch (in
    its test), the resumed run trains nothing and still reports its final epoch."""
    args = [*SMALL, "trainer.max_epochs=6"]
    sigterm = [f"+callbacks.sigterm._target_={__name__}.SigtermAt"]
    sigterm.append(f"+callbacks.sigterm.epoch={stop_at}")
    with pytest.raises(SystemExit):  # Lightning's SIGTERMException
        train(compose_train([*args, *sigterm], tmp_path))
    stopped = json.loads((tmp_path / "metrics.json").read_text())
    assert stopped["status"] == "interrupted" and stopped["interrupted_by"] == "SIGTERM"
    assert [row["epoch"] for row in stopped["history"]] == list(range(1, stop_at + 1))
    assert stopped["best"]["epoch"] <= stop_at
    assert stopped["attempts"] == 1 and stopped["wall_s"] > 0

    metrics = train(compose_train(args, tmp_path))
    assert metrics["status"] == "completed" and metrics["attempts"] == 2
    assert 1 <= metrics["resumed_after_epoch"] <= stop_at
    assert [row["epoch"] for row in metrics["history"]] == [1, 2, 3, 4, 5, 6]
    last = metrics["history"][-1]
    for key in ("train/loss", "val/loss", "val/mse"):
        assert metrics["final"][key] == last[key], key
    assert "test/mse" in metrics["final"]
    assert metrics["wall_s"] > stopped["wall_s"]


def test_tensor_batches_deal_each_process_its_own_share():
    n = 10
    data = {"x": torch.arange(n)}
    shares = [
        TensorBatches(data, batch_size=2, shuffle=True, seed=3, rank=r, world_size=3)
        for r in range(3)
    ]
    for share in shares:
        share.sampler.set_epoch(4)
    seen = [torch.cat([b["x"] for b in share]) for share in shares]
    assert [len(s) for s in seen] == [3, 3, 3] and [len(s) for s in shares] == [2, 2, 2]
    together = torch.cat(seen)
    assert len(set(together.tolist())) == 9  # disjoint; one sample sits this epoch out
    whole = TensorBatches(data, batch_size=n, shuffle=True, seed=3)
    whole.sampler.set_epoch(4)
    order = next(iter(whole))["x"]
    assert seen[1].tolist() == order[1:9:3].tolist()  # dealt round-robin from one order
    with pytest.raises(ValueError, match="rank 3"):
        TensorBatches(data, batch_size=2, rank=3, world_size=3)


def test_only_rank_zero_writes_metrics(tmp_path, monkeypatch):
    from lightning.pytorch.utilities import rank_zero_only

    monkeypatch.setattr(rank_zero_only, "rank", 1)
    metrics = train(compose_train([*SMALL, "trainer.max_epochs=1"], tmp_path))
    assert metrics["status"] == "completed"
    assert not (tmp_path / "metrics.json").exists()


def test_ddp_in_a_local_sweep_is_refused_per_job(cli_cwd):
    result = run_cli(["seqlab-train", "-m", "trainer=ddp_cpu", *SMALL], cli_cwd)
    assert result.returncode == 0, result.stderr[-3000:]  # the sweep goes on, the job fails
    (job,) = sweep_jobs(cli_cwd)
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
