"""The run directory contract: what every run leaves behind, and how it is written.

    <run>/.hydra/            resolved config.yaml, hydra.yaml, overrides.yaml (by Hydra)
    <run>/metrics.json       status, final and best metrics, history, epochs, wall_s
    <run>/checkpoints/       last.ckpt and best.ckpt
    <run>/tensorboard/       TensorBoard event files
    <run>/<task>.log         the log (train.log, eval.log)
    <run>/confusion_test.*   a tested tagger's confusion matrix (PNG and CSV)

`status` is "running" while a job trains, then "completed", "failed" or "diverged".
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, BinaryIO

METRICS_FILE = "metrics.json"
LAST_CHECKPOINT = "checkpoints/last.ckpt"
FINISHED = ("completed", "diverged")  # a run in these states is not trained again


def metric_name(key: str) -> str:
    """The name a metric has in metrics.json: Lightning's key without its `_epoch` suffix
    (a value logged per step and per epoch is `x_step`/`x_epoch` in Lightning, `x` here)."""
    return key.removesuffix("_epoch")


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
