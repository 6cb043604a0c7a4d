"""Helpers of the integration tier: a working directory for the commands, a sweep and its
job directories, a check that every file a run left still parses, a run long enough to
interrupt, and the local SLURM cluster (scripts/slurm_local.sh) with SLURM's commands."""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch
import yaml

from seqlab.search import STUDY_FILE
from tests.conftest import QUIET, REPO


@pytest.fixture
def cli_cwd(tmp_path: Path) -> Path:
    return tmp_path


def only_sweep(cwd: Path) -> Path:
    """The one sweep directory that the commands run in `cwd` wrote."""
    sweeps = list((cwd / "outputs" / "multiruns").glob("*/*"))
    assert len(sweeps) == 1, sweeps
    return sweeps[0]


def assert_intact(root: Path) -> int:
    """Every file seqlab left under `root` parses (JSON, YAML, CSV, PNG, the study's journal)
    and every checkpoint loads with weights_only=True; temporaries left by a kill are
    skipped, since nothing reads them. How many files were checked."""
    checked = 0
    for path in root.rglob("*"):
        name = path.name
        # Skipped: temporaries (nothing reads them) and the copy of an unreadable metrics.json.
        if not path.is_file() or path.is_symlink() or name.endswith((".tmp", ".unreadable")):
            continue
        if name.endswith(".ckpt"):
            ckpt = torch.load(path, map_location="cpu", weights_only=True)
            assert "state_dict" in ckpt and "seqlab_config" in ckpt, path
        elif name == "metrics.json":
            assert isinstance(json.loads(path.read_text()), dict), path
        elif name.endswith(".yaml"):
            yaml.safe_load(path.read_text())
        elif name.endswith(".csv"):
            assert next(csv.reader(path.open()), None), f"{path}: empty"
        elif name.endswith(".md"):
            assert path.read_text().strip(), f"{path}: empty"
        elif name.endswith(".png"):
            assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", path
        elif name == STUDY_FILE:
            for line in path.read_bytes().splitlines():
                json.loads(line)
        else:
            continue
        checked += 1
    return checked


def job_dirs(sweep: Path) -> list[Path]:
    """A sweep's job directories (named by job number), in job order."""
    jobs = (p for p in Path(sweep).iterdir() if p.is_dir() and p.name.isdigit())
    return sorted(jobs, key=lambda p: int(p.name))


# A sum regressor whose epochs take about 0.1 s (64 steps of a 4096-sample set): long
# enough to kill, stop or requeue in the middle (test_cluster.py, test_slurm.py).
RESUME = [
    "experiment=sum",
    "data.n=4096",
    "data.n_val=256",
    "data.n_test=256",
    "data.length=8",
    "data.batch_size=64",
    "trainer.max_epochs=8",
    "callbacks.prediction_plot=null",
    # Writes may take 5% of the training (the default is 1%): with these epochs last.ckpt is
    # then written about every epoch, the moments these tests kill, stop and requeue at.
    "callbacks.model_checkpoint.max_overhead=0.05",
    "seed=7",
    *QUIET,
]


# --------------------------------------------------------------------------------------------
# The local SLURM cluster

SLURM_SCRIPT = REPO / "scripts" / "slurm_local.sh"
STAND_IN_GPUS = "SEQLAB_SLURM_STAND_IN_GPUS"


def slurm_local(*args: str, **env: str) -> subprocess.CompletedProcess:
    """scripts/slurm_local.sh with `args`; its stand-in GPUs only where `env` asks."""
    base = {k: v for k, v in os.environ.items() if k != STAND_IN_GPUS}
    return subprocess.run(
        [str(SLURM_SCRIPT), *args], capture_output=True, text=True, timeout=900, env={**base, **env}
    )


@pytest.fixture(scope="session")
def cluster() -> Iterator[dict[str, str]]:
    """The environment that points SLURM's commands at the running local cluster."""
    if os.geteuid() != 0:
        pytest.skip("real SLURM tests need root to start the local cluster")
    if not (shutil.which("slurmctld") and shutil.which("slurmdbd") and shutil.which("sbatch")):
        if not shutil.which("apt-get"):
            pytest.skip("no SLURM packages here and no apt-get to install them")
        install = slurm_local("install")
        if install.returncode != 0:
            reason = (install.stderr or install.stdout).strip().splitlines()[-1:]
            pytest.skip(f"the SLURM packages could not be installed: {' '.join(reason)}")
    already_up = "slurmctld: running" in slurm_local("status").stdout
    up = slurm_local("up")  # the default cluster: no GPUs
    assert up.returncode == 0, up.stdout + up.stderr
    conf = slurm_local("env")
    name, _, value = conf.stdout.strip().removeprefix("export ").partition("=")
    yield {name: value}
    if not already_up:  # leave the machine as the tests found it
        slurm_local("down")


def slurm(env: dict[str, str], *command: str) -> str:
    """A SLURM command's output, run against the local cluster; it must succeed."""
    out = subprocess.run(command, capture_output=True, text=True, env={**os.environ, **env})
    assert out.returncode == 0, out.stderr
    return out.stdout.strip()


def sacct(env: dict[str, str], *fields: str, job: str | None = None) -> list[list[str]]:
    """sacct's rows (allocations only; with `job`, every attempt of that job, oldest first),
    as lists of the given fields."""
    which = ["-D", "-j", job] if job else []
    out = slurm(env, "sacct", "-n", "-X", "-P", *which, "-o", ",".join(fields))
    return [line.split("|") for line in out.splitlines() if line]
