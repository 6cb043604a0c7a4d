"""A linear-chain CRF output layer in plain, batched torch.

Emission scores come from the tagger (B, L, T); the CRF adds a score for every tag
transition, so the best tag sequence is decided jointly (Viterbi) rather than word by word.
Training minimises the negative log-likelihood: log Z (the forward algorithm) minus the
score of the gold path. Sequences are padded on the right; `mask` (B, L) marks real tokens
and every sequence has at least one.
"""

from __future__ import annotations

import torch
from torch import nn


class CRF(nn.Module):
    def __init__(self, num_tags: int) -> None:
        super().__init__()
        self.num_tags = num_tags
        self.transitions = nn.Parameter(torch.zeros(num_tags, num_tags))  # [from, to]
        self.start = nn.Parameter(torch.zeros(num_tags))  # score of starting in a tag
        self.end = nn.Parameter(torch.zeros(num_tags))  # score of ending in a tag

    def score(
        self, emissions: torch.Tensor, tags: torch.Tensor, mask: torch.Tensor
    ) -> torch.Tensor:
        """Score of the given tag paths: (B, L, T), (B, L), (B, L) -> (B,)."""
        tags = torch.where(mask, tags, 0)  # padding may hold an ignore index
        m = mask.to(emissions.dtype)
        emit = emissions.gather(2, tags.unsqueeze(-1)).squeeze(-1) * m  # (B, L)
        trans = self.transitions[tags[:, :-1], tags[:, 1:]] * m[:, 1:]  # (B, L-1)
        last = tags.gather(1, (mask.sum(1) - 1).unsqueeze(1)).squeeze(1)  # (B,)
        return self.start[tags[:, 0]] + emit.sum(1) + trans.sum(1) + self.end[last]

    def log_partition(self, emissions: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """log Z: log-sum-exp of the scores of all tag paths (forward algorithm) -> (B,)."""
        alpha = self.start + emissions[:, 0]  # (B, T)
        for i in range(1, emissions.shape[1]):
            # (B, from, 1) + (from, to) + (B, 1, to) -> sum out `from`
            step = alpha.unsqueeze(2) + self.transitions + emissions[:, i].unsqueeze(1)
            alpha = torch.where(mask[:, i, None], torch.logsumexp(step, dim=1), alpha)
        return torch.logsumexp(alpha + self.end, dim=1)

    def nll(self, emissions: torch.Tensor, tags: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Mean over the batch of -log p(tags | words)."""
        return (self.log_partition(emissions, mask) - self.score(emissions, tags, mask)).mean()

    @torch.no_grad()
    def decode(self, emissions: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Best tag path of every sequence (Viterbi) -> (B, L); padding positions hold 0."""
        B, L, _ = emissions.shape
        score = self.start + emissions[:, 0]  # (B, T): best score of a path ending in each tag
        backpointers = []
        for i in range(1, L):
            best, argbest = (score.unsqueeze(2) + self.transitions).max(dim=1)  # (B, to)
            score = torch.where(mask[:, i, None], best + emissions[:, i], score)
            backpointers.append(argbest)
        lengths = mask.sum(1)
        tag = (score + self.end).argmax(-1)  # (B,): the best last tag
        path = torch.zeros(B, L, dtype=torch.long, device=emissions.device)
        path.scatter_(1, (lengths - 1).unsqueeze(1), tag.unsqueeze(1))
        for i in range(L - 1, 0, -1):  # walk back from each sequence's own last position
            inside = i < lengths  # position i is a real token
            previous = backpointers[i - 1].gather(1, tag.unsqueeze(1)).squeeze(1)
            tag = torch.where(inside, previous, tag)
            path[:, i - 1] = torch.where(inside, previous, path[:, i - 1])
        return path
