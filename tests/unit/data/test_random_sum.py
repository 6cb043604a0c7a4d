"""RandomSumDataModule: shapes, sums, seeding, scaling, the notebook's draws."""

from __future__ import annotations

import math

import numpy as np
import torch

from seqlab.data.random_sum import RandomSumDataModule, generate_sums
from seqlab.training import train
from tests.conftest import LONGER_TEST_SUM, compose_train


def make_sums(**kwargs) -> RandomSumDataModule:
    dm = RandomSumDataModule(**{"length": 5, "n": 200, "n_val": 50, "n_test": 30, **kwargs})
    dm.setup()
    return dm


def test_random_sum_shapes_values_and_sums():
    dm = make_sums(num_prob=0.5, seed=3)
    x, y = dm.splits["train"]["x"], dm.splits["train"]["y"]
    assert x.shape == (200, 5, 1) and y.shape == (200, 1)
    assert dm.splits["val"]["x"].shape == (50, 5, 1) and dm.splits["test"]["y"].shape == (30, 1)
    assert torch.equal(y, x.sum(dim=1))
    assert x.min() >= -100 and x.max() <= 99 and torch.equal(x, x.round())
    zeros = (x == 0).float().mean().item()
    assert 0.4 < zeros < 0.6  # num_prob=0.5: about half the positions are 0


def test_random_sum_seeding_and_split_independence():
    a, b, c = make_sums(seed=1), make_sums(seed=1), make_sums(seed=2)
    assert torch.equal(a.splits["train"]["x"], b.splits["train"]["x"])
    assert not torch.equal(a.splits["train"]["x"], c.splits["train"]["x"])
    assert not torch.equal(a.splits["val"]["x"][:30], a.splits["test"]["x"])
    # Evaluation sets do not depend on the training set size, so sweeps over n compare fairly.
    bigger = make_sums(seed=1, n=500)
    assert torch.equal(a.splits["val"]["x"], bigger.splits["val"]["x"])
    assert torch.equal(a.splits["test"]["y"], bigger.splits["test"]["y"])


def test_random_sum_scaling():
    dm = make_sums(input_scale=0.01, target_scale=0.5)
    raw = make_sums()
    assert torch.allclose(dm.splits["train"]["x"], raw.splits["train"]["x"] * 0.01)
    assert torch.allclose(dm.splits["train"]["y"], raw.splits["train"]["y"] * 0.5)
    assert dm.model_kwargs() == {"input_dim": 1, "target_scale": 0.5}


def test_full_batch_when_batch_size_is_null():
    dm = make_sums(batch_size=None)
    batches = list(dm.train_dataloader())
    assert len(batches) == 1 and batches[0]["x"].shape == (200, 5, 1)


def test_tutorial_mode_reproduces_the_notebooks_example():
    # The notebook, after np.random.seed(1): build_dataset(3, length=10, num_prob=0.5).
    dm = RandomSumDataModule(
        length=10, n=3, n_val=1, n_test=1, num_prob=0.5, mode="tutorial", seed=1
    )
    dm.setup()
    x = dm.splits["train"]["x"][..., 0]
    assert x[0].tolist() == [1, 56, -50, 0, 31, 0, 96, 0, 0, 0]
    assert x[2].tolist() == [39, 42, -4, 0, 0, -97, 4, 95, 0, 65]
    assert dm.splits["train"]["y"][:, 0].tolist() == [134, -18, 144]


def test_tutorial_mode_matches_numpy_reference():
    # The notebook's code, verbatim in spirit: per-sample draws, then a (length, n) reshape.
    np.random.seed(7)
    rows = [
        np.where(np.random.rand(4) < 1.0, np.random.randint(-100, 100, size=4), 0)
        for _ in range(20)
    ]
    ref = np.stack(rows).reshape(4, 20, 1)
    dm = RandomSumDataModule(length=4, n=20, n_val=2, n_test=2, mode="tutorial", seed=7)
    dm.setup()
    assert np.array_equal(dm.splits["train"]["x"].numpy(), ref.transpose(1, 0, 2))
    assert np.array_equal(dm.splits["train"]["y"].numpy(), ref.sum(axis=0))


def test_generate_sums_uses_the_given_generator():
    g1, g2 = torch.Generator().manual_seed(5), torch.Generator().manual_seed(5)
    assert torch.equal(generate_sums(10, 3, generator=g1)[0], generate_sums(10, 3, generator=g2)[0])


def test_sequence_source_draws_the_test_set_at_its_own_length():
    data = RandomSumDataModule(length=5, n=8, n_val=4, n_test=6, input_scale=0.5, seed=3)
    data.setup()
    x, y = data.draw(6, 5, "test")
    assert (x == data.splits["test"]["x"]).all()  # scaled as the model reads it
    assert (y == data.splits["test"]["y"]).all()  # target_scale 1: the same units
    longer, sums = data.draw(3, 9)
    assert longer.shape == (3, 9, 1) and sums.shape == (3, 1)
    assert torch.allclose(sums, (longer / 0.5).sum(dim=1))


def test_variable_length_training(tmp_path):
    cfg = compose_train([*LONGER_TEST_SUM, "data.length=8", "data.min_length=2"], tmp_path)
    metrics = train(cfg)
    assert metrics["status"] == "completed" and math.isfinite(metrics["final"]["val/mse"])
