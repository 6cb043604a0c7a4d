"""Writing files so that nothing already written is lost: one helper for every file seqlab
writes (metrics.json, checkpoints, report tables, plots, the TensorBoard view's experiment,
a study's results), and one-line errors when the disk is full, over quota or read-only.

`write_atomic` fills a temporary file beside the target and renames it over the target:
a reader, a crash or a kill sees the old file or the new one, never half of either.
"""

from __future__ import annotations

import errno
import json
import os
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, BinaryIO

TEMP_SUFFIX = ".tmp"  # `.<name>.<random>.tmp` beside the file it will replace
# Where a write fails for want of room or permission to write, not for a bug: these become a
# one-line StorageError naming the path.
STORAGE_ERRNOS = {errno.ENOSPC: "ENOSPC", errno.EDQUOT: "EDQUOT", errno.EROFS: "EROFS"}


class StorageError(OSError):
    """A write refused by the storage (full disk, quota, read-only file system); its text
    is one line: the path and the cause."""

    def __str__(self) -> str:
        cause = f"{self.strerror} ({STORAGE_ERRNOS.get(self.errno, self.errno)})"
        return f"{self.filename}: {cause}" if self.filename else cause


def causes(error: BaseException) -> Iterator[BaseException]:
    """`error`, then what it was raised from or while handling, and so on down."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def storage_error(error: BaseException, path: str | Path | None = None) -> StorageError | None:
    """The StorageError behind `error`, if a full disk, a quota or a read-only file system
    caused it: `error` itself, or an OSError among its `causes` (torch's writer, for one,
    turns the OSError of a failed write into a RuntimeError). None else."""
    for cause in causes(error):
        if isinstance(cause, StorageError):
            return cause
        if isinstance(cause, OSError) and cause.errno in STORAGE_ERRNOS:
            where = cause.filename or (str(path) if path is not None else None)
            return StorageError(cause.errno, os.strerror(cause.errno), where)
    return None


def unwritable(error: BaseException) -> str | None:
    """One line for an error that comes from where output goes, or None: a full disk, a
    quota or a read-only file system anywhere among its causes (Hydra reports the log file
    it could not open as "Unable to configure handler 'file'"), or else the first OSError
    among them that names a path (`<path>: Not a directory`)."""
    if (storage := storage_error(error)) is not None:
        return str(storage)
    for cause in causes(error):
        if isinstance(cause, OSError) and cause.filename is not None:
            return f"{cause.filename}: {cause.strerror}"
    return None


def within(path: str | Path, directory: str | Path) -> str:
    """`path` relative to `directory` when it lies inside it, else absolute: how a run
    records its own files (so a moved run still reads right) and how commands show paths."""
    path, directory = Path(path).resolve(), Path(directory).resolve()
    return str(path.relative_to(directory) if path.is_relative_to(directory) else path)


def _temporary_name(path: Path) -> str:
    # TensorBoard reads every file whose name holds "tfevents": a temporary must not.
    return f".{path.name.replace('tfevents', 'tfev')}."


def write_atomic(path: str | Path, write: Callable[[BinaryIO], Any]) -> None:
    """Write a file so that a reader (or a crash, or a kill) sees the old file or the new
    one, never half: `write` fills a temporary file in the same directory, which is flushed
    to disk and then replaces `path` in one rename. On an error the old file is untouched,
    the temporary is removed, and a full disk, a quota or a read-only file system raises a
    StorageError naming `path`."""
    path = Path(path)
    tmp = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(
            dir=path.parent, prefix=_temporary_name(path), suffix=TEMP_SUFFIX
        )
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)  # mkstemp makes it private; run files are meant to be shared
        os.replace(tmp, path)
    except BaseException as e:
        if tmp is not None:
            Path(tmp).unlink(missing_ok=True)
        if (storage := storage_error(e, path)) is not None:
            raise StorageError(storage.errno, storage.strerror, str(path)) from e
        raise


def remove_temporaries(*folders: Path) -> list[Path]:
    """Delete the temporaries (`.<name>.<random>.tmp`) in `folders` that a killed writer
    left behind; they are never read, since a temporary becomes its file only by the final
    rename. Only the directory's lock holder may call this (seqlab.locking): another
    process's temporary may be in flight. The files removed."""
    stale = [
        path for folder in folders if folder.is_dir() for path in folder.glob(f".*{TEMP_SUFFIX}")
    ]
    for path in stale:
        path.unlink(missing_ok=True)
    return stale


def write_bytes_atomic(path: str | Path, data: bytes) -> None:
    write_atomic(path, lambda f: f.write(data))


def write_text_atomic(path: str | Path, text: str) -> None:
    write_atomic(path, lambda f: f.write(text.encode()))


def read_json_object(path: str | Path) -> dict[str, Any]:
    """A JSON object a writer here left whole (plan.json, race.json, pbt.json), or {} when
    the file is missing, cannot be read, or holds something else."""
    try:
        data = json.loads(Path(path).read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def write_json_atomic(path: str | Path, data: Any) -> None:
    """Write `data` as JSON with `write_atomic`."""
    write_text_atomic(path, json.dumps(data, indent=2, allow_nan=True) + "\n")


def overwrite_within(path: Path, data: dict[str, Any], drop: tuple[str, ...] = ()) -> None:
    """Write `data` as JSON into the file `path` in place, within the blocks it has (so no
    new block is needed on a full disk), leaving out the keys `drop` if it would not fit
    otherwise. Not atomic: only for the last word of a run that can write nothing else."""
    stat = path.stat()
    size = max(stat.st_size, stat.st_blocks * 512)  # the blocks it has, used to the end or not
    text = json.dumps(data, allow_nan=True) + "\n"
    if len(text.encode()) > size:
        text = json.dumps({k: v for k, v in data.items() if k not in drop}, allow_nan=True) + "\n"
    encoded = text.encode()
    if len(encoded) > size:
        raise StorageError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))
    fd = os.open(path, os.O_WRONLY)
    try:
        os.pwrite(fd, encoded, 0)
        os.ftruncate(fd, len(encoded))
        os.fsync(fd)
    finally:
        os.close(fd)


def link_atomic(source: str | Path, path: str | Path) -> bool:
    """Make `path` a second name (a hard link) of the finished file `source`, replacing
    `path` in one rename, as `write_atomic` does. False, with nothing changed, where the
    filesystem has no hard links: the caller then writes the file itself.

    `source` stays valid as long as every writer replaces files (`write_atomic`) rather than
    writing into them: a later write of `source` gives it a new file and leaves `path` as it
    was.
    """
    path = Path(path)
    tmp = path.parent / f"{_temporary_name(path)}{os.urandom(4).hex()}{TEMP_SUFFIX}"
    try:
        os.link(source, tmp)
    except OSError:
        return False
    try:
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return True
