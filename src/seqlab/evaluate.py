"""evaluate(cfg): test a trained checkpoint on its data (or overridden data), then run the
configured per-run analyses on it, as training does after its own test."""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

import lightning as L
from hydra.utils import get_class
from omegaconf import DictConfig

from seqlab.analysis.base import RunContext, run_analyses
from seqlab.build import build, build_all, build_trainer, setup_torch
from seqlab.checkpoints import checkpoint_data_config, load_checkpoint, load_model
from seqlab.config import ConfigError, to_plain
from seqlab.contracts import HasVocabulary, ReadsWithVocabulary
from seqlab.files import storage_error
from seqlab.loggers import record_end_with_trackers
from seqlab.names import COMPLETED, FAILED, RUNNING, scalar_metrics
from seqlab.provenance import code_provenance, describe_device
from seqlab.rundir import RunRecord, failure
from seqlab.trust import check_trusted_targets

log = logging.getLogger(__name__)


def evaluate(cfg: DictConfig, parallel_jobs: int = 1) -> dict[str, Any]:
    """Run the test split through the checkpoint's model; write metrics.json; return it."""
    run_dir = Path(cfg.paths.output_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    # Errors name the path as the user gave it; nothing it names is imported unless trusted.
    ckpt = load_checkpoint(cfg.ckpt_path, check_trusted_targets(cfg.get("trusted_targets")))
    ckpt_path = Path(cfg.ckpt_path).resolve()
    data_cfg = checkpoint_data_config(ckpt, cfg.get("data"))
    start = time.time()
    record = RunRecord(
        run_dir, status=RUNNING, ckpt_path=str(ckpt_path), provenance=code_provenance()
    )
    trainer = None
    try:
        setup_torch(cfg, parallel_jobs)
        model = load_model(ckpt_path, ckpt)
        datamodule = build_data_for(model, data_cfg)
        check_compatible(model, datamodule)
        callbacks = build_all(cfg.get("callbacks"))
        trainer = build_trainer(cfg, callbacks=callbacks, loggers=build_all(cfg.get("logger")))
        trainer.test(model, datamodule=datamodule, verbose=False)
        test = scalar_metrics(trainer.callback_metrics)
        context = RunContext(model, datamodule, trainer, run_dir)
        analyses = run_analyses(build_all(cfg.get("analysis")), context)
    except BaseException as e:
        storage = storage_error(e, run_dir)
        loggers = trainer.loggers if trainer is not None else []
        record_end_with_trackers(
            loggers, record, record.record_end, status=FAILED, error=failure(storage or e)
        )
        if storage is not None:
            raise storage from e
        raise
    record_end_with_trackers(
        trainer.loggers,
        record,
        record.update,
        status=COMPLETED,
        test=test,
        data=to_plain(data_cfg),
        trained_epochs=ckpt.get("epoch", 0) + 1,
        device=describe_device(trainer.strategy.root_device),
        wall_s=round(time.time() - start, 3),
        **analyses,
    )
    for key, value in test.items():
        log.info("%s = %.6g", key, value)
    return record.data


def build_data_for(model: L.LightningModule, data_cfg: DictConfig) -> L.LightningDataModule:
    """The checkpoint's data. Data that can read new text with a trained model's
    vocabularies (ReadsWithVocabulary, e.g. CoNLL-U) takes the model's (HasVocabulary), so
    words the model never saw read as <unk>."""
    data_cls = get_class(data_cfg._target_)
    if isinstance(model, HasVocabulary) and issubclass(data_cls, ReadsWithVocabulary):
        settings = {k: v for k, v in to_plain(data_cfg).items() if k != "_target_"}
        return data_cls.with_vocabulary(model.vocabulary(), **settings)
    return build(data_cfg)


def check_compatible(model: Any, datamodule: Any) -> None:
    """The data must describe the inputs the model was trained on (same vocabularies...)."""
    for key, value in datamodule.model_kwargs().items():
        if key in model.hparams and model.hparams[key] != value:
            raise ConfigError(f"data does not match the checkpoint's model: {key} differs")
