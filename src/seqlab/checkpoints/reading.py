"""Reading seqlab checkpoints as plain data, and the model and data config they hold.

Nothing a checkpoint names is imported unless seqlab.trust allows it: `load_checkpoint`
checks every `_target_` first, so a hostile checkpoint is refused before it can run code.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import lightning as L
import torch
from hydra.utils import get_class
from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import ConfigKeyError

from seqlab.checks import validate
from seqlab.config import ConfigError
from seqlab.trust import CONFIG_KEY, check_checkpoint


def load_checkpoint(path: str | Path, trusted: Iterable[str] = ()) -> dict[str, Any]:
    """Read a seqlab checkpoint as plain data (no code runs: `weights_only=True`), and
    refuse one whose config names anything to build outside seqlab.trust's allowlist and
    `trusted` (import paths the user trusts)."""
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
    config = ckpt[CONFIG_KEY]
    if not all(isinstance(config, dict) and isinstance(config.get(k), dict) for k in KEYS):
        raise ConfigError(
            f"ckpt_path={path}: not a seqlab checkpoint ({CONFIG_KEY} lacks a model or data config)"
        )
    check_checkpoint(ckpt, f"ckpt_path={path}", trusted)
    return ckpt


KEYS = ("model", "data")


def model_target(ckpt: dict[str, Any]) -> str:
    """The import path of the LightningModule a checkpoint holds."""
    return ckpt[CONFIG_KEY]["model"].get("_target_", "?")


def load_model(path: str | Path, ckpt: dict[str, Any]) -> L.LightningModule:
    """The LightningModule of a checkpoint that `load_checkpoint` read (and so checked), on
    the CPU, in evaluation mode."""
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
