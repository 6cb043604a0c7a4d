"""Random integer sequences whose target is their sum (the notebook's second experiment)."""

from __future__ import annotations

import numpy as np
import torch

from seqlab.data.base import TensorDataModule
from seqlab.data.batches import Batch

SPLITS = ("train", "val", "test")


def generate_sums(
    n: int,
    length: int,
    num_prob: float = 1.0,
    low: int = -100,
    high: int = 99,
    generator: torch.Generator | None = None,
    device: torch.device | str = "cpu",
) -> tuple[torch.Tensor, torch.Tensor]:
    """n sequences of `length` values, vectorised: x (n, length, 1) and their sums y (n, 1).

    Each element is an integer drawn uniformly from [low, high] with probability
    `num_prob`, else 0 (the notebook's `generate_sequence`).
    """
    is_number = torch.rand(n, length, generator=generator, device=device) < num_prob
    numbers = torch.randint(low, high + 1, (n, length), generator=generator, device=device)
    x = torch.where(is_number, numbers, 0).float().unsqueeze(-1)  # (n, L, 1)
    return x, x.sum(dim=1)  # (n, L, 1), (n, 1)


def random_lengths(
    n: int,
    min_length: int,
    length: int,
    generator: torch.Generator | None = None,
    device: torch.device | str = "cpu",
) -> torch.Tensor:
    """n sequence lengths drawn uniformly from [min_length, length]: (n,) long."""
    return torch.randint(min_length, length + 1, (n,), generator=generator, device=device)


def split_generator(seed: int, split: str, device: torch.device | str = "cpu") -> torch.Generator:
    """The seeded stream of one split; the three splits' streams never overlap."""
    return torch.Generator(device=device).manual_seed(seed * len(SPLITS) + SPLITS.index(split))


def generate_sums_tutorial(
    n: int, length: int, num_prob: float, rng: np.random.RandomState
) -> tuple[torch.Tensor, torch.Tensor]:
    """The notebook's `build_dataset`, draw for draw: x (n, length, 1), y (n, 1).

    It loops over samples because the notebook's stream interleaves `rand` and `randint`
    per sample; this mode exists only to reproduce the notebook's numbers. Its reshape of
    the (n, length) stack to (length, n) mixes values across examples; y stays the sum of
    each resulting sequence.
    """
    rows = []
    for _ in range(n):
        is_number = rng.rand(length) < num_prob
        numbers = rng.randint(-100, 100, size=length)
        rows.append(np.where(is_number, numbers, 0))
    x = torch.tensor(np.stack(rows).reshape(length, n, 1)).float().transpose(0, 1)  # (n, L, 1)
    return x.contiguous(), x.sum(dim=1)


class RandomSumDataModule(TensorDataModule):
    """Train, val and test sets of random sequences and their sums, as tensors on the device.

    The three splits come from independent seeded streams, so the val and test sets stay the
    same when `n` changes, and sweeps over `n` compare on equal ground. `input_scale` and
    `target_scale` multiply x and y (e.g. 0.01 keeps the LSTM's inputs near unit size);
    metrics are reported in the original units.

    With `min_length` below `length`, each sequence gets its own length, drawn uniformly
    from [min_length, length]: sequences are zero-padded to `length` and batches carry a
    `lengths` tensor, so the model packs them and reads each to its own end.
    """

    def __init__(
        self,
        length: int = 16,
        n: int = 10_000,
        n_val: int = 1_000,
        n_test: int = 1_000,
        num_prob: float = 1.0,
        low: int = -100,
        high: int = 99,
        input_scale: float = 1.0,
        target_scale: float = 1.0,
        batch_size: int | None = 64,
        shuffle: bool = True,
        mode: str = "torch",
        seed: int = 0,
        min_length: int | None = None,
    ) -> None:
        super().__init__()
        self.save_hyperparameters(logger=False)

    def model_kwargs(self) -> dict:
        """What a model built for this data needs to know."""
        return {"input_dim": 1, "target_scale": self.hparams.target_scale}

    @property
    def length(self) -> int:
        """The sequence length the data trains on (SequenceSource)."""
        return self.hparams.length

    def draw(
        self, n: int, length: int, split: str = "test", device: torch.device | str | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """n fresh sequences of `length` from a split's stream, with this data's values and
        num_prob: x (n, L, 1) scaled by input_scale as a model reads it, y (n, 1) their
        sums in original units. At the data's own length with n = n_test, the test stream
        gives the test set itself (SequenceSource; used by length generalisation)."""
        hp = self.hparams
        device = device or self.device
        gen = split_generator(hp.seed, split, device)
        x, y = generate_sums(n, length, hp.num_prob, hp.low, hp.high, gen, device)
        return x * hp.input_scale, y

    @property
    def variable_length(self) -> bool:
        hp = self.hparams
        return hp.min_length is not None and hp.min_length < hp.length

    def generate(self, device: torch.device | str = "cpu") -> dict[str, dict[str, torch.Tensor]]:
        """All three splits as {x, y[, lengths]}, unscaled."""
        hp = self.hparams
        sizes = {"train": hp.n, "val": hp.n_val, "test": hp.n_test}
        if hp.mode == "tutorial":
            # One numpy stream, as the notebook's `np.random.seed(seed)`; train comes first.
            rng = np.random.RandomState(hp.seed)
            out = {s: generate_sums_tutorial(sizes[s], hp.length, hp.num_prob, rng) for s in SPLITS}
            return {s: {"x": x.to(device), "y": y.to(device)} for s, (x, y) in out.items()}
        out = {}
        for split in SPLITS:
            gen = split_generator(hp.seed, split, device)
            x, y = generate_sums(sizes[split], hp.length, hp.num_prob, hp.low, hp.high, gen, device)
            if not self.variable_length:
                out[split] = {"x": x, "y": y}
                continue
            # Drawn after the values, so fixed-length data stay exactly as they were.
            lengths = random_lengths(sizes[split], hp.min_length, hp.length, gen, device)
            keep = torch.arange(hp.length, device=device) < lengths[:, None]  # (n, L)
            x = torch.where(keep.unsqueeze(-1), x, 0.0)
            out[split] = {"x": x, "y": x.sum(dim=1), "lengths": lengths}
        return out

    def build_splits(self, device: torch.device) -> dict[str, Batch]:
        hp = self.hparams
        splits = self.generate(device)
        for tensors in splits.values():
            tensors["x"] = tensors["x"] * hp.input_scale
            tensors["y"] = tensors["y"] * hp.target_scale
        return splits

    def set_shape(self, length: int, n: int | None = None) -> None:
        """Change the sequence length (and training set size) and regenerate every split.

        Used by curricula between epochs (Reshapeable); the Trainer must reload its dataloaders
        (`reload_dataloaders_every_n_epochs=1`) to see the new data.
        """
        self.hparams.length = length
        if n is not None:
            self.hparams.n = n
        self.splits = self.build_splits(self.device)
