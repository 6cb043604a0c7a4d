"""Batches as slices of tensors that already sit on the training device.

A torch DataLoader fetches and collates one sample at a time; for data generated as
tensors that per-sample work costs more than a small LSTM's step. `TensorBatches` cuts
batches straight out of the tensors instead (one index or slice per batch).
"""

from __future__ import annotations

import math
from collections.abc import Iterator

import torch

Batch = dict[str, torch.Tensor]


class EpochOrder:
    """Sample order for one epoch: a seeded permutation that depends only on (seed, epoch).

    Lightning calls `set_epoch` on a loader's `sampler` at every epoch start (as it does for a
    DistributedSampler), so a run resumed mid-way shuffles exactly as an uninterrupted one.
    """

    def __init__(self, seed: int, shuffle: bool) -> None:
        self.seed = seed
        self.shuffle = shuffle
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def permutation(self, n: int) -> torch.Tensor | None:
        if not self.shuffle:
            return None
        gen = torch.Generator().manual_seed(self.seed * 1_000_003 + self.epoch)
        return torch.randperm(n, generator=gen)


class TensorBatches:
    """Iterable of batches (dicts of tensor slices) over equally long tensors.

    `batch_size=None` serves the whole set as one batch.
    """

    def __init__(
        self,
        tensors: Batch,
        batch_size: int | None,
        shuffle: bool = False,
        seed: int = 0,
        drop_last: bool = False,
    ) -> None:
        sizes = {len(t) for t in tensors.values()}
        if len(sizes) != 1:
            lengths = {k: len(t) for k, t in tensors.items()}
            raise ValueError(f"tensors differ in length: {lengths}")
        self.tensors = tensors
        self.n = sizes.pop()
        self.batch_size = batch_size or self.n
        self.drop_last = drop_last
        # Lightning looks for a loader's `sampler` (to call `set_epoch`) and `batch_sampler`.
        self.sampler = EpochOrder(seed, shuffle)
        self.batch_sampler = None

    def __len__(self) -> int:
        if self.drop_last:
            return self.n // self.batch_size
        return math.ceil(self.n / self.batch_size)

    def __iter__(self) -> Iterator[Batch]:
        order = self.sampler.permutation(self.n)
        if order is not None:
            device = next(iter(self.tensors.values())).device
            order = order.to(device)
        for i in range(len(self)):
            lo, hi = i * self.batch_size, min((i + 1) * self.batch_size, self.n)
            if order is None:
                yield {k: t[lo:hi] for k, t in self.tensors.items()}
            else:
                idx = order[lo:hi]
                yield {k: t[idx] for k, t in self.tensors.items()}
