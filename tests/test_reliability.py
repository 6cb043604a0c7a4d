"""Runs survive faults: failed writes, divergence, and kills at random moments."""

from __future__ import annotations

import contextlib
import errno
import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import lightning as L
import pytest
import torch

from seqlab.checkpoints import AtomicCheckpointIO
from seqlab.rundir import RunRecord, read_metrics, remove_stale_temporaries
from seqlab.train import train
from tests.conftest import QUIET, SMALL_SUM, compose_train


def full_disk(*args, **kwargs):
    raise OSError(errno.ENOSPC, "No space left on device")


def test_a_failed_metrics_write_keeps_the_previous_file(tmp_path, monkeypatch):
    record = RunRecord(tmp_path, status="running", epochs=3)
    before = (tmp_path / "metrics.json").read_bytes()
    monkeypatch.setattr(os, "fsync", full_disk)
    with pytest.raises(OSError, match="No space left"):
        record.update(status="completed", epochs=4)
    assert (tmp_path / "metrics.json").read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["metrics.json"]  # no temporary left


def test_a_failed_checkpoint_write_keeps_the_previous_checkpoint(tmp_path, monkeypatch):
    io = AtomicCheckpointIO()
    path = tmp_path / "checkpoints" / "last.ckpt"
    io.save_checkpoint({"state_dict": {"w": torch.ones(3)}, "epoch": 1}, path)
    monkeypatch.setattr(os, "fsync", full_disk)
    with pytest.raises(OSError, match="No space left"):
        io.save_checkpoint({"state_dict": {"w": torch.zeros(3)}, "epoch": 2}, path)
    kept = torch.load(path, weights_only=True)
    assert kept["epoch"] == 1 and kept["state_dict"]["w"].tolist() == [1.0, 1.0, 1.0]
    assert [p.name for p in path.parent.iterdir()] == ["last.ckpt"]


def test_stale_temporaries_are_removed(tmp_path):
    (tmp_path / "checkpoints").mkdir()
    stale = [tmp_path / ".metrics.json.abc.tmp", tmp_path / "checkpoints" / ".last.ckpt.x.tmp"]
    for path in stale:
        path.write_bytes(b"half a file")
    (tmp_path / "notes.tmp").write_text("not ours: no leading dot")
    assert sorted(remove_stale_temporaries(tmp_path)) == sorted(stale)
    assert not any(p.exists() for p in stale) and (tmp_path / "notes.tmp").exists()


class PoisonWeights(L.Callback):
    """Sets the model's weights to NaN when epoch `at` starts (1-based)."""

    def __init__(self, at: int) -> None:
        self.at = at

    def on_train_epoch_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if trainer.current_epoch + 1 == self.at:
            with torch.no_grad():
                for p in pl_module.parameters():
                    p.fill_(float("nan"))


def test_divergence_stops_the_run_and_keeps_the_last_good_checkpoint(tmp_path):
    cfg = compose_train(
        [
            *SMALL_SUM,
            "trainer.max_epochs=5",
            f"+callbacks.poison._target_={__name__}.PoisonWeights",
            "+callbacks.poison.at=3",
        ],
        tmp_path,
    )
    metrics = train(cfg)
    assert metrics["status"] == "diverged"
    assert metrics["diverged_at"]["epoch"] == 3
    assert [row["epoch"] for row in metrics["history"]] == [1, 2, 3]
    for name in ("last", "best"):
        ckpt = torch.load(tmp_path / metrics["checkpoints"][name], weights_only=True)
        assert ckpt["epoch"] + 1 <= 2, name  # written before the weights went bad
        assert all(torch.isfinite(t).all() for t in ckpt["state_dict"].values())


def _files_load(run_dir: Path) -> int:
    """Load every checkpoint and metrics.json the run left; return how many were checked."""
    checked = 0
    for path in (run_dir / "checkpoints").glob("*.ckpt"):
        ckpt = torch.load(path, weights_only=True)
        assert "state_dict" in ckpt and "seqlab_config" in ckpt, path
        checked += 1
    if (run_dir / "metrics.json").exists():
        json.loads((run_dir / "metrics.json").read_text())
        checked += 1
    return checked


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
        assert _files_load(run_dir) >= 2
        resumed += "resumed_from" in read_metrics(run_dir)
        # A temporary left behind: this kill came in the middle of writing a file.
        mid_write += bool(list(run_dir.glob("**/.*.tmp")))
    assert resumed == 19  # every start after the first carried on from a checkpoint
    assert mid_write >= 1, "no kill landed during a write: the test proved nothing"
