"""seqlab.tuning.race: how a race judges a round, on values given by hand."""

from __future__ import annotations

import math

import pytest

from seqlab.config import ConfigError
from seqlab.tuning.race import Race, RaceSettings, race_rows

POSITIVE = (0.0, math.inf)


def started(values: dict[str, list[float]], mode: str = "min", **settings) -> Race:
    race = Race.start(
        RaceSettings(**{"min_seeds": 3, "max_seeds": 5, **settings}),
        [[f"x={k}", "fixed=1"] for k in values],
        "val/mse",
        mode,
        POSITIVE,
    )
    for entrant, given in zip(race.entrants, values.values(), strict=True):
        entrant.seeds = list(range(1, len(given) + 1))
        entrant.values = list(given)
    return race


def test_labels_leave_out_what_every_setting_shares():
    race = started({"a": [1, 1, 1], "b": [2, 2, 2]})
    assert [e.label for e in race.entrants] == ["x=a", "x=b"]


def test_in_a_maximised_race_the_lower_setting_stops():
    race = started({"a": [0.90, 0.91, 0.92], "b": [0.50, 0.51, 0.52]}, mode="max")
    assert race.judge() == []
    assert race.winner() == "x=a" and race.entrants[1].state == "stopped"
    assert "lies below the leader's" in race.entrants[1].reason


def test_overlapping_settings_get_one_more_seed_each():
    race = started({"a": [1.0, 1.2, 0.9], "b": [1.1, 1.0, 1.3], "c": [9.0, 9.1, 9.2]})
    assert [(e.label, seed) for e, seed in race.judge()] == [("x=a", 4), ("x=b", 4)]
    assert race.entrants[2].state == "stopped" and race.rounds[0]["stopped"] == ["x=c"]


def test_a_setting_without_a_completed_seed_is_out_as_failed():
    race = started({"a": [1.0, 1.2, 0.9], "b": [], "c": [1.1, 1.0, 1.3]})
    race.entrants[1].seeds = [1, 2, 3]  # ran, and every seed failed or diverged
    next_round = race.judge()
    assert race.entrants[1].state == "failed" and "0 of its 3 seeds" in race.entrants[1].reason
    assert [e.label for e, _ in next_round] == ["x=a", "x=c"]


def test_the_level_is_bonferronis_over_the_rounds():
    assert RaceSettings(3, 5).level == pytest.approx(1 - 0.05 / 3)
    assert RaceSettings(2, 2).level == pytest.approx(0.95)


def test_rows_give_each_settings_seeds_and_why_it_stopped():
    race = started({"a": [1.0, 1.1, 0.9], "b": [5.0, 5.1, 4.9]})
    race.judge()
    rows = race_rows(race.to_dict())
    assert [(r["setting"], r["seeds"], r["state"]) for r in rows] == [
        ("x=a", 3, "winner"),
        ("x=b", 3, "stopped"),
    ]
    assert rows[1]["why"].startswith("round 1: its interval [")


@pytest.mark.parametrize(
    ("node", "message"),
    [
        ({"min_seeds": 1, "max_seeds": 4}, "allowed: 2 <= min_seeds <= max_seeds"),
        ({"min_seeds": 3, "max_seeds": 2}, "allowed: 2 <= min_seeds <= max_seeds"),
        ({"min_seeds": "two", "max_seeds": 4}, "race.min_seeds=two: allowed: a whole number"),
        ({"min_seeds": 2, "max_seeds": 4, "budget": -1}, "race.budget=-1: allowed"),
    ],
)
def test_bad_race_settings_are_one_line(node, message):
    with pytest.raises(ConfigError, match=message):
        RaceSettings.from_config(node, "hydra.sweeper.race")
    assert RaceSettings.from_config({"min_seeds": 0}, "hydra.sweeper.race") is None


def test_a_resumed_race_takes_the_decisions_it_recorded():
    """A seed that failed in the first run and completes when resumed changes the values,
    but not the rounds already judged: the same settings stop, the same jobs come next."""
    first = started({"a": [1.0, 1.1], "b": [1.05, 1.0, 1.1], "c": [9.0, 9.1, 9.2]})
    first.entrants[0].seeds = [1, 2, 3]  # a's third seed failed
    following = [(e.label, seed) for e, seed in first.judge()]
    record = first.to_dict()["rounds"][0]
    resumed = started({"a": [1.0, 1.1, 7.0], "b": [1.05, 1.0, 1.1], "c": [9.0, 9.1, 9.2]})
    assert [(e.label, seed) for e, seed in resumed.replay(record)] == following
    assert [e.state for e in resumed.entrants] == [e.state for e in first.entrants]
    assert resumed.rounds == first.rounds


def test_a_setting_without_an_interval_is_never_tied():
    """The budget ends the race; a setting with one completed seed has no interval and
    ends failed, not tied (it cannot win a confirmation on one lucky seed)."""
    race = started({"a": [1.0, 1.2, 0.9], "b": [0.2], "c": [1.1, 1.0, 1.3]}, budget=10)
    race.entrants[1].seeds = [1, 2, 3]  # two of b's three seeds failed
    assert race.judge() == []
    states = {e.label: e.state for e in race.entrants}
    assert states == {"x=a": "tied", "x=b": "failed", "x=c": "tied"}
    assert race.tied() == ["x=a", "x=c"]
