"""seqlab's TensorBoard logger (conf/logger/tensorboard.yaml): Lightning's, less the noise;
and the SummaryWriters a Trainer's TensorBoard loggers hand out, for figures and text."""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from lightning.fabric.utilities.logger import _add_prefix, _convert_params, _flatten_dict
from lightning.pytorch.loggers import TensorBoardLogger as LightningTensorBoardLogger
from lightning.pytorch.utilities import rank_zero_only
from tensorboard.compat.proto.summary_pb2 import Summary

from seqlab.names import is_epoch_metric, tensorboard_tag

log = logging.getLogger(__name__)


def _quiet_writer_thread_errors() -> None:
    """A file-system error in TensorBoard's event writer thread (a full disk) without the
    traceback Python prints for a thread that dies of it. The thread keeps the error, and
    the writer raises it in the training thread at its next write or flush, where seqlab
    reports a full disk in one line (seqlab.files) like any other write's."""
    from tensorboard.summary.writer.event_file_writer import _AsyncWriterThread

    previous = threading.excepthook
    if getattr(previous, "seqlab_quiet_writer", False):
        return

    def hook(args: Any) -> None:
        if isinstance(args.thread, _AsyncWriterThread) and isinstance(args.exc_value, OSError):
            log.debug("TensorBoard's event writer stopped: %s", args.exc_value)
            return
        previous(args)

    hook.seqlab_quiet_writer = True  # type: ignore[attr-defined]
    threading.excepthook = hook


class TensorBoardLogger(LightningTensorBoardLogger):
    """Lightning's TensorBoardLogger without the `epoch` scalar it adds to every log call
    (TensorBoard's step axis says when a value was taken), writing each call's scalars as
    one event, and able to leave out the HParams experiment summary.

    TensorBoard's HParams tab takes its columns from the first experiment summary it finds.
    Each run writes one of its own (all its settings, alphabetically), except the jobs of a
    sweep: there the sweep report writes one for the whole sweep, swept keys first
    (seqlab.report.tensorboard_view), and the jobs' own must not compete with it.

    Lightning hands every log call's scalars to the event writer's thread and flushes the
    event file after every call, costs that add up over the many short epochs of a sweep's
    jobs (docs/benchmarks.md). Here the scalars wait in memory, one event per step (an
    epoch's training and validation values together), each with the time it was logged,
    and go to the event file at most every `flush_every_s` seconds (TensorBoard reloads
    every 5 s anyway), before anything else is written, and when the run ends, fails or is
    interrupted. metrics.json, not the event file, is a run's record of truth.
    """

    def __init__(self, *args: Any, flush_every_s: float = 5.0, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _quiet_writer_thread_errors()
        self.flush_every_s = flush_every_s
        self._flushed_at = -float("inf")
        # step -> (wall time of its first value, its values), in the order logged
        self._pending: dict[int | None, tuple[float, list[Summary.Value]]] = {}

    def save(self) -> None:
        if time.monotonic() - self._flushed_at >= self.flush_every_s:
            self._flushed_at = time.monotonic()
            self._write_pending()
            super().save()

    def finalize(self, status: str) -> None:
        self._flushed_at = -float("inf")  # the last save always writes
        self._write_pending()
        super().finalize(status)

    @rank_zero_only
    def _write_pending(self) -> None:
        if not self._pending:
            return
        writer = self.experiment._get_file_writer()
        for at, (wall_time, values) in self._pending.items():
            writer.add_summary(Summary(value=values), at, wall_time)
        self._pending.clear()

    @rank_zero_only
    def log_metrics(self, metrics: dict[str, Any], step: int | None = None) -> None:
        """A call's scalars as one TensorBoard event per step, where Lightning writes one
        event per scalar, each with its own protobuf and queueing.

        Epoch metrics are logged at their epoch (1, 2, ..., as metrics.json counts them),
        not at the global step, so that runs with different data sizes or batch sizes line
        up epoch by epoch; per-step values (`..._step`) keep the global step. `epoch` itself
        is left out, and test metrics go under TensorBoard's results group
        (seqlab.names.tensorboard_tag)."""
        epoch = metrics.get("epoch")
        metrics = {k: v for k, v in metrics.items() if k != "epoch"}
        by_step: dict[int | None, list[Summary.Value]] = {}
        for key, value in _add_prefix(metrics, self._prefix, self.LOGGER_JOIN_CHAR).items():
            if isinstance(value, dict):  # a group of curves in one chart, as Lightning's
                self._write_pending()
                self.experiment.add_scalars(key, value, step)
                continue
            at = int(epoch) + 1 if epoch is not None and is_epoch_metric(key) else step
            try:
                shown = Summary.Value(tag=tensorboard_tag(key), simple_value=float(value))
            except (TypeError, ValueError, RuntimeError) as e:
                raise ValueError(f"{key}: cannot log {value!r} as a scalar") from e
            by_step.setdefault(at, []).append(shown)
        now = time.time()
        for at, values in by_step.items():
            self._pending.setdefault(at, (now, []))[1].extend(values)

    def log_hyperparams(
        self,
        params: dict[str, Any],
        metrics: dict[str, Any] | None = None,
        step: int | None = None,
        experiment_summary: bool = True,
    ) -> None:
        self._flushed_at = -float("inf")  # settings are rare: the next save() writes them
        self._write_pending()  # the scalars before them, in the order they were logged
        if experiment_summary or not metrics:
            super().log_hyperparams(params, metrics=metrics, step=step)
            return
        # As Lightning's, without the experiment summary: the run's values and results.
        from torch.utils.tensorboard.summary import hparams

        params = self._sanitize_params(_flatten_dict(_convert_params(params)))
        self.hparams.update(params)  # saved as hparams.yaml
        self.log_metrics(metrics, step)
        _, session_start, session_end = hparams(params, metrics)
        writer = self.experiment._get_file_writer()
        writer.add_summary(session_start, step)
        writer.add_summary(session_end, step)


def tensorboard_writers(trainer: Any) -> list[Any]:
    """The SummaryWriters of a Trainer's TensorBoard loggers: none if it has none, and none
    in a process that does not write (there Lightning hands out a do-nothing stand-in)."""
    # Imported here: a run without a TensorBoard logger never needs torch's writer module.
    from torch.utils.tensorboard import SummaryWriter

    experiments = [
        lg.experiment for lg in trainer.loggers if isinstance(lg, LightningTensorBoardLogger)
    ]
    return [writer for writer in experiments if isinstance(writer, SummaryWriter)]
