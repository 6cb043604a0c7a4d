"""seqlab.sweeps.curves: learning curves averaged over replicates, epoch by epoch."""

from __future__ import annotations

import math

import pytest

from seqlab.sweeps.curves import mean_curves
from seqlab.sweeps.jobs import Job

T_975_2 = 4.302652729911275  # Student's t, 97.5% quantile, 2 degrees of freedom


def job(name: str, losses: list[float], metric: str = "val/mse") -> Job:
    history = [{"epoch": e, metric: v, "epoch_s": 0.1} for e, v in enumerate(losses, 1)]
    return Job(name, {"seed": name}, {"status": "completed", "history": history})


def test_each_epoch_is_averaged_over_the_jobs_that_reached_it():
    # Three seeds; the third stopped early after two epochs. A metric of no known range
    # (a score that may go negative) gets Student's t interval.
    score = "val/score"
    curves = mean_curves(
        [
            job("1", [4.0, 2.0, 1.0], score),
            job("2", [6.0, 4.0, 3.0], score),
            job("3", [5.0, 3.0], score),
        ]
    )
    assert list(curves) == [score]  # epoch_s is no metric
    [(e1, s1), (e2, s2), (e3, s3)] = curves[score]
    assert (e1, e2, e3) == (1, 2, 3)
    assert (s1.n, s2.n, s3.n) == (3, 3, 2)
    assert s1.mean == pytest.approx(5.0) and s2.mean == pytest.approx(3.0)
    assert s3.mean == pytest.approx(2.0)
    # By hand: values 4, 6, 5 have standard deviation 1; half width t * 1 / sqrt(3).
    half = T_975_2 * 1.0 / math.sqrt(3)
    assert (s1.low, s1.high) == (pytest.approx(5 - half), pytest.approx(5 + half))
    # Epoch 3 has two values, 1 and 3: std sqrt(2), t(0.975, 1) = 12.706.
    assert s3.high - s3.mean == pytest.approx(12.7062047 * math.sqrt(2) / math.sqrt(2), rel=1e-6)


def test_an_error_curves_band_stays_above_zero():
    """An MSE spread widely over two seeds: Student's t would reach below zero (mean 2,
    half 12.7); the log-normal interval stays positive and holds the mean."""
    [(_, epoch)] = mean_curves([job("1", [0.5]), job("2", [3.5])])["val/mse"]
    assert epoch.mean - 12.7062047 * epoch.std / math.sqrt(2) < 0
    assert 0 < epoch.low < epoch.mean < epoch.high


def test_a_non_finite_value_is_left_out_and_a_lone_value_has_no_interval():
    curves = mean_curves([job("1", [1.0, math.nan]), job("2", [3.0, 2.0])])
    [(_, first), (_, second)] = curves["val/mse"]
    assert first.n == 2 and first.mean == 2.0
    assert second.n == 1 and second.mean == 2.0 and math.isnan(second.low)


def test_jobs_without_history_give_no_curves():
    assert mean_curves([Job("0", {}, {"status": "pending"})]) == {}
