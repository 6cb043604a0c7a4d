"""Population-based training (Jaderberg et al. 2017), in synchronous generations.

A population of P members trains side by side, one run directory each. Every `interval`
epochs all members pause; each member's score is its monitored value at that epoch. The
bottom `quantile` of the population then exploits the top `quantile`: each copies the
checkpoint of a member drawn from the top (weights, optimizer and scheduler state, epoch
and step counts) and its seed (the rest of its random state: in seqlab's runs every draw
depends on the seed and the epoch alone), and explores: each named value is the donor's
times a factor drawn from `factors`, or with `resample_probability` a fresh draw from its
`init` space. The others carry on unchanged. The generations are synchronous, so the same
config and seed give the same lineage, whatever the launcher and however many run at once.

This module is the population's bookkeeping: settings, the draws, the decisions, and
`pbt.json`, the state the sweeper (hydra_plugins/seqlab_sweepers/pbt_sweeper.py) writes
after each generation and each member's job reads its lineage from. Torch-free.
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from seqlab.config import ConfigError
from seqlab.files import read_json_object, write_json_atomic

PBT_FILE = "pbt.json"  # in the sweep directory
WHERE = "hydra.sweeper"


@dataclass(frozen=True)
class Explored:
    """How one hyperparameter starts and moves: `init` is a choice of values or a range
    (low, high; `log` for a log scale), `factors` multiply a number when it is copied,
    `resample_probability` draws it afresh from `init` instead."""

    key: str
    choices: tuple[Any, ...] | None = None
    low: float | None = None
    high: float | None = None
    log: bool = False
    integer: bool = False
    factors: tuple[float, ...] = (0.8, 1.2)
    resample_probability: float = 0.0

    def draw(self, rng: random.Random) -> Any:
        if self.choices is not None:
            return rng.choice(self.choices)
        assert self.low is not None and self.high is not None
        if self.log:
            value = math.exp(rng.uniform(math.log(self.low), math.log(self.high)))
        else:
            value = rng.uniform(self.low, self.high)
        return round(value) if self.integer else value

    def perturb(self, value: Any, rng: random.Random) -> Any:
        """The explored value: a fresh draw (resample_probability), the next or previous
        choice (for choices), or the value times a factor, kept inside the range."""
        if rng.random() < self.resample_probability:
            return self.draw(rng)
        if self.choices is not None:
            i = self.choices.index(value) if value in self.choices else 0
            step = rng.choice((-1, 1))
            return self.choices[min(max(i + step, 0), len(self.choices) - 1)]
        moved = float(value) * rng.choice(self.factors)
        assert self.low is not None and self.high is not None
        moved = min(max(moved, self.low), self.high)
        return round(moved) if self.integer else moved

    @classmethod
    def from_config(cls, key: str, node: Any) -> Explored:
        where = f"{WHERE}.hyperparams.{key}"
        if not isinstance(node, Mapping):
            raise ConfigError(f"{where}={node}: allowed: {{init: ..., factors: [...]}}")
        init = node.get("init")
        given = node.get("factors", (0.8, 1.2))
        numbers = isinstance(given, Sequence) and not isinstance(given, str)
        if numbers:
            numbers = all(isinstance(f, (int, float)) and not isinstance(f, bool) for f in given)
        if not numbers or not given or any(f <= 0 for f in given):
            shown = (
                list(given) if isinstance(given, Sequence) and not isinstance(given, str) else given
            )
            raise ConfigError(f"{where}.factors={shown}: allowed: a list of numbers above 0")
        factors = tuple(float(f) for f in given)
        p = node.get("resample_probability", 0.0) or 0.0
        if isinstance(p, bool) or not isinstance(p, (int, float)) or not 0 <= p <= 1:
            raise ConfigError(f"{where}.resample_probability={p}: allowed: 0 to 1")
        if isinstance(init, Sequence) and not isinstance(init, str):
            choices = tuple(init)
            if not choices:
                raise ConfigError(f"{where}.init=[]: allowed: one value or more")
            return cls(key, choices=choices, factors=factors, resample_probability=float(p))
        if isinstance(init, Mapping) and "low" in init and "high" in init:
            low, high = init.get("low"), init.get("high")
            numbers = all(
                isinstance(v, (int, float)) and not isinstance(v, bool) for v in (low, high)
            )
            if not numbers or not low < high:
                raise ConfigError(f"{where}.init: allowed: low < high, two numbers")
            log = bool(init.get("log", False))
            if log and low <= 0:
                raise ConfigError(f"{where}.init.log=true: allowed: low > 0")
            integer = isinstance(low, int) and isinstance(high, int) and not init.get("float")
            return cls(
                key,
                low=float(low),
                high=float(high),
                log=log,
                integer=integer,
                factors=factors,
                resample_probability=float(p),
            )
        raise ConfigError(
            f"{where}.init={init}: allowed: a list of values, or {{low: ..., high: ..., log: ...}}"
        )


@dataclass(frozen=True)
class PbtSettings:
    """The sweeper's PBT settings, checked."""

    population: int
    interval: int  # epochs per generation
    quantile: float  # the bottom fraction that copies the top fraction
    explored: tuple[Explored, ...]
    seed: int  # of the population's draws: initial values, donors, perturbations

    @property
    def replaced(self) -> int:
        """How many members copy another at each step (and how many are donors)."""
        return int(self.population * self.quantile)

    @classmethod
    def from_config(cls, sweeper: Any, seed: int) -> PbtSettings:
        population, interval = sweeper.get("population"), sweeper.get("interval")
        for key, value in (("population", population), ("interval", interval)):
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ConfigError(f"{WHERE}.{key}={value}: allowed: a whole number >= 1")
        quantile = sweeper.get("quantile", 0.25)
        if isinstance(quantile, bool) or not isinstance(quantile, (int, float)):
            raise ConfigError(f"{WHERE}.quantile={quantile}: allowed: a number from 0 to 0.5")
        if not 0 < quantile <= 0.5 or int(population * quantile) < 1:
            raise ConfigError(
                f"{WHERE}.quantile={quantile} with {WHERE}.population={population}: allowed: "
                "0 < quantile <= 0.5 with population x quantile >= 1 (one member at least "
                "copies another)"
            )
        hyperparams = sweeper.get("hyperparams") or {}
        if not hyperparams:
            raise ConfigError(
                f"{WHERE}.hyperparams: nothing to explore; give {{key: {{init: ..., factors: "
                "[0.8, 1.2]}}}"
            )
        explored = tuple(Explored.from_config(str(k), v) for k, v in hyperparams.items())
        given = sweeper.get("seed")
        return cls(
            population, interval, float(quantile), explored, seed if given is None else given
        )


