"""Reading CoNLL-U treebanks (Universal Dependencies) as tagged sentences.

Only plain token lines are tagged: an integer ID in the first column. Comments (`#`),
multiword token ranges (`3-4`) and empty nodes (`8.1`) are skipped. Any problem is one
ConfigError naming the file and line. No torch here: reading is plain Python.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from seqlab.config import ConfigError

FIELDS = ("id", "form", "lemma", "upos", "xpos", "feats", "head", "deprel", "deps", "misc")
TAG_COLUMNS = ("upos", "xpos")


@dataclass
class Sentence:
    words: list[str]
    tags: list[str]
    lines: list[int]  # the line number of each token, for error messages


def read_conllu(path: str | Path, tag_column: str = "upos") -> list[Sentence]:
    """The sentences of a CoNLL-U file, with the tags of `tag_column` (upos or xpos).

    A file is parsed once per process while it stays unchanged: the config check before
    training and the DataModule share the result (treat it as read-only).
    """
    path = Path(path)
    if tag_column not in TAG_COLUMNS:
        raise ConfigError(f"data.tag_column={tag_column!r} is not allowed: upos or xpos")
    if not path.is_file():
        raise ConfigError(f"{path}: no such file")
    stat = path.stat()
    return _parse(str(path), stat.st_mtime_ns, stat.st_size, tag_column)


@functools.lru_cache(maxsize=8)
def _parse(path: str, mtime_ns: int, size: int, tag_column: str) -> list[Sentence]:
    column = FIELDS.index(tag_column)
    sentences: list[Sentence] = []
    current = Sentence([], [], [])
    # utf-8-sig: a byte-order mark, which some editors write first, is not part of line 1.
    with open(path, encoding="utf-8-sig") as f:
        for number, line in enumerate(f, 1):
            line = line.rstrip("\r\n")
            if not line.strip():  # a blank line ends a sentence
                if current.words:
                    sentences.append(current)
                    current = Sentence([], [], [])
                continue
            if line.startswith("#"):
                continue
            fields = line.split("\t")
            if len(fields) != len(FIELDS):
                raise ConfigError(
                    f"{path}:{number}: a token line needs 10 tab-separated fields, "
                    f"found {len(fields)}"
                )
            token_id = fields[0]
            if "-" in token_id or "." in token_id:  # multiword range or empty node
                continue
            if not token_id.isdigit():
                raise ConfigError(
                    f"{path}:{number}: token ID {token_id!r} is not an integer, a range "
                    "(3-4) or an empty node (8.1)"
                )
            tag = fields[column]
            if tag in ("", "_"):
                raise ConfigError(f"{path}:{number}: no {tag_column} tag for {fields[1]!r}")
            current.words.append(fields[1])
            current.tags.append(tag)
            current.lines.append(number)
    if current.words:
        sentences.append(current)
    if not sentences:
        raise ConfigError(f"{path}: no sentences (an empty file?)")
    return sentences


def check_known_tags(sentences: Iterable[Sentence], known: set[str], path: str | Path) -> None:
    """Every tag of a validation or test file must occur in the training data."""
    for sentence in sentences:
        for tag, line in zip(sentence.tags, sentence.lines, strict=True):
            if tag not in known:
                raise ConfigError(
                    f"{path}:{line}: tag {tag!r} does not occur in the training data "
                    f"(tags: {', '.join(sorted(known))})"
                )


def check_files(data: Mapping) -> None:
    """Read a CoNLL-U data config's files as the DataModule will (seqlab.checks calls this
    before torch is imported): any problem is one ConfigError naming the file and line."""
    column = data.get("tag_column", "upos")
    paths = {split: data.get(f"{split}_path") for split in ("train", "val", "test")}
    sentences = {split: read_conllu(path, column) for split, path in paths.items() if path}
    if "train" in sentences:
        known = {tag for sentence in sentences["train"] for tag in sentence.tags}
        for split in ("val", "test"):
            if split in sentences:
                check_known_tags(sentences[split], known, paths[split])
