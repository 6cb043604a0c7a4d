"""How long a sweep's jobs may take, before they run: from earlier runs of the same settings
(their metrics.json's `wall_s`), or else from a short timed probe.

Two jobs have "the same settings" when their resolved model, data and trainer settings and
their early-stopping rule agree: the seed, the output paths and the display settings (the
progress bar) are not part of it. Every completed run under the outputs root counts, from
the command line, a sweep or the Python API.

A light module: the probe runs in a process of its own (seqlab.cli.preflight).
"""

from __future__ import annotations

import copy
import json
import os
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf, open_dict

from seqlab.config import flat_values
from seqlab.names import COMPLETED
from seqlab.rundir import METRICS_FILE
from seqlab.sweeps.plan import PLAN_ENV

TIMED_GROUPS = ("model", "data", "trainer", "callbacks.early_stopping")
UNTIMED = {"data.seed", "trainer.default_root_dir", "trainer.enable_progress_bar",
           "trainer.enable_model_summary", "trainer.logger"}  # fmt: skip
# What a probe leaves out of a job's shape: values that change how long it trains, or what
# it learns, but not what one epoch costs.
NOT_SHAPE = ("model.lr", "model.optimizer.", "model.scheduler.", "trainer.max_epochs",
             "trainer.min_epochs", "callbacks.early_stopping.")  # fmt: skip


def job_config(config_loader: Any, config: DictConfig, overrides: Sequence[str]) -> DictConfig:
    """A job's config as its launcher composes it, with `${hydra:...}` resolvable."""
    return config_loader.load_sweep_config(config, list(overrides))


def _timed(key: str) -> bool:
    """Whether a dotted key is one of the settings that decide a job's time."""
    return key.startswith(tuple(f"{group}." for group in TIMED_GROUPS)) and key not in UNTIMED


def timed_settings(job: DictConfig) -> dict[str, Any]:
    """The settings that decide a job's time, by dotted key (as metrics.json's `config`).
    The untimed keys go first: they hold the `${hydra:...}` paths, which only a running
    job resolves."""
    flat: dict[str, Any] = {}
    for group in TIMED_GROUPS:
        node = OmegaConf.select(job, group)
        if not isinstance(node, DictConfig):
            continue
        with open_dict(node):
            for key in UNTIMED:
                name = key[len(group) + 1 :]
                if key.startswith(f"{group}.") and name in node:
                    del node[name]  # (pop would resolve it first)
        flat.update(flat_values(OmegaConf.to_container(node, resolve=True), f"{group}."))
    return {k: v for k, v in flat.items() if _timed(k)}


def _key(settings: dict[str, Any]) -> str:
    return json.dumps(settings, sort_keys=True, default=str)


def _shape(settings: dict[str, Any]) -> str:
    return _key({k: v for k, v in settings.items() if not k.startswith(NOT_SHAPE)})


def earlier_wall_times(root: str | Path) -> dict[str, list[float]]:
    """The wall times of the completed runs under `root`, by their timed settings."""
    times: dict[str, list[float]] = {}
    for here, dirs, files in os.walk(root):
        if METRICS_FILE in files:
            dirs[:] = [d for d in dirs if not d.startswith((".", "checkpoints", "tensorboard"))]
            try:
                metrics = json.loads((Path(here) / METRICS_FILE).read_bytes())
            except (OSError, ValueError):
                continue
            config, wall = metrics.get("config"), metrics.get("wall_s")
            if metrics.get("status") != COMPLETED or not isinstance(config, dict) or not wall:
                continue
            settings = {k: v for k, v in config.items() if _timed(k)}
            times.setdefault(_key(settings), []).append(float(wall))
        else:
            dirs[:] = [d for d in dirs if not d.startswith(".")]
    return times


def job_estimates(
    config_loader: Any, config: DictConfig, jobs: Sequence[Sequence[str]], probe: bool
) -> list[tuple[float | None, str]]:
    """Each job's estimated seconds and where the number comes from."""
    history = earlier_wall_times(str(config.paths.root))
    if not history and not probe:  # nothing to compare with, nothing to time
        return [(None, "without an earlier run (no estimate)")] * len(jobs)
    composed = [job_config(config_loader, config, job) for job in jobs]
    settings = [timed_settings(copy.deepcopy(job)) for job in composed]
    estimates: list[tuple[float | None, str]] = []
    unknown: dict[str, list[int]] = {}
    for num, timed in enumerate(settings):
        if walls := history.get(_key(timed)):
            estimates.append((statistics.median(walls), "from earlier runs"))
        else:
            estimates.append((None, "without an earlier run (no estimate)"))
            unknown.setdefault(_shape(timed), []).append(num)
    if probe and unknown:
        probed = probe_jobs([composed[nums[0]] for nums in unknown.values()])
        for nums, result in zip(unknown.values(), probed, strict=True):
            if "epoch_s" not in result:
                continue
            for num in nums:
                epochs = int(OmegaConf.select(composed[num], "trainer.max_epochs") or 1)
                seconds = result["setup_s"] + result["epoch_s"] * epochs
                estimates[num] = (seconds, "from a probe (at most: early stopping may end sooner)")
    return estimates


def probe_jobs(configs: Sequence[DictConfig], mode: str = "probe") -> list[dict[str, Any]]:
    """Run `configs` through seqlab.cli.preflight in a process of its own, on the CPU, in a
    temporary directory that is removed after: `probe` times PROBE_EPOCHS epochs of each,
    `check` builds each and steps it once. One result per config: its times, or `error`."""
    with tempfile.TemporaryDirectory(prefix="seqlab-preflight-") as tmp:
        plain = []
        for num, job in enumerate(configs):
            job = copy.deepcopy(job)  # (a DictConfig's copy() shares its nested nodes)
            with open_dict(job):
                job.paths.output_dir = str(Path(tmp) / str(num))
                job.pop("hydra", None)
            plain.append(OmegaConf.to_container(job, resolve=False))
        path = Path(tmp) / "configs.json"
        path.write_text(json.dumps(plain))
        env = {**os.environ, "CUDA_VISIBLE_DEVICES": ""}
        env.pop(PLAN_ENV, None)  # the preflight runs its configs, whatever the caller plans
        done = subprocess.run(
            [sys.executable, "-m", "seqlab.cli.preflight", mode, str(path)],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env, check=False,
        )  # fmt: skip
        out = Path(f"{path}.out")
        lines = out.read_text().splitlines() if out.is_file() else []
        results = [json.loads(line) for line in lines]
    if len(results) < len(configs):  # the process died: the rest are its failure
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        results += [{"error": f"the {mode} process ended early: {last}"}] * (
            len(configs) - len(results)
        )
    return results


def distinct_shapes(
    config_loader: Any, config: DictConfig, jobs: Sequence[Sequence[str]]
) -> dict[str, tuple[int, DictConfig]]:
    """One job of each model and data shape among `jobs`: {shape: (index, config)}."""
    shapes: dict[str, tuple[int, DictConfig]] = {}
    for num, job in enumerate(jobs):
        composed = job_config(config_loader, config, job)
        shapes.setdefault(_shape(timed_settings(copy.deepcopy(composed))), (num, composed))
    return shapes
