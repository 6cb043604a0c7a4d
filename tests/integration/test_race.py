"""Races (hydra.sweeper.race) through Hydra's sweeper and launcher, on a synthetic objective
with known means (tests/hydra_apps/race/my_app.py: each seed multiplies its setting's mean
by exp(0.1 z)), and on seqlab-train itself. The noise is seeded, so every count is exact."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest

from seqlab.sweeps.stats import summarise
from seqlab.tuning.race import RACE_FILE
from tests.conftest import REPO, assert_clear_failure, run_cli

APP = REPO / "tests" / "hydra_apps" / "race" / "my_app.py"


def race(
    sweep: Path, means: dict[str, float], *args: str, check: bool = True, kill_at: int = -1
) -> dict:
    keys = ",".join(means)
    given = "{" + ",".join(f"{k}:{v}" for k, v in means.items()) + "}"
    result = subprocess.run(
        [sys.executable, str(APP), "-m", f"setting={keys}", f"means={given}", *args]
        + [f"hydra.sweep.dir={sweep}"],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=sweep.parent,
        env={**os.environ, "RACE_KILL_AT_JOB": str(kill_at)},
    )
    if check:
        assert result.returncode == 0, result.stderr[-3000:]
    return json.loads((sweep / RACE_FILE).read_text()) if (sweep / RACE_FILE).exists() else {}


def entrants(data: dict) -> dict[str, dict]:
    return {e["label"]: e for e in data["entrants"]}


def job_count(sweep: Path) -> int:
    return len(list(sweep.glob("*/metrics.json")))


RACE = ["hydra.sweeper.race.min_seeds=3", "hydra.sweeper.race.max_seeds=8"]


def test_a_race_stops_clear_losers_and_ends_tied_where_the_means_are_equal(tmp_path):
    """a and b share a mean; c's is five times theirs. c is out after the first round's
    three seeds; a and b race on to max_seeds and end tied: 19 jobs, not 24."""
    sweep = tmp_path / "sweep"
    data = race(sweep, {"a": 1.0, "b": 1.0, "c": 5.0}, *RACE)
    by = entrants(data)
    assert by["setting=c"]["state"] == "stopped" and by["setting=c"]["seeds"] == [1, 2, 3]
    assert by["setting=c"]["reason"].startswith("round 1: its interval")
    for label in ("setting=a", "setting=b"):
        assert by[label]["state"] == "tied" and by[label]["seeds"] == list(range(1, 9))
        assert by[label]["reason"] == "round 6: max_seeds=8 reached"
    assert data["result"] == "tied" and data["tied"] == ["setting=a", "setting=b"]
    assert (data["jobs"], data["jobs_at_max_seeds"], data["jobs_saved"]) == (19, 24, 5)
    assert job_count(sweep) == 19
    # Bonferroni over the 6 rounds a 3-to-8-seed race can have, and the report's own
    # intervals (seqlab.sweeps.stats) at that level, of a positive metric.
    assert data["level"] == pytest.approx(1 - 0.05 / 6)
    for e in data["entrants"]:
        s = summarise(e["values"], data["level"], (0.0, math.inf))
        assert (e["summary"]["low"], e["summary"]["high"]) == (s.low, s.high)


def test_a_race_separates_a_winner_whose_gap_is_large(tmp_path):
    """Means 1, 2 and 5: c is out after the first round; b, at twice a's mean, needs two
    more seeds to fall apart from a, and a wins with five: 13 jobs where a fixed 8-seed
    grid runs 24."""
    sweep = tmp_path / "sweep"
    data = race(sweep, {"a": 1.0, "b": 2.0, "c": 5.0}, *RACE)
    by = entrants(data)
    assert data["result"] == "winner" and data["winner"] == "setting=a"
    assert by["setting=a"]["reason"] == "round 3: apart from every other setting"
    assert by["setting=c"]["reason"].startswith("round 1: its interval")
    assert by["setting=b"]["reason"].startswith("round 3: its interval")
    assert {label: len(e["seeds"]) for label, e in by.items()} == {
        "setting=a": 5,
        "setting=b": 5,
        "setting=c": 3,
    }
    assert [r["stopped"] for r in data["rounds"]] == [["setting=c"], [], ["setting=b"]]
    assert data["jobs"] == job_count(sweep) == 13


def test_the_budget_ends_a_race_tied(tmp_path):
    """A budget of 13 jobs: the first round's 9, then two rounds of the two left; the next
    round would need 2 more, so the race ends tied, saying why."""
    sweep = tmp_path / "sweep"
    data = race(sweep, {"a": 1.0, "b": 1.0, "c": 5.0}, *RACE, "hydra.sweeper.race.budget=13")
    assert data["result"] == "tied" and data["jobs"] == job_count(sweep) == 13
    reason = entrants(data)["setting=a"]["reason"]
    assert reason == "round 3: budget=13 spent (0 job(s) left, a round needs 2)"


def test_a_killed_race_resumes_to_the_same_result(tmp_path):
    """SIGKILL of the whole sweep as job 12 starts (round 3), then the same command on the
    same directory: the race replays its rounds from the jobs' results and ends as an
    uninterrupted race does, in the same job directories."""
    whole = race(tmp_path / "whole", {"a": 1.0, "b": 1.0, "c": 5.0}, *RACE)
    sweep = tmp_path / "killed"
    race(sweep, {"a": 1.0, "b": 1.0, "c": 5.0}, *RACE, check=False, kill_at=12)
    assert (sweep / "killed").exists() and job_count(sweep) == 12
    resumed = race(sweep, {"a": 1.0, "b": 1.0, "c": 5.0}, *RACE, kill_at=12)
    assert resumed == whole


@pytest.mark.parametrize(
    ("override", "message"),
    [
        (["seed=1,2"], "seed=1: hydra.sweeper.race gives each setting its seeds"),
        (["hydra.sweeper.race.max_seeds=1"], "allowed: 2 <= min_seeds <= max_seeds"),
        (["hydra.sweeper.race.budget=3"], "the first round alone runs 4 jobs"),
        (["model.hidden_dim=4"], "a race needs two or more settings"),
    ],
)
def test_bad_race_settings_fail_in_one_line_before_any_job(cli_cwd, override, message):
    args = ["seqlab-train", "-m", "experiment=tutorial_sum", "model.hidden_dim=4,8"]
    result = run_cli([*args, "hydra.sweeper.race.min_seeds=2", *override], cli_cwd)
    assert_clear_failure(result, message, cli_cwd)
    assert not list(cli_cwd.glob("**/metrics.json"))
