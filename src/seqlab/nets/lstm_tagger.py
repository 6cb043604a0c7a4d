"""LSTM part-of-speech tagger: embedding -> LSTM -> linear -> log-softmax (the tutorial's model).

Options beyond the tutorial, all off by default: a bidirectional and/or stacked LSTM,
dropout (on the word vectors and on the LSTM's outputs) and character features (a CharCNN
vector per word, concatenated with its embedding).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from seqlab.nets.char_cnn import CharCNN
from seqlab.nets.common import run_lstm

Spelling = tuple[torch.Tensor, torch.Tensor]  # forms (B, L), form_chars (F, W)


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
        num_chars: int = 0,
        char_dim: int = 0,
        char_filters: int = 50,
        char_kernel: int = 3,
    ) -> None:
        super().__init__()
        use_chars = char_dim > 0
        self.word_embeddings = nn.Embedding(vocab_size, embedding_dim, padding_idx=padding_idx)
        self.lstm = nn.LSTM(
            embedding_dim + (char_filters if use_chars else 0),
            hidden_dim,
            num_layers=num_layers,
            batch_first=True,
            bidirectional=bidirectional,
            dropout=dropout if num_layers > 1 else 0.0,  # between stacked layers
        )
        self.hidden2tag = nn.Linear(hidden_dim * (2 if bidirectional else 1), num_tags)
        # Created last, so that without it a seeded run draws the tutorial's initial weights.
        self.char_cnn = (
            CharCNN(num_chars, char_dim, char_filters, char_kernel) if use_chars else None
        )
        self.dropout = dropout

    def emissions(
        self,
        words: torch.Tensor,
        lengths: torch.Tensor | None = None,
        spelling: Spelling | None = None,
    ) -> torch.Tensor:
        """words (B, L) int -> tag scores (B, L, T), unnormalised.

        With character features, `spelling` = (forms (B, L), form_chars (F, W)): each word's
        row in a table of the characters of the batch's distinct words (`encode_forms`).
        Each distinct word goes through the CharCNN once, however often it occurs.
        """
        embeds = self.word_embeddings(words)  # (B, L, E)
        if self.char_cnn is not None:
            if spelling is None:
                raise ValueError("this tagger reads characters: pass spelling=(forms, chars)")
            forms, form_chars = spelling
            char_vectors = self.char_cnn(form_chars)[forms]  # (F, C) -> (B, L, C)
            embeds = torch.cat([embeds, char_vectors], dim=-1)  # (B, L, E+C)
        lstm_out, _ = run_lstm(self.lstm, self._drop(embeds), lengths)  # (B, L, H*dirs)
        return self.hidden2tag(self._drop(lstm_out))  # (B, L, T)

    def forward(
        self,
        words: torch.Tensor,
        lengths: torch.Tensor | None = None,
        spelling: Spelling | None = None,
    ) -> torch.Tensor:
        """words (B, L) int -> log-probabilities (B, L, T); positions past `lengths` are padding."""
        return F.log_softmax(self.emissions(words, lengths, spelling), dim=-1)

    def _drop(self, x: torch.Tensor) -> torch.Tensor:
        # Skipped entirely at 0, so the tutorial presets draw no extra random numbers.
        return F.dropout(x, self.dropout, self.training) if self.dropout > 0 else x
