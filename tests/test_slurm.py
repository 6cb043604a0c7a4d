"""The cluster path on a real SLURM: a one-node cluster with accounting, started on this
machine by scripts/slurm_local.sh. Marked `slurm` (`make test-slurm`).

They skip, with one line, only where the cluster cannot be started here: not root, or no
SLURM packages and no apt-get to install them. Anywhere else a failure to start is a
failure.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import QUIET, REPO, assert_run_contract, job_dirs, run_cli

pytestmark = pytest.mark.slurm

SCRIPT = REPO / "scripts" / "slurm_local.sh"
CPU_JOBS = [
    "hydra/launcher=slurm",
    "hydra.launcher.gpus_per_node=0",
    "hydra.launcher.cpus_per_task=1",
    "hydra.launcher.mem_gb=1",
    "hydra.launcher.timeout_min=10",
]
TINY = [
    "experiment=tutorial_sum",
    "data.n=200",
    "data.n_val=50",
    "data.n_test=50",
    "trainer.max_epochs=5",
    *QUIET,
]


@pytest.fixture(scope="session")
def cluster() -> Iterator[dict[str, str]]:
    """The environment that points SLURM's commands at the running local cluster."""
    if os.geteuid() != 0:
        pytest.skip("real SLURM tests need root to start the local cluster")
    if not (shutil.which("slurmctld") and shutil.which("slurmdbd") and shutil.which("sbatch")):
        if not shutil.which("apt-get"):
            pytest.skip("no SLURM packages here and no apt-get to install them")
        install = subprocess.run([str(SCRIPT), "install"], capture_output=True, text=True)
        if install.returncode != 0:
            reason = (install.stderr or install.stdout).strip().splitlines()[-1:]
            pytest.skip(f"the SLURM packages could not be installed: {' '.join(reason)}")
    status = subprocess.run([str(SCRIPT), "status"], capture_output=True, text=True)
    already_up = "slurmctld: running" in status.stdout
    up = subprocess.run([str(SCRIPT), "up"], capture_output=True, text=True, timeout=900)
    assert up.returncode == 0, up.stdout + up.stderr
    conf = subprocess.run([str(SCRIPT), "env"], capture_output=True, text=True, check=True)
    name, _, value = conf.stdout.strip().removeprefix("export ").partition("=")
    yield {name: value}
    if not already_up:  # leave the machine as the tests found it
        subprocess.run([str(SCRIPT), "down"], capture_output=True, text=True)


def sacct(env: dict[str, str], *fields: str) -> list[list[str]]:
    """sacct's rows for every job (allocations only), as lists of the given fields."""
    out = subprocess.run(
        ["sacct", "-n", "-X", "-P", "-o", ",".join(fields)],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, **env},
    )
    return [line.split("|") for line in out.stdout.splitlines() if line]


def run_sweep(args: list[str], cwd: Path, env: dict[str, str]) -> list[Path]:
    result = run_cli(["seqlab-train", "-m", *CPU_JOBS, *TINY, *args], cwd, timeout=600, **env)
    assert result.returncode == 0, result.stderr[-3000:]
    [sweep] = (cwd / "outputs" / "multiruns").glob("*/*")
    return job_dirs(sweep)


def array_tasks(env: dict[str, str]) -> dict[str, list[str]]:
    """{array task id: [state, start, end]} of every array task the cluster ran."""
    rows = sacct(env, "JobID", "State", "Start", "End")
    return {row[0]: row[1:] for row in rows if "_" in row[0]}


def test_a_sweep_runs_as_one_array_two_at_a_time(cli_cwd, cluster):
    jobs = run_sweep(
        ["hydra.launcher.array_parallelism=2", "model.hidden_dim=8,16", "model.lr=0.1,0.5"],
        cli_cwd,
        cluster,
    )
    assert [j.name for j in jobs] == ["0", "1", "2", "3"]
    for job in jobs:
        metrics = assert_run_contract(job)
        assert [r["epoch"] for r in metrics["history"]] == [1, 2, 3, 4, 5]
    tasks = array_tasks(cluster)
    array_ids = {task.split("_")[0] for task in tasks}
    newest = max(array_ids, key=int)  # this sweep's array (earlier tests leave theirs)
    ours = {t: v for t, v in tasks.items() if t.startswith(f"{newest}_")}
    assert sorted(ours) == [f"{newest}_{i}" for i in range(4)]
    assert all(state == "COMPLETED" for state, _, _ in ours.values()), ours
    # array_parallelism=2: at no moment were more than two tasks running.
    for _, start, _ in ours.values():
        running = [t for t, (_, s, e) in ours.items() if s <= start < e]
        assert len(running) <= 2, ours
    summary = (jobs[0].parent / "summary.md").read_text()
    assert "4 jobs: 4 completed" in summary


def test_a_job_with_a_bad_value_fails_alone(cli_cwd, cluster):
    jobs = run_sweep(["model.hidden_dim=8,-4,16"], cli_cwd, cluster)
    statuses = [json.loads((j / "metrics.json").read_text())["status"] for j in jobs]
    assert statuses == ["completed", "failed", "completed"]
    error = json.loads((jobs[1] / "metrics.json").read_text())["error"]
    assert "model.hidden_dim" in error
    summary = (jobs[0].parent / "summary.md").read_text()
    assert "3 jobs: 2 completed, 1 failed" in summary
