"""The loggers a run's `logger` config group builds (conf/logger/): TensorBoard (the
default), and the trackers MLflow and W&B, whose modules import their packages only when
they are used."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from seqlab.contracts import TracksRuns
from seqlab.loggers.tensorboard import TensorBoardLogger, tensorboard_writers

__all__ = [
    "MLFlowLogger",
    "TensorBoardLogger",
    "WandbLogger",
    "end_trackers",
    "record_end_with_trackers",
    "tensorboard_writers",
    "tracked",
]


def tracked(loggers: Iterable[Any]) -> dict[str, Any]:
    """metrics.json's `trackers`: each tracker's run (MLflow's run id, W&B's), or its error."""
    return {
        getattr(lg, "key", type(lg).__name__): state
        for lg in loggers
        if isinstance(lg, TracksRuns) and (state := lg.tracked())
    }


def end_trackers(loggers: Iterable[Any], record: dict[str, Any]) -> None:
    """Tell the trackers how the run ended, once metrics.json says so (they never raise)."""
    for logger in loggers:
        if isinstance(logger, TracksRuns):
            logger.end_run(record)


def record_end_with_trackers(
    loggers: Iterable[Any], record: Any, write: Callable[..., None], **fields: Any
) -> None:
    """Write how a run ended into metrics.json (`write`: its RunRecord's `update` or
    `record_end`) with its trackers' runs, then end the trackers, even if the write
    failed; a tracker that failed while ending is recorded too."""
    loggers = list(loggers)
    if before := tracked(loggers):
        fields["trackers"] = before
    try:
        write(**fields)
    finally:  # a tracker's run must end even if metrics.json cannot be written
        end_trackers(loggers, record.data)
    if (after := tracked(loggers)) != before:
        record.update(trackers=after)


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
