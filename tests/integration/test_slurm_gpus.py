"""GPU requests on a real SLURM, with stand-in GPUs: scripts/slurm_local.sh with
SEQLAB_SLURM_STAND_IN_GPUS=2 gives the node two GPUs (GRES whose device files it makes),
4 shards of each, and 8 CPUs. SLURM hands them out and sets CUDA_VISIBLE_DEVICES as for
real GPUs; no CUDA device is behind them, so the jobs train on the CPU and record what
they were given. Marked `slurm` (`make test-slurm`); the module puts the default cluster
(no GPUs) back when it ends.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest

from tests.conftest import QUIET, run_cli
from tests.integration.conftest import STAND_IN_GPUS, job_dirs, sacct, slurm, slurm_local
from tests.integration.test_gpu_slots import most_at_once
from tests.integration.test_slurm import TINY, settled

pytestmark = pytest.mark.slurm

UNQUIET = [a for a in QUIET if not a.startswith("threads=")]  # threads=auto, the default
EIGHT_JOBS = "model.hidden_dim=4,8,12,16,20,24,28,32"


@pytest.fixture(scope="module")
def gpu_cluster(cluster) -> Iterator[dict[str, str]]:
    up = slurm_local("up", **{STAND_IN_GPUS: "2"})
    assert up.returncode == 0, up.stdout + up.stderr
    assert slurm(cluster, "sinfo", "-h", "-o", "%G") == "gpu:2,shard:8"
    yield cluster
    again = slurm_local("up")  # the default cluster, for whatever runs next
    assert again.returncode == 0, again.stdout + again.stderr


def records(sweep: Path) -> dict[int, dict]:
    return {int(j.name): json.loads((j / "metrics.json").read_text()) for j in job_dirs(sweep)}


def moment(text: str) -> float:
    return datetime.fromisoformat(text).timestamp()


def test_one_allocation_runs_a_whole_sweep_four_jobs_per_gpu(gpu_cluster, tmp_path):
    """One sbatch holding 2 GPUs: the local launcher reads them from the allocation
    (CUDA_VISIBLE_DEVICES=0,1) and runs the 8 jobs 4 on each, each pinned to its GPU."""
    sweep = tmp_path / "sweep"
    train = Path(sys.executable).parent / "seqlab-train"
    command = " ".join(
        [
            str(train),
            "-m",
            "hydra/launcher=local_parallel",
            "hydra.launcher.jobs_per_gpu=4",
            *TINY,
            *UNQUIET,
            EIGHT_JOBS,
            f"hydra.sweep.dir={sweep}",
        ]
    )
    out = tmp_path / "allocation.out"
    sbatch = subprocess.run(
        [
            *("sbatch", "--wait", "--gres=gpu:2", "--cpus-per-task=2", "--mem=8G"),
            *(f"--output={out}", f"--chdir={tmp_path}", f"--wrap={command}"),
        ],
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, **gpu_cluster, "SEQLAB_OUTPUT_ROOT": str(tmp_path / "outputs")},
    )
    log = out.read_text() if out.is_file() else ""
    assert sbatch.returncode == 0, sbatch.stderr + log[-3000:]
    assert "GPUs 0,1, 4 job(s) on each at once (8 slots)" in log, log[-3000:]
    jobs = records(sweep)
    assert sorted(jobs) == list(range(8))
    assert all(r["status"] == "completed" for r in jobs.values()), log[-3000:]
    assert Counter(r["gpu"]["gpu"] for r in jobs.values()) == {"0": 4, "1": 4}
    assert all(r["gpu"]["visible_devices"] == r["gpu"]["gpu"] for r in jobs.values())
    for gpu in ("0", "1"):
        spans = [(moment(r["started_at"]), moment(r["ended_at"])) for r in jobs.values()]
        on_it = [s for s, r in zip(spans, jobs.values(), strict=True) if r["gpu"]["gpu"] == gpu]
        assert most_at_once(on_it) <= 4
    # threads=auto: the allocation's 2 CPUs (SLURM_CPUS_PER_TASK) over the 8 jobs at once.
    assert {r["threads"] for r in jobs.values()} == {1}
    assert "8 jobs: 8 completed" in (sweep / "summary.md").read_text()


def test_shard_requests_are_packed_onto_gpus_by_slurm(gpu_cluster, tmp_path):
    """hydra.launcher.shards=1: each job asks for one shard; SLURM puts up to 4 jobs on
    each GPU at once, and each job sees only its own GPU."""
    sweep = tmp_path / "sweep"
    args = [
        "hydra/launcher=slurm",
        "hydra.launcher.shards=1",
        "hydra.launcher.cpus_per_task=1",
        "hydra.launcher.mem_gb=1",
        "hydra.launcher.timeout_min=10",
        *TINY,
        EIGHT_JOBS,
        f"hydra.sweep.dir={sweep}",
    ]
    done = run_cli(["seqlab-train", "-m", *args], tmp_path, timeout=600, **gpu_cluster)
    assert done.returncode == 0, done.stderr[-3000:]
    jobs = records(sweep)
    assert all(r["status"] == "completed" for r in jobs.values())
    # Each job saw one GPU, the one its shard is on.
    seen = {n: r["gpu"]["visible_devices"] for n, r in jobs.items()}
    assert set(seen.values()) <= {"0", "1"}, seen

    # SLURM's own account of when each array task ran, by the GPU it ran on.
    def read() -> dict[str, list[str]]:
        return {row[0]: row[1:] for row in sacct(gpu_cluster, "JobID", "State", "Start", "End")}

    rows = settled(read)
    array = max({t.split("_")[0] for t in rows if "_" in t}, key=int)
    tasks = {int(t.split("_")[1]): v for t, v in rows.items() if t.startswith(f"{array}_")}
    assert sorted(tasks) == list(range(8)) and all(s == "COMPLETED" for s, _, _ in tasks.values())
    spans = {n: (moment(start), moment(end)) for n, (_, start, end) in tasks.items()}
    for gpu in ("0", "1"):
        on_it = [spans[n] for n, g in seen.items() if g == gpu]
        assert 2 <= most_at_once(on_it) <= 4, (gpu, spans, seen)  # packed, within 4 shards
    script = next((sweep / ".submitit").glob("*/*_submission.sh")).read_text()
    assert "#SBATCH --gres=shard:1" in script and "--gpus-per-node" not in script, script
