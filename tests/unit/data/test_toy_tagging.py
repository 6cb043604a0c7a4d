"""ToyTaggingDataModule: the tutorial's vocabulary, padding and batches."""

import pytest

from seqlab.config import ConfigError
from seqlab.data.toy_tagging import ToyTaggingDataModule
from seqlab.data.vocab import IGNORE_INDEX


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
