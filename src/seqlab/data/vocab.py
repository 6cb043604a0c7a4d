"""String <-> index tables for words and tags."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import torch

PAD, UNK = "<pad>", "<unk>"
IGNORE_INDEX = -100  # target index that losses and metrics skip (torch's default)


class Vocab:
    """An ordered table of symbols; index 0 is padding and 1 unknown when `specials` is on.

    Symbols keep the order in which they are first seen, as the tutorial's `word_to_ix`.
    """

    def __init__(self, symbols: Iterable[str], specials: bool = True) -> None:
        self.itos: list[str] = [PAD, UNK] if specials else []
        self.stoi: dict[str, int] = {s: i for i, s in enumerate(self.itos)}
        self.specials = specials
        for s in symbols:
            if s not in self.stoi:
                self.stoi[s] = len(self.itos)
                self.itos.append(s)

    @classmethod
    def from_itos(cls, itos: Sequence[str]) -> Vocab:
        """Rebuild a saved table (e.g. from a checkpoint's `itos` list) exactly."""
        specials = list(itos[:2]) == [PAD, UNK]
        return cls(itos[2:] if specials else itos, specials=specials)

    def __len__(self) -> int:
        return len(self.itos)

    def __contains__(self, symbol: str) -> bool:
        return symbol in self.stoi

    def encode(self, symbols: Sequence[str]) -> list[int]:
        """Indices of `symbols`; unknown ones map to UNK (a KeyError without specials)."""
        if self.specials:
            unk = self.stoi[UNK]
            return [self.stoi.get(s, unk) for s in symbols]
        return [self.stoi[s] for s in symbols]

    def decode(self, indices: Iterable[int]) -> list[str]:
        return [self.itos[i] for i in indices]


def pad(rows: Sequence[Sequence[int]], value: int) -> torch.Tensor:
    """Ragged rows of indices -> one (N, max_len) long tensor, right-padded with `value`."""
    out = torch.full((len(rows), max(map(len, rows), default=0)), value, dtype=torch.long)
    for i, row in enumerate(rows):
        out[i, : len(row)] = torch.tensor(row, dtype=torch.long)
    return out


def encode_words(sentences: Sequence[Sequence[str]], words: Vocab) -> dict[str, torch.Tensor]:
    """Tokenised sentences -> words (N, L) padded with PAD's index 0, and lengths (N,)."""
    lengths = torch.tensor([len(s) for s in sentences], dtype=torch.long)
    return {"words": pad([words.encode(s) for s in sentences], 0), "lengths": lengths}


def encode_sentences(
    sentences: Sequence[tuple[Sequence[str], Sequence[str]]], words: Vocab, tags: Vocab
) -> dict[str, torch.Tensor]:
    """Tagged sentences -> words (N, L), tags (N, L) padded with IGNORE_INDEX, lengths (N,)."""
    out = encode_words([w for w, _ in sentences], words)
    out["tags"] = pad([tags.encode(t) for _, t in sentences], IGNORE_INDEX)
    return out


def encode_forms(
    sentences: Sequence[Sequence[str]], chars: Vocab
) -> tuple[torch.Tensor, torch.Tensor]:
    """Tokenised sentences -> forms (N, L) and a character table (F, W).

    `forms` indexes the table, which holds the characters of each distinct word form once
    (unknown characters as <unk>), so `table[forms]` (N, L, W) spells every word. Row 0 is
    the empty form, used for padding; W is the longest form, rows are padded with 0.
    """
    index: dict[str, int] = {"": 0}  # form -> row of the table
    rows = [[index.setdefault(w, len(index)) for w in s] for s in sentences]
    table = pad([chars.encode(list(form)) for form in index], 0)  # dicts keep insertion order
    return pad(rows, 0), table
