"""LSTM part-of-speech tagger: embedding -> LSTM -> linear -> log-softmax (the tutorial's model)."""

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
    ) -> None:
        super().__init__()
        self.word_embeddings = nn.Embedding(vocab_size, embedding_dim, padding_idx=padding_idx)
        self.lstm = nn.LSTM(embedding_dim, hidden_dim, num_layers=num_layers, batch_first=True)
        self.hidden2tag = nn.Linear(hidden_dim, num_tags)

    def forward(self, words: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        """words (B, L) int -> log-probabilities (B, L, T); positions past `lengths` are padding."""
        embeds = self.word_embeddings(words)  # (B, L, E)
        lstm_out, _ = run_lstm(self.lstm, embeds, lengths)  # (B, L, H)
        tag_space = self.hidden2tag(lstm_out)  # (B, L, T)
        return F.log_softmax(tag_space, dim=-1)
