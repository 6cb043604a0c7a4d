"""TaggerModule trained by hand (no Trainer): character features, CRF, BiLSTM."""

from collections import Counter

import pytest
import torch

from tests.conftest import TREEBANK


def test_character_features_tag_unseen_words_by_their_spelling():
    """Made-up nouns and adverbs (-ly) are all <unk> to the word table (min_freq 2) and sit
    in the same place: only their characters tell them apart, also for unseen words."""
    import random

    from seqlab.data.vocab import Vocab, encode_forms, encode_sentences
    from seqlab.models.tagger_module import TaggerModule

    rng = random.Random(0)

    def made_up(n: int) -> list[tuple[str, str]]:
        stems = [
            "".join(rng.choices("abcdefghijkmnoprstuvw", k=rng.randint(3, 6))) for _ in range(n)
        ]
        return [(s, "NOUN") if i % 2 else (s + "ly", "ADV") for i, s in enumerate(stems)]

    sentences = []
    for i, (rare, tag) in enumerate(made_up(80)):
        subject, verb = [("dog", "sees"), ("cat", "likes")][i % 4 // 2]
        sentences.append((["the", subject, verb, rare], ["DET", "NOUN", "VERB", tag]))
    counts = Counter(w for words, _ in sentences for w in words)
    words = Vocab(w for w, c in counts.items() if c >= 2)
    chars = Vocab("abcdefghijklmnopqrstuvwxyz")
    tags = Vocab(["ADV", "DET", "NOUN", "VERB"], specials=False)
    batch = encode_sentences(sentences, words, tags)
    batch["forms"], batch["form_chars"] = encode_forms([ws for ws, _ in sentences], chars)
    torch.manual_seed(0)
    model = TaggerModule(
        words.itos, tags.itos, 16, 16, chars=chars.itos, char_dim=8, char_filters=16
    )
    opt = torch.optim.Adam(model.parameters(), lr=0.05)
    model.log_train = lambda values: None  # no Trainer attached
    for _ in range(60):
        opt.zero_grad()
        model.step(batch, "train").backward()
        opt.step()
    unseen = made_up(20)
    tagged = model.tag([["the", "dog", "sees", word] for word, _ in unseen])
    right = sum(tags[-1] == tag for tags, (_, tag) in zip(tagged, unseen, strict=True))
    assert right >= 18  # of 20; the word table alone cannot beat a coin (about 10)


@pytest.mark.parametrize("options", [{"crf": True}, {"crf": True, "bidirectional": True}])
def test_tagger_options_learn_the_toy_sentences(options):
    from seqlab.models.tagger_module import TaggerModule

    sentences = [s.split() for s in TREEBANK]
    words = [[t.rsplit("/", 1)[0] for t in s] for s in sentences]
    tags = [[t.rsplit("/", 1)[1] for t in s] for s in sentences]
    from seqlab.data.vocab import Vocab, encode_sentences

    word_vocab = Vocab(w for s in words for w in s)
    tag_vocab = Vocab(sorted({t for s in tags for t in s}), specials=False)
    batch = encode_sentences(list(zip(words, tags, strict=True)), word_vocab, tag_vocab)
    torch.manual_seed(0)
    model = TaggerModule(word_vocab.itos, tag_vocab.itos, dropout=0.1, word_dropout=0.05, **options)
    opt = torch.optim.Adam(model.parameters(), lr=0.05)
    model.log_train = lambda values: None  # no Trainer attached
    for _ in range(60):
        opt.zero_grad()
        loss = model.step(batch, "train")
        loss.backward()
        opt.step()
    assert model.tag(words) == tags
