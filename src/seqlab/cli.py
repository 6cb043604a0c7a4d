"""Command-line entry points: `seqlab-train` and `seqlab-eval` (Hydra apps).

Only Hydra, OmegaConf and seqlab's light modules (config, rundir) are imported here: `--help`,
`--cfg job` and a config that fails validation never pay for importing torch or lightning.
"""

from __future__ import annotations

import logging
import math
import os
import re
import shutil
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import hydra
from hydra.core.hydra_config import HydraConfig
from hydra.errors import (
    ConfigCompositionException,
    InstantiationException,
    MissingConfigException,
    OverrideParseException,
)
from hydra.experimental.callback import Callback
from hydra.types import RunMode
from omegaconf import DictConfig
from omegaconf.errors import MissingMandatoryValue, OmegaConfBaseException, ValidationError

from seqlab.config import CONFIG_DIR, ConfigError, available_cores, register_resolvers, validate
from seqlab.rundir import RunRecord, metric_name, read_metrics

log = logging.getLogger("seqlab")
register_resolvers()


def _parallel_jobs() -> int:
    """How many jobs the launcher runs side by side on this machine (1 for the basic launcher).

    joblib's `n_jobs`: a positive count, or -1 for one job per core, -2 for all but one...
    submitit's `cpus_per_task`: cores per job, so cores // cpus_per_task jobs share a machine
    (under SLURM the allocation itself is the machine: see available_cores).
    """
    launcher = HydraConfig.get().launcher
    cpus_per_task = launcher.get("cpus_per_task")
    if isinstance(cpus_per_task, int) and cpus_per_task > 0:
        return max(1, available_cores() // cpus_per_task)
    n_jobs = launcher.get("n_jobs")
    if not isinstance(n_jobs, int) or n_jobs == 0:
        return 1
    return n_jobs if n_jobs > 0 else max(1, available_cores() + 1 + n_jobs)


def _report_config_errors(prog: str, task: Callable[[DictConfig], Any], cfg: DictConfig) -> Any:
    """Run `task`; a ConfigError becomes one line on stderr and exit status 2."""
    try:
        validate(cfg)
        return task(cfg)
    except (ConfigError, OmegaConfBaseException, InstantiationException) as e:
        print(f"{prog}: error: {config_error_line(e)}", file=sys.stderr)
        sys.exit(2)


def config_error_line(error: Exception) -> str:
    """One line for a ConfigError, an OmegaConf error met while reading the config, or an
    object the config describes that refused its arguments (Hydra's InstantiationException)."""
    if isinstance(error, InstantiationException):
        where = re.search(r"full_key: (\S+)", str(error))
        cause = error.__cause__ or error
        return f"{where.group(1) if where else 'config'}: {cause}"
    if isinstance(error, MissingMandatoryValue):
        return f"{error.full_key}: required; give {error.full_key}=..."
    key = getattr(error, "full_key", None)
    message = str(error).splitlines()[0]
    return f"{key}: {message}" if key and not message.startswith(key) else message


def _objective(metrics: dict, cfg: DictConfig) -> float:
    """The value a Hydra sweeper optimises: the best monitored metric; the worst possible
    value (+inf when minimising, -inf when maximising) for a job that failed or diverged."""
    worst = math.inf if cfg.monitor.mode == "min" else -math.inf
    if metrics.get("status") != "completed":
        return worst
    best = metrics.get("best", {}).get(metric_name(cfg.monitor.metric), math.nan)
    return best if math.isfinite(best) else worst


def _shown(path: str | Path) -> str:
    """A path as a user can paste it: relative to the working directory when inside it."""
    path = Path(path).resolve()
    return str(path.relative_to(Path.cwd())) if path.is_relative_to(Path.cwd()) else str(path)


def _train_task(cfg: DictConfig) -> float:
    from seqlab.train import train  # heavy imports (torch, lightning) start here

    metrics = train(cfg, parallel_jobs=_parallel_jobs())
    run_dir = _shown(cfg.paths.output_dir)
    log.info("run directory: %s", run_dir)
    log.info("inspect it with: tensorboard --logdir %s", run_dir)
    return _objective(metrics, cfg)


def _check_ddp_in_sweep(cfg: DictConfig) -> None:
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


def _sweep_job(cfg: DictConfig) -> float:
    """One job of a multirun: whatever goes wrong is recorded, and the sweep goes on."""
    try:
        validate(cfg)
        _check_ddp_in_sweep(cfg)
        return _train_task(cfg)
    except Exception as e:
        # A config error needs no traceback; anything else does, in the job's log.
        report = log.error if isinstance(e, ConfigError) else log.exception
        report("job failed (the sweep goes on): %s: %s", type(e).__name__, e)
        run_dir = cfg.paths.output_dir
        if read_metrics(run_dir).get("status") != "failed":  # train() records what it can
            RunRecord(run_dir, status="failed", error=f"{type(e).__name__}: {e}")
        return _objective({"status": "failed"}, cfg)


def _eval_task(cfg: DictConfig) -> dict:
    from seqlab.evaluate import evaluate

    metrics = evaluate(cfg, parallel_jobs=_parallel_jobs())
    log.info("results in: %s", _shown(Path(cfg.paths.output_dir) / "metrics.json"))
    return metrics


class LauncherCheck(Callback):
    """Hydra callback: before a multirun submits anything, check that its launcher can run
    here (the SLURM launcher needs SLURM's commands)."""

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        target = str(config.hydra.launcher.get("_target_", ""))
        if target.endswith(".SlurmLauncher") and shutil.which("sbatch") is None:
            # Hydra turns a callback's exceptions into warnings: exit instead.
            print(
                "seqlab-train: error: hydra/launcher=slurm: SLURM's sbatch is not on PATH "
                "here; run on a cluster's login node, or try the same sweep locally with "
                "hydra/launcher=submitit_local",
                file=sys.stderr,
            )
            sys.exit(2)


@hydra.main(version_base="1.3", config_path=CONFIG_DIR, config_name="train")
def _train_app(cfg: DictConfig) -> float:
    if HydraConfig.get().mode == RunMode.MULTIRUN:
        return _sweep_job(cfg)
    return _report_config_errors("seqlab-train", _train_task, cfg)


@hydra.main(version_base="1.3", config_path=CONFIG_DIR, config_name="eval")
def _eval_app(cfg: DictConfig) -> dict:
    return _report_config_errors("seqlab-eval", _eval_task, cfg)


def one_line(error: Exception) -> str:
    """A Hydra composition error as one line: the key or option, and what is allowed."""
    if isinstance(error, MissingConfigException) and error.options is not None:
        missing = str(error.missing_cfg_file or "").split("/")
        if len(missing) == 2:
            group, option = missing
            return (
                f"{group}={option}: no such option (available: {', '.join(sorted(error.options))})"
            )
    cause = error.__cause__
    if isinstance(cause, ValidationError) and getattr(cause, "full_key", None):
        return f"{cause.full_key}: {str(cause).splitlines()[0]}"
    if isinstance(cause, OmegaConfBaseException) and getattr(cause, "full_key", None):
        parent = getattr(cause, "parent_node", None)
        known = [
            k
            for k in (parent.keys() if parent is not None else [])
            if k not in ("_target_", "hydra")
        ]
        where, _, key = str(cause.full_key).rpartition(".")
        allowed = (
            f"keys of {where or 'the config'}: {', '.join(map(str, known))}"
            if known
            else "no keys there"
        )
        return (
            f"{cause.full_key}: no such key ({allowed}); "
            f"to add a new key, write +{cause.full_key}=..."
        )
    return " ".join(str(error).split("\n")[0:1]).strip() or type(error).__name__


def _run(app: Callable[[], Any], prog: str) -> None:
    """Run a Hydra app; a bad override or config option ends in one line and exit status 2.

    Hydra prints such errors over several lines; seqlab asks Hydra to raise them instead
    (HYDRA_FULL_ERROR) and prints one. With HYDRA_FULL_ERROR=1 set by the user, Hydra's
    full report is kept.
    """
    if os.environ.get("HYDRA_FULL_ERROR") == "1":
        app()
        return
    os.environ["HYDRA_FULL_ERROR"] = "1"
    try:
        app()
    except (ConfigCompositionException, MissingConfigException, OverrideParseException) as e:
        print(f"{prog}: error: {one_line(e)}", file=sys.stderr)
        sys.exit(2)
    except (OmegaConfBaseException, ConfigError) as e:  # e.g. an unresolvable interpolation
        print(f"{prog}: error: {config_error_line(e)}", file=sys.stderr)
        sys.exit(2)
    except OSError as e:  # an output directory that cannot be written, a full disk
        if e.filename is None:
            raise
        print(f"{prog}: error: {e.filename}: {e.strerror}", file=sys.stderr)
        sys.exit(1)


def train_main() -> None:
    """seqlab-train: train one model, or sweep many with -m."""
    _run(_train_app, "seqlab-train")


def eval_main() -> None:
    """seqlab-eval ckpt_path=<run>/checkpoints/last.ckpt [data.<key>=<value> ...]."""
    # The data config comes from the checkpoint, so eval.yaml cannot list its keys;
    # `++` lets `data.n_test=5000` through composition, and evaluate() checks the key.
    sys.argv = [_force_data_override(a) for a in sys.argv]
    _run(_eval_app, "seqlab-eval")


def _force_data_override(arg: str) -> str:
    return f"++{arg}" if arg.startswith("data.") and "=" in arg else arg
