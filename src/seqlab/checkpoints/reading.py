"""Reading seqlab checkpoints as plain data, and the model and data config they hold."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import lightning as L
import torch
from hydra.utils import get_class
from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import ConfigKeyError

from seqlab.checkpoints.io import CONFIG_KEY
from seqlab.checks import validate
from seqlab.config import ConfigError


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
