"""The loggers a run's `logger` config group builds (conf/logger/): TensorBoard (the
default), and the trackers MLflow and W&B, whose modules import their packages only when
they are used."""

from __future__ import annotations

from typing import Any

from seqlab.loggers.tensorboard import TensorBoardLogger, tensorboard_writers

__all__ = ["MLFlowLogger", "TensorBoardLogger", "WandbLogger", "tensorboard_writers"]


def __getattr__(name: str) -> Any:
    # `_target_: seqlab.loggers.MLFlowLogger` resolves here, importing mlflow's logger only
    # for a run that asks for it.
    if name == "MLFlowLogger":
        from seqlab.loggers.mlflow import MLFlowLogger

        return MLFlowLogger
    if name == "WandbLogger":
        from seqlab.loggers.wandb import WandbLogger

        return WandbLogger
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
