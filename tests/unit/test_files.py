"""Atomic writes, and storage errors as one line naming the path."""

from __future__ import annotations

import errno
import json
import os

import pytest

from seqlab.files import (
    StorageError,
    overwrite_within,
    storage_error,
    write_atomic,
    write_text_atomic,
)
from tests.unit.conftest import full_disk


def test_a_write_that_fails_leaves_the_old_file_and_no_temporary(tmp_path, monkeypatch):
    path = tmp_path / "summary.csv"
    write_text_atomic(path, "old\n")
    monkeypatch.setattr(os, "fsync", full_disk)
    with pytest.raises(StorageError) as failed:
        write_text_atomic(path, "new\n")
    assert str(failed.value) == f"{path}: No space left on device (ENOSPC)"
    assert path.read_text() == "old\n" and [p.name for p in tmp_path.iterdir()] == [path.name]


def test_torchs_runtime_error_over_a_full_disk_becomes_a_storage_error(tmp_path):
    def torch_like(f):  # torch.save turns the OSError of a failed write into a RuntimeError
        try:
            raise OSError(errno.ENOSPC, "No space left on device")
        except OSError:
            raise RuntimeError(
                "[enforce fail at inline_container.cc:672] . unexpected pos"
            ) from None

    with pytest.raises(StorageError, match=r"last\.ckpt: No space left on device \(ENOSPC\)"):
        write_atomic(tmp_path / "last.ckpt", torch_like)


def test_other_errors_stay_what_they_are(tmp_path):
    assert storage_error(ValueError("x")) is None
    assert storage_error(OSError(errno.EACCES, "Permission denied")) is None
    readonly = storage_error(OSError(errno.EROFS, "Read-only file system"), tmp_path)
    assert str(readonly) == f"{tmp_path}: Read-only file system (EROFS)"


def test_temporaries_are_not_taken_for_tensorboard_event_files(tmp_path):
    seen = []
    write_atomic(
        tmp_path / "events.out.tfevents.1.host", lambda f: seen.extend(os.listdir(tmp_path))
    )
    assert len(seen) == 1 and "tfevents" not in seen[0]


def test_the_last_record_fits_in_the_blocks_the_file_has(tmp_path):
    path = tmp_path / "metrics.json"
    path.write_text(json.dumps({"status": "running", "history": [{"epoch": 1}] * 50}))
    overwrite_within(path, {"status": "failed", "history": [{"epoch": 1}] * 500}, ("history",))
    assert json.loads(path.read_text()) == {"status": "failed"}  # history left out to fit
