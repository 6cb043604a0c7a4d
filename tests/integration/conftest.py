"""Helpers of the integration tier: a working directory for the commands, a sweep's job
directories, and a run long enough to interrupt."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import QUIET


@pytest.fixture
def cli_cwd(tmp_path: Path) -> Path:
    return tmp_path


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
    "seed=7",
    *QUIET,
]
