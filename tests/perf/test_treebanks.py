"""Bad treebank files are refused before torch is imported, so in under 2 s: the commands of
tests/integration/test_treebanks.py's test_bad_treebank_files_are_reported_before_torch, timed."""

from __future__ import annotations

import time

import pytest

from tests.conftest import run_cli
from tests.integration.test_treebanks import bad_treebank_cases

pytestmark = pytest.mark.perf


def test_bad_treebank_files_are_refused_in_under_2_seconds(tmp_path):
    for args, expected in bad_treebank_cases(tmp_path):
        start = time.perf_counter()
        result = run_cli(["seqlab-train", *args], tmp_path, timeout=60)
        elapsed = time.perf_counter() - start
        assert result.returncode == 2, result.stderr  # refused, as the integration test checks
        assert elapsed < 2.0, f"{expected}: took {elapsed:.2f} s"
