"""Student's t quantiles."""

import pytest

from seqlab.sweeps.stats import t_quantile


def test_student_t_quantiles_match_published_tables():
    # Two-sided 95%: t(0.975, df) from any statistics table.
    for df, table in ((1, 12.706), (2, 4.303), (5, 2.571), (10, 2.228), (30, 2.042)):
        assert t_quantile(0.975, df) == pytest.approx(table, abs=5e-4)
    assert t_quantile(0.975, 100_000) == pytest.approx(1.95996, abs=1e-4)  # the normal's
