"""Finding runs on disk and reading what each recorded, quickly, for any number of them.

A run directory is one with `.hydra/overrides.yaml` (what Hydra writes for every run and
every job of a sweep); a sweep directory is one with Hydra's `multirun.yaml`. `find_runs`
walks run directories, sweep directories or whole roots at any depth.

Reading a run means parsing its `metrics.json`, which holds the resolved config
(train() records it) and every epoch's metrics; for thousands of runs of many epochs the
histories dominate. Each sweep therefore keeps an index, `.seqlab-index.json`, of what its
jobs recorded without their histories, each entry stamped with the inode, size and
modification time of the files it was read from. An entry is used only while every stamp
still matches, so a job that changed since (every write of seqlab is a rename, which gives
a new inode), or whose files were deleted, is read again: the index is never trusted
stale. It is a cache: a sweep directory that cannot be written is read all the same, and
deleting the file loses nothing.

No pandas here: seqlab.results.frames makes the tables.
"""

from __future__ import annotations

import contextlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from seqlab.config import flat_values
from seqlab.files import write_text_atomic
from seqlab.names import PENDING, UNREADABLE
from seqlab.rundir import METRICS_FILE, read_metrics
from seqlab.sweeps.jobs import (
    YAML_LOADER,
    job_directories,
    job_order,
    live_metrics,
    read_overrides,
)

INDEX_FILE = ".seqlab-index.json"
INDEX_VERSION = 1
SWEEP_MARK = "multirun.yaml"  # Hydra writes it in every sweep directory
_STAMPED = (".hydra/overrides.yaml", ".hydra/config.yaml", METRICS_FILE)


@dataclass
class RunEntry:
    """One run as recorded on disk: where it is, the sweep it belongs to (or None), its
    overrides and flattened config, and its metrics.json without the history (read on
    demand: `history()`)."""

    path: Path
    sweep: Path | None
    job: str | None
    overrides: dict[str, str]
    config: dict[str, Any]
    metrics: dict[str, Any] = field(repr=False)
    _history: list[dict[str, Any]] | None = field(default=None, repr=False)

    @property
    def status(self) -> str:
        return self.metrics.get("status", PENDING)

    def history(self) -> list[dict[str, Any]]:
        """metrics.json's epochs, read now (and kept)."""
        if self._history is None:
            self._history = list(read_metrics(self.path).get("history") or [])
        return self._history


def find_runs(paths: list[Path]) -> list[RunEntry]:
    """Every run under `paths` (run directories, sweep directories, roots), each once, in
    the order found: the paths as given, sorted names within each."""
    entries: dict[Path, RunEntry] = {}
    for path in paths:
        if not path.exists():
            raise FileNotFoundError(f"{path}: no such file or directory")
        if not path.is_dir():
            raise NotADirectoryError(f"{path}: not a directory (give a run, a sweep or a root)")
        for entry in _found(path.absolute()):
            entries.setdefault(entry.path, entry)
    return list(entries.values())


def _found(path: Path) -> list[RunEntry]:
    if (path / SWEEP_MARK).is_file():
        return read_sweep(path)
    if (path / ".hydra" / "overrides.yaml").is_file():
        sweep = path.parent if (path.parent / SWEEP_MARK).is_file() else None
        job = path.name if sweep else None
        return [read_run(path, sweep, job)]
    found: list[RunEntry] = []
    for child in sorted(path.iterdir()):
        if child.is_dir() and not child.name.startswith("."):
            found += _found(child)
    return found


def read_run(path: Path, sweep: Path | None = None, job: str | None = None) -> RunEntry:
    """One run, read from its files, with its live status."""
    return _live_status(_read_recorded(path, sweep, job))


def _read_recorded(path: Path, sweep: Path | None, job: str | None) -> RunEntry:
    """One run as its files say, whether or not a process still holds it."""
    overrides, unreadable = read_overrides(path / ".hydra" / "overrides.yaml")
    metrics = unreadable or read_metrics(path)
    history = metrics.pop("history", None)
    # The resolved config that train() recorded; else (a job that never started, a run of
    # an older seqlab) the config as Hydra saved it, its interpolations unresolved.
    config = {**metrics.pop("config", {}), **metrics.pop("choices", {})}
    if not config:
        config, config_error = read_config(path / ".hydra" / "config.yaml")
        if config_error and metrics.get("status") != UNREADABLE:
            metrics = {**metrics, "config_error": config_error}
    return RunEntry(path, sweep, job, overrides, config, metrics, history)


def _live_status(entry: RunEntry) -> RunEntry:
    entry.metrics = live_metrics(entry.path, entry.metrics)
    return entry


def read_config(path: Path) -> tuple[dict[str, Any], str | None]:
    """A run's config as Hydra saved it (`.hydra/config.yaml`, interpolations unresolved)
    flattened to dotted keys, and None; or {} and why it could not be read."""
    try:
        tree = yaml.load(path.read_bytes(), Loader=YAML_LOADER)
    except FileNotFoundError:
        return {}, None
    except (OSError, ValueError, yaml.YAMLError) as e:
        return {}, f"{path}: {str(e).splitlines()[0] if str(e) else type(e).__name__}"
    return flat_values(tree) if isinstance(tree, dict) else {}, None


# --------------------------------------------------------------------------------------------
# A sweep's index


def read_sweep(sweep: Path) -> list[RunEntry]:
    """Every job of a sweep, through its index: a job whose files changed since it was
    indexed (or that has no entry) is read again, and the index rewritten."""
    index_path = sweep / INDEX_FILE
    index = _read_index(index_path)
    fresh: dict[str, Any] = {}
    entries = []
    changed = False
    for job_dir in job_directories(sweep):
        name = job_dir.relative_to(sweep).as_posix()
        stamp = _stamp(job_dir)
        cached = index.get(name)
        if cached is not None and cached.get("stamp") == stamp:
            entry = RunEntry(
                job_dir, sweep, name, cached["overrides"], cached["config"], cached["metrics"]
            )
            entries.append(_live_status(entry))
        else:
            entry = _read_recorded(job_dir, sweep, name)
            entries.append(_live_status(entry))
            # As recorded: a `running` job's lock is asked again at every load.
            cached = {
                "stamp": stamp,
                "overrides": entry.overrides,
                "config": entry.config,
                "metrics": entry.metrics,
            }
            changed = True
        fresh[name] = cached
    if changed or set(fresh) != set(index):
        with contextlib.suppress(OSError):  # a cache: a read-only sweep is read all the same
            # Compact: json's C encoder writes it (an indented dump is Python's, many times slower).
            index = {"version": INDEX_VERSION, "jobs": fresh}
            write_text_atomic(index_path, json.dumps(index, separators=(",", ":")))
    return sorted(entries, key=lambda e: job_order(e.job or ""))


def _read_index(path: Path) -> dict[str, Any]:
    try:
        index = json.loads(path.read_bytes())
    except (OSError, ValueError):
        return {}
    if not isinstance(index, dict) or index.get("version") != INDEX_VERSION:
        return {}
    jobs = index.get("jobs")
    return jobs if isinstance(jobs, dict) else {}


def _stamp(job_dir: Path) -> list[list[int] | None]:
    """(inode, size, mtime in ns) of each file a job's entry is read from; None where absent."""
    stamps: list[list[int] | None] = []
    for name in _STAMPED:
        try:
            st = os.stat(job_dir / name)
        except OSError:
            stamps.append(None)
        else:
            stamps.append([st.st_ino, st.st_size, st.st_mtime_ns])
    return stamps
