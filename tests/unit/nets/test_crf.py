"""The CRF against brute force: every tag path of tiny random cases, enumerated."""

import itertools

import pytest
import torch

from seqlab.nets.crf import CRF


@torch.no_grad()
def path_scores(crf: CRF, emissions: torch.Tensor, length: int) -> dict[tuple, float]:
    """The score of every tag path of one sequence (emissions (L, T)), by enumeration."""
    scores = {}
    for path in itertools.product(range(crf.num_tags), repeat=length):
        s = crf.start[path[0]] + crf.end[path[-1]]
        s = s + sum(emissions[i, t] for i, t in enumerate(path))
        s = s + sum(crf.transitions[a, b] for a, b in itertools.pairwise(path))
        scores[path] = float(s)
    return scores


@pytest.mark.parametrize("seed", range(5))
def test_log_partition_and_viterbi_match_enumeration(seed):
    gen = torch.Generator().manual_seed(seed)
    B, L, T = 4, 5, 3
    crf = CRF(T)
    with torch.no_grad():
        for p in crf.parameters():
            p.copy_(torch.randn(p.shape, generator=gen))
    emissions = torch.randn(B, L, T, generator=gen)
    lengths = torch.tensor([5, 1, 3, 4])
    mask = torch.arange(L) < lengths.unsqueeze(1)  # (B, L)
    log_z = crf.log_partition(emissions, mask).detach()
    best = crf.decode(emissions, mask)
    for b in range(B):
        n = int(lengths[b])
        scores = path_scores(crf, emissions[b], n)
        want_path = max(scores, key=scores.get)
        want_z = float(torch.logsumexp(torch.tensor(list(scores.values())), 0))
        assert float(log_z[b]) == pytest.approx(want_z, abs=1e-5)
        assert best[b, :n].tolist() == list(want_path)
        assert best[b, n:].tolist() == [0] * (L - n)
        # The score of a path is what enumeration gives it; padding (-100) is ignored.
        tags = torch.full((1, L), -100)
        tags[0, :n] = torch.tensor(want_path)
        got = crf.score(emissions[b : b + 1], tags, mask[b : b + 1]).detach()
        assert float(got) == pytest.approx(scores[want_path], abs=1e-5)


def test_nll_is_positive_and_trains_towards_the_gold_path():
    torch.manual_seed(0)
    crf = CRF(4)
    emissions = torch.randn(2, 6, 4, requires_grad=True)
    tags = torch.tensor([[0, 1, 2, 3, 0, 1], [3, 3, 2, -100, -100, -100]])
    mask = tags != -100
    opt = torch.optim.Adam([emissions, *crf.parameters()], lr=0.1)
    first = None
    for _ in range(100):
        opt.zero_grad()
        loss = crf.nll(emissions, tags, mask)
        first = first if first is not None else loss.item()
        assert loss.item() > 0
        loss.backward()
        opt.step()
    assert loss.item() < 0.1 * first
    assert crf.decode(emissions, mask)[mask].tolist() == tags[mask].tolist()
