"""Part-of-speech tagging on CoNLL-U treebanks (e.g. Universal Dependencies English EWT)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import torch

from seqlab.config import ConfigError
from seqlab.data.base import TensorDataModule
from seqlab.data.batches import Batch, SpelledBatches
from seqlab.data.conllu_reader import Sentence, check_known_tags, read_conllu
from seqlab.data.vocab import Vocab, encode_forms, encode_sentences


class ConlluDataModule(TensorDataModule):
    """Train, val and (optionally) test files in CoNLL-U, tagged with `tag_column`.

    The word vocabulary comes from the training file: words seen at least `min_freq` times
    (after lowercasing, with `lowercase`), the rest read as <unk>. The character vocabulary
    is every character of the training words, as written (case kept). The tag set is the
    training file's; a val or test tag outside it is an error naming its file and line.

    `vocab` ({words, tags, chars}: lists, as a trained tagger holds them) evaluates a
    trained model on new text: the vocabularies are taken as given, and only the test file
    is read (train and val paths are then not used).

    Batches hold sentences of similar length, padded, with `lengths`, and each word's
    characters (`forms` and `form_chars`, see `SpelledBatches`).
    """

    batch_class = SpelledBatches

    def __init__(
        self,
        train_path: str | None = None,
        val_path: str | None = None,
        test_path: str | None = None,
        tag_column: str = "upos",
        min_freq: int = 1,
        lowercase: bool = False,
        batch_size: int = 32,
        shuffle: bool = True,
        seed: int = 0,
        vocab: dict | None = None,
    ) -> None:
        super().__init__()
        self.save_hyperparameters(logger=False, ignore=["vocab"])
        if vocab is None:
            paths = {"train": train_path, "val": val_path, "test": test_path}
            if not train_path or not val_path:
                raise ConfigError("data.train_path and data.val_path: both are required")
        else:
            paths = {"test": test_path}
            if not test_path:
                raise ConfigError("data.test_path: not set; give the CoNLL-U file to test on")
        for split, path in paths.items():
            if path and not Path(path).is_file():
                raise ConfigError(f"data.{split}_path={path}: no such file")
        self.paths = {split: path for split, path in paths.items() if path}
        self.sentences: dict[str, list[Sentence]] = {
            split: read_conllu(path, tag_column) for split, path in self.paths.items()
        }
        if vocab is None:
            self.words, self.tags, self.chars = self._vocabularies(self.sentences["train"])
        else:
            self.words = Vocab.from_itos(vocab["words"])
            self.tags = Vocab.from_itos(vocab["tags"])
            self.chars = Vocab.from_itos(vocab["chars"])
        for split in ("val", "test"):
            if split in self.sentences:
                check_known_tags(self.sentences[split], set(self.tags.itos), self.paths[split])
        self.char_tables: dict[str, torch.Tensor] = {}

    def _vocabularies(self, train: list[Sentence]) -> tuple[Vocab, Vocab, Vocab]:
        """Words (min_freq, after lowercasing), tags and characters of the training file."""
        train_words = [w for s in train for w in s.words]
        counts = Counter(self._norm(w) for w in train_words)
        words = Vocab(w for w, c in counts.most_common() if c >= self.hparams.min_freq)
        tags = Vocab(sorted({t for s in train for t in s.tags}), specials=False)
        chars = Vocab(c for c, _ in Counter("".join(train_words)).most_common())
        return words, tags, chars

    @classmethod
    def with_vocabulary(cls, vocabulary: dict[str, list[str]], **settings: Any) -> ConlluDataModule:
        """The test file of `settings`, read with a trained model's vocabularies
        (ReadsWithVocabulary): training and validation files are not read."""
        return cls(**settings, vocab=vocabulary)

    def _norm(self, word: str) -> str:
        return word.lower() if self.hparams.lowercase else word

    def model_kwargs(self) -> dict:
        """What a model built for this data needs to know: the vocabularies."""
        return {
            "words": list(self.words.itos),
            "tags": list(self.tags.itos),
            "chars": list(self.chars.itos),
            "lowercase": self.hparams.lowercase,
        }

    def build_splits(self, device: torch.device) -> dict[str, Batch]:
        splits = {}
        for split, sentences in self.sentences.items():
            pairs = [([self._norm(w) for w in s.words], s.tags) for s in sentences]
            tensors = encode_sentences(pairs, self.words, self.tags)
            # Characters are read from the words as written, before any lowercasing.
            tensors["forms"], table = encode_forms([s.words for s in sentences], self.chars)
            self.char_tables[split] = table.to(device)
            splits[split] = {k: v.to(device) for k, v in tensors.items()}
        return splits

    def batch_kwargs(self, split: str) -> dict:
        return {"char_table": self.char_tables[split]}

    def has_split(self, split: str) -> bool:
        return split in self.sentences

    def test_dataloader(self) -> SpelledBatches:
        if "test" not in self.splits:
            raise ConfigError("data.test_path: not set, so there is no test split to test on")
        return self.batches("test")
