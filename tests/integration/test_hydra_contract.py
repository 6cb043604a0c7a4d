"""seqlab's Hydra plugins against Hydra's own tests: the shared suites that Hydra runs on its
sweepers and launchers (hydra.test_utils.launcher_common_tests, from the installed
hydra-core), and the cases of Hydra's tests/test_basic_sweeper.py.

`hydra/sweeper=seqlab_basic` runs them with the basic launcher and with seqlab's
`local_parallel` twice: without GPUs (hydra-joblib-launcher's pool) and with two GPUs
given, which do not exist here (each job in its own process, in a GPU slot). The SLURM
launcher runs the same suites on a real cluster in test_slurm.py.
The suites' apps and configs are Hydra's (`hydra.test_utils.a_module`, `.configs`); an app
Hydra keeps outside its package is copied into tests/hydra_apps/, with its credit.
"""

from __future__ import annotations

import re
import sys
from textwrap import dedent
from typing import Any

import pytest
from hydra.test_utils.launcher_common_tests import (
    BatchedSweeperTestSuite,
    IntegrationTestSuite,
    LauncherTestSuite,
)
from hydra.test_utils.test_utils import assert_multiline_regex_search, run_process

from hydra_plugins.seqlab_sweepers.basic import SeqlabBasicSweeper
from tests.conftest import REPO

SWEEPER = "hydra/sweeper=seqlab_basic"
SEQLAB_CONF = "hydra.searchpath=[pkg://seqlab.conf]"  # where seqlab's configs are
GPU_SLOTS = ["hydra.launcher.gpus=[0,1]", "hydra.launcher.jobs_per_gpu=2"]
# {variant: (the launcher, what it needs besides)}
LAUNCHERS = {
    "basic": ("basic", []),
    "local_parallel": ("local_parallel", [SEQLAB_CONF]),
    "local_parallel_gpu_slots": ("local_parallel", [SEQLAB_CONF, *GPU_SLOTS]),
}


