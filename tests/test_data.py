"""DataModules and batching: shapes, sums, seeding, the notebook's draws."""

import numpy as np
import pytest
import torch

from seqlab.config import ConfigError
from seqlab.data.batches import TensorBatches
from seqlab.data.random_sum import RandomSumDataModule, generate_sums
from seqlab.data.toy_tagging import ToyTaggingDataModule
from seqlab.data.vocab import IGNORE_INDEX, Vocab


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


def test_tensor_batches_cover_every_sample_once_and_reshuffle_by_epoch():
    data = {"i": torch.arange(10)}
    batches = TensorBatches(data, batch_size=3, shuffle=True, seed=0)
    assert len(batches) == 4
    epoch0 = torch.cat([b["i"] for b in batches])
    assert sorted(epoch0.tolist()) == list(range(10))
    assert torch.equal(epoch0, torch.cat([b["i"] for b in batches]))  # same epoch, same order
    batches.sampler.set_epoch(1)
    epoch1 = torch.cat([b["i"] for b in batches])
    assert sorted(epoch1.tolist()) == list(range(10)) and not torch.equal(epoch0, epoch1)
    plain = TensorBatches(data, batch_size=4)
    assert [b["i"].tolist() for b in plain] == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]


def test_toy_tagging_vocab_padding_and_batches():
    dm = ToyTaggingDataModule(batch_size=2)
    dm.setup()
    assert dm.words.itos[:3] == ["<pad>", "<unk>", "The"]
    assert dm.tags.itos == ["DET", "NN", "V"]  # the tutorial's tag_to_ix order
    batch = next(iter(dm.train_dataloader()))
    assert batch["words"].shape == (2, 5) and batch["lengths"].tolist() == [5, 4]
    assert batch["tags"][1].tolist() == [1, 2, 0, 1, IGNORE_INDEX]
    assert batch["words"][1, 4].item() == 0
    assert dm.model_kwargs()["tags"] == ["DET", "NN", "V"]


def test_toy_tagging_custom_sentences_and_errors():
    dm = ToyTaggingDataModule(
        train=[{"words": "a b", "tags": "X Y"}], test=[{"words": "b c", "tags": "Y X"}]
    )
    dm.setup()
    assert dm.splits["test"]["words"][0].tolist() == [3, 1]  # unknown 'c' -> <unk>
    with pytest.raises(ConfigError, match=r"data.train\[0\]: 2 words but 1 tags"):
        ToyTaggingDataModule(train=[{"words": "a b", "tags": "X"}])
    with pytest.raises(ConfigError, match=r"data.val\[0\]: tags \['Z'\]"):
        ToyTaggingDataModule(train=[{"words": "a", "tags": "X"}], val=[{"words": "a", "tags": "Z"}])


def test_vocab_round_trip():
    vocab = Vocab(["x", "y", "x"])
    assert Vocab.from_itos(vocab.itos).itos == vocab.itos == ["<pad>", "<unk>", "x", "y"]
    assert vocab.encode(["y", "zzz"]) == [3, 1] and vocab.decode([2, 3]) == ["x", "y"]
