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

    `batch_size=None` serves the whole set as one batch. Under data-parallel training each
    of the `world_size` processes serves its own share (`rank`): every epoch's order is
    dealt out round-robin, so the shares never overlap and all have the same number of
    batches (the last `n % world_size` samples of the order sit that epoch out).
    """

    def __init__(
        self,
        tensors: Batch,
        batch_size: int | None,
        shuffle: bool = False,
        seed: int = 0,
        drop_last: bool = False,
        rank: int = 0,
        world_size: int = 1,
    ) -> None:
        sizes = {len(t) for t in tensors.values()}
        if len(sizes) != 1:
            lengths = {k: len(t) for k, t in tensors.items()}
            raise ValueError(f"tensors differ in length: {lengths}")
        if not 0 <= rank < world_size:
            raise ValueError(f"rank {rank} outside [0, {world_size})")
        self.tensors = tensors
        self.rank, self.world_size = rank, world_size
        self.n = sizes.pop() // world_size  # samples this process serves per epoch
        self.batch_size = batch_size or self.n
        self.drop_last = drop_last
        # Lightning looks for a loader's `sampler` (to call `set_epoch`) and `batch_sampler`.
        self.sampler = EpochOrder(seed, shuffle)
        self.batch_sampler = None

    def __len__(self) -> int:
        if self.drop_last:
            return self.n // self.batch_size
        return math.ceil(self.n / self.batch_size)

    def _order(self) -> torch.Tensor | None:
        """This process's sample indices for the epoch; None: all samples, in order."""
        total = self.n * self.world_size
        order = self.sampler.permutation(len(next(iter(self.tensors.values()))))
        if order is None and self.world_size == 1:
            return None
        if order is None:
            order = torch.arange(total)
        device = next(iter(self.tensors.values())).device
        return order[self.rank : total : self.world_size].to(device)

    def __iter__(self) -> Iterator[Batch]:
        order = self._order()
        for i in range(len(self)):
            lo, hi = i * self.batch_size, min((i + 1) * self.batch_size, self.n)
            if order is None:
                yield {k: t[lo:hi] for k, t in self.tensors.items()}
            else:
                idx = order[lo:hi]
                yield {k: t[idx] for k, t in self.tensors.items()}


class BucketBatches(TensorBatches):
    """TensorBatches of padded sequences, grouped by length so that padding stays small.

    Each epoch, this process's (shuffled) share is cut into pools of `pool` batches; each
    pool is sorted by length and cut into batches, and the batches are served in a seeded
    random order. Without shuffling (evaluation) the whole split is sorted by length. Every
    batch is trimmed to its longest sequence: tensors whose second dimension is the padded
    length (words, tags) lose the columns that are padding everywhere in the batch.
    """

    def __init__(self, tensors: Batch, batch_size: int | None, pool: int = 50, **kwargs) -> None:
        super().__init__(tensors, batch_size, **kwargs)
        self.pool = pool
        self.max_len = int(tensors["lengths"].max())

    def __iter__(self) -> Iterator[Batch]:
        order = self._order()
        if order is None:
            order = torch.arange(self.n, device=self.tensors["lengths"].device)
        lengths = self.tensors["lengths"][order]
        size = self.batch_size * self.pool if self.sampler.shuffle else self.n
        # Sort within pools: stable, so equal lengths keep the shuffled order.
        pools = [
            order[lo : lo + size][torch.sort(lengths[lo : lo + size], stable=True).indices]
            for lo in range(0, self.n, size)
        ]
        order = torch.cat(pools)
        starts = list(range(0, len(self) * self.batch_size, self.batch_size))
        if self.sampler.shuffle:
            gen = torch.Generator().manual_seed(self.sampler.seed * 7919 + self.sampler.epoch)
            starts = [starts[i] for i in torch.randperm(len(starts), generator=gen).tolist()]
        for lo in starts:
            idx = order[lo : lo + self.batch_size]
            # .item() waits for the device once per batch; it saves padding on every step.
            longest = int(self.tensors["lengths"][idx].max().item())
            yield {k: self._trim(t[idx], longest) for k, t in self.tensors.items()}

    def _trim(self, t: torch.Tensor, longest: int) -> torch.Tensor:
        return t[:, :longest] if t.dim() >= 2 and t.shape[1] == self.max_len else t


class SpelledBatches(BucketBatches):
    """BucketBatches that spell their words out: `forms` (B, L) becomes an index into
    `form_chars` (F, W), the characters of each distinct word of the batch, once.

    The split keeps one table of its distinct forms (see `encode_forms`); each batch takes
    its own rows of it, trimmed to its longest word. So a 140-character URL does not pad
    every word of the split, and a character encoder runs once per distinct word of a batch
    rather than at every padded position (on English EWT it halved the CharCNN's share of
    a BiLSTM-CRF step: docs/benchmarks.md).
    """

    def __init__(
        self, tensors: Batch, batch_size: int | None, char_table: torch.Tensor, **kwargs
    ) -> None:
        super().__init__(tensors, batch_size, **kwargs)
        self.char_table = char_table  # (F_split, W_split); row 0 is the padding word
        self.form_lengths = (char_table != 0).sum(1)  # (F_split,)

    def __iter__(self) -> Iterator[Batch]:
        for batch in super().__iter__():
            distinct, batch["forms"] = torch.unique(batch["forms"], return_inverse=True)
            longest = max(int(self.form_lengths[distinct].max().item()), 1)
            batch["form_chars"] = self.char_table[distinct][:, :longest]  # (F, W)
            yield batch
