"""Running a race (seqlab.tuning.race) through Hydra's launcher: each round's jobs are
ordinary jobs of the sweep, numbered on from the last round's, so `resume=` replays the
race in the same directories. The grid's race (`hydra.sweeper.race`) and a search's
confirmation by race (`hydra.sweeper.confirm.race`) both run here."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from hydra_plugins.seqlab_sweepers.study_results import best_of_confirmed
from hydra_plugins.seqlab_sweepers.trials import job_error
from seqlab.config import ConfigError
from seqlab.tuning.race import RACE_FILE, TIED, WINNER, Race, RaceSettings, read_race

log = logging.getLogger(__name__)

SEED = "seed"


def check_no_seed(jobs: Sequence[Sequence[str]], where: str = "hydra.sweeper.race") -> None:
    """A race chooses the seeds: one given on the command line or in a sweep file would
    be silently replaced, so it is refused in one line."""
    for job in jobs:
        for text in job:
            if text.split("=", 1)[0].lstrip("+~") == SEED:
                raise ConfigError(
                    f"{text}: {where} gives each setting its seeds ({where}.first_seed, "
                    f"+1, ...); leave {SEED} out of the sweep"
                )


def check_resumed_race(sweep_dir: Path, race: Race) -> None:
    """`resume=` replays the race it started with: other settings would put other jobs in
    the old ones' directories."""
    earlier = read_race(sweep_dir)
    if not earlier:
        return
    then = [e["label"] for e in earlier.get("entrants", [])]
    now = [e.label for e in race.entrants]
    if then != now or earlier.get("settings") != race.to_dict()["settings"]:
        raise ConfigError(
            f"resume={sweep_dir}: {RACE_FILE} raced other settings (or with other race "
            "settings) than this command gives; resume with the same command, or start a "
            "new sweep"
        )


def run_race(
    race: Race,
    sweep_dir: Path,
    launch: Callable[[list[list[str]], int], Sequence[Any]],
    run_dir: Callable[[Any, list[str], int], Path],
    first_job: int = 0,
    fixed: Sequence[str] = (),
    earlier: dict[str, Any] | None = None,
) -> Race:
    """Run `race` round by round: `launch(batch, first job number)` runs a round's jobs
    and `run_dir(result, overrides, number)` says where each wrote. `fixed` overrides go
    to every job. The race's state is written to race.json after every round. `earlier`
    (a resumed race's race.json): the rounds it judged are taken as it judged them, so
    that every round runs the same jobs in the same directories."""
    from seqlab.names import INTERRUPTED
    from seqlab.rundir import read_metrics
    from seqlab.search import outcome

    batch = race.first_round()
    judged = list((earlier or {}).get("rounds", []))
    job = first_job
    while batch:
        overrides = [[*fixed, *entrant.overrides, f"{SEED}={seed}"] for entrant, seed in batch]
        log.info(
            "race, round %d: %d job(s) (%d-%d), %d setting(s) still racing",
            len(race.rounds) + 1,
            len(batch),
            job,
            job + len(batch) - 1,
            len({id(entrant) for entrant, _ in batch}),
        )
        results = launch(overrides, job)
        interrupted = []
        for num, ((entrant, seed), result, given) in enumerate(
            zip(batch, results, overrides, strict=True), job
        ):
            where = run_dir(result, given, num)
            metrics = read_metrics(where)
            entrant.seeds.append(seed)
            entrant.jobs.append(where.resolve().relative_to(sweep_dir.resolve()).as_posix())
            if job_error(result) is None and metrics.get("status", INTERRUPTED) == INTERRUPTED:
                interrupted.append(num)  # killed, or cancelled by its scheduler
                continue
            state, value = outcome(metrics, race.metric)
            if state == "COMPLETE" and value is not None:
                entrant.values.append(value)
        job += len(batch)
        if interrupted:
            race.write(sweep_dir)
            log.warning(
                "race: job(s) %s did not finish; resume= continues the race from here",
                ", ".join(map(str, interrupted)),
            )
            return race
        done = len(race.rounds)
        batch = race.replay(judged[done]) if done < len(judged) else race.judge()
        race.write(sweep_dir)
        last = race.rounds[-1]
        if last["stopped"]:
            log.info("race, round %d: out: %s", last["round"], "; ".join(last["stopped"]))
    log.info("%s", race.outcome())
    return race


def confirm_by_race(
    sweeper: Any,
    settings: RaceSettings,
    overrides: list[list[str]],
    params: list[dict[str, Any]],
    fixed: list[str],
    first_job: int,
) -> dict[str, Any]:
    """A search's confirmation stage as a race of its top settings (`overrides`, the
    study's `params` of each) over fresh seeds, in jobs numbered after the trials'. Its
    result as optimization_results.yaml's `confirmed` gives it: each setting's mean and
    interval at the race's level, the best setting (the winner, or the best mean among
    the tied) and the settings tied with it."""
    from seqlab.names import metric_range, recorded_name

    config = sweeper.config
    metric = recorded_name(str(config.monitor.metric))
    race = Race.start(settings, overrides, metric, str(config.monitor.mode), metric_range(metric))
    race.first_round()  # a budget too small for it fails here
    sweep_dir = Path(config.hydra.sweep.dir)
    earlier = None
    if config.get("resume"):
        check_resumed_race(sweep_dir, race)
        earlier = read_race(sweep_dir)
    log.info("confirming the best %d setting(s) by a race, from job %d", len(params), first_job)

    def launch(batch: list[list[str]], first: int) -> Sequence[Any]:
        return sweeper.launcher.launch(batch, initial_job_idx=first)

    run_race(race, sweep_dir, launch, sweeper.run_dir, first_job, fixed, earlier)
    by_label = {e.label: p for e, p in zip(race.entrants, params, strict=True)}
    summaries = []
    for entrant in race.entrants:
        summary = entrant.summary or {}
        summaries.append(
            {
                "params": by_label[entrant.label],
                "n": summary.get("n", 0),
                "mean": summary.get("mean"),
                "interval": [summary.get("low"), summary.get("high")],
                "seeds": entrant.seeds,
                "state": entrant.state,
                "why": entrant.reason,
            }
        )
    confirmed: dict[str, Any] = {
        "top_k": len(params),
        "race": {"outcome": race.outcome(), "level": settings.level, "result": race.result},
        "seeds": sorted({seed for e in race.entrants for seed in e.seeds}),
        "metric": metric,
        "jobs": [job for e in race.entrants for job in e.jobs],
        "settings": summaries,
    }
    ahead = [s for s in summaries if s["state"] in (WINNER, TIED) and s["mean"] is not None]
    if ahead:
        sign = 1 if config.monitor.mode == "min" else -1
        best = min(ahead, key=lambda s: sign * s["mean"])
        confirmed.update(best_of_confirmed(best, [s["params"] for s in ahead if s is not best]))
    return confirmed
