"""One writer per run and per sweep: a lock on the directory, held by the process that
writes it.

The lock is an OS file lock (`flock`) on `<dir>/.seqlab.lock`, so it goes away with its
process, however that ends (kill -9, the kernel's OOM killer, a lost node's lease). A
second process that wants the directory is refused in one line naming the process and
host that hold it. A reader can ask whether a directory is held (`held`): a run whose
metrics.json says `running` while no process holds its lock was killed, and is reported as
`interrupted`.

Linux's NFS client implements `flock` with NFS byte-range locks, so the lock works across
the nodes of a cluster that share an NFS home or scratch; Lustre and BeeGFS need their
`flock` mount option, and where a file system has no locks at all seqlab warns once and
goes on without them (docs/clusters.md).

The lock file's contents (who holds it) are the one thing seqlab writes in place rather
than by renaming a new file over it: the lock belongs to the file itself, so it must stay
the same file.
"""

from __future__ import annotations

import errno
import fcntl
import json
import logging
import os
import socket
import sys
import time
from pathlib import Path

log = logging.getLogger(__name__)

LOCK_FILE = ".seqlab.lock"
# A reader's probe (`held`) takes the lock for an instant; a writer waits this long for it.
WAIT_S = 2.0
# What a file system without locks answers: go on unlocked, as before locks existed.
_UNSUPPORTED = {errno.ENOLCK, errno.EOPNOTSUPP, errno.ENOSYS, errno.EINVAL}

_held: dict[Path, list[int]] = {}  # lock file -> [fd, how many holders in this process]
_warned = False


class DirectoryInUse(RuntimeError):
    """Another process holds the directory's lock; the message is one line."""


def _lock_path(directory: str | Path) -> Path:
    return Path(directory).resolve() / LOCK_FILE


def holder_of(directory: str | Path) -> str:
    """Who holds (or last held) a directory's lock, in words."""
    try:
        info = json.loads(_lock_path(directory).read_text() or "{}")
    except (OSError, ValueError):
        info = {}
    if not info:
        return "another process"
    return (
        f"process {info.get('pid', '?')} on host {info.get('host', '?')} "
        f"(since {info.get('since', '?')}: {info.get('command', '?')})"
    )


def acquire(directory: str | Path, wait_s: float = WAIT_S) -> bool:
    """Take the lock on `directory` for this process (again, if it holds it already);
    False where the file system has no locks. Raises DirectoryInUse when another process
    holds it past `wait_s`."""
    global _warned
    path = _lock_path(directory)
    if path in _held:
        _held[path][1] += 1
        return True
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    deadline = time.monotonic() + wait_s
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            break
        except BlockingIOError:
            if time.monotonic() >= deadline:
                os.close(fd)
                raise DirectoryInUse(
                    f"{path.parent} is in use by {holder_of(path.parent)}: one process "
                    "writes a run or sweep at a time; wait for it to end, or stop it"
                ) from None
            time.sleep(0.05)
        except OSError as e:
            os.close(fd)
            if e.errno not in _UNSUPPORTED:
                raise
            if not _warned:
                log.warning("%s: this file system has no file locks; going on without", path)
                _warned = True
            return False
    info = {
        "pid": os.getpid(),
        "host": socket.gethostname(),
        "since": time.strftime("%Y-%m-%d %H:%M:%S"),
        "command": " ".join([Path(sys.argv[0]).name, *sys.argv[1:]])[:300],
    }
    os.ftruncate(fd, 0)
    os.pwrite(fd, (json.dumps(info) + "\n").encode(), 0)
    _held[path] = [fd, 1]
    return True


def release(directory: str | Path) -> None:
    """Give back one hold of this process on `directory`'s lock."""
    path = _lock_path(directory)
    entry = _held.get(path)
    if entry is None:
        return
    entry[1] -= 1
    if entry[1] == 0:
        del _held[path]
        os.close(entry[0])  # closing the file releases the lock


def release_all(directory: str | Path) -> None:
    """Give back every hold of this process on `directory`'s lock: for a caller that
    outlives the runs it started (a notebook's kernel), once they are over."""
    entry = _held.pop(_lock_path(directory), None)
    if entry is not None:
        os.close(entry[0])


class DirectoryLock:
    """`with DirectoryLock(run_dir):` holds the lock for the block (see `acquire`)."""

    def __init__(self, directory: str | Path) -> None:
        self.directory = directory
        self.locked = False

    def __enter__(self) -> DirectoryLock:
        self.locked = acquire(self.directory)
        return self

    def __exit__(self, *exc: object) -> None:
        if self.locked:
            release(self.directory)


def held(directory: str | Path) -> bool | None:
    """Whether some process holds `directory`'s lock now: True, False (no process does,
    or the directory never had one), or None where the file system cannot tell."""
    path = _lock_path(directory)
    if path in _held:
        return True
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return False
    except OSError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    except OSError:
        return None
    finally:
        os.close(fd)  # also gives back the probe's own lock, at once
    return False
