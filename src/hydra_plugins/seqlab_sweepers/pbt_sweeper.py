"""hydra/sweeper=seqlab_pbt: population-based training (seqlab.tuning.pbt) through any
Hydra launcher.

Each generation launches the P members as the sweep's jobs 0..P-1, in their own run
directories, every generation in the same ones: a member resumes from its last.ckpt and
pauses at the generation's last epoch (seqlab.callbacks.pbt). The sweeper then ranks them,
and for each member of the bottom quantile copies a top member's checkpoints into its
directory (under that directory's lock, each file written whole before it replaces the
old one) and gives it the donor's seed and explored values; `pbt.json` records every step,
atomically, before and after the copies. Nothing runs while it copies, so a copy is never
read half-written, and no member writes into another's directory.

`resume=<sweep dir>` replays the generations that pbt.json holds, relaunching each member
(a paused one trains no epoch again) and redoing copies a kill cut short.
"""

from __future__ import annotations

import logging
import math
import os
from pathlib import Path
from typing import Any

from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.core.plugins import Plugins
from hydra.plugins.sweeper import Sweeper
from hydra.types import HydraContext, TaskFunction
from omegaconf import DictConfig, OmegaConf

from hydra_plugins.seqlab_sweepers.config import SeqlabPbtSweeperConf, check_keys
from seqlab.config import ConfigError
from seqlab.names import COMPLETED, DIVERGED, FAILED, PAUSED, PBT_PREFIX
from seqlab.sweeps.files import override_text
from seqlab.tuning.pbt import PbtSettings, Population, read_pbt

log = logging.getLogger(__name__)

CHECKPOINTS = ("checkpoints/last.ckpt", "checkpoints/best.ckpt")


