"""What seqlab's DataModules share: splits held as tensors on the device, served as slices."""

from __future__ import annotations

import lightning as L
import torch

from seqlab.data.batches import Batch, TensorBatches


class TensorDataModule(L.LightningDataModule):
    """A DataModule whose splits are dicts of tensors, built once on the training device.

    Subclasses implement `build_splits` and `model_kwargs`, and take `batch_size`,
    `shuffle` and `seed` arguments (saved with `save_hyperparameters`).
    """

    batch_class: type[TensorBatches] = TensorBatches  # how a split is cut into batches

    def __init__(self) -> None:
        super().__init__()
        self.splits: dict[str, Batch] = {}

    def build_splits(self, device: torch.device) -> dict[str, Batch]:
        raise NotImplementedError

    def model_kwargs(self) -> dict:
        """What a model built for this data needs to know (sizes, vocabularies, scales)."""
        raise NotImplementedError

    @property
    def device(self) -> torch.device:
        """The training device once a Trainer is attached, else the CPU."""
        trainer = self.trainer
        return trainer.strategy.root_device if trainer is not None else torch.device("cpu")

    def setup(self, stage: str | None = None) -> None:
        if not self.splits:  # fit, validate and test share one build
            self.splits = self.build_splits(self.device)

    def has_split(self, split: str) -> bool:
        """Whether the data has this split (a test split may be optional)."""
        return True

    def batches(self, split: str, shuffle: bool = False) -> TensorBatches:
        """A split's batches; under data-parallel training, this process's share of them."""
        hp = self.hparams
        trainer = self.trainer
        rank, world = (trainer.global_rank, trainer.world_size) if trainer else (0, 1)
        return self.batch_class(
            self.splits[split],
            hp.batch_size,
            shuffle=shuffle,
            seed=hp.seed,
            rank=rank,
            world_size=world,
            **self.batch_kwargs(split),
        )

    def batch_kwargs(self, split: str) -> dict:
        """Extra arguments of `batch_class` for a split (e.g. a lookup table)."""
        return {}

    def train_dataloader(self) -> TensorBatches:
        return self.batches("train", shuffle=self.hparams.shuffle)

    def val_dataloader(self) -> TensorBatches:
        return self.batches("val")

    def test_dataloader(self) -> TensorBatches:
        return self.batches("test")
