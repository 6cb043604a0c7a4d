"""Replicates (jobs that differ only in their seed): groups, intervals, ranks."""

import pytest

from seqlab.sweeps.jobs import read_jobs, swept_axes
from seqlab.sweeps.replicates import group_jobs
from tests.conftest import replicated


def test_replicates_are_grouped_with_hand_computed_intervals(tmp_path):
    sweep = replicated(tmp_path, {"16": [1.0, 2.0, 3.0], "64": [20.0, 21.0, 22.0]})
    jobs = read_jobs(sweep)
    groups = group_jobs(jobs, swept_axes(jobs), "val/loss", "min")
    assert [g.settings for g in groups] == [{"model.hidden_dim": "16"}, {"model.hidden_dim": "64"}]
    best = groups[0].best
    # A loss is positive: Cox's log-normal interval. Logs 0, ln 2, ln 3: mean m = 0.597253,
    # variance v = 0.308634; exp(m + v/2 ± t(0.975, 2) · √(v/3 + v²/4)), t = 4.302653.
    assert (best.n, best.mean, best.std) == (3, 2.0, 1.0)
    assert best.low == pytest.approx(0.458449, abs=1e-6)
    assert best.high == pytest.approx(9.806515, abs=1e-6)
    assert groups[0].final.mean == 3.0 and groups[0].test.mean == 4.0
    assert [g.rank for g in groups] == ["best", ""]  # [18.7, 23.7] misses [0.458, 9.81]


def test_settings_whose_interval_overlaps_the_best_are_tied(tmp_path):
    values = {"8": [20.0, 21.0, 22.0], "16": [1.0, 2.0, 3.0], "32": [2.5, 3.5, 4.5]}
    sweep = replicated(tmp_path, values)
    jobs = read_jobs(sweep)
    groups = group_jobs(jobs, swept_axes(jobs), "val/loss", "min")
    ranks = {g.settings["model.hidden_dim"]: g.rank for g in groups}
    assert ranks == {"16": "best", "32": "tied", "8": ""}
    maximised = group_jobs(jobs, swept_axes(jobs), "val/loss", "max")
    assert maximised[0].settings == {"model.hidden_dim": "8"} and maximised[0].rank == "best"


def test_failed_replicates_do_not_count(tmp_path):
    sweep = replicated(tmp_path, {"16": [1.0, 2.0, 3.0], "64": [1.0, 5.0, 9.0]}, failed="64")
    jobs = read_jobs(sweep)
    (_, second) = group_jobs(jobs, swept_axes(jobs), "val/loss", "min")
    assert (second.best.n, len(second.jobs), second.best.mean) == (2, 3, 3.0)
