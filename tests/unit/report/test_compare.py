"""seqlab.report.compare on hand-made sweeps: settings matched across two sweeps."""

from __future__ import annotations

import pytest

from seqlab.config import ConfigError
from seqlab.report.compare import compare, write_comparison
from tests.conftest import done, make_job, replicated


def test_settings_in_both_are_compared_by_their_intervals(tmp_path):
    a = replicated(tmp_path / "a", {"16": [1.0, 2.0, 3.0], "64": [10.0, 11.0, 12.0]})
    b = replicated(
        tmp_path / "b",
        {"16": [1.5, 2.5, 3.5], "64": [20.0, 21.0, 22.0], "128": [0.5, 0.6, 0.7]},
    )
    result = compare(a, b)
    assert result.metric == "val/loss" and result.axes == ["model.hidden_dim"]
    rows = {row["model.hidden_dim"]: row for row in result.rows}
    assert set(rows) == {"16", "64"}
    # 16: means 2 and 2.5, a loss's (log-normal) intervals [0.458, 9.81] and [0.835, 8.00]
    # overlap (tests/unit/sweeps/test_stats.py computes the first by hand).
    assert rows["16"]["B - A"] == pytest.approx(0.5) and rows["16"]["change"] == "tied"
    assert rows["16"]["A"] == "2 [0.4584, 9.807]"
    # 64: [8.78, 13.8] against [18.7, 23.7]: apart, and higher is worse for a loss.
    assert rows["64"]["95% intervals overlap"] == "no" and rows["64"]["change"] == "worse"
    assert result.only_a == [] and result.only_b == [(("model.hidden_dim", "128"),)]
    assert result.answer("A", "B") == (
        "B against A, best val/loss: 0 better, 1 worse, 1 tied, of 2 settings in both; "
        "0 only in A, 1 only in B"
    )


def test_single_runs_are_compared_by_value_and_say_they_have_no_interval(tmp_path):
    for name, value in (("a", 3.0), ("b", 2.0)):
        make_job(tmp_path / name, 0, {"model.hidden_dim": 8}, done(value))
        make_job(tmp_path / name, 1, {"model.hidden_dim": 16}, done(5.0))
    result = compare(tmp_path / "a", tmp_path / "b")
    changes = {row["model.hidden_dim"]: row["change"] for row in result.rows}
    assert changes == {"8": "better (no interval)", "16": "tied"}
    path, answer = write_comparison(tmp_path / "a", tmp_path / "b")
    assert path == tmp_path / "b" / "compare_a.md"
    text = path.read_text()
    assert "| 8 | 3 | 1 | 2 | 1 | -1 | - | better (no interval) |" in text
    assert answer.startswith("B against A, best val/loss: 1 better, 0 worse, 1 tied")


def test_sweeps_that_monitor_different_metrics_need_the_metric(tmp_path):
    make_job(tmp_path / "a", 0, {"model.hidden_dim": 8}, done(3.0))
    other = {**done(2.0), "monitor": "val/mse"}
    make_job(tmp_path / "b", 0, {"model.hidden_dim": 8}, other)
    with pytest.raises(ConfigError, match="give the metric to compare with --metric"):
        compare(tmp_path / "a", tmp_path / "b")
