"""ConlluDataModule: vocabularies, buckets, spelled-out words, evaluation files."""

import pytest

from seqlab.config import ConfigError
from tests.conftest import TREEBANK, make_treebank


def test_data_module_vocabulary_and_buckets(tmp_path):
    from seqlab.data.conllu import ConlluDataModule

    train_path = make_treebank(tmp_path, "train.conllu", TREEBANK)
    dev_path = make_treebank(tmp_path, "dev.conllu", ["A/DET dog/NOUN barks/VERB"])
    dm = ConlluDataModule(str(train_path), str(dev_path), min_freq=2, lowercase=True, batch_size=2)
    # Lowercased counts: the x3, dog x3, cat x2, sleeps x2, . x3; the rest is <unk>.
    assert set(dm.words.itos) == {"<pad>", "<unk>", "the", "dog", "cat", "sleeps", "."}
    assert dm.tags.itos == ["ADJ", "DET", "NOUN", "PUNCT", "VERB"]
    dm.setup("fit")
    batches = dm.batches("train", shuffle=True)
    batches.sampler.set_epoch(3)
    seen = []
    for batch in batches:
        longest = int(batch["lengths"].max())
        assert batch["words"].shape[1] == batch["tags"].shape[1] == longest  # trimmed
        seen += batch["lengths"].tolist()
    assert sorted(seen) == sorted(len(s.split()) for s in TREEBANK)  # each sentence once


def test_batches_spell_every_word_with_its_characters(tmp_path):
    from seqlab.data.conllu import ConlluDataModule

    train_path = make_treebank(tmp_path, "train.conllu", TREEBANK)
    dm = ConlluDataModule(str(train_path), str(train_path), min_freq=2, batch_size=2)
    dm.setup("fit")
    spelled = []
    for batch in dm.batches("train", shuffle=True):
        forms, form_chars = batch["forms"], batch["form_chars"]  # (B, L), (F, W)
        assert forms.shape == batch["words"].shape
        assert len(form_chars) == len(set(map(tuple, form_chars.tolist())))  # each word once
        chars, lengths = form_chars[forms], batch["lengths"]  # (B, L, W), (B,)
        rows = [
            ["".join(dm.chars.decode([c for c in word if c != 0])) for word in sentence[:n]]
            for sentence, n in zip(chars.tolist(), lengths.tolist(), strict=True)
        ]
        assert chars.shape[2] == max(len(w) for row in rows for w in row)  # trimmed to fit
        assert all((chars[b, n:] == 0).all() for b, n in enumerate(lengths.tolist()))
        spelled += [" ".join(row) for row in rows]
    # Rare words are <unk> in `words`, but spelled out in full in `chars`, case kept.
    assert sorted(spelled) == sorted(
        " ".join(t.rsplit("/", 1)[0] for t in s.split()) for s in TREEBANK
    )


def test_data_module_refuses_tags_unseen_in_training(tmp_path):
    from seqlab.data.conllu import ConlluDataModule

    train_path = make_treebank(tmp_path, "train.conllu", TREEBANK)
    dev_path = make_treebank(tmp_path, "dev.conllu", ["Wow/INTJ"])
    with pytest.raises(ConfigError, match=r"dev.conllu:2: tag 'INTJ' does not occur"):
        ConlluDataModule(str(train_path), str(dev_path))


def test_test_file_read_with_a_models_vocabularies(tmp_path):
    """Evaluation data takes the model's vocabularies, needs no training file, and also
    serves a tagger that has no character vocabulary (no character features)."""
    from seqlab.data.conllu import ConlluDataModule
    from seqlab.models.tagger_module import TaggerModule

    train_path = make_treebank(tmp_path, "train.conllu", TREEBANK)
    kwargs = ConlluDataModule(str(train_path), str(train_path)).model_kwargs()
    for chars in (kwargs["chars"], None):
        model = TaggerModule(**{**kwargs, "chars": chars})
        test_path = make_treebank(tmp_path, "test.conllu", ["The/DET zebra/NOUN sleeps/VERB"])
        data = ConlluDataModule(test_path=str(test_path), vocab=model.vocabulary())
        assert not data.has_split("train") and data.words.itos == model.words.itos
        data.setup("test")
        (batch,) = list(data.batches("test"))
        assert data.words.decode(batch["words"][0].tolist()) == ["The", "<unk>", "sleeps"]
    with pytest.raises(ConfigError, match="data.test_path: not set"):
        ConlluDataModule(vocab=model.vocabulary())
