"""The run directory contract: what every run leaves behind, and how it is written.

    <run>/.hydra/            resolved config.yaml, hydra.yaml, overrides.yaml (by Hydra)
    <run>/metrics.json       status, final and best metrics, history, epochs, wall_s
    <run>/checkpoints/       last.ckpt and best.ckpt
    <run>/tensorboard/       TensorBoard event files
    <run>/<task>.log         the log (train.log, eval.log)

`status` is "running" while a job trains, then "completed", "failed" or "diverged".
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

METRICS_FILE = "metrics.json"
LAST_CHECKPOINT = "checkpoints/last.ckpt"
FINISHED = ("completed", "diverged")  # a run in these states is not trained again


def metric_name(key: str) -> str:
    """The name a metric has in metrics.json: Lightning's key without its `_epoch` suffix
    (a value logged per step and per epoch is `x_step`/`x_epoch` in Lightning, `x` here)."""
    return key.removesuffix("_epoch")


def write_json_atomic(path: str | Path, data: Any) -> None:
    """Write JSON so that a reader (or a crash) sees the old file or the new one, never half.

    The data goes to a temporary file in the same directory, is flushed to disk, and then
    replaces `path` in one rename.
    """
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as f:
            json.dump(data, f, indent=2, allow_nan=True)
            f.write("\n")
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)  # mkstemp makes it private; run files are meant to be shared
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


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