class SeqlabPbtSweeper(Sweeper):
    """Population-based training through Hydra's launcher; see the module docstring."""

    def __init__(self, **settings: Any) -> None:
        check_keys(SeqlabPbtSweeperConf, settings)
        self.settings = OmegaConf.create(settings)
        self.config: DictConfig | None = None

    def setup(
        self, *, hydra_context: HydraContext, task_function: TaskFunction, config: DictConfig
    ) -> None:
        self.config, self.hydra_context = config, hydra_context
        self.launcher = Plugins.instance().instantiate_launcher(
            hydra_context=hydra_context, task_function=task_function, config=config
        )

    def sweep(self, arguments: list[str]) -> Any:
        from seqlab.names import recorded_name
        from seqlab.sweeps.plan import launcher_slots, planning, write_plan

        assert self.config is not None
        config = self.config
        seed = int(config.get("seed") or 0)
        settings = PbtSettings.from_config(self.settings, seed)
        fixed = self._fixed(arguments, settings)
        epochs = _check_config(config)
        metric = recorded_name(str(config.monitor.metric))
        population = Population.start(settings, metric, str(config.monitor.mode), epochs, seed)
        stops = population.stops()
        total = settings.population * len(stops)
        # The members share the data (and so its order): only their seeds and values differ.
        given = {o.split("=", 1)[0].lstrip("+~") for o in fixed}
        shared = [] if "data.seed" in given else [f"data.seed={seed}"]
        first = [
            [*fixed, *shared, *self._member(population, m, stops[0])]
            for m in range(settings.population)
        ]
        self.validate_batch_is_legal(first)
        if planning():
            print(
                f"Plan: population-based training of {settings.population} members, "
                f"{len(stops)} generation(s) of {settings.interval} epochs: {total} jobs "
                f"(each member's directory resumed {len(stops) - 1} time(s)), exploring "
                + ", ".join(e.key for e in settings.explored),
                flush=True,
            )
            return None
        sweep_dir = Path(config.hydra.sweep.dir)
        sweep_dir.mkdir(parents=True, exist_ok=True)
        OmegaConf.save(config, sweep_dir / "multirun.yaml")
        slots = launcher_slots(config, settings.population).count
        # The plan counts directories: the members, each resumed generation after generation.
        write_plan(sweep_dir, None, settings.population, slots, "population-based training")
        if earlier := read_pbt(sweep_dir):
            _check_same(earlier, population, sweep_dir)
            population.restore(earlier)
        for generation, stop in enumerate(stops):
            if generation < len(population.generations):  # decided before a kill
                if generation == len(population.generations) - 1 and not population.copied:
                    self._copy(population, sweep_dir)
                continue
            batch = [
                [*fixed, *shared, *self._member(population, m, stop)]
                for m in range(settings.population)
            ]
            log.info(
                "PBT, generation %d of %d: %d members to epoch %d",
                generation + 1,
                len(stops),
                len(batch),
                stop,
            )
            results = self.launcher.launch(batch, initial_job_idx=0)
            dirs = [
                self._run_dir(r, o, m) for m, (r, o) in enumerate(zip(results, batch, strict=True))
            ]
            scores, unfinished = _scores(dirs, metric, stop, last=stop == epochs)
            if unfinished:
                population.write(sweep_dir)
                log.warning(
                    "PBT: member(s) %s did not reach epoch %d; resume= carries the population on",
                    ", ".join(map(str, unfinished)),
                    stop,
                )
                return None
            record = population.step(scores)
            population.write(sweep_dir)  # the decisions first: a kill now redoes the copies
            for e in record["exploits"]:
                log.info(
                    "PBT, epoch %d: member %d (%s) copies member %d (%s): %s",
                    e["epoch"],
                    e["member"],
                    e["score"],
                    e["donor"],
                    e["donor_score"],
                    ", ".join(f"{k} {e['before'][k]} -> {v}" for k, v in e["after"].items()),
                )
            self._copy(population, sweep_dir)
        population.write(sweep_dir)
        winner = population.winner()
        log.info("PBT: best member %s at epoch %d", winner, stops[-1])
        return None

    def _fixed(self, arguments: list[str], settings: PbtSettings) -> list[str]:
        """The command line's overrides, which every member gets: plain values only (the
        population explores its own), and none of the explored keys. A seed given there is
        the population's first: member m gets seed + m."""
        parser = OverridesParser.create(config_loader=self.hydra_context.config_loader)
        explored = {e.key for e in settings.explored}
        for text in arguments:
            override = parser.parse_override(text)
            key = override.get_key_element().lstrip("+~")
            if override.is_sweep_override():
                raise ConfigError(
                    f"{text}: population-based training explores hydra.sweeper.hyperparams; "
                    "give plain values on the command line"
                )
            if key in explored or key.startswith(PBT_PREFIX):
                raise ConfigError(
                    f"{text}: population-based training sets {key} for each member "
                    "(from hydra.sweeper.hyperparams); leave it out"
                )
        return list(arguments)

    def _member(self, population: Population, member: int, stop: int) -> list[str]:
        """A member's overrides for the generation that ends at `stop`."""
        assert self.config is not None
        state = population.members[member]
        values = [f"{k}={_text(v)}" for k, v in state.values.items()]
        sweep_dir = override_text(str(Path(self.config.hydra.sweep.dir).resolve()))
        return [
            *values,
            f"seed={state.seed}",
            f"{PBT_PREFIX}member={member}",
            f"{PBT_PREFIX}stop_at={stop}",
            f"{PBT_PREFIX}sweep_dir={sweep_dir}",
        ]

    def _run_dir(self, result: Any, overrides: list[str], num: int) -> Path:
        from seqlab.sweeps.layout import ran_in

        assert self.config is not None
        return ran_in(self.hydra_context.config_loader, self.config, result, overrides, num)

    def _copy(self, population: Population, sweep_dir: Path) -> None:
        """The last generation's copies: each exploiting member's directory gets its
        donor's checkpoints, under the member directory's lock; a member that had ended
        (failed, diverged, stopped early) gets its metrics.json put aside, so that it
        resumes from the copy."""
        from seqlab.files import write_bytes_atomic
        from seqlab.locking import DirectoryLock
        from seqlab.rundir import METRICS_FILE, read_metrics

        record = population.generations[-1]
        for e in record["exploits"]:
            member, donor = sweep_dir / str(e["member"]), sweep_dir / str(e["donor"])
            with DirectoryLock(member):
                for name in CHECKPOINTS:
                    source, target = donor / name, member / name
                    if source.is_file():
                        write_bytes_atomic(target, source.read_bytes())
                    else:
                        target.unlink(missing_ok=True)
                # A member that ended (failed, diverged, stopped early) trains on from the copy.
                if read_metrics(member).get("status") in (FAILED, DIVERGED, COMPLETED):
                    kept = member / f"{METRICS_FILE}.generation{record['generation']}"
                    os.replace(member / METRICS_FILE, kept)
        population.copied = True
        population.write(sweep_dir)


