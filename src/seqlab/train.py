"""train(cfg): one run, from config to run directory. Called by `seqlab-train` and tests."""

from __future__ import annotations

import logging
import math
import time
from pathlib import Path
from typing import Any

import lightning as L
from lightning.pytorch.utilities import rank_zero_only
from omegaconf import DictConfig

from seqlab.build import build, build_all, build_trainer, setup_torch
from seqlab.callbacks import ConfigInCheckpoint, DivergenceGuard, MetricHistory, scalar_metrics
from seqlab.config import ConfigError, flat_scalars, to_plain
from seqlab.confusion import test_tag_report
from seqlab.length_generalization import run_if_asked
from seqlab.rundir import (
    FINISHED,
    LAST_CHECKPOINT,
    RunRecord,
    metric_name,
    read_metrics,
    remove_stale_temporaries,
)

log = logging.getLogger(__name__)


def train(cfg: DictConfig, parallel_jobs: int = 1) -> dict[str, Any]:
    """Train (and test) the model that `cfg` describes; return what metrics.json holds.

    The run directory is `cfg.paths.output_dir`. A directory that already holds a run
    carries on from it: a finished run (completed or diverged) is returned as it is, and an
    interrupted or failed one resumes from checkpoints/last.ckpt. metrics.json says
    "running" while training and "failed" (with the error) if anything raises; the
    exception is then re-raised.
    """
    run_dir = Path(cfg.paths.output_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    previous = read_metrics(run_dir)
    if previous.get("status") in FINISHED:
        log.info("%s already holds a %s run: nothing to do", run_dir, previous["status"])
        return previous
    # Under DDP every process runs train(); rank 0 alone writes (and cleans) the run's files.
    writer = rank_zero_only.rank == 0
    if writer and (stale := remove_stale_temporaries(run_dir)):
        log.info("removed %d unfinished file(s) a killed run left behind", len(stale))
    resume_from = cfg.get("ckpt_path")
    if resume_from is None and previous:
        resume_from = latest_checkpoint(run_dir)
        if resume_from:
            log.info("resuming the interrupted run from %s", resume_from)

    monitor, mode = metric_name(cfg.monitor.metric), cfg.monitor.mode
    start = time.time()
    record = RunRecord(
        run_dir, write=writer, status="running", monitor=monitor, mode=mode, seed=cfg.seed
    )
    if resume_from:
        record.update(resumed_from=str(resume_from))
    try:
        result = _fit_and_test(cfg, run_dir, resume_from, parallel_jobs)
    except BaseException as e:  # KeyboardInterrupt too: the record must not say "running"
        record.update(status="failed", error=f"{type(e).__name__}: {e}", wall_s=_since(start))
        raise
    record.update(**result, wall_s=_since(start))
    log.info("status %s, best %s = %s", result["status"], monitor, result["best"].get(monitor))
    return record.data


def _fit_and_test(
    cfg: DictConfig, run_dir: Path, resume_from: str | None, parallel_jobs: int
) -> dict[str, Any]:
    threads = setup_torch(cfg, parallel_jobs)
    # Seed first, then build the data (its generators are seeded separately) and then the
    # model, so the model's initial weights depend on the seed alone (the notebook's order).
    L.seed_everything(cfg.seed, workers=True, verbose=False)
    datamodule = build(cfg.data)
    model = build(cfg.model, **datamodule.model_kwargs())

    history = MetricHistory(cfg.monitor.metric, cfg.monitor.mode)
    guard = DivergenceGuard()
    callbacks = [
        *build_all(cfg.get("callbacks")),
        history,
        guard,
        ConfigInCheckpoint(to_plain(cfg)),
    ]
    trainer = build_trainer(cfg, callbacks, build_all(cfg.get("logger")))
    log.info(
        "training %s on %s (%d threads)",
        type(model).__name__,
        trainer.strategy.root_device,
        threads,
    )
    log_hparams(trainer, cfg)  # now, so that a run still training shows its settings
    if resume_from:
        check_resumable(resume_from, model)
    # weights_only: reading a checkpoint never runs code (seqlab's hold plain data only).
    trainer.fit(model, datamodule=datamodule, ckpt_path=resume_from, weights_only=True)
    final = scalar_metrics(trainer.callback_metrics)
    # Testing from a checkpoint restores callback states too: keep what fit recorded.
    epochs, restored = list(history.history), history.restored_epochs

    if cfg.get("test_after_fit") and not trainer.interrupted and datamodule.has_split("test"):
        # A diverged run may have no best checkpoint on disk (non-finite weights are not
        # written): then the weights in memory are tested.
        callback = trainer.checkpoint_callback
        best_ckpt = callback and callback.best_model_path and Path(callback.best_model_path)
        best_ckpt = best_ckpt and best_ckpt.is_file()
        trainer.test(
            model,
            datamodule=datamodule,
            ckpt_path="best" if best_ckpt else None,
            verbose=False,
            weights_only=True,
        )
        final.update(scalar_metrics(trainer.callback_metrics))
    tag_report = test_tag_report(model)

    # After testing, `model` holds the best checkpoint's weights (or the last, untested).
    lengths = run_if_asked(cfg.get("eval"), model, to_plain(cfg.data), run_dir, trainer)

    history.history = epochs
    best = history.best() or {}
    diverged = guard.diverged_at is not None or any(
        not math.isfinite(v) for k, v in final.items() if k.endswith("/loss")
    )
    hp_metrics = {"hp_metric": best.get(history.monitor, math.nan)}
    hp_metrics.update({f"final/{k}": v for k, v in final.items()})
    log_hparams(trainer, cfg, hp_metrics)
    return {
        "status": "diverged" if diverged else "completed",
        "diverged_at": guard.diverged_at,
        "best": best,
        "final": final,
        "epochs": trainer.current_epoch,
        "global_step": trainer.global_step,
        "threads": threads,
        "checkpoints": checkpoint_paths(trainer, run_dir),
        "history": history.history,
        **({"resumed_after_epoch": restored} if resume_from else {}),
        **({"length_generalization": lengths} if lengths else {}),
        **({"test_by_tag": tag_report} if tag_report else {}),
    }


def check_resumable(path: str, model: L.LightningModule) -> None:
    """The checkpoint must be a readable seqlab checkpoint of this very model: the same
    class, and weights of the same names and shapes."""
    from seqlab.evaluate import load_checkpoint

    ckpt = load_checkpoint(path)
    theirs = ckpt["seqlab_config"]["model"].get("_target_", "?")
    ours = f"{type(model).__module__}.{type(model).__name__}"
    if theirs != ours:
        raise ConfigError(f"ckpt_path={path}: holds a {theirs}, this run trains a {ours}")
    shapes = {k: tuple(v.shape) for k, v in ckpt.get("state_dict", {}).items()}
    for name, tensor in model.state_dict().items():
        if shapes.get(name) != tuple(tensor.shape):
            raise ConfigError(
                f"ckpt_path={path}: weight {name} has shape {shapes.get(name)} there and "
                f"{tuple(tensor.shape)} in this run's model (compare the model settings)"
            )


def latest_checkpoint(run_dir: Path) -> str | None:
    """The checkpoint an interrupted run carries on from: checkpoints/last.ckpt (written at
    every epoch end) or, if newer, the hpc_ckpt_<n>.ckpt that Lightning writes when SLURM
    signals a job with SIGUSR1 before requeueing it."""
    candidates = [run_dir / LAST_CHECKPOINT, *run_dir.glob("hpc_ckpt_*.ckpt")]
    found = [path for path in candidates if path.is_file()]
    return str(max(found, key=lambda path: path.stat().st_mtime)) if found else None


def checkpoint_paths(trainer: L.Trainer, run_dir: Path) -> dict[str, str]:
    """Checkpoint files of the run, relative to the run directory."""
    paths = {}
    for callback in trainer.checkpoint_callbacks:
        for name, path in (("best", callback.best_model_path), ("last", callback.last_model_path)):
            if path and Path(path).is_file():
                paths[name] = str(Path(path).resolve().relative_to(run_dir.resolve()))
    return paths


def log_hparams(trainer: L.Trainer, cfg: DictConfig, metrics: dict | None = None) -> None:
    """Register the run's hyperparameters; at the end with its results (`hp_metric` = best
    monitored value, `final/...` = last values), so TensorBoard's HParams tab lists every
    run of a sweep with its settings and outcome.
    """
    tree = {k: to_plain(cfg[k]) for k in ("model", "data") if k in cfg}
    params = flat_scalars(tree)
    params.update(seed=cfg.seed, **{"trainer.max_epochs": cfg.trainer.get("max_epochs")})
    for logger in trainer.loggers:
        if metrics and hasattr(logger.experiment, "add_text"):  # TensorBoard
            logger.log_hyperparams(params, metrics=metrics)
        else:
            logger.log_hyperparams(params)
        logger.save()


def _since(start: float) -> float:
    return round(time.time() - start, 3)
