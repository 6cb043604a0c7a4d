"""Runs survive kills at random moments."""

from __future__ import annotations

import contextlib
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from seqlab.rundir import read_metrics
from tests.conftest import QUIET, SMALL_SUM
from tests.integration.conftest import assert_intact


@pytest.mark.slow
def test_twenty_kills_at_random_moments_leave_only_loadable_files(tmp_path):
    """SIGKILL a training run 20 times at random moments, while it writes a checkpoint
    after every step; each time every file it left must load, and the next start resumes."""
    run_dir = tmp_path / "run"
    args = [
        *SMALL_SUM,
        *QUIET,
        "data.n=2048",
        "trainer.max_epochs=10000",
        "+callbacks.model_checkpoint.every_n_train_steps=1",
        "callbacks.early_stopping=null",
        "callbacks.prediction_plot=null",
        f"hydra.run.dir={run_dir}",
    ]
    script = Path(sys.executable).parent / "seqlab-train"
    rng = random.Random(0)
    last = run_dir / "checkpoints" / "last.ckpt"
    resumed = mid_write = 0
    for _ in range(20):
        proc = subprocess.Popen(
            [str(script), *args],
            cwd=tmp_path,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        try:
            # Wait for training to write a checkpoint, then kill within the next half second.
            start_mtime = last.stat().st_mtime_ns if last.exists() else 0
            deadline = time.time() + 120
            while not (last.exists() and last.stat().st_mtime_ns != start_mtime):
                assert proc.poll() is None, "the run stopped by itself"
                assert time.time() < deadline
                time.sleep(0.005)
            time.sleep(rng.uniform(0, 0.5))
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        assert assert_intact(run_dir) >= 2
        resumed += "resumed_from" in read_metrics(run_dir)
        # A temporary left behind: this kill came in the middle of writing a file.
        mid_write += bool(list(run_dir.glob("**/.*.tmp")))
    assert resumed == 19  # every start after the first carried on from a checkpoint
    assert mid_write >= 1, "no kill landed during a write: the test proved nothing"
