"""The run directory contract: what every run leaves behind, and how it is written.

`CONTRACT` lists the entries (docs/runs.md's "Run directory" section shows the same list, and
a test keeps the two in step). metrics.json's `status` is one of seqlab.names' statuses.
Files are written atomically, so a reader, a crash or a kill never sees half a file.
"""

from __future__ import annotations

import errno
import json
from pathlib import Path
from typing import Any

from seqlab.files import StorageError, overwrite_within, remove_temporaries, write_json_atomic
from seqlab.names import FAILED, UNREADABLE

METRICS_FILE = "metrics.json"
CHECKPOINT_DIR = "checkpoints"
LAST_CHECKPOINT = f"{CHECKPOINT_DIR}/last.ckpt"

# (entry, what it holds); `when` entries exist only for some runs.
CONTRACT: tuple[tuple[str, str], ...] = (
    (".hydra/", "config.yaml (resolved config), overrides.yaml, hydra.yaml"),
    (".seqlab.lock", "held by the process that writes the run (one writer at a time)"),
    ("metrics.json", "status, final and best metrics, history, epochs, wall_s"),
    ("checkpoints/", "best.ckpt (best monitored value) and last.ckpt"),
    ("tensorboard/", "event files: scalars, hparams, figures, tagged examples"),
    ("<task>.log", "the run's log: train.log, eval.log"),
    ("predictions.png", "(regressor) predictions against targets on the validation set"),
    ("length_generalization.{csv,md,png}", "(with eval.lengths) MSE by test length"),
    ("curriculum.{csv,md,png}", "(experiment=curriculum) final losses of each stage"),
    ("confusion_test.{csv,png}", "(a tested tagger) its confusion matrix"),
    ("mlflow.json", "(logger=mlflow) the MLflow run it logs to, which resume= continues"),
    ("wandb.json, wandb/", "(logger=wandb) the W&B run's id, and W&B's offline run files"),
    ("hpc_ckpt_<n>.ckpt", "(after SIGUSR1 on SLURM) Lightning's checkpoint before a requeue"),
    (
        "metrics.json.generation<g>",
        "(a PBT member) the record of its run that ended (failed, diverged, stopped early), "
        "put aside when it copied another",
    ),
)


def failure(error: BaseException) -> str:
    """How metrics.json records an error: its type and message."""
    return f"{type(error).__name__}: {error}"


def first_line(error: BaseException) -> str:
    """An error's message in one line, for a warning or a refusal: its first non-empty
    line, or its type when it has no message (MLflow's and W&B's run to many lines)."""
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


def record_failure(run_dir: str | Path, error: BaseException) -> None:
    """Mark a run failed with `error`, unless it already recorded its own failure."""
    if read_metrics(run_dir).get("status") != FAILED:
        RunRecord(run_dir, status=FAILED, error=failure(error))


def remove_stale_temporaries(run_dir: str | Path) -> list[Path]:
    """Delete the temporary files a killed run left behind. They are never read: a
    temporary becomes a checkpoint or metrics.json only by its final rename."""
    run_dir = Path(run_dir)
    return remove_temporaries(run_dir, run_dir / CHECKPOINT_DIR)


def read_metrics(run_dir: str | Path) -> dict[str, Any]:
    """A run's metrics.json, or {} when it has none (yet). One that cannot be read (torn
    by a full disk, edited by hand, not a file seqlab wrote) is
    `{"status": "unreadable", "error": "<file>: <why>"}`: reported, and carried on by
    `resume=`, but never fatal to a reader."""
    path = Path(run_dir) / METRICS_FILE
    try:
        metrics = json.loads(path.read_bytes())
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as e:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        return {"status": UNREADABLE, "error": f"{path}: {_why(e)}"}
    if not isinstance(metrics, dict):
        return {"status": UNREADABLE, "error": f"{path}: not a JSON object"}
    return metrics


def _why(error: Exception) -> str:
    if isinstance(error, OSError):
        return error.strerror or type(error).__name__
    return f"{type(error).__name__}: {str(error).splitlines()[0]}"


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

    def record_end(self, **fields: Any) -> None:
        """`update` with how a run ended, even on a full disk: where no new file fits, the
        record goes into the blocks metrics.json already has (without its history, which
        the checkpoints keep, if it would not fit). The one write seqlab makes in place: a
        kill at that instant leaves an unreadable metrics.json, which `resume=` carries on
        from the checkpoints."""
        try:
            self.update(**fields)
        except StorageError as e:
            if e.errno == errno.EROFS or not self.write or not self.path.is_file():
                raise
            overwrite_within(self.path, self.data, drop=("history",))
