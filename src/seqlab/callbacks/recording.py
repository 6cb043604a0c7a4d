"""What a run records beyond Lightning's own: every epoch's metrics, and divergence."""

from __future__ import annotations

import logging
import math
import time
from typing import Any

import lightning as L

from seqlab.names import TRAIN_LOSS, VAL_LOSS, logged_key, recorded_name, scalar_metrics

log = logging.getLogger(__name__)


class MetricHistory(L.Callback):
    """Keeps every epoch's metrics, for metrics.json: `history` and the best epoch.

    Each row also has `epoch_s`, the epoch's wall time (training and validation).
    """

    def __init__(self, monitor: str, mode: str) -> None:
        self.monitor, self.mode = recorded_name(monitor), mode
        self.history: list[dict[str, float]] = []
        self.restored_epochs = 0
        self._epoch_start = time.perf_counter()

    def on_train_epoch_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._epoch_start = time.perf_counter()

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if trainer.sanity_checking:
            return
        row = {"epoch": trainer.current_epoch + 1, **scalar_metrics(trainer.callback_metrics)}
        row["epoch_s"] = round(time.perf_counter() - self._epoch_start, 4)
        self.history.append(row)

    def best(self) -> dict[str, float] | None:
        """The epoch row with the best finite monitored value, or None."""
        rows = [r for r in self.history if math.isfinite(r.get(self.monitor, math.nan))]
        if not rows:
            return None
        pick = min if self.mode == "min" else max
        return pick(rows, key=lambda r: r[self.monitor])

    def state_dict(self) -> dict[str, Any]:
        return {"history": self.history}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self.history = list(state_dict.get("history", []))
        self.restored_epochs = len(self.history)  # epochs a resumed run does not train again


class DivergenceGuard(L.Callback):
    """Stops training at the first epoch whose loss is NaN or infinite (train() then
    records the run as diverged).

    Checked once per epoch (not per step), so it costs no extra device synchronisation.
    The best checkpoint is left as it was: a non-finite value never counts as better.
    """

    def __init__(self, metrics: tuple[str, ...] = (TRAIN_LOSS, VAL_LOSS)) -> None:
        self.keys = tuple(logged_key(m) for m in metrics)
        self.diverged_at: dict[str, Any] | None = None

    def _check(self, trainer: L.Trainer) -> None:
        if trainer.sanity_checking or self.diverged_at:
            return
        metrics = trainer.callback_metrics  # a property that gathers them on every call
        for key in self.keys:
            value = metrics.get(key)  # an epoch's mean: one number
            if value is not None and not math.isfinite(float(value)):
                self.diverged_at = {
                    "metric": recorded_name(key),
                    "epoch": trainer.current_epoch + 1,
                }
                log.warning(
                    "%s is %s at epoch %d: stopping", key, float(value), trainer.current_epoch + 1
                )
                trainer.should_stop = True
                return

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._check(trainer)

    # After the module's own epoch-end hook, which publishes the validation values.
    def on_validation_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._check(trainer)
