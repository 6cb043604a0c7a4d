"""Tagging metrics from a confusion matrix (gold x predicted tag counts). Torch only."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch


def accuracies(confusion: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Counts (T, T), rows gold and columns predicted -> overall accuracy, accuracy per gold
    tag (T,) (the share of its tokens tagged right; 0 for a tag with no tokens) and tokens
    per gold tag (T,)."""
    correct, tokens = confusion.diag(), confusion.sum(1)
    overall = correct.sum() / tokens.sum().clamp(min=1)
    return overall, correct / tokens.clamp(min=1), tokens


def per_tag(confusion: torch.Tensor, tags: Sequence[str]) -> dict[str, dict[str, Any]]:
    """{tag: {tokens, acc, confused_with}} for every tag that occurs in the gold data.

    `acc` is the share of the tag's tokens tagged right; `confused_with` the wrong tag
    given to them most often (None if none was).
    """
    _, by_tag, tokens = accuracies(confusion)
    wrong = confusion.clone()
    wrong.fill_diagonal_(0)
    report = {}
    for i, tag in enumerate(tags):
        if tokens[i] == 0:
            continue
        report[tag] = {
            "tokens": int(tokens[i]),
            "acc": float(by_tag[i]),
            "confused_with": tags[int(wrong[i].argmax())] if wrong[i].sum() > 0 else None,
        }
    return report
