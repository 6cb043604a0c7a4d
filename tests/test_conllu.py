"""Reading CoNLL-U files: what is tagged, what is skipped, and one-line errors."""

import json
from collections import Counter
from pathlib import Path

import pytest
import torch

from seqlab.config import ConfigError
from seqlab.data.conllu_reader import check_known_tags, read_conllu

TOKEN = "{id}\t{form}\t{form}\t{upos}\t{xpos}\t_\t0\troot\t_\t_"

GOOD = "\n".join(
    [
        "# sent_id = 1",
        "# text = Don't stop.",
        "1-2\tDon't\t_\t_\t_\t_\t_\t_\t_\t_",
        TOKEN.format(id=1, form="Do", upos="AUX", xpos="VBP"),
        TOKEN.format(id=2, form="n't", upos="PART", xpos="RB"),
        TOKEN.format(id=3, form="stop", upos="VERB", xpos="VB"),
        "3.1\tgo\tgo\tVERB\tVB\t_\t_\t_\t_\t_",
        TOKEN.format(id=4, form=".", upos="PUNCT", xpos="."),
        "",
        "# sent_id = 2",
        TOKEN.format(id=1, form="Dogs", upos="NOUN", xpos="NNS"),
        TOKEN.format(id=2, form="bark", upos="VERB", xpos="VBP"),
        "",
    ]
)


def write(tmp_path: Path, text: str, name: str = "data.conllu") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_tokens_comments_ranges_and_empty_nodes(tmp_path):
    sentences = read_conllu(write(tmp_path, GOOD))
    assert [s.words for s in sentences] == [["Do", "n't", "stop", "."], ["Dogs", "bark"]]
    assert [s.tags for s in sentences] == [["AUX", "PART", "VERB", "PUNCT"], ["NOUN", "VERB"]]
    assert sentences[0].lines == [4, 5, 6, 8]
    xpos = read_conllu(write(tmp_path, GOOD), tag_column="xpos")
    assert xpos[1].tags == ["NNS", "VBP"]


def test_last_sentence_without_a_final_blank_line(tmp_path):
    sentences = read_conllu(write(tmp_path, GOOD.rstrip("\n")))
    assert len(sentences) == 2 and sentences[1].words == ["Dogs", "bark"]


BAD = [
    ("1\tDogs\tdog\tNOUN\n", "data.conllu:1: a token line needs 10 tab-separated fields, found 4"),
    (TOKEN.format(id="x", form="a", upos="DET", xpos="DT"), "data.conllu:1: token ID 'x'"),
    (TOKEN.format(id=1, form="a", upos="_", xpos="DT"), "data.conllu:1: no upos tag for 'a'"),
    ("", "data.conllu: no sentences (an empty file?)"),
    ("# only a comment\n\n", "data.conllu: no sentences"),
]


@pytest.mark.parametrize("text, message", BAD)
def test_malformed_files_name_the_file_and_line(text, message, tmp_path):
    with pytest.raises(ConfigError) as error:
        read_conllu(write(tmp_path, text))
    assert message in str(error.value) and "\n" not in str(error.value)


def test_missing_file_and_unknown_tag_column(tmp_path):
    with pytest.raises(ConfigError, match="nope.conllu: no such file"):
        read_conllu(tmp_path / "nope.conllu")
    with pytest.raises(ConfigError, match="data.tag_column='deprel' is not allowed"):
        read_conllu(write(tmp_path, GOOD), tag_column="deprel")


def test_unknown_tags_in_evaluation_files(tmp_path):
    path = write(tmp_path, GOOD, "dev.conllu")
    sentences = read_conllu(path)
    check_known_tags(sentences, {"AUX", "PART", "VERB", "PUNCT", "NOUN"}, path)
    with pytest.raises(ConfigError, match=r"dev.conllu:11: tag 'NOUN' does not occur"):
        check_known_tags(sentences, {"AUX", "PART", "VERB", "PUNCT"}, path)


def make_treebank(tmp_path: Path, name: str, sentences: list[str]) -> Path:
    """A CoNLL-U file from 'word/TAG word/TAG' strings."""
    lines = []
    for n, sentence in enumerate(sentences, 1):
        lines.append(f"# sent_id = {n}")
        for i, token in enumerate(sentence.split(), 1):
            word, tag = token.rsplit("/", 1)
            lines.append(TOKEN.format(id=i, form=word, upos=tag, xpos="_"))
        lines.append("")
    return write(tmp_path, "\n".join(lines) + "\n", name)


