"""seqlab.load on 1,000 runs of 100 epochs: the table in a few seconds, in a fresh process
with its imports, with and without the sweeps' indexes (docs/benchmarks.md has 10,000)."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest

from tests.conftest import fake_outputs

pytestmark = pytest.mark.perf

TABLE = "import sys, seqlab; print(len(seqlab.load(sys.argv[1]).table()))"


def test_a_table_of_1000_runs_takes_seconds(tmp_path):
    root = fake_outputs(tmp_path, 1000)
    for _ in ("no index yet", "through the indexes"):
        start = time.perf_counter()
        out = subprocess.run(
            [sys.executable, "-c", TABLE, str(root)], capture_output=True, text=True, check=True
        )
        assert out.stdout.strip() == "1000"
        assert time.perf_counter() - start < 6.0
