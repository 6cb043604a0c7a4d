"""Part-of-speech tagging on a handful of sentences written in the config (the tutorial's data)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import torch

from seqlab.config import ConfigError
from seqlab.data.base import TensorDataModule
from seqlab.data.batches import Batch
from seqlab.data.vocab import Vocab, encode_sentences

# The tutorial's training data. Tags: DET determiner, NN noun, V verb.
TUTORIAL_SENTENCES = [
    {"words": "The dog ate the apple", "tags": "DET NN V DET NN"},
    {"words": "Everybody read that book", "tags": "NN V DET NN"},
]


def parse_sentences(items: Sequence[dict], where: str) -> list[tuple[list[str], list[str]]]:
    """[{words: 'a b', tags: 'X Y'}, ...] -> [(['a', 'b'], ['X', 'Y']), ...], checked."""
    out = []
    for i, item in enumerate(items):
        if not isinstance(item, Mapping) or set(item) != {"words", "tags"}:
            raise ConfigError(f"{where}[{i}]: expected {{words: '...', tags: '...'}}, got {item!r}")
        words, tags = str(item["words"]).split(), str(item["tags"]).split()
        if not words or len(words) != len(tags):
            raise ConfigError(
                f"{where}[{i}]: {len(words)} words but {len(tags)} tags; "
                "each sentence needs one tag per word"
            )
        out.append((words, tags))
    return out


class ToyTaggingDataModule(TensorDataModule):
    """A few tagged sentences from the config; val and test default to the training set.

    The vocabularies come from the training sentences in order of first appearance, after
    the padding and unknown-word entries. Sentences of different lengths are padded; the
    `lengths` tensor lets the model pack them and the loss skip padding.
    """

    def __init__(
        self,
        train: Sequence[dict] = tuple(TUTORIAL_SENTENCES),
        val: Sequence[dict] | None = None,
        test: Sequence[dict] | None = None,
        batch_size: int | None = 1,
        shuffle: bool = False,
        seed: int = 0,
    ) -> None:
        super().__init__()
        self.save_hyperparameters(logger=False)
        self.sentences = {
            "train": parse_sentences(train, "data.train"),
            "val": parse_sentences(val if val is not None else train, "data.val"),
            "test": parse_sentences(test if test is not None else train, "data.test"),
        }
        train_sents = self.sentences["train"]
        self.words = Vocab(w for sent, _ in train_sents for w in sent)
        self.tags = Vocab((t for _, tags in train_sents for t in tags), specials=False)
        for split in ("val", "test"):
            for i, (_, tags) in enumerate(self.sentences[split]):
                unknown = sorted(set(tags) - set(self.tags.itos))
                if unknown:
                    raise ConfigError(
                        f"data.{split}[{i}]: tags {unknown} do not occur in data.train "
                        f"(known: {self.tags.itos})"
                    )

    def model_kwargs(self) -> dict:
        """What a model built for this data needs to know: both vocabularies."""
        return {"words": list(self.words.itos), "tags": list(self.tags.itos)}

    def build_splits(self, device: torch.device) -> dict[str, Batch]:
        splits = {}
        for split, sentences in self.sentences.items():
            tensors = encode_sentences(sentences, self.words, self.tags)
            splits[split] = {k: v.to(device) for k, v in tensors.items()}
        return splits
