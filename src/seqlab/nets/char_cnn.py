"""Word vectors from characters: a small CNN over each word's letters (Ma & Hovy, 2016).

Characters see what a word table cannot: suffixes (-ly, -ed, -tion), capitals, digits and
hyphens, for words never seen in training as much as for frequent ones.
"""

from __future__ import annotations

import torch
from torch import nn


class CharCNN(nn.Module):
    """chars (N, W) -> (N, filters): embed, convolve, max-pool over each word's characters.

    Padding characters (index 0) are left out of the max, so a word's vector does not
    depend on how long the other words of its batch are; a word of no characters (the
    padding word) gets zeros.
    """

    def __init__(self, num_chars: int, char_dim: int, filters: int, kernel: int) -> None:
        super().__init__()
        if kernel % 2 == 0:
            raise ValueError(f"char_kernel must be odd (got {kernel}), so outputs stay aligned")
        self.embedding = nn.Embedding(num_chars, char_dim, padding_idx=0)
        self.conv = nn.Conv1d(char_dim, filters, kernel, padding=kernel // 2)

    def forward(self, chars: torch.Tensor) -> torch.Tensor:
        x = self.embedding(chars).transpose(1, 2)  # (N, C, W): Conv1d wants channels first
        h = torch.tanh(self.conv(x))  # (N, F, W)
        h = h.masked_fill((chars == 0).unsqueeze(1), -2.0)  # below tanh's range: never the max
        pooled = h.max(dim=2).values  # (N, F)
        return pooled * (chars[:, :1] != 0)  # the padding word (no characters) gets zeros
