"""seqlab-train: train one model, or sweep many with -m (a Hydra app)."""

from __future__ import annotations

import contextlib
import logging
import math
import os
import sys
from pathlib import Path

import hydra
from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from omegaconf import DictConfig

from seqlab.cli.common import (
    check,
    checked,
    parallel_jobs,
    run_hydra_app,
    shown,
)
from seqlab.config import CONFIG_DIR, ConfigError
from seqlab.files import StorageError
from seqlab.locking import DirectoryInUse
from seqlab.names import FAILED, recorded_name
from seqlab.rundir import failure, record_failure
from seqlab.search import outcome
from seqlab.sweeps.plan import PLAN_ENV

log = logging.getLogger("seqlab")


def objective(metrics: dict, cfg: DictConfig) -> float:
    """The value a Hydra sweeper optimises: the best monitored metric; the worst possible
    value (+inf when minimising, -inf when maximising) for a job that failed or diverged."""
    _, best = outcome(metrics, recorded_name(cfg.monitor.metric))
    if best is not None:
        return best
    return math.inf if cfg.monitor.mode == "min" else -math.inf


def train_task(cfg: DictConfig) -> float:
    from seqlab.training import train  # heavy imports (torch, lightning) start here

    metrics = train(cfg, parallel_jobs=parallel_jobs())
    run_dir = shown(cfg.paths.output_dir)
    log.info("run directory: %s", run_dir)
    if (Path(cfg.paths.output_dir) / "tensorboard").is_dir():  # not with logger=mlflow alone
        log.info("inspect it with: tensorboard --logdir %s", run_dir)
    trackers = metrics.get("trackers") or {}
    if (mlflow := trackers.get("mlflow", {})).get("run_id"):
        uri = mlflow["tracking_uri"]
        show = f"mlflow ui --backend-store-uri {uri}" if uri.startswith("sqlite:") else uri
        log.info("MLflow run %s: %s", mlflow["run_id"], show)
    if (wandb := trackers.get("wandb", {})).get("dir"):
        log.info("W&B run %s (%s): %s", wandb["id"], wandb["mode"], Path(wandb["dir"]).parent)
    return objective(metrics, cfg)


def check_ddp_in_sweep(cfg: DictConfig) -> None:
    """DDP in a sweep job needs the launcher to start one process per device.

    Lightning starts DDP's extra processes by re-running the command line, which for a
    multirun would start the whole sweep again. Under SLURM with one task per device the
    processes already exist, and Lightning takes their ranks from SLURM instead.
    """
    trainer = cfg.trainer
    devices = trainer.get("devices", 1)
    if "ddp" not in str(trainer.get("strategy", "")) or devices == 1:
        return
    if int(os.environ.get("SLURM_NTASKS", "1")) > 1:
        return
    raise ConfigError(
        f"trainer.strategy={trainer.strategy} with devices={devices} in a multirun needs one "
        "process per device from the launcher: use hydra/launcher=slurm with "
        "hydra.launcher.tasks_per_node=<devices>, or train single runs"
    )


def sweep_job(cfg: DictConfig) -> float:
    """One job of a multirun: whatever goes wrong is recorded, and the sweep goes on."""
    try:
        check(cfg)
        check_ddp_in_sweep(cfg)
        return train_task(cfg)
    except DirectoryInUse as e:  # its directory is another process's: write nothing there
        log.error("job not run (the sweep goes on): %s", e)
        return objective({"status": FAILED}, cfg)
    except Exception as e:
        # A config error or a full disk needs no traceback; anything else does, in the log.
        report = log.error if isinstance(e, (ConfigError, StorageError)) else log.exception
        report("job failed (the sweep goes on): %s", failure(e))
        with contextlib.suppress(OSError):  # a full disk may refuse even this
            record_failure(cfg.paths.output_dir, e)  # unless train() recorded it already
        return objective({"status": FAILED}, cfg)


def task(cfg: DictConfig) -> float:
    """What seqlab-train runs for each config that Hydra composes: a single run, or one job
    of a multirun. The Python API (seqlab.api) hands Hydra the same function."""
    if HydraConfig.get().mode == RunMode.MULTIRUN:
        return sweep_job(cfg)
    return checked(single_run, cfg)


def single_run(cfg: DictConfig) -> float:
    if cfg.get("sweep") is not None or cfg.get("sweep_file"):
        name = f"sweep_file={cfg.sweep_file}" if cfg.get("sweep_file") else "sweep=..."
        raise ConfigError(f"{name}: a sweep file runs as a multirun: add -m")
    return train_task(cfg)


def sweep_arguments(args: list[str]) -> tuple[list[str], str | None]:
    """The command line for Hydra, and `--plan`'s mode (None without it): `--plan` shows
    the jobs and their estimate from earlier runs or a probe; `--plan --no-probe` from
    earlier runs only. A sweep file (`sweep=`, `sweep_file=`) makes it a multirun."""
    plan = "probe" if "--plan" in args else None
    if plan and "--no-probe" in args:
        plan = "history"
    args = [a for a in args if a not in ("--plan", "--no-probe")]
    swept = any(a.startswith(("sweep=", "sweep_file=")) for a in args)
    if (swept or plan) and not {"-m", "--multirun"} & set(args):
        args = ["--multirun", *args]
    return args, plan


# Hydra's version base and where the configs are, shared with the Python API.
VERSION_BASE, CONFIG_NAME = "1.3", "train"
_app = hydra.main(version_base=VERSION_BASE, config_path=CONFIG_DIR, config_name=CONFIG_NAME)(task)


def main() -> None:
    """seqlab-train: train one model, or sweep many with -m."""
    args, plan = sweep_arguments(sys.argv[1:])
    sys.argv[1:] = args  # what Hydra's own parser reads
    if plan:
        os.environ[PLAN_ENV] = plan
    run_hydra_app(_app, "seqlab-train", args)
