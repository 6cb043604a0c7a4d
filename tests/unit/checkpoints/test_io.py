"""AtomicCheckpointIO: a failed write keeps the previous checkpoint."""

from __future__ import annotations

import os

import pytest
import torch

from seqlab.checkpoints import AtomicCheckpointIO
from tests.unit.conftest import full_disk


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
