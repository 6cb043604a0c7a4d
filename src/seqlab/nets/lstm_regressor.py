"""LSTM regressor: an LSTM whose last hidden state goes through a linear layer."""

from __future__ import annotations

import torch
from torch import nn

from seqlab.nets.common import run_lstm


class LSTMRegressor(nn.Module):
    """Maps a sequence (B, L, input_dim) to one prediction per sequence (B, output_dim).

    The notebook's `LSTMRegression`, batched. The LSTM is created before the linear layer,
    as in the notebook, so a seeded run starts from the notebook's weights.
    """

    def __init__(
        self, input_dim: int = 1, hidden_dim: int = 64, output_dim: int = 1, num_layers: int = 1
    ) -> None:
        super().__init__()
        self.lstm = nn.LSTM(input_dim, hidden_dim, num_layers=num_layers, batch_first=True)
        self.linear = nn.Linear(hidden_dim, output_dim)

    def forward(self, x: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        """x (B, L, input_dim) -> (B, output_dim); with `lengths`, each sequence ends there."""
        _, last = run_lstm(self.lstm, x, lengths)  # (B, H): state after each sequence's last step
        return self.linear(last)
