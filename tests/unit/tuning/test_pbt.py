"""seqlab.tuning.pbt: the population's draws, steps, schedule and settings, by hand."""

from __future__ import annotations

import math

import pytest
from omegaconf import OmegaConf

from seqlab.config import ConfigError
from seqlab.tuning.pbt import PbtSettings, Population


def settings(**over) -> PbtSettings:
    node = {
        "population": 4,
        "interval": 2,
        "quantile": 0.25,
        "hyperparams": {"model.lr": {"init": {"low": 0.01, "high": 1.0, "log": True}}},
        **over,
    }
    return PbtSettings.from_config(OmegaConf.create(node), seed=7)


def test_the_same_seed_gives_the_same_population_and_steps():
    runs = []
    for _ in range(2):
        population = Population.start(settings(), "val/mse", "min", 6, seed=1)
        population.step({0: 3.0, 1: 1.0, 2: 2.0, 3: 4.0})
        population.step({0: 2.0, 1: 0.5, 2: 1.5, 3: 0.9})
        runs.append(population.to_dict())
    assert runs[0] == runs[1]
    other = Population.start(settings(seed=8), "val/mse", "min", 6, seed=1)
    assert [m.values for m in other.members] != [m["values"] for m in runs[0]["members"]]


def test_the_worst_copies_a_best_and_explores_its_values():
    population = Population.start(settings(), "val/mse", "min", 6, seed=1)
    start = {m.member: dict(m.values) for m in population.members}
    assert all(0.01 <= v["model.lr"] <= 1.0 for v in start.values())
    assert [m.seed for m in population.members] == [1, 2, 3, 4]
    record = population.step({0: 3.0, 1: 1.0, 2: 2.0, 3: 4.0})
    [copy] = record["exploits"]  # 4 x 0.25: one member copies one
    assert (copy["member"], copy["donor"], copy["epoch"]) == (3, 1, 2)
    ratio = copy["after"]["model.lr"] / start[1]["model.lr"]
    assert ratio == pytest.approx(0.8) or ratio == pytest.approx(1.2)
    assert copy["before"] == start[3] and copy["seed_after"] == 2  # the donor's seed
    assert population.members[3].values == copy["after"] and population.members[3].seed == 2
    assert population.members[0].values == start[0]  # the others carry on unchanged
    assert not population.copied  # until the sweeper has copied the checkpoints


def test_a_failed_member_ranks_last_and_the_last_generation_copies_nothing():
    population = Population.start(settings(), "val/mse", "max", 4, seed=1)  # max: higher wins
    record = population.step({0: 3.0, 1: math.nan, 2: 2.0, 3: 4.0})
    assert [(e["member"], e["donor"]) for e in record["exploits"]] == [(1, 3)]
    last = population.step({0: 3.0, 1: 4.5, 2: 2.0, 3: 4.0})
    assert last["exploits"] == [] and population.stops() == [2, 4]
    assert population.winner() == 1


def test_a_failed_member_is_never_a_donor():
    """Half the population copies, but three of four diverged: the one member with a score
    is the only donor, and the diverged ones are not copied."""
    population = Population.start(settings(quantile=0.5), "val/mse", "min", 6, seed=1)
    record = population.step({0: math.nan, 1: math.nan, 2: 2.0, 3: math.nan})
    assert {e["donor"] for e in record["exploits"]} == {2}
    assert {e["member"] for e in record["exploits"]} <= {0, 1, 3}
    nobody = Population.start(settings(), "val/mse", "min", 6, seed=1)
    assert nobody.step(dict.fromkeys(range(4), math.nan))["exploits"] == []


def test_the_winners_schedule_follows_its_lineage():
    population = Population.start(settings(), "val/mse", "min", 6, seed=1)
    lrs = {m.member: m.values["model.lr"] for m in population.members}
    population.step({0: 3.0, 1: 1.0, 2: 2.0, 3: 4.0})  # 3 copies 1
    after = population.members[3].values["model.lr"]
    population.step({0: 3.0, 1: 2.0, 2: 2.5, 3: 0.5})  # 0 copies 3
    population.step({0: 0.1, 1: 2.0, 2: 2.5, 3: 0.5})
    assert population.winner() == 0
    schedule = population.schedule(0)
    assert [(s["from_epoch"], s["to_epoch"], s["member"]) for s in schedule] == [
        (0, 2, 1),
        (2, 4, 3),
        (4, 6, 0),
    ]
    assert schedule[0]["values"]["model.lr"] == lrs[1]
    assert schedule[1]["values"]["model.lr"] == after
    assert population.lineage(0)[0]["donor"] == 3


@pytest.mark.parametrize(
    ("over", "message"),
    [
        ({"population": 0}, "population=0: allowed: a whole number >= 1"),
        ({"quantile": 0.1}, "population x quantile >= 1"),
        ({"quantile": 0.75}, "0 < quantile <= 0.5"),
        ({"hyperparams": {}}, "hyperparams: nothing to explore"),
        ({"hyperparams": {"model.lr": {"init": {"low": 0, "high": 1, "log": True}}}}, "low > 0"),
        ({"hyperparams": {"model.lr": {"init": 3}}}, "init=3: allowed: a list of values"),
        (
            {"hyperparams": {"model.lr": {"init": [1, 2], "factors": [0]}}},
            "factors=[0]: allowed: a list of numbers above 0",
        ),
        (
            {"hyperparams": {"model.lr": {"init": [1, 2], "factors": []}}},
            "factors=[]: allowed: a list of numbers above 0",
        ),
        (
            {"hyperparams": {"model.lr": {"init": [1, 2], "factors": ["x"]}}},
            "factors=['x']: allowed: a list of numbers above 0",
        ),
    ],
)
def test_bad_settings_are_one_line(over, message):
    with pytest.raises(ConfigError, match=message.replace("[", r"\[").replace("]", r"\]")):
        settings(**over)
