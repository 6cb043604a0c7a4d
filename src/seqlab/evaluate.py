"""evaluate(cfg): test a trained checkpoint on its data (or overridden data)."""

from __future__ import annotations

import inspect
import logging
import time
from pathlib import Path
from typing import Any

import torch
from hydra.utils import get_class
from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import ConfigKeyError

from seqlab.build import build, build_all, build_trainer, setup_torch
from seqlab.callbacks import scalar_metrics
from seqlab.config import ConfigError, to_plain, validate
from seqlab.confusion import test_tag_report
from seqlab.length_generalization import run_if_asked
from seqlab.rundir import RunRecord

log = logging.getLogger(__name__)


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
    if not isinstance(ckpt, dict) or "seqlab_config" not in ckpt:
        raise ConfigError(f"ckpt_path={path}: not a seqlab checkpoint (no seqlab_config inside)")
    return ckpt


def checkpoint_data_config(ckpt: dict, overrides: DictConfig | dict | None) -> DictConfig:
    """The checkpoint's data config with `overrides` applied; unknown keys are errors."""
    data = OmegaConf.create(ckpt["seqlab_config"]["data"])
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


def evaluate(cfg: DictConfig, parallel_jobs: int = 1) -> dict[str, Any]:
    """Run the test split through the checkpoint's model; write metrics.json; return it."""
    run_dir = Path(cfg.paths.output_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    ckpt = load_checkpoint(cfg.ckpt_path)  # errors name the path as the user gave it
    ckpt_path = Path(cfg.ckpt_path).resolve()
    data_cfg = checkpoint_data_config(ckpt, cfg.get("data"))
    start = time.time()
    record = RunRecord(run_dir, status="running", ckpt_path=str(ckpt_path))
    try:
        setup_torch(cfg, parallel_jobs)
        model_cls = get_class(ckpt["seqlab_config"]["model"]["_target_"])
        model = model_cls.load_from_checkpoint(ckpt_path, map_location="cpu", weights_only=True)
        datamodule = build(data_cfg, **vocab_kwargs(model, data_cfg))
        check_compatible(model, datamodule)
        callbacks = build_all(cfg.get("callbacks"))
        trainer = build_trainer(cfg, callbacks=callbacks, loggers=build_all(cfg.get("logger")))
        trainer.test(model, datamodule=datamodule, verbose=False)
        test = scalar_metrics(trainer.callback_metrics)
        tag_report = test_tag_report(model)
        lengths = run_if_asked(cfg.get("eval"), model, to_plain(data_cfg), run_dir, trainer)
    except BaseException as e:
        record.update(status="failed", error=f"{type(e).__name__}: {e}")
        raise
    record.update(
        status="completed",
        test=test,
        data=to_plain(data_cfg),
        trained_epochs=ckpt.get("epoch", 0) + 1,
        wall_s=round(time.time() - start, 3),
        **({"test_by_tag": tag_report} if tag_report else {}),
        **({"length_generalization": lengths} if lengths else {}),
    )
    for key, value in test.items():
        log.info("%s = %.6g", key, value)
    return record.data


def vocab_kwargs(model: Any, data_cfg: DictConfig) -> dict[str, Any]:
    """`vocab=` for data that can take a trained model's vocabularies (conllu): the test
    file is then read with the words, tags and characters the model knows."""
    takes_vocab = "vocab" in inspect.signature(get_class(data_cfg._target_)).parameters
    if takes_vocab and hasattr(model, "vocabulary"):
        return {"vocab": model.vocabulary()}
    return {}


def check_compatible(model: Any, datamodule: Any) -> None:
    """The data must describe the inputs the model was trained on (same vocabularies...)."""
    for key, value in datamodule.model_kwargs().items():
        if key in model.hparams and model.hparams[key] != value:
            raise ConfigError(f"data does not match the checkpoint's model: {key} differs")
