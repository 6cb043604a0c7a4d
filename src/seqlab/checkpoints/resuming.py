"""Which checkpoint a run carries on from, and which files a finished run holds."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import lightning as L

from seqlab.checkpoints.reading import load_checkpoint, model_target
from seqlab.config import ConfigError
from seqlab.files import within
from seqlab.rundir import LAST_CHECKPOINT


def check_resumable(path: str, model: L.LightningModule, trusted: Iterable[str] = ()) -> None:
    """The checkpoint must be a readable seqlab checkpoint of this very model: the same
    class, and weights of the same names and shapes; and name nothing to build that
    seqlab.trust does not allow, or `trusted` (the run's own config's targets) names."""
    ckpt = load_checkpoint(path, trusted)
    theirs = model_target(ckpt)
    ours = f"{type(model).__module__}.{type(model).__name__}"
    if theirs != ours:
        raise ConfigError(f"ckpt_path={path}: holds a {theirs}, this run trains a {ours}")
    shapes = {k: tuple(v.shape) for k, v in ckpt.get("state_dict", {}).items()}
    for name, tensor in model.state_dict().items():
        if shapes.get(name) != tuple(tensor.shape):
            raise ConfigError(
                f"ckpt_path={path}: weight {name} has shape {shapes.get(name)} there and "
                f"{tuple(tensor.shape)} in this run's model (compare the model settings)"
            )


def latest_checkpoint(run_dir: Path) -> str | None:
    """The checkpoint an interrupted run carries on from: checkpoints/last.ckpt (written at
    epoch ends, within ModelCheckpoint's time budget) or, if newer, the hpc_ckpt_<n>.ckpt
    that Lightning writes when SLURM signals a job with SIGUSR1 before requeueing it."""
    candidates = [run_dir / LAST_CHECKPOINT, *run_dir.glob("hpc_ckpt_*.ckpt")]
    found = [path for path in candidates if path.is_file()]
    return str(max(found, key=lambda path: path.stat().st_mtime)) if found else None


def best_checkpoint(trainer: L.Trainer) -> Path | None:
    """The run's best checkpoint file, if one was written (a diverged run may have none:
    non-finite weights are never written)."""
    callback = trainer.checkpoint_callback
    path = callback and callback.best_model_path and Path(callback.best_model_path)
    return path if path and path.is_file() else None


def checkpoint_paths(trainer: L.Trainer, run_dir: Path) -> dict[str, str]:
    """Checkpoint files of the run, relative to the run directory."""
    paths = {}
    for callback in trainer.checkpoint_callbacks:
        for name, path in (("best", callback.best_model_path), ("last", callback.last_model_path)):
            if path and Path(path).is_file():
                paths[name] = within(path, run_dir)
    # A run resumed in a moved directory can end with its callback naming no last file
    # while last.ckpt is there (written, or linked to best.ckpt): metrics.json names it.
    if "last" not in paths and (run_dir / LAST_CHECKPOINT).is_file():
        paths["last"] = LAST_CHECKPOINT
    return paths
