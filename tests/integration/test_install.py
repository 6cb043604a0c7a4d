"""An install that works anywhere."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from seqlab import names
from tests.conftest import REPO, SMALL_SUM


@pytest.mark.slow
def test_a_built_wheel_runs_outside_the_checkout(tmp_path):
    """Build a wheel, install it into a fresh venv and train from a directory outside the
    checkout. The venv takes seqlab from the wheel alone; its dependencies (torch,
    lightning, ...) come from the test's own environment through a .pth file, so the test
    needs no downloads."""
    wheels = tmp_path / "wheels"
    build = [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation"]
    subprocess.run([*build, str(REPO), "-w", str(wheels)], check=True, timeout=300)
    (wheel,) = wheels.glob("seqlab-*.whl")
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    py = venv / "bin" / "python"
    pip = [str(py), "-m", "pip", "install", "-q", "--no-deps", "--no-index", str(wheel)]
    subprocess.run(pip, check=True, timeout=300)
    site = subprocess.run(
        [str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    ours = subprocess.run(
        [sys.executable, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    (Path(site) / "seqlab_test_deps.pth").write_text(ours + "\n")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "HYDRA_FULL_ERROR")}
    env["SEQLAB_OUTPUT_ROOT"] = str(elsewhere / "outputs")

    where = subprocess.run(
        [str(py), "-c", "import seqlab.config as c; print(c.__file__); print(c.CONFIG_DIR)"],
        cwd=elsewhere,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert all(line.startswith(site) for line in where), where
    job = subprocess.run(
        [str(venv / "bin" / "seqlab-train"), "--cfg", "job", "experiment=tutorial_sum"],
        cwd=elsewhere,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert job.returncode == 0 and "mode: tutorial" in job.stdout, job.stderr[-3000:]
    run = subprocess.run(
        [
            str(venv / "bin" / "seqlab-train"),
            *SMALL_SUM,
            "trainer.max_epochs=1",
            "threads=1",
            "callbacks.progress_bar=null",
            "trainer.enable_progress_bar=false",
        ],
        cwd=elsewhere,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    (metrics,) = (elsewhere / "outputs" / "runs").glob("*/*/metrics.json")
    assert json.loads(metrics.read_text())["status"] == names.COMPLETED
