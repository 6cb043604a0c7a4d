"""Jobs side by side start the longest first, estimated from their configs."""

from __future__ import annotations

import itertools

import pytest

from seqlab.config import ConfigError
from seqlab.sweeps.order import check_order, job_work, longest_first
from tests.conftest import compose_train

# The notebook's grid, in Hydra's order (the last swept key varies fastest).
GRID = list(itertools.product((8, 32, 64), (0.1, 0.5), (2, 4, 8, 16), (1000, 10000)))


def grid_works(tmp_path) -> list[float | None]:
    base = compose_train(["experiment=tutorial_sum"], tmp_path)
    works = []
    for hidden, lr, length, n in GRID:
        cfg = base.copy()
        cfg.model.hidden_dim, cfg.model.lr, cfg.data.length, cfg.data.n = hidden, lr, length, n
        works.append(job_work(cfg))
    return works


def test_the_notebook_grid_starts_with_its_largest_jobs(tmp_path):
    works = grid_works(tmp_path)
    order = longest_first(works)
    assert sorted(order) == list(range(len(GRID)))
    # Hydra lists the largest last; they start first, the learning rates in their order.
    first = [GRID[i] for i in order[:2]]
    assert first == [(64, 0.1, 16, 10000), (64, 0.5, 16, 10000)]
    assert [GRID[i] for i in order[-2:]] == [(8, 0.1, 2, 1000), (8, 0.5, 2, 1000)]
    # Each size setting alone makes a job longer.
    work = dict(zip(GRID, works, strict=True))
    assert work[(32, 0.1, 4, 1000)] < work[(64, 0.1, 4, 1000)]
    assert work[(32, 0.1, 4, 1000)] < work[(32, 0.1, 8, 1000)]
    assert work[(32, 0.1, 4, 1000)] < work[(32, 0.1, 4, 10000)]
    assert work[(32, 0.1, 4, 1000)] == work[(32, 0.5, 4, 1000)]


def test_more_epochs_are_more_work(tmp_path):
    short = compose_train(["experiment=tutorial_sum", "trainer.max_epochs=10"], tmp_path)
    long = compose_train(["experiment=tutorial_sum", "trainer.max_epochs=20"], tmp_path)
    assert job_work(long) == 2 * job_work(short)


def test_jobs_of_unknown_size_keep_their_order(tmp_path):
    tagger = compose_train(["experiment=tutorial_tagger"], tmp_path)
    assert job_work(tagger) is None
    assert longest_first([1.0, None, 5.0]) == [0, 1, 2]
    assert longest_first([1.0, 3.0, 3.0, 2.0]) == [1, 2, 3, 0]


def test_an_unknown_order_is_refused_in_one_line():
    assert check_order("given") == "given"
    with pytest.raises(ConfigError) as refused:
        check_order("shortest_first")
    assert str(refused.value) == (
        "hydra.launcher.order=shortest_first: allowed: longest_first, given"
    )
