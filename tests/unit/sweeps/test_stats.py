"""Student's t quantiles, and intervals that stay inside a metric's range."""

import math

import pytest

from seqlab.names import metric_range
from seqlab.sweeps.stats import summarise, t_quantile


def test_student_t_quantiles_match_published_tables():
    # Two-sided 95%: t(0.975, df) from any statistics table.
    for df, table in ((1, 12.706), (2, 4.303), (5, 2.571), (10, 2.228), (30, 2.042)):
        assert t_quantile(0.975, df) == pytest.approx(table, abs=5e-4)
    assert t_quantile(0.975, 100_000) == pytest.approx(1.95996, abs=1e-4)  # the normal's


def test_an_unbounded_metric_gets_students_t_interval():
    s = summarise([1.0, 2.0, 3.0])
    assert (s.low, s.high) == (pytest.approx(2 - 2.484138), pytest.approx(2 + 2.484138))


def test_a_positive_metric_never_gets_a_negative_bound():
    """Three seeds of an MSE, one far off: Student's t reaches below zero (the report
    once read [-927.9, 4120]); the log-normal (Cox) interval stays positive, holds the mean
    and is as given by its formula, computed here by hand."""
    values = [150.0, 180.0, 4258.0]
    t = summarise(values)
    assert t.low < 0  # what the t interval says
    s = summarise(values, bounds=(0.0, math.inf))
    logs = [math.log(v) for v in values]
    m = sum(logs) / 3
    v = sum((x - m) ** 2 for x in logs) / 2
    half = t_quantile(0.975, 2) * math.sqrt(v / 3 + v * v / 4)
    assert (s.low, s.high) == (
        pytest.approx(math.exp(m + v / 2 - half)),
        pytest.approx(math.exp(m + v / 2 + half)),
    )
    assert 0 < s.low < s.mean < s.high
    # Where seeds agree it is close to the t interval.
    close, plain = (
        summarise([0.600, 0.612, 0.589], bounds=(0.0, math.inf)),
        summarise([0.600, 0.612, 0.589]),
    )
    assert close.low == pytest.approx(plain.low, rel=0.01)
    assert close.high == pytest.approx(plain.high, rel=0.01)


def test_a_share_or_a_zero_error_gets_the_t_interval_cut_to_the_range():
    s = summarise([0.99, 1.0, 0.9], bounds=(0.0, 1.0))
    t = summarise([0.99, 1.0, 0.9])
    assert t.high > 1 and s.high == 1.0 and s.low == t.low
    zero = summarise([0.0, 0.5, 2.0], bounds=(0.0, math.inf))  # no log of 0
    assert zero.low == 0.0 and zero.high == summarise([0.0, 0.5, 2.0]).high


def test_metric_ranges_come_from_the_metric_name():
    assert metric_range("val/mse") == metric_range("best train/loss") == (0.0, math.inf)
    assert metric_range("test/acc") == metric_range("val/acc_by_tag/NOUN") == (0.0, 1.0)
    assert metric_range("wall_s") == (0.0, math.inf)
    assert metric_range("val/score") == (-math.inf, math.inf)


def test_values_far_from_log_normal_fall_back_to_the_t_interval_cut_at_zero():
    """One seed far below 29 others: on the log scale it drags the centre away, and Cox's
    interval would lie above the mean; the t interval, cut at 0, is given instead."""
    values = [1.0] * 29 + [1e-4]
    s = summarise(values, bounds=(0.0, math.inf))
    t = summarise(values)
    assert s.low <= s.mean <= s.high
    assert (s.low, s.high) == (max(t.low, 0.0), t.high)
