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
    ) -> None:
        super().__init__()
        self.save_hyperparameters(logger=False)

    def model_kwargs(self) -> dict:
        """What a model built for this data needs to know."""
        return {"input_dim": 1, "target_scale": self.hparams.target_scale}

    def generate(self, device: torch.device | str = "cpu") -> dict[str, tuple[torch.Tensor, ...]]:
        """All three splits as (x, y), unscaled."""
        hp = self.hparams
        sizes = {"train": hp.n, "val": hp.n_val, "test": hp.n_test}
        if hp.mode == "tutorial":
            # One numpy stream, as the notebook's `np.random.seed(seed)`; train comes first.
            rng = np.random.RandomState(hp.seed)
            out = {s: generate_sums_tutorial(sizes[s], hp.length, hp.num_prob, rng) for s in SPLITS}
            return {s: (x.to(device), y.to(device)) for s, (x, y) in out.items()}
        out = {}
        for i, split in enumerate(SPLITS):
            gen = torch.Generator(device=device).manual_seed(hp.seed * len(SPLITS) + i)
            out[split] = generate_sums(
                sizes[split], hp.length, hp.num_prob, hp.low, hp.high, gen, device
            )
        return out

    def build_splits(self, device: torch.device) -> dict[str, Batch]:
        hp = self.hparams
        return {
            split: {"x": x * hp.input_scale, "y": y * hp.target_scale}
            for split, (x, y) in self.generate(device).items()
        }