@dataclass
class Member:
    """One member as the next generation starts it: its values and its seed."""

    member: int
    values: dict[str, Any]
    seed: int


@dataclass
class Population:
    """The population's state: the members as they stand, and every generation so far
    (its epoch, the members' scores and values, who copied whom). `pbt.json` holds it."""

    settings: PbtSettings
    metric: str
    mode: str
    epochs: int  # the training's max_epochs
    members: list[Member]
    generations: list[dict[str, Any]] = field(default_factory=list)
    copied: bool = True  # whether the last generation's checkpoint copies are done

    @classmethod
    def start(
        cls, settings: PbtSettings, metric: str, mode: str, epochs: int, seed: int
    ) -> Population:
        """The first generation: each member's values drawn from the `init` spaces, its
        seed the config's seed + its number."""
        rng = random.Random(f"pbt-{settings.seed}-init")
        members = [
            Member(m, {e.key: e.draw(rng) for e in settings.explored}, seed + m)
            for m in range(settings.population)
        ]
        return cls(settings, metric, mode, epochs, members)

    def stops(self) -> list[int]:
        """The epoch each generation ends at: interval, 2 interval, ..., max_epochs."""
        every = self.settings.interval
        return [min(e, self.epochs) for e in range(every, self.epochs + every, every)]

    def step(self, scores: dict[int, float]) -> dict[str, Any]:
        """Exploit and explore after the generation that ended at `stop` with `scores`
        ({member: monitored value}; NaN for a member that failed or diverged): the new
        values and seeds of the bottom members, and the generation's record."""
        generation = len(self.generations)
        stop = self.stops()[generation]
        rng = random.Random(f"pbt-{self.settings.seed}-{generation}")
        sign = 1 if self.mode == "min" else -1

        def rank(m: int) -> tuple[bool, float, int]:
            value = scores.get(m, math.nan)
            return (not math.isfinite(value), sign * value if math.isfinite(value) else 0.0, m)

        order = sorted(range(self.settings.population), key=rank)
        count = self.settings.replaced
        # Donors are members with a score; a failed or diverged one is never copied.
        top = [m for m in order[:count] if math.isfinite(scores.get(m, math.nan))]
        bottom = [m for m in order[-count:] if m not in top] if top else []
        before = {m.member: (dict(m.values), m.seed) for m in self.members}
        exploits = []
        last = generation == len(self.stops()) - 1
        if not last:
            for m in bottom:
                donor = rng.choice(top)
                values = {
                    e.key: e.perturb(before[donor][0][e.key], rng) for e in self.settings.explored
                }
                member = self.members[m]
                member.values, member.seed = values, before[donor][1]
                exploits.append(
                    {
                        "member": m,
                        "donor": donor,
                        "epoch": stop,
                        "score": scores.get(m),
                        "donor_score": scores.get(donor),
                        "before": before[m][0],
                        "after": values,
                        "seed_before": before[m][1],
                        "seed_after": before[donor][1],
                    }
                )
        record = {
            "generation": generation,
            "epoch": stop,
            "scores": {str(m): scores.get(m) for m in range(self.settings.population)},
            "values": {str(m): before[m][0] for m in before},
            "seeds": {str(m): before[m][1] for m in before},
            "exploits": exploits,
        }
        self.generations.append(record)
        self.copied = not exploits
        return record

    def winner(self) -> int | None:
        """The member with the best score at the last generation's end."""
        if not self.generations:
            return None
        scores = {int(m): v for m, v in self.generations[-1]["scores"].items()}
        finite = [m for m, v in scores.items() if v is not None and math.isfinite(v)]
        if not finite:
            return None
        sign = 1 if self.mode == "min" else -1
        return min(finite, key=lambda m: (sign * scores[m], m))

    def schedule(self, member: int) -> list[dict[str, Any]]:
        """The values `member` trained with, generation by generation, following its
        lineage back through the members it copied: [{from_epoch, to_epoch, member,
        values}], the first generation first."""
        steps = []
        who = member
        stops = self.stops()
        for g in range(len(self.generations) - 1, -1, -1):
            record = self.generations[g]
            start = stops[g - 1] if g else 0
            steps.append(
                {
                    "from_epoch": start,
                    "to_epoch": record["epoch"],
                    "member": who,
                    "values": record["values"][str(who)],
                }
            )
            if g:  # who it was before the copy at the end of the previous generation
                copied = [e for e in self.generations[g - 1]["exploits"] if e["member"] == who]
                if copied:
                    who = copied[0]["donor"]
        return steps[::-1]

    def lineage(self, member: int) -> list[dict[str, Any]]:
        """The copies `member` made: at which epoch, of whom, the values before and after."""
        return [e for g in self.generations for e in g["exploits"] if e["member"] == member]

    def to_dict(self) -> dict[str, Any]:
        winner = self.winner()
        return {
            "settings": {
                "population": self.settings.population,
                "interval": self.settings.interval,
                "quantile": self.settings.quantile,
                "seed": self.settings.seed,
                "hyperparams": [e.key for e in self.settings.explored],
            },
            "metric": self.metric,
            "mode": self.mode,
            "epochs": self.epochs,
            "stops": self.stops(),
            "members": [
                {"member": m.member, "values": m.values, "seed": m.seed} for m in self.members
            ],
            "generations": self.generations,
            "copied": self.copied,
            "winner": winner,
            "winner_schedule": self.schedule(winner) if winner is not None else [],
        }

    def write(self, sweep_dir: Path) -> None:
        write_json_atomic(Path(sweep_dir) / PBT_FILE, self.to_dict())

    def restore(self, data: dict[str, Any]) -> None:
        """Carry on from a pbt.json this population wrote (resume=)."""
        self.members = [Member(m["member"], dict(m["values"]), m["seed"]) for m in data["members"]]
        self.generations = list(data["generations"])
        self.copied = bool(data.get("copied", True))


def read_pbt(sweep_dir: Path) -> dict[str, Any]:
    """A sweep's pbt.json, or {} for a sweep that was no PBT (or cannot be read)."""
    return read_json_object(Path(sweep_dir) / PBT_FILE)


def member_record(sweep_dir: str | Path, member: int) -> dict[str, Any]:
    """What a member's metrics.json records of the population: its number, the values it
    trains with now, and its lineage (the copies it made: epoch, donor, values before and
    after)."""
    data = read_pbt(Path(sweep_dir))
    lineage = [
        e
        for g in data.get("generations", [])
        for e in g.get("exploits", [])
        if e["member"] == member
    ]
    current = next((m for m in data.get("members", []) if m["member"] == member), {})
    return {"member": member, "values": current.get("values"), "lineage": lineage}