# The GPU-slot path starts a process per job: its 21 cases run in make test-faults (slow).
@pytest.fixture(
    params=[
        pytest.param(name, marks=[pytest.mark.slow] if name.endswith("gpu_slots") else [])
        for name in LAUNCHERS
    ]
)
def variant(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def launcher_name(variant: str) -> str:
    return LAUNCHERS[variant][0]


@pytest.fixture
def overrides(variant: str) -> list[str]:
    # A new list for every test: some of the suites' tests extend it. The in-process suites
    # expect a job to change into its directory, Hydra 1.1's default, which they assume;
    # Hydra keeps the version base process-wide, and a test before may have set 1.3.
    return [SWEEPER, *LAUNCHERS[variant][1], "hydra.job.chdir=True"]


class TestSeqlabBasicSweeper(LauncherTestSuite):
    """Hydra's launcher suite: one job, two, config groups, a bad key, no sweep over
    hydra.*, a custom resolver, a mandatory default left unset."""


class TestSeqlabBasicSweeperBatches(BatchedSweeperTestSuite):
    """Six jobs in batches of two."""

    @pytest.fixture
    def overrides(self, variant: str) -> list[str]:
        return [
            SWEEPER,
            *LAUNCHERS[variant][1],
            "hydra.job.chdir=True",
            "hydra.sweeper.max_batch_size=2",
        ]


class TestSeqlabBasicSweeperIntegration(IntegrationTestSuite):
    """Hydra's integration suite: generated apps run as processes; job names, sweep
    directories and subdirectories from the config and the command line (override_dirname
    among them), the original working directory, to_absolute_path."""

    @pytest.fixture
    def task_launcher_cfg(self) -> dict:
        return {}

    @pytest.fixture
    def extra_flags(self, variant: str) -> list[str]:
        launcher, needs = LAUNCHERS[variant]
        return [
            "-m",
            SWEEPER,
            f"hydra/launcher={launcher}",
            *needs,
            "hydra/hydra_logging=disabled",
            "hydra/job_logging=disabled",
        ]


# The cases of Hydra's tests/test_basic_sweeper.py (v1.3.5), on seqlab_basic.


@pytest.mark.parametrize(
    "args,max_batch_size,expected",
    [
        pytest.param(["x=10"], None, [[["x=10"]]], id="simple"),
        pytest.param(["x=10,20"], None, [[["x=10"], ["x=20"]]], id="split_1d"),
        pytest.param(["x=[10,20]"], None, [[["x=[10,20]"]]], id="not_split_yaml_list"),
        pytest.param(
            ["x=[a,b,c],[d,e,f]"], None, [[["x=[a,b,c]"], ["x=[d,e,f]"]]], id="list_of_lists"
        ),
        pytest.param(
            ["a=1,2", "b=10,11"],
            None,
            [[["a=1", "b=10"], ["a=1", "b=11"], ["a=2", "b=10"], ["a=2", "b=11"]]],
            id="no_batching",
        ),
        pytest.param(
            ["a=1,2", "b=10,11"],
            1,
            [[["a=1", "b=10"]], [["a=1", "b=11"]], [["a=2", "b=10"]], [["a=2", "b=11"]]],
            id="batches_of_1",
        ),
        pytest.param(
            ["a=1,2", "b=10,11"],
            2,
            [[["a=1", "b=10"], ["a=1", "b=11"]], [["a=2", "b=10"], ["a=2", "b=11"]]],
            id="batches_of_2",
        ),
        pytest.param(["a=range(0,3)"], None, [[["a=0"], ["a=1"], ["a=2"]]], id="range"),
        pytest.param(["a=range(3)"], None, [[["a=0"], ["a=1"], ["a=2"]]], id="range_no_start"),
    ],
)
def test_split(args: list[str], max_batch_size: int | None, expected: list) -> None:
    from hydra.core.override_parser.overrides_parser import OverridesParser

    parser = OverridesParser.create()
    ret = SeqlabBasicSweeper.split_arguments(
        parser.parse_overrides(args), max_batch_size=max_batch_size
    )
    assert [list(x) for x in ret] == expected


# Hydra runs the app with -Werror. Outside Hydra's repository its @hydra.main(), without
# version_base, also warns that it takes Hydra 1.1's defaults (Hydra14MigrationWarning, no
# config_path, a changed working directory): those are ignored; any other warning, one
# from the sweeper among them, is still an error.
WARNINGS_AS_ERRORS = r"""
import runpy, sys, warnings
from hydra.errors import Hydra14MigrationWarning
warnings.simplefilter("error")
warnings.filterwarnings("ignore", category=Hydra14MigrationWarning)
for compat in ("config_path is not specified", "Future Hydra versions will no longer change"):
    warnings.filterwarnings("ignore", message=rf"\s*{compat}", category=UserWarning)
sys.argv = sys.argv[1:]
runpy.run_path(sys.argv[0], run_name="__main__")
"""


def test_partial_failure(tmpdir: Any) -> None:
    cmd = [
        sys.executable,
        "-c",
        WARNINGS_AS_ERRORS,
        str(REPO / "tests" / "hydra_apps" / "app_can_fail" / "my_app.py"),
        "--multirun",
        SWEEPER,
        "+divisor=1,0",
        "hydra.run.dir=" + str(tmpdir),
        "hydra.sweep.dir=" + str(tmpdir),
        "hydra.job.chdir=True",
        "hydra.hydra_logging.formatters.simple.format='[HYDRA] %(message)s'",
    ]
    out, err = run_process(cmd=cmd, print_error=False, raise_exception=False)

    expected_out_regex = re.escape(
        dedent(
            """
            [HYDRA] Launching 2 jobs locally
            [HYDRA] \t#0 : +divisor=1
            val=1.0
            [HYDRA] \t#1 : +divisor=0
            """
        ).strip()
    )
    assert_multiline_regex_search(expected_out_regex, out)

    expected_err_regex = dedent(
        r"""
        Error executing job with overrides: \['\+divisor=0'\](
        )?
        Traceback \(most recent call last\):
          File ".*my_app\.py", line 10, in my_app
            val = 1 / cfg\.divisor(
                  ~~\^~~~~~~~~~~~~)?
        ZeroDivisionError: division by zero

        Set the environment variable HYDRA_FULL_ERROR=1 for a complete stack trace\.
        """
    ).strip()
    assert_multiline_regex_search(expected_err_regex, err)