TRAIN = [
    "The/DET dog/NOUN barks/VERB ./PUNCT",
    "A/DET cat/NOUN sleeps/VERB ./PUNCT",
    "the/DET dog/NOUN sleeps/VERB",
    "Dogs/NOUN bark/VERB",
    "The/DET old/ADJ cat/NOUN saw/VERB the/DET dog/NOUN ./PUNCT",
]


def test_data_module_vocabulary_and_buckets(tmp_path):
    from seqlab.data.conllu import ConlluDataModule

    train_path = make_treebank(tmp_path, "train.conllu", TRAIN)
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
    assert sorted(seen) == sorted(len(s.split()) for s in TRAIN)  # each sentence once


def test_batches_spell_every_word_with_its_characters(tmp_path):
    from seqlab.data.conllu import ConlluDataModule

    train_path = make_treebank(tmp_path, "train.conllu", TRAIN)
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
        " ".join(t.rsplit("/", 1)[0] for t in s.split()) for s in TRAIN
    )


def test_char_cnn_ignores_padding():
    from seqlab.nets.char_cnn import CharCNN

    torch.manual_seed(0)
    cnn = CharCNN(num_chars=10, char_dim=4, filters=6, kernel=3)
    alone = cnn(torch.tensor([[3, 4, 5]]))  # (1, 6)
    padded = cnn(torch.tensor([[3, 4, 5, 0, 0, 0, 0], [0] * 7]))  # a long batch, a pad word
    assert torch.allclose(alone[0], padded[0], atol=1e-6)  # float rounding only
    assert (padded[1] == 0).all()
    with pytest.raises(ValueError, match="must be odd"):
        CharCNN(10, 4, 6, kernel=2)


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


def test_data_module_refuses_tags_unseen_in_training(tmp_path):
    from seqlab.data.conllu import ConlluDataModule

    train_path = make_treebank(tmp_path, "train.conllu", TRAIN)
    dev_path = make_treebank(tmp_path, "dev.conllu", ["Wow/INTJ"])
    with pytest.raises(ConfigError, match=r"dev.conllu:2: tag 'INTJ' does not occur"):
        ConlluDataModule(str(train_path), str(dev_path))


def test_bucketing_keeps_batches_of_similar_lengths():
    from seqlab.data.batches import BucketBatches

    lengths = torch.tensor([1, 9, 2, 8, 3, 7, 4, 6])
    words = torch.ones(8, 9, dtype=torch.long)
    batches = BucketBatches({"words": words, "lengths": lengths}, batch_size=2, pool=4)
    assert [b["lengths"].tolist() for b in batches] == [[1, 2], [3, 4], [6, 7], [8, 9]]
    assert [b["words"].shape[1] for b in batches] == [2, 4, 7, 9]


@pytest.mark.parametrize("options", [{"crf": True}, {"crf": True, "bidirectional": True}])
def test_tagger_options_learn_the_toy_sentences(options):
    from seqlab.models.tagger_module import TaggerModule

    sentences = [s.split() for s in TRAIN]
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


