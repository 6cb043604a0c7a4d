"""Config mistakes are refused before torch or lightning is imported, so they fail in under
2 s: the commands of tests/integration/test_bad_input.py's test_bad_training_config, timed."""

from __future__ import annotations

import time

import pytest

from tests.conftest import run_cli
from tests.integration.test_bad_input import CONFIG_CASES, without_sbatch

pytestmark = pytest.mark.perf


@pytest.mark.parametrize("args, expected", CONFIG_CASES, ids=[" ".join(a) for a, _ in CONFIG_CASES])
def test_bad_training_config_is_refused_in_under_2_seconds(args, expected, tmp_path):
    env = without_sbatch() if "sbatch is not on PATH" in expected else {}
    start = time.perf_counter()
    result = run_cli(["seqlab-train", *args], tmp_path, timeout=60, **env)
    elapsed = time.perf_counter() - start
    assert result.returncode == 2, result.stderr  # refused, as the integration test checks
    assert elapsed < 2.0, f"took {elapsed:.2f} s: validation must not wait for torch"
