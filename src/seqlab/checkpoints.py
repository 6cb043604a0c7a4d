"""Checkpoints: written atomically and never diverged, read as plain data, resumed from.

Every read uses `torch.load(..., weights_only=True)`, which refuses anything that would run
code: seqlab's checkpoints hold tensors and plain data (hyperparameters, vocabularies, the
resolved config as `seqlab_config`, callback states) and nothing else.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import lightning as L
import torch
from hydra.utils import get_class
from lightning.fabric.plugins import TorchCheckpointIO
from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import ConfigKeyError

from seqlab.checks import validate
from seqlab.config import ConfigError
from seqlab.rundir import LAST_CHECKPOINT, write_atomic

log = logging.getLogger(__name__)

CONFIG_KEY = "seqlab_config"  # where a checkpoint keeps the run's resolved config


# --------------------------------------------------------------------------------------------
# Writing


def finite_weights(checkpoint: dict[str, Any]) -> bool:
    """Whether every floating-point tensor of the checkpoint's model weights is finite."""
    return all(
        bool(torch.isfinite(t).all())
        for t in checkpoint.get("state_dict", {}).values()
        if isinstance(t, torch.Tensor) and t.is_floating_point()
    )


class AtomicCheckpointIO(TorchCheckpointIO):
    """Writes every checkpoint atomically (`write_atomic`): a crash or a kill at any moment
    leaves the old file or the new one, never a torn one.

    A checkpoint whose weights are NaN or infinite (a diverged run) is not written, so the
    last good one stays in place.
    """

    def __init__(self) -> None:
        super().__init__()
        self.last_written: str | None = None  # the latest save's path, None if it was refused

    def save_checkpoint(
        self, checkpoint: dict[str, Any], path: str | Path, storage_options: Any = None
    ) -> None:
        self.last_written = None
        if not finite_weights(checkpoint):
            log.warning("not writing %s: its weights are not finite; the last good one stays", path)
            return
        write_atomic(path, lambda f: torch.save(checkpoint, f))
        self.last_written = str(path)


class ConfigInCheckpoint(L.Callback):
    """Stores the run's resolved config in every checkpoint, as plain data.

    A checkpoint then carries all it needs to be evaluated again (data settings included),
    even when it has been moved away from its run directory.
    """

    def __init__(self, config: dict) -> None:
        self.config = config

    def on_save_checkpoint(
        self, trainer: L.Trainer, pl_module: L.LightningModule, checkpoint: dict
    ) -> None:
        checkpoint[CONFIG_KEY] = self.config


# --------------------------------------------------------------------------------------------
# Reading


def load_checkpoint(path: str | Path) -> dict[str, Any]:
    """Read a seqlab checkpoint as plain data (no code runs: `weights_only=True`)."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"ckpt_path={path}: no such file")
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # torch raises many types for files that are not checkpoints
        raise ConfigError(
            f"ckpt_path={path}: not a readable checkpoint ({type(e).__name__})"
        ) from e
    if not isinstance(ckpt, dict) or CONFIG_KEY not in ckpt:
        raise ConfigError(f"ckpt_path={path}: not a seqlab checkpoint (no {CONFIG_KEY} inside)")
    return ckpt


def model_target(ckpt: dict[str, Any]) -> str:
    """The import path of the LightningModule a checkpoint holds."""
    return ckpt[CONFIG_KEY]["model"].get("_target_", "?")


def load_model(path: str | Path, ckpt: dict[str, Any] | None = None) -> L.LightningModule:
    """The LightningModule a seqlab checkpoint holds, on the CPU, in evaluation mode."""
    ckpt = ckpt or load_checkpoint(path)
    model_cls = get_class(model_target(ckpt))
    model = model_cls.load_from_checkpoint(path, map_location="cpu", weights_only=True)
    return model.eval()


def checkpoint_data_config(ckpt: dict, overrides: DictConfig | dict | None) -> DictConfig:
    """The checkpoint's data config with `overrides` applied; unknown keys are errors."""
    data = OmegaConf.create(ckpt[CONFIG_KEY]["data"])
    OmegaConf.set_struct(data, True)
    try:
        data = OmegaConf.merge(data, overrides or {})
    except ConfigKeyError as e:
        key = e.full_key if hasattr(e, "full_key") else str(e)
        raise ConfigError(
            f"data.{key}: not a key of this checkpoint's data config "
            f"(keys: {', '.join(k for k in data if k != '_target_')})"
        ) from e
    validate(OmegaConf.create({"data": data}))
    return data


# --------------------------------------------------------------------------------------------
# Resuming


def check_resumable(path: str, model: L.LightningModule) -> None:
    """The checkpoint must be a readable seqlab checkpoint of this very model: the same
    class, and weights of the same names and shapes."""
    ckpt = load_checkpoint(path)
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
                paths[name] = str(Path(path).resolve().relative_to(run_dir.resolve()))
    return paths


def __getattr__(name: str) -> Any:
    # Configs written before the checkpoint callback moved to seqlab.callbacks.checkpointing
    # name it `seqlab.checkpoints.ModelCheckpoint`.
    if name == "ModelCheckpoint":
        from seqlab.callbacks.checkpointing import ModelCheckpoint

        return ModelCheckpoint
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
