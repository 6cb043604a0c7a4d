"""seqlab-report is light: a 48-job sweep's report in under 3 s (tests/integration/
test_report_cli.py's test_48_job_report, timed); the same grid with 3 seeds (144 jobs, the
mean runs and curves of 48 settings) in under 5 s without plots."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import big_sweep

pytestmark = pytest.mark.perf


def test_48_job_report_takes_under_3_seconds(tmp_path):
    sweep = big_sweep(tmp_path)
    script = Path(sys.executable).parent / "seqlab-report"
    start = time.perf_counter()
    subprocess.run([str(script), str(sweep)], check=True, capture_output=True)
    assert time.perf_counter() - start < 3.0


def test_144_job_report_with_seeds_takes_under_5_seconds_without_plots(tmp_path):
    sweep = big_sweep(tmp_path, seeds=3)
    script = Path(sys.executable).parent / "seqlab-report"
    start = time.perf_counter()
    subprocess.run([str(script), str(sweep), "--no-plots"], check=True, capture_output=True)
    assert time.perf_counter() - start < 5.0
