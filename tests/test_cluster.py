"""Clusters: SLURM jobs (through a fake SLURM), submitit_local, DDP on CPU, exact resume."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from omegaconf import OmegaConf

from seqlab.data.batches import TensorBatches
from seqlab.models.regressor_module import RegressorModule
from seqlab.train import train
from tests import fake_slurm
from tests.conftest import QUIET, SMALL_SUM, assert_run_contract, compose_train, run_cli

SMALL = [*SMALL_SUM, *QUIET]


def sweep_jobs(cwd: Path) -> list[Path]:
    sweeps = list((cwd / "outputs" / "multiruns").glob("*/*"))
    assert len(sweeps) == 1, sweeps
    return sorted((p for p in sweeps[0].iterdir() if p.is_dir() and p.name.isdigit()), key=str)


@pytest.fixture
def slurm(tmp_path: Path) -> dict[str, str]:
    """Environment with fake SLURM commands first on PATH; the jobs' states under `state`."""
    fake_slurm.install(tmp_path / "slurm_bin")
    return {
        "PATH": f"{tmp_path / 'slurm_bin'}{os.pathsep}{os.environ['PATH']}",
        "FAKE_SLURM_DIR": str(tmp_path / "slurm_state"),
    }


def slurm_records(env: dict[str, str], settled: bool = True) -> list[dict]:
    """The fake SLURM's job records; `settled`: once every job has ended (submitit may read
    a job's result a moment before its batch script exits)."""
    deadline = time.time() + 30
    while True:
        paths = sorted(Path(env["FAKE_SLURM_DIR"]).glob("jobs/*.json"))
        records = [json.loads(p.read_text()) for p in paths]
        ended = all(r["state"] in fake_slurm.FINISHED for r in records)
        if not settled or ended or time.time() > deadline:
            return records
        time.sleep(0.2)


def test_slurm_sweep_submits_a_job_array_and_completes(cli_cwd, slurm):
    result = run_cli(
        [
            "seqlab-train",
            "-m",
            "hydra/launcher=slurm",
            "hydra.launcher.gpus_per_node=0",
            "hydra.launcher.cpus_per_task=1",
            "hydra.launcher.partition=debug",
            "hydra.launcher.array_parallelism=2",
            "+hydra.launcher.additional_parameters.constraint=cpu",
            *SMALL,
            "model.hidden_dim=8,16",
        ],
        cli_cwd,
        **slurm,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    jobs = sweep_jobs(cli_cwd)
    assert [j.name for j in jobs] == ["0", "1"]
    hidden = set()
    for job in jobs:
        metrics = assert_run_contract(job)
        assert metrics["threads"] == 1  # SLURM_CPUS_PER_TASK
        hidden.add(OmegaConf.load(job / ".hydra" / "config.yaml").model.hidden_dim)
    assert hidden == {8, 16}
    # One array of two tasks went through sbatch, with the preset's #SBATCH lines.
    records = slurm_records(slurm)
    assert len(records) == 2 and {r["env"]["SLURM_ARRAY_TASK_ID"] for r in records} == {"0", "1"}
    assert [r["state"] for r in records] == ["COMPLETED"] * 2
    script = Path(records[0]["script"]).read_text()
    for line in (
        "#SBATCH --array=0-1%2",
        "#SBATCH --partition=debug",
        "#SBATCH --cpus-per-task=1",
        "#SBATCH --constraint=cpu",
        "#SBATCH --signal=USR2@120",
    ):
        assert line in script, f"{line} not in the job script:\n{script}"
    summary = (jobs[0].parent / "summary.md").read_text()
    assert "2 jobs: 2 completed" in summary


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


def _slurm_sweep_interrupted(cwd: Path, env: dict[str, str], interrupt: list[str]) -> Path:
    """Run a one-job sweep through the fake SLURM; once its job has finished 2 epochs, run
    the `interrupt` command (a SLURM command); wait for the sweep; return the job's dir."""
    script = Path(sys.executable).parent / "seqlab-train"
    args = ["-m", "hydra/launcher=slurm", "hydra.launcher.gpus_per_node=0"]
    args += ["hydra.launcher.cpus_per_task=1", *RESUME, "trainer.max_epochs=10"]
    full_env = {**os.environ, "SEQLAB_OUTPUT_ROOT": str(cwd / "outputs"), **env}
    proc = subprocess.Popen(
        [str(script), *args],
        cwd=cwd,
        env=full_env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.time() + 120
        while not list((cwd / "outputs").glob("multiruns/*/*/0")):
            assert time.time() < deadline and proc.poll() is None, "the job never started"
            time.sleep(0.1)
        (job,) = sweep_jobs(cwd)
        _wait_for_epochs(job, 2, proc, limit=120)
        (record,) = Path(env["FAKE_SLURM_DIR"]).glob("jobs/*.json")
        subprocess.run([*interrupt, record.stem], env=full_env, check=True)
        _, stderr = proc.communicate(timeout=300)
    finally:
        proc.kill()
    assert proc.returncode == 0, stderr[-3000:]
    return job


@pytest.mark.slow
def test_slurm_requeue_resumes_the_job_in_its_run_directory(cli_cwd, slurm):
    job = _slurm_sweep_interrupted(cli_cwd, slurm, ["scontrol", "requeue"])
    (record,) = slurm_records(slurm)
    assert record["requeued"] == 1 and record["state"] == "COMPLETED"
    metrics = assert_run_contract(job)
    assert metrics["resumed_from"].endswith("checkpoints/last.ckpt")
    assert 2 <= metrics["resumed_after_epoch"] < 10
    assert [row["epoch"] for row in metrics["history"]] == list(range(1, 11))


@pytest.mark.slow
def test_sigusr1_checkpoints_requeues_and_resumes(cli_cwd, slurm):
    """SLURM's warning signal: Lightning saves hpc_ckpt_1.ckpt and requeues the job (through
    scontrol); the requeued job resumes from that checkpoint, the newest one."""
    job = _slurm_sweep_interrupted(cli_cwd, slurm, ["scancel", "--signal=USR1"])
    (record,) = slurm_records(slurm)
    assert record["requeued"] == 1 and record["state"] == "COMPLETED"
    metrics = assert_run_contract(job)
    assert metrics["resumed_from"].endswith("hpc_ckpt_1.ckpt")
    assert metrics["epochs"] == 10
