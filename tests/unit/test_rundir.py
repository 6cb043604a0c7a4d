"""Run directories: metrics.json written atomically, stale temporaries removed."""

from __future__ import annotations

import os

import pytest

from seqlab.rundir import RunRecord, remove_stale_temporaries
from tests.unit.conftest import full_disk


def test_a_failed_metrics_write_keeps_the_previous_file(tmp_path, monkeypatch):
    record = RunRecord(tmp_path, status="running", epochs=3)
    before = (tmp_path / "metrics.json").read_bytes()
    monkeypatch.setattr(os, "fsync", full_disk)
    with pytest.raises(OSError, match="No space left"):
        record.update(status="completed", epochs=4)
    assert (tmp_path / "metrics.json").read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["metrics.json"]  # no temporary left


def test_stale_temporaries_are_removed(tmp_path):
    (tmp_path / "checkpoints").mkdir()
    stale = [tmp_path / ".metrics.json.abc.tmp", tmp_path / "checkpoints" / ".last.ckpt.x.tmp"]
    for path in stale:
        path.write_bytes(b"half a file")
    (tmp_path / "notes.tmp").write_text("not ours: no leading dot")
    assert sorted(remove_stale_temporaries(tmp_path)) == sorted(stale)
    assert not any(p.exists() for p in stale) and (tmp_path / "notes.tmp").exists()
