"""Vocab: encoding and decoding."""

from seqlab.data.vocab import Vocab


def test_vocab_round_trip():
    vocab = Vocab(["x", "y", "x"])
    assert Vocab.from_itos(vocab.itos).itos == vocab.itos == ["<pad>", "<unk>", "x", "y"]
    assert vocab.encode(["y", "zzz"]) == [3, 1] and vocab.decode([2, 3]) == ["x", "y"]
