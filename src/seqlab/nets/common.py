"""What the networks share: running an LSTM over padded batches, evaluation mode."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence


def run_lstm(
    lstm: nn.LSTM, x: torch.Tensor, lengths: torch.Tensor | None
) -> tuple[torch.Tensor, torch.Tensor]:
    """Run a batch_first LSTM; return all outputs (B, L, H*dirs) and last-layer h_n (B, H*dirs).

    With `lengths`, padded steps are packed away, so they change neither the outputs at real
    steps (a backward direction would otherwise start in the padding) nor the final state.
    """
    if lengths is None:
        out, (h_n, _) = lstm(x)  # out (B, L, H*dirs), h_n (layers*dirs, B, H)
    else:
        # pack_padded_sequence wants lengths on the CPU.
        packed = pack_padded_sequence(x, lengths.cpu(), batch_first=True, enforce_sorted=False)
        packed_out, (h_n, _) = lstm(packed)
        out, _ = pad_packed_sequence(packed_out, batch_first=True, total_length=x.shape[1])
    dirs = 2 if lstm.bidirectional else 1
    last = h_n[-dirs:].transpose(0, 1).reshape(x.shape[0], -1)  # (B, H*dirs)
    return out, last


@contextmanager
def evaluating(module: nn.Module) -> Iterator[nn.Module]:
    """Evaluation mode (no dropout) for the block, then the mode the module was in."""
    was_training = module.training
    module.eval()
    try:
        yield module
    finally:
        module.train(was_training)
