"""LSTM part-of-speech tagger: embedding -> LSTM -> linear -> log-softmax (the tutorial's model).

Options beyond the tutorial, all off by default: a bidirectional and/or stacked LSTM and
dropout (on the embeddings and on the LSTM's outputs).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from seqlab.models.packing import run_lstm


class LSTMTagger(nn.Module):
    """Scores every tag for every word of a batch of (padded) sentences.

    Submodules are created in the tutorial's order (embedding, LSTM, linear) so that a
    seeded run draws the same initial weights as the tutorial's code.
    """

    def __init__(
        self,
        vocab_size: int,
        num_tags: int,
        embedding_dim: int = 32,
        hidden_dim: int = 64,
        num_layers: int = 1,
        padding_idx: int | None = 0,
        bidirectional: bool = False,
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        self.word_embeddings = nn.Embedding(vocab_size, embedding_dim, padding_idx=padding_idx)
        self.lstm = nn.LSTM(
            embedding_dim,
            hidden_dim,
            num_layers=num_layers,
            batch_first=True,
            bidirectional=bidirectional,
            dropout=dropout if num_layers > 1 else 0.0,  # between stacked layers
        )
        self.hidden2tag = nn.Linear(hidden_dim * (2 if bidirectional else 1), num_tags)
        self.dropout = dropout

    def emissions(self, words: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        """words (B, L) int -> tag scores (B, L, T), before any normalisation."""
        embeds = self._drop(self.word_embeddings(words))  # (B, L, E)
        lstm_out, _ = run_lstm(self.lstm, embeds, lengths)  # (B, L, H*dirs)
        return self.hidden2tag(self._drop(lstm_out))  # (B, L, T)

    def forward(self, words: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        """words (B, L) int -> log-probabilities (B, L, T); positions past `lengths` are padding."""
        return F.log_softmax(self.emissions(words, lengths), dim=-1)

    def _drop(self, x: torch.Tensor) -> torch.Tensor:
        # Skipped entirely at 0, so the tutorial presets draw no extra random numbers.
        return F.dropout(x, self.dropout, self.training) if self.dropout > 0 else x
