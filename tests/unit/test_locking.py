"""One writer per directory: an OS lock that its process's death releases."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest

from seqlab.locking import DirectoryInUse, DirectoryLock, acquire, held, release

HOLD = """
import sys, time
from seqlab.locking import acquire
acquire(sys.argv[1])
print("held", flush=True)
time.sleep(60)
"""


@pytest.fixture
def other_process(tmp_path):
    """A process that holds tmp_path's lock until it is killed."""
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(tmp_path)], stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout.readline().strip() == "held"
    yield proc
    proc.kill()
    proc.wait()


def test_a_second_process_is_refused_naming_the_holder(tmp_path, other_process):
    assert held(tmp_path) is True
    start = time.monotonic()
    with pytest.raises(DirectoryInUse) as refused:
        acquire(tmp_path, wait_s=0.2)
    assert time.monotonic() - start < 5
    line = str(refused.value)
    assert "\n" not in line and f"process {other_process.pid} on host" in line


def test_the_lock_dies_with_its_process(tmp_path, other_process):
    other_process.kill()
    other_process.wait()
    assert held(tmp_path) is False
    with DirectoryLock(tmp_path) as lock:
        assert lock.locked and held(tmp_path) is True
    assert held(tmp_path) is False


def test_the_holder_may_take_it_again(tmp_path):
    assert held(tmp_path) is False  # never locked: no lock file
    acquire(tmp_path)
    acquire(tmp_path)
    release(tmp_path)
    assert held(tmp_path) is True
    release(tmp_path)
    assert held(tmp_path) is False
