"""Racing replicates: seeds go to the settings whose rank is still in doubt.

Every setting starts with `min_seeds` seeds. After each round, a setting whose interval of
the monitored value lies entirely on the wrong side of the leader's stops; the others
(the leader among them) get one more seed, up to `max_seeds`, as long as the budget holds a
whole round. The race ends with a winner when one setting's interval is apart from every
other's, or, when no setting can get another seed, with the settings still in it tied.
This is F-Race's idea (Birattari et al. 2002) with the report's own intervals
(seqlab.sweeps.stats) in place of its Friedman test.

Repeated looks. A race looks at the data after every round and stops settings on what it
sees, which makes a wrong stop likelier than one look's 5%. The correction is Bonferroni's
over the rounds a race can have, max_seeds - min_seeds + 1: each look uses intervals at
level 1 - 0.05 / rounds (97.5% for two rounds, 99% for five). Two intervals that do not
overlap are also a stricter test than one of their difference.

The race's state is plain data, written to `race.json` in the sweep directory after every
round, with every round's decisions; the jobs are ordinary jobs of the sweep. A resumed
race runs the same rounds in the same directories, and takes the rounds race.json
recorded as judged as they were (`replay`), so each round's jobs are the same.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from seqlab.config import ConfigError
from seqlab.files import read_json_object, write_json_atomic
from seqlab.sweeps.jobs import LEVEL
from seqlab.sweeps.stats import Summary, summarise

RACE_FILE = "race.json"  # in the sweep directory

# An entrant's state.
RACING, WINNER, STOPPED, TIED, FAILED = "racing", "winner", "stopped", "tied", "failed"


@dataclass(frozen=True)
class RaceSettings:
    """`hydra.sweeper.race` (or a search's `confirm.race`), checked."""

    min_seeds: int
    max_seeds: int
    budget: int | None = None  # jobs in all; None: settings x max_seeds
    first_seed: int = 1  # the seeds are first_seed, first_seed + 1, ...

    @property
    def rounds(self) -> int:
        """The most rounds a race can have: the looks that Bonferroni's correction counts."""
        return self.max_seeds - self.min_seeds + 1

    @property
    def level(self) -> float:
        """The level of each look's intervals."""
        return 1 - (1 - LEVEL) / self.rounds

    @classmethod
    def from_config(cls, node: Any, where: str, first_seed: int = 1) -> RaceSettings | None:
        """The race asked for at `where`, or None when min_seeds is 0 (no race); its seeds
        start at `first_seed` unless it gives its own. A bad value is a one-line
        ConfigError naming its key."""
        if not node or node.get("min_seeds") in (0, None):
            return None
        values = {key: node.get(key) for key in ("min_seeds", "max_seeds", "budget", "first_seed")}
        for key, value in values.items():
            if value is None and key in ("budget", "first_seed"):
                continue
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise ConfigError(f"{where}.{key}={value}: allowed: a whole number >= 0")
        low, high = values["min_seeds"], values["max_seeds"]
        if low < 2 or high < low:
            raise ConfigError(
                f"{where}.min_seeds={low} and {where}.max_seeds={high}: allowed: "
                "2 <= min_seeds <= max_seeds (an interval needs two seeds)"
            )
        given = values["first_seed"]
        return cls(low, high, values["budget"], first_seed if given is None else given)


@dataclass
class Entrant:
    """One setting in the race: its overrides, the seeds it ran, how it stands."""

    label: str  # its overrides, as one line: "model.hidden_dim=16 model.lr=0.1"
    overrides: list[str]
    seeds: list[int] = field(default_factory=list)
    jobs: list[str] = field(default_factory=list)  # the jobs' directories, by seed
    values: list[float] = field(default_factory=list)  # the completed seeds' values
    state: str = RACING
    reason: str = ""  # why it left the race, or why it ended
    summary: dict[str, float] | None = None  # n, mean, low, high at the last look

    @property
    def seeds_run(self) -> int:
        return len(self.seeds)


@dataclass
class Race:
    """A race's settings, entrants and rounds; `race.json` holds it."""

    settings: RaceSettings
    metric: str
    mode: str  # min or max
    bounds: tuple[float, float]  # the metric's range (seqlab.names.metric_range)
    entrants: list[Entrant]
    rounds: list[dict[str, Any]] = field(default_factory=list)
    result: str = ""  # "winner", "tied", or "" while it runs

    @classmethod
    def start(
        cls,
        settings: RaceSettings,
        setting_overrides: Sequence[Sequence[str]],
        metric: str,
        mode: str,
        bounds: tuple[float, float],
    ) -> Race:
        if len(setting_overrides) < 2:
            raise ConfigError(
                "hydra.sweeper.race: a race needs two or more settings to compare; sweep "
                "another key, or give seed=... for replicates of one setting"
            )
        labels = _labels(setting_overrides)
        entrants = [
            Entrant(label, list(o)) for label, o in zip(labels, setting_overrides, strict=True)
        ]
        return cls(settings, metric, mode, bounds, entrants)

    @property
    def jobs_run(self) -> int:
        return sum(e.seeds_run for e in self.entrants)

    @property
    def jobs_at_max(self) -> int:
        """What a fixed-seed grid of every setting at max_seeds costs."""
        return len(self.entrants) * self.settings.max_seeds

    def first_round(self) -> list[tuple[Entrant, int]]:
        """(entrant, seed) for every job of the first round."""
        first = self.settings.first_seed
        seeds = range(first, first + self.settings.min_seeds)
        wanted = [(e, seed) for e in self.entrants for seed in seeds]
        if self.settings.budget is not None and len(wanted) > self.settings.budget:
            raise ConfigError(
                f"hydra.sweeper.race.budget={self.settings.budget}: the first round alone "
                f"runs {len(wanted)} jobs ({len(self.entrants)} settings x min_seeds "
                f"{self.settings.min_seeds}); allowed: {len(wanted)} or more"
            )
        return wanted

    def judge(self) -> list[tuple[Entrant, int]]:
        """Look at the values after a round: stop the settings that are behind, end the
        race if it is decided or can go no further, and return the next round's
        (entrant, seed) jobs (none once it has ended). The round's record keeps every
        decision, for a resumed race to take as it was (`replay`)."""
        level = self.settings.level
        racing = [e for e in self.entrants if e.state == RACING]
        summaries = self._look(racing)
        look = len(self.rounds) + 1
        comparable = [e for e in racing if summaries[e.label].n >= 2]
        leader = _best(comparable, summaries, self.mode)
        for e in racing:
            s = summaries[e.label]
            # No seed completed (every one failed or diverged), or too few by max_seeds.
            if s.n == 0 or (s.n < 2 and e.seeds_run >= self.settings.max_seeds):
                e.state, e.reason = (
                    FAILED,
                    f"round {look}: {s.n} of its {e.seeds_run} seeds completed",
                )
            elif leader is not None and e is not leader and s.n >= 2:
                ahead = summaries[leader.label]
                if _behind(s, ahead, self.mode):
                    e.state = STOPPED
                    e.reason = (
                        f"round {look}: its interval {_interval(s)} lies "
                        f"{'above' if self.mode == 'min' else 'below'} the leader's "
                        f"{_interval(ahead)} ({leader.label})"
                    )
        out = [e for e in racing if e.state != RACING]
        racing = [e for e in racing if e.state == RACING]
        following: list[tuple[Entrant, int]] = []
        if len(racing) == 1 and leader is racing[0]:
            leader.state, leader.reason = WINNER, f"round {look}: apart from every other setting"
            self.result = WINNER
        elif not racing:  # every setting failed
            self.result = TIED
        else:
            wanted = [e for e in racing if e.seeds_run < self.settings.max_seeds]
            left = None if self.settings.budget is None else self.settings.budget - self.jobs_run
            why = ""
            if not wanted:
                why = f"max_seeds={self.settings.max_seeds} reached"
            elif left is not None and left < len(wanted):
                why = (
                    f"budget={self.settings.budget} spent ({left} job(s) left, a round needs "
                    f"{len(wanted)})"
                )
            if why:
                for e in racing:
                    if summaries[e.label].n < 2:  # no interval: it cannot be tied with any
                        e.state, e.reason = (
                            FAILED,
                            (
                                f"round {look}: {why}, with {summaries[e.label].n} of its "
                                f"{e.seeds_run} seeds completed"
                            ),
                        )
                    else:
                        e.state, e.reason = TIED, f"round {look}: {why}"
                self.result = TIED
            else:
                following = [(e, self.settings.first_seed + e.seeds_run) for e in wanted]
        changed = [
            e for e in self.entrants if e.state != RACING and e.reason.startswith(f"round {look}:")
        ]
        self.rounds.append(
            {
                "round": look,
                "level": level,
                "jobs": self.jobs_run,
                "leader": leader.label if leader else None,
                "stopped": [e.label for e in out],
                "changes": {e.label: [e.state, e.reason] for e in changed},
                "next": [[e.label, seed] for e, seed in following],
                "result": self.result,
            }
        )
        return following

    def replay(self, record: dict[str, Any]) -> list[tuple[Entrant, int]]:
        """Take a round's decisions as an earlier run of this race recorded them (resume=):
        the same settings stop, and the next round runs the same (setting, seed) jobs in
        the same directories, whatever a job retried since then gives."""
        self._look([e for e in self.entrants if e.state == RACING])
        by_label = {e.label: e for e in self.entrants}
        for label, (state, reason) in record.get("changes", {}).items():
            by_label[label].state, by_label[label].reason = state, reason
        self.result = record.get("result", "")
        self.rounds.append(record)
        return [(by_label[label], seed) for label, seed in record.get("next", [])]

    def _look(self, racing: list[Entrant]) -> dict[str, Summary]:
        """Each racing setting's interval at the race's level, kept as its summary."""
        summaries = {e.label: summarise(e.values, self.settings.level, self.bounds) for e in racing}
        for e in racing:
            s = summaries[e.label]
            e.summary = {"n": s.n, "mean": s.mean, "low": s.low, "high": s.high}
        return summaries

    def tied(self) -> list[str]:
        return [e.label for e in self.entrants if e.state == TIED]

    def winner(self) -> str | None:
        return next((e.label for e in self.entrants if e.state == WINNER), None)

    def outcome(self) -> str:
        """One line: the winner, or the settings tied; and the jobs saved."""
        saved = self.jobs_at_max - self.jobs_run
        cost = (
            f"{self.jobs_run} jobs, against {self.jobs_at_max} for every setting at "
            f"max_seeds={self.settings.max_seeds}: {saved} saved"
        )
        if self.result == WINNER:
            return f"race won by {self.winner()} ({cost})"
        if self.result == TIED:
            tied = self.tied()
            names = "; ".join(tied) if tied else "no setting completed"
            return f"race ended tied: {names} ({cost})"
        return f"race running ({cost})"

    def to_dict(self) -> dict[str, Any]:
        return {
            "settings": asdict(self.settings),
            "level": self.settings.level,
            "metric": self.metric,
            "mode": self.mode,
            "result": self.result,
            "winner": self.winner(),
            "tied": self.tied(),
            "jobs": self.jobs_run,
            "jobs_at_max_seeds": self.jobs_at_max,
            "jobs_saved": self.jobs_at_max - self.jobs_run,
            "outcome": self.outcome(),
            "rounds": self.rounds,
            "entrants": [asdict(e) for e in self.entrants],
        }

    def write(self, sweep_dir: Path) -> None:
        write_json_atomic(Path(sweep_dir) / RACE_FILE, self.to_dict())


def read_race(sweep_dir: Path) -> dict[str, Any]:
    """A sweep's race.json, or {} for a sweep that was no race (or cannot be read)."""
    return read_json_object(Path(sweep_dir) / RACE_FILE)


def race_rows(race: dict[str, Any]) -> list[dict[str, Any]]:
    """race.json's settings as table rows, in the race's order of finish (the winner or
    the tied first, then by mean): seeds run, seeds completed, mean and interval at the
    last look, state and why."""
    sign = 1 if race.get("mode", "min") == "min" else -1
    order = {WINNER: 0, TIED: 0, RACING: 0, STOPPED: 1, FAILED: 2}

    def rank(entrant: dict[str, Any]) -> tuple[int, float]:
        mean = (entrant.get("summary") or {}).get("mean", math.nan)
        return order.get(entrant.get("state", ""), 3), sign * mean if mean == mean else math.inf

    rows = []
    for entrant in sorted(race.get("entrants", []), key=rank):
        summary = entrant.get("summary") or {}
        low, high = summary.get("low", math.nan), summary.get("high", math.nan)
        rows.append(
            {
                "setting": entrant["label"],
                "seeds": len(entrant.get("seeds", [])),
                "n": summary.get("n", 0),
                "mean": summary.get("mean", math.nan),
                "interval": "" if low != low else f"[{low:.4g}, {high:.4g}]",
                "state": entrant.get("state", ""),
                "why": entrant.get("reason", ""),
            }
        )
    return rows


def _labels(settings: Sequence[Sequence[str]]) -> list[str]:
    """Each setting named by the overrides that tell it from the others (those that every
    setting shares are left out): "model.hidden_dim=16 model.lr=0.1"."""
    common = set(settings[0]).intersection(*map(set, settings[1:]))
    labels = [" ".join(o for o in overrides if o not in common) for overrides in settings]
    return [label or "(defaults)" for label in labels]


def _best(entrants: list[Entrant], summaries: dict[str, Summary], mode: str) -> Entrant | None:
    if not entrants:
        return None
    sign = 1 if mode == "min" else -1
    return min(entrants, key=lambda e: sign * summaries[e.label].mean)


def _behind(s: Summary, leader: Summary, mode: str) -> bool:
    """Whether `s`'s interval lies entirely on the wrong side of the leader's."""
    if math.isnan(s.low) or math.isnan(leader.low):
        return False
    return s.low > leader.high if mode == "min" else s.high < leader.low


def _interval(s: Summary) -> str:
    return f"[{s.low:.4g}, {s.high:.4g}]"
