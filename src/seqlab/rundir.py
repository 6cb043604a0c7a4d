"""The run directory contract: what every run leaves behind, and how it is written.

`CONTRACT` lists the entries (docs/runs.md's "Run directory" section shows the same list, and
a test keeps the two in step). metrics.json's `status` is one of seqlab.names' statuses.
Files are written atomically, so a reader, a crash or a kill never sees half a file.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, BinaryIO

from seqlab.names import FAILED

METRICS_FILE = "metrics.json"
CHECKPOINT_DIR = "checkpoints"
LAST_CHECKPOINT = f"{CHECKPOINT_DIR}/last.ckpt"

# (entry, what it holds); `when` entries exist only for some runs.
CONTRACT: tuple[tuple[str, str], ...] = (
    (".hydra/", "config.yaml (resolved config), overrides.yaml, hydra.yaml"),
    ("metrics.json", "status, final and best metrics, history, epochs, wall_s"),
    ("checkpoints/", "best.ckpt (best monitored value) and last.ckpt"),
    ("tensorboard/", "event files: scalars, hparams, figures, tagged examples"),
    ("<task>.log", "the run's log: train.log, eval.log"),
    ("predictions.png", "(regressor) predictions against targets on the validation set"),
    ("length_generalization.{csv,md,png}", "(with eval.lengths) MSE by test length"),
    ("curriculum.{csv,md,png}", "(experiment=curriculum) final losses of each stage"),
    ("confusion_test.{csv,png}", "(a tested tagger) its confusion matrix"),
    ("hpc_ckpt_<n>.ckpt", "(after SIGUSR1 on SLURM) Lightning's checkpoint before a requeue"),
)


def failure(error: BaseException) -> str:
    """How metrics.json records an error: its type and message."""
    return f"{type(error).__name__}: {error}"


def record_failure(run_dir: str | Path, error: BaseException) -> None:
    """Mark a run failed with `error`, unless it already recorded its own failure."""
    if read_metrics(run_dir).get("status") != FAILED:
        RunRecord(run_dir, status=FAILED, error=failure(error))


TEMP_SUFFIX = ".tmp"  # `.<name>.<random>.tmp` beside the file it will replace


def write_atomic(path: str | Path, write: Callable[[BinaryIO], Any]) -> None:
    """Write a file so that a reader (or a crash, or a kill) sees the old file or the new
    one, never half: `write` fills a temporary file in the same directory, which is flushed
    to disk and then replaces `path` in one rename. On an error the old file is untouched.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=TEMP_SUFFIX)
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)  # mkstemp makes it private; run files are meant to be shared
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def link_atomic(source: str | Path, path: str | Path) -> bool:
    """Make `path` a second name (a hard link) of the finished file `source`, replacing
    `path` in one rename, as `write_atomic` does. False, with nothing changed, where the
    filesystem has no hard links: the caller then writes the file itself.

    `source` stays valid as long as every writer replaces files (`write_atomic`) rather than
    writing into them: a later write of `source` gives it a new file and leaves `path` as it
    was.
    """
    path = Path(path)
    tmp = path.parent / f".{path.name}.{os.urandom(4).hex()}{TEMP_SUFFIX}"
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


def write_json_atomic(path: str | Path, data: Any) -> None:
    """Write `data` as JSON with `write_atomic`."""
    text = json.dumps(data, indent=2, allow_nan=True) + "\n"
    write_atomic(path, lambda f: f.write(text.encode()))


def remove_stale_temporaries(run_dir: str | Path) -> list[Path]:
    """Delete the temporary files a killed run left behind. They are never read: a
    temporary becomes a checkpoint or metrics.json only by its final rename."""
    run_dir = Path(run_dir)
    stale = [
        path
        for folder in (run_dir, run_dir / "checkpoints")
        if folder.is_dir()
        for path in folder.glob(f".*{TEMP_SUFFIX}")
    ]
    for path in stale:
        path.unlink(missing_ok=True)
    return stale


def read_metrics(run_dir: str | Path) -> dict[str, Any]:
    """A run's metrics.json, or {} when it has none (yet)."""
    path = Path(run_dir) / METRICS_FILE
    return json.loads(path.read_text()) if path.is_file() else {}


class RunRecord:
    """metrics.json of one run, rewritten atomically on every update.

    `write=False` keeps the record in memory only: under data-parallel training every
    process runs the same code, and only the first (rank 0) writes the run's files.
    """

    def __init__(self, run_dir: str | Path, write: bool = True, **fields: Any) -> None:
        self.path = Path(run_dir) / METRICS_FILE
        self.write = write
        self.data: dict[str, Any] = {}
        self.update(**fields)

    def update(self, **fields: Any) -> None:
        self.data.update(fields)
        if self.write:
            write_json_atomic(self.path, self.data)
