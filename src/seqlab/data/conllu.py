"""Part-of-speech tagging on CoNLL-U treebanks (e.g. Universal Dependencies English EWT)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import torch

from seqlab.config import ConfigError
from seqlab.data.base import TensorDataModule
from seqlab.data.batches import Batch, BucketBatches
from seqlab.data.conllu_reader import Sentence, check_known_tags, read_conllu
from seqlab.data.vocab import Vocab, encode_sentences


class ConlluDataModule(TensorDataModule):
    """Train, val and (optionally) test files in CoNLL-U, tagged with `tag_column`.

    The word vocabulary comes from the training file: words seen at least `min_freq` times
    (after lowercasing, with `lowercase`), the rest read as <unk>. The tag set is the
    training file's; a val or test tag outside it is an error naming its file and line.
    Batches hold sentences of similar length (`BucketBatches`), padded, with `lengths`.
    """

    batch_class = BucketBatches

    def __init__(
        self,
        train_path: str,
        val_path: str,
        test_path: str | None = None,
        tag_column: str = "upos",
        min_freq: int = 1,
        lowercase: bool = False,
        batch_size: int = 32,
        shuffle: bool = True,
        seed: int = 0,
    ) -> None:
        super().__init__()
        self.save_hyperparameters(logger=False)
        paths = {"train": train_path, "val": val_path, "test": test_path}
        if not train_path or not val_path:
            raise ConfigError("data.train_path and data.val_path: both are required")
        for split, path in paths.items():
            if path and not Path(path).is_file():
                raise ConfigError(f"data.{split}_path={path}: no such file")
        self.sentences: dict[str, list[Sentence]] = {
            split: read_conllu(path, tag_column) for split, path in paths.items() if path
        }
        counts = Counter(self._norm(w) for s in self.sentences["train"] for w in s.words)
        self.words = Vocab(w for w, c in counts.most_common() if c >= min_freq)
        self.tags = Vocab(sorted({t for s in self.sentences["train"] for t in s.tags}), False)
        for split in ("val", "test"):
            if split in self.sentences:
                check_known_tags(self.sentences[split], set(self.tags.itos), paths[split])

    def _norm(self, word: str) -> str:
        return word.lower() if self.hparams.lowercase else word

    def model_kwargs(self) -> dict:
        """What a model built for this data needs to know: both vocabularies."""
        return {
            "words": list(self.words.itos),
            "tags": list(self.tags.itos),
            "lowercase": self.hparams.lowercase,
        }

    def build_splits(self, device: torch.device) -> dict[str, Batch]:
        splits = {}
        for split, sentences in self.sentences.items():
            pairs = [([self._norm(w) for w in s.words], s.tags) for s in sentences]
            tensors = encode_sentences(pairs, self.words, self.tags)
            splits[split] = {k: v.to(device) for k, v in tensors.items()}
        return splits

    def has_split(self, split: str) -> bool:
        return split in self.sentences

    def test_dataloader(self) -> BucketBatches:
        if "test" not in self.splits:
            raise ConfigError("data.test_path: not set, so there is no test split to test on")
        return self.batches("test")