def _check_config(config: DictConfig) -> int:
    """What PBT needs of the run's config, checked before any job: a number of epochs, the
    pause callback, and each member in the directory of its number. Returns max_epochs."""
    epochs = OmegaConf.select(config, "trainer.max_epochs")
    if not isinstance(epochs, int) or isinstance(epochs, bool) or epochs < 1:
        raise ConfigError(
            f"trainer.max_epochs={epochs}: population-based training needs a number of "
            "epochs to split into generations; allowed: a whole number >= 1"
        )
    if not OmegaConf.select(config, "callbacks.pbt_boundary"):
        raise ConfigError(
            "callbacks.pbt_boundary=null: population-based training pauses its members with "
            "it at each generation's end; leave it in the callbacks"
        )
    subdir = OmegaConf.to_container(config.hydra.sweep, resolve=False).get("subdir")
    if subdir != "${hydra.job.num}":
        raise ConfigError(
            f"hydra.sweep.subdir={subdir}: a PBT member keeps one directory across its "
            "generations, named by its number; allowed: ${hydra.job.num}"
        )
    return epochs


def _scores(
    dirs: list[Path], metric: str, stop: int, last: bool
) -> tuple[dict[int, float], list[int]]:
    """Each member's monitored value at epoch `stop` ({member: value}): at its last epoch
    for one that stopped early (early stopping; it can still be copied over), NaN for one
    that failed or diverged; and the members that did not get there (killed, cancelled)."""
    from seqlab.rundir import read_metrics

    scores: dict[int, float] = {}
    unfinished = []
    for member, run_dir in enumerate(dirs):
        metrics = read_metrics(run_dir)
        status = metrics.get("status")
        if status in (FAILED, DIVERGED):
            scores[member] = math.nan
            continue
        paused = status == PAUSED and metrics.get("epochs", 0) >= stop and not last
        if not (paused or status == COMPLETED):
            unfinished.append(member)
            continue
        at = [row for row in metrics.get("history", []) if row.get("epoch") == stop]
        value = (at or metrics.get("history", [{}])[-1:])[0].get(metric, math.nan)
        scores[member] = float(value) if isinstance(value, (int, float)) else math.nan
    return scores, unfinished


def _check_same(earlier: dict[str, Any], population: Population, sweep_dir: Path) -> None:
    now = population.to_dict()
    for key in ("settings", "epochs", "metric"):
        if earlier.get(key) != now[key]:
            raise ConfigError(
                f"resume={sweep_dir}: pbt.json's {key} ({earlier.get(key)}) differs from this "
                f"command's ({now[key]}); resume with the same command, or start a new sweep"
            )


def _text(value: Any) -> str:
    """A value as an override: floats in full (repr), strings quoted where needed."""
    if isinstance(value, str):
        return override_text(value)
    return repr(value) if isinstance(value, float) else str(value)