def test_ud_pos_trains_evaluates_any_file_and_tags_with_the_checkpoint(tmp_path):
    from tests.conftest import QUIET, assert_run_contract, run_cli

    train_path = make_treebank(tmp_path, "train.conllu", TRAIN * 4)
    dev_path = make_treebank(tmp_path, "dev.conllu", TRAIN[:2])
    run_dir = tmp_path / "run"
    args = [
        "experiment=ud_pos",
        f"data.train_path={train_path}",
        f"data.val_path={dev_path}",
        "data.min_freq=1",
        "model.embedding_dim=16",
        "model.hidden_dim=16",
        "model.char_dim=8",
        "model.char_filters=8",
        "model.lr=0.05",
        "trainer.max_epochs=25",
        "callbacks.early_stopping=null",
        "seed=3",
        f"hydra.run.dir={run_dir}",
        *QUIET,
    ]
    result = run_cli(["seqlab-train", *args], tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    metrics = assert_run_contract(run_dir)
    assert metrics["best"]["val/acc"] == 1.0  # the dev sentences are training sentences
    assert "test/acc" not in metrics["final"]  # no test file given: nothing tested
    assert metrics["best"]["val/acc_by_tag/NOUN"] == 1.0
    assert {r["epoch"] for r in metrics["history"]} == set(range(1, 26))

    # Evaluate on another file, with the training files gone: the vocabularies come from
    # the checkpoint. "old" and "saw" occur once in training; "Cats" and "tiny" never.
    ckpt = run_dir / metrics["checkpoints"]["best"]
    train_path.unlink()
    other = make_treebank(
        tmp_path,
        "other.conllu",
        [
            "The/DET old/ADJ dog/NOUN saw/VERB ./PUNCT",
            "Cats/NOUN sleeps/VERB",
            "A/DET tiny/ADJ cat/NOUN",
        ],
    )
    eval_dir = tmp_path / "eval"
    args = [f"ckpt_path={ckpt}", f"data.test_path={other}", f"hydra.run.dir={eval_dir}"]
    result = run_cli(["seqlab-eval", *args, "trainer.enable_progress_bar=false"], tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    evaluated = json.loads((eval_dir / "metrics.json").read_text())
    by_tag = evaluated["test_by_tag"]
    assert {tag: row["tokens"] for tag, row in by_tag.items()} == {
        "ADJ": 2,
        "DET": 2,
        "NOUN": 3,
        "PUNCT": 1,
        "VERB": 2,
    }
    for tag, row in by_tag.items():
        assert evaluated["test"][f"test/acc_by_tag/{tag}"] == pytest.approx(row["acc"])
    overall = sum(row["acc"] * row["tokens"] for row in by_tag.values()) / 10
    assert evaluated["test"]["test/acc"] == pytest.approx(overall)
    confusion = (eval_dir / "confusion_test.csv").read_text().splitlines()
    assert confusion[0] == "gold \\ predicted,ADJ,DET,NOUN,PUNCT,VERB"
    assert sum(int(n) for line in confusion[1:] for n in line.split(",")[1:]) == 10
    assert (eval_dir / "confusion_test.png").stat().st_size > 0

    tagged = run_cli(["seqlab-tag", str(ckpt), "The dog barks .", "A cat sleeps"], tmp_path)
    assert tagged.returncode == 0, tagged.stderr[-3000:]
    assert tagged.stdout.splitlines() == [
        "The/DET dog/NOUN barks/VERB ./PUNCT",
        "A/DET cat/NOUN sleeps/VERB",
    ]
    conllu = run_cli(["seqlab-tag", str(ckpt), "--format", "conllu", "A cat sleeps"], tmp_path)
    assert "1\tA\t_\tDET\t" in conllu.stdout and "3\tsleeps\t_\tVERB\t" in conllu.stdout
    sentences = read_conllu(write(tmp_path, conllu.stdout, "tagged.conllu"))
    assert sentences[0].tags == ["DET", "NOUN", "VERB"]


def test_seqlab_tag_with_the_toy_tagger_and_bad_checkpoints(tmp_path):
    from seqlab.train import train
    from tests.conftest import compose_train, run_cli

    run_dir = tmp_path / "toy"
    train(compose_train(["experiment=tutorial_tagger", "callbacks.tag_examples=null"], run_dir))
    ckpt = run_dir / "checkpoints" / "last.ckpt"
    result = run_cli(["seqlab-tag", str(ckpt), "The dog ate the apple"], tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip() == "The/DET dog/NN ate/V the/DET apple/NN"

    sums = tmp_path / "sum"
    train(compose_train(["experiment=sum", "data.n=64", "trainer.max_epochs=1"], sums))
    other = run_cli(["seqlab-tag", str(sums / "checkpoints" / "last.ckpt"), "a b"], tmp_path)
    assert other.returncode == 2 and "which does not tag" in other.stderr
    missing = run_cli(["seqlab-tag", str(tmp_path / "nope.ckpt"), "a"], tmp_path)
    assert missing.returncode == 2 and "nope.ckpt: no such file" in missing.stderr


def test_test_file_read_with_a_models_vocabularies(tmp_path):
    """Evaluation data takes the model's vocabularies, needs no training file, and also
    serves a tagger that has no character vocabulary (no character features)."""
    from seqlab.data.conllu import ConlluDataModule
    from seqlab.models.tagger_module import TaggerModule

    train_path = make_treebank(tmp_path, "train.conllu", TRAIN)
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
