"""Validating, checkpointing and testing an exponential moving average of the weights."""

from __future__ import annotations

from typing import Any

import lightning as L
from lightning.pytorch.callbacks import EMAWeightAveraging


class WeightEMA(EMAWeightAveraging):
    """An exponential moving average of the weights (Lightning's EMAWeightAveraging), used
    for validation and stored as the checkpoints' weights, so testing, `seqlab-eval` and
    `seqlab-tag` all use the average. The raw weights travel in the checkpoint too, for
    resuming.

    Lightning's callback also swaps the raw weights back in whenever a checkpoint is loaded
    after fitting has begun, which would test the best checkpoint's raw weights instead of
    its average; here they are restored only when fitting resumes.
    """

    def on_load_checkpoint(
        self, trainer: L.Trainer, pl_module: L.LightningModule, checkpoint: dict[str, Any]
    ) -> None:
        if trainer.state.fn == "fit":
            super().on_load_checkpoint(trainer, pl_module, checkpoint)
