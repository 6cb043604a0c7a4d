"""LightningModule that trains an LSTMRegressor with MSE."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torchmetrics import MeanSquaredError

from seqlab.data.batches import Batch
from seqlab.models.base_module import SeqlabModule
from seqlab.names import LOSS, MSE, TRAIN
from seqlab.nets.lstm_regressor import LSTMRegressor


class RegressorModule(SeqlabModule):
    """Sequence -> number regression (e.g. the sum of the sequence).

    `loss` is the MSE the optimizer sees (in the data's scaled units); `mse` is the same
    error in the original units (divided by `target_scale`), comparable across scalings.
    """

    metric_name = MSE

    def __init__(
        self,
        hidden_dim: int = 64,
        num_layers: int = 1,
        input_dim: int = 1,
        lr: float = 3e-3,
        optimizer: dict | None = None,
        scheduler: dict | None = None,
        scheduler_interval: str = "epoch",
        target_scale: float = 1.0,
    ) -> None:
        super().__init__()
        self.save_hyperparameters(logger=False)
        self.net = LSTMRegressor(input_dim, hidden_dim, output_dim=1, num_layers=num_layers)
        # One metric object per evaluation stage: their running states must not mix.
        self.val_metric, self.test_metric = MeanSquaredError(), MeanSquaredError()

    @property
    def target_scale(self) -> float:
        """Predictions divided by this are in the data's original units (ScaledRegressor)."""
        return self.hparams.target_scale

    def forward(self, x: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        """x (B, L, input_dim), in the data's scaled units -> predictions (B, 1), same units."""
        return self.net(x, lengths)

    def step(self, batch: Batch, stage: str) -> torch.Tensor:
        x, y = batch["x"], batch["y"]  # (B, L, 1), (B, 1)
        pred = self(x, batch.get("lengths"))  # (B, 1)
        loss = F.mse_loss(pred, y)
        scale = self.target_scale
        if stage == TRAIN:
            # `mse` is the same error in original units, without a metric object.
            self.log_train({LOSS: (loss, len(x)), MSE: (loss / scale**2, len(x))})
        else:
            self.log_eval(stage, loss, len(x))
            self.eval_metric(stage).update(pred / scale, y / scale)
        return loss
