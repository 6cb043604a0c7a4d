"""train(cfg): one run, from config to run directory. Called by `seqlab-train` and tests.

The steps, in order: build the data, the model and the Trainer; fit; test the best
checkpoint; run the configured per-run analyses (conf/analysis/); record everything in
metrics.json (see seqlab.rundir for the run directory's contract).
"""

from __future__ import annotations

import contextlib
import logging
import math
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import lightning as L
from lightning.pytorch.utilities import rank_zero_only
from lightning.pytorch.utilities.exceptions import SIGTERMException
from omegaconf import DictConfig

from seqlab.analysis.base import RunContext, run_analyses
from seqlab.build import build, build_all, build_trainer, setup_torch
from seqlab.callbacks.recording import MetricHistory
from seqlab.checkpoints import (
    ConfigInCheckpoint,
    best_checkpoint,
    check_resumable,
    checkpoint_paths,
    latest_checkpoint,
)
from seqlab.config import flat_scalars, flat_values, to_plain
from seqlab.contracts import PausesRuns, PrunesTrials, RecordsDivergence
from seqlab.files import storage_error, within, write_bytes_atomic
from seqlab.locking import DirectoryLock
from seqlab.loggers import record_end_with_trackers
from seqlab.names import (
    COMPLETED,
    DIVERGED,
    FAILED,
    FINISHED,
    INTERRUPTED,
    LOSS,
    PAUSED,
    PRUNED,
    RESUME,
    RUNNING,
    TRIAL,
    UNREADABLE,
    final_name,
    is_epoch_metric,
    recorded_name,
    result_tag,
    scalar_metrics,
)
from seqlab.provenance import code_provenance, describe_device, gpu_usage
from seqlab.rundir import (
    METRICS_FILE,
    RunRecord,
    failure,
    read_metrics,
    remove_stale_temporaries,
)
from seqlab.sweeps.gpu_slots import job_slot
from seqlab.sweeps.jobs import best_column
from seqlab.trust import check_trusted_targets
from seqlab.tuning.pbt import member_record

log = logging.getLogger(__name__)


def train(cfg: DictConfig, parallel_jobs: int = 1) -> dict[str, Any]:
    """Train (and test) the model that `cfg` describes; return what metrics.json holds.

    The run directory is `cfg.paths.output_dir`. A directory that already holds a run
    carries on from it: a finished run (completed, diverged or pruned) is returned as it
    is, and an interrupted or failed one resumes from its latest checkpoint. metrics.json
    says "running" while training; "interrupted" if a signal or an exit stops it (SLURM's
    requeue, preemption, time limit or scancel; Ctrl-C), "failed" (with the error) if
    anything else raises, both with the epochs trained so far; the exception is re-raised
    (a full disk, a quota or a read-only file system as a one-line StorageError). One
    process at a time trains in a directory: another holding it raises DirectoryInUse.
    `attempts` counts the starts in this directory, and `wall_s` adds up their times.
    """
    run_dir = Path(cfg.paths.output_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    # Under DDP every process runs train(); rank 0 alone writes (and cleans) the run's files,
    # and holds the run's lock while it does: a second process on the same directory is
    # refused (seqlab.locking) instead of writing over this one.
    writer = rank_zero_only.rank == 0
    with DirectoryLock(run_dir) if writer else contextlib.nullcontext():
        return _train(cfg, run_dir, writer, parallel_jobs)


def _train(cfg: DictConfig, run_dir: Path, writer: bool, parallel_jobs: int) -> dict[str, Any]:
    previous = read_metrics(run_dir)
    if previous.get("status") in FINISHED:
        log.info("%s already holds a %s run: nothing to do", run_dir, previous["status"])
        return previous
    if writer and previous.get("status") == UNREADABLE:
        keep_unreadable(run_dir, previous["error"])
    if writer and (stale := remove_stale_temporaries(run_dir)):
        log.info("removed %d unfinished file(s) a killed run left behind", len(stale))
    resume_from = cfg.get("ckpt_path") or _resume_point(run_dir)
    monitor, mode = recorded_name(cfg.monitor.metric), cfg.monitor.mode
    # Earlier attempts' time; one killed outright (SIGKILL) could not record its own.
    earlier_s, start = float(previous.get("wall_s", 0.0)), time.time()
    fields = dict(status=RUNNING, monitor=monitor, mode=mode, seed=cfg.seed, started_at=_now())
    if (slot := job_slot()) is not None:  # the GPU (slot) its launcher gave it
        fields["gpu"] = slot
    fields.update(attempts=previous.get("attempts", 1) + 1 if previous else 1, wall_s=earlier_s)
    record = RunRecord(
        run_dir, write=writer, **fields, provenance=code_provenance(), **run_config(cfg)
    )
    if resume_from:
        record.update(resumed_from=within(resume_from, run_dir))
    if (pbt := cfg.get("pbt") or {}).get("member") is not None:  # its lineage, its values
        record.update(pbt=member_record(pbt.sweep_dir, int(pbt.member)))
    run = None
    try:
        run = _build_run(cfg, parallel_jobs)
        result = _fit_and_test(run, cfg, run_dir, resume_from)
    except BaseException as e:  # a signal or an exit too: the record must not say "running"
        storage = storage_error(e, run_dir)
        history = run.history.history if run else []
        stopped = isinstance(e, (KeyboardInterrupt, SystemExit))
        how = {"interrupted_by": _interruption(e)} if stopped else {"error": failure(storage or e)}
        try:
            record_end_with_trackers(
                run.trainer.loggers if run else [],
                record,
                record.record_end,
                status=INTERRUPTED if stopped else FAILED,
                **how,
                best=(run.history.best() if run else None) or {},
                epochs=len(history),
                history=history,
                wall_s=round(earlier_s + _since(start), 3),
                ended_at=_now(),
            )
        except OSError as unwritten:  # the disk is full even for metrics.json
            log.error("could not record the run's end in metrics.json: %s", unwritten)
        if storage is not None:  # one line naming the path, not torch's or Python's traceback
            raise storage from e
        raise
    if gpu := gpu_usage(run.trainer.strategy.root_device):
        result["gpu"] = {**record.data.get("gpu", {}), **gpu}
    wall_s = round(earlier_s + _since(start), 3)
    record_end_with_trackers(
        run.trainer.loggers, record, record.update, **result, wall_s=wall_s, ended_at=_now()
    )
    log.info("status %s, best %s = %s", result["status"], monitor, result["best"].get(monitor))
    return record.data


def keep_unreadable(run_dir: Path, why: str) -> None:
    """Keep an unreadable metrics.json as metrics.json.unreadable, for a look, before the
    run carries on and writes a new one."""
    path = run_dir / METRICS_FILE
    kept = path.with_name(f"{METRICS_FILE}.unreadable")
    with contextlib.suppress(FileNotFoundError):
        write_bytes_atomic(kept, path.read_bytes())
    log.warning("%s; kept as %s, carrying the run on from its checkpoints", why, kept.name)


def _interruption(stop: KeyboardInterrupt | SystemExit) -> str:
    """What stopped a run from outside, as metrics.json's `interrupted_by` says it."""
    if isinstance(stop, SIGTERMException):  # Lightning's, at the first step after SIGTERM
        return "SIGTERM"
    # Lightning turns Ctrl-C (and a notebook's interrupt, the same SIGINT) into an exit
    # with 1 while it handles the KeyboardInterrupt.
    if isinstance(stop, KeyboardInterrupt) or isinstance(stop.__context__, KeyboardInterrupt):
        return "SIGINT"
    # submitit exits with -1 from its handler of the signal before a time limit, once it
    # has requeued the job.
    return f"exit {stop.code}"


def _resume_point(run_dir: Path) -> str | None:
    """The checkpoint an interrupted run in `run_dir` carries on from, if there is one
    (also when its metrics.json was lost or cannot be read)."""
    resume_from = latest_checkpoint(run_dir)
    if resume_from:
        log.info("resuming the interrupted run from %s", resume_from)
    return resume_from


@dataclass
class _Run:
    """What one training builds."""

    datamodule: L.LightningDataModule
    model: L.LightningModule
    trainer: L.Trainer
    history: MetricHistory
    guard: RecordsDivergence | None  # conf/callbacks/divergence_guard.yaml, unless switched off
    pruning: PrunesTrials | None  # conf/callbacks/trial_pruning.yaml, in a search's trial
    pause: PausesRuns | None  # conf/callbacks/pbt_boundary.yaml, in a PBT member's job
    threads: int

    @property
    def pruned(self) -> bool:
        return self.pruning is not None and self.pruning.pruned_at is not None

    @property
    def paused(self) -> bool:
        return self.pause is not None and self.pause.paused_at is not None

    @property
    def diverged_at(self) -> dict[str, Any] | None:
        return self.guard.diverged_at if self.guard is not None else None


def contract_callbacks(cfg: DictConfig) -> tuple[MetricHistory, ConfigInCheckpoint]:
    """The callbacks of seqlab's run contract, which every run has whatever `callbacks`
    says: MetricHistory keeps the epochs behind metrics.json's `history` and `best`, and
    ConfigInCheckpoint stores the resolved config in every checkpoint (seqlab-eval,
    seqlab-tag and resuming read it there). Every other callback comes from conf/callbacks/
    and can be switched off (`callbacks.<name>=null`) or replaced."""
    return MetricHistory(cfg.monitor.metric, cfg.monitor.mode), ConfigInCheckpoint(to_plain(cfg))


def _build_run(cfg: DictConfig, parallel_jobs: int) -> _Run:
    threads = setup_torch(cfg, parallel_jobs)
    # Seed first, then build the data (its generators are seeded separately) and then the
    # model, so the model's initial weights depend on the seed alone (the notebook's order).
    L.seed_everything(cfg.seed, workers=True, verbose=False)
    datamodule = build(cfg.data)
    model = build(cfg.model, **datamodule.model_kwargs())
    # Outside a search the trial pruner has nothing to do: the Trainer, which calls every
    # hook of every callback every epoch, does not get it.
    outside_search = (cfg.get("trial") or {}).get("number") is None
    outside_pbt = (cfg.get("pbt") or {}).get("stop_at") is None  # likewise the PBT pause
    configured = [
        c
        for c in build_all(cfg.get("callbacks"))
        if not (outside_search and isinstance(c, PrunesTrials))
        and not (outside_pbt and isinstance(c, PausesRuns))
    ]
    history, config_keeper = contract_callbacks(cfg)
    trainer = build_trainer(
        cfg, [*configured, history, config_keeper], build_all(cfg.get("logger"))
    )
    device = trainer.strategy.root_device
    log.info("training %s on %s (%d threads)", type(model).__name__, device, threads)
    guard = next((c for c in configured if isinstance(c, RecordsDivergence)), None)
    pruning = next((c for c in configured if isinstance(c, PrunesTrials)), None)
    pause = next((c for c in configured if isinstance(c, PausesRuns)), None)
    return _Run(datamodule, model, trainer, history, guard, pruning, pause, threads)


def _fit_and_test(
    run: _Run, cfg: DictConfig, run_dir: Path, resume_from: str | None
) -> dict[str, Any]:
    params = hyperparameters(cfg)
    log_hparams(run.trainer, params)  # now, so that a run still training shows its settings
    if resume_from:
        check_resumable(resume_from, run.model, trusted_by(cfg))
    # weights_only: reading a checkpoint never runs code (seqlab's hold plain data only).
    run.trainer.fit(run.model, datamodule=run.datamodule, ckpt_path=resume_from, weights_only=True)
    final = scalar_metrics(run.trainer.callback_metrics)
    if not final and run.history.history:  # resumed after its last epoch: fit trained none
        final = {k: v for k, v in run.history.history[-1].items() if is_epoch_metric(k)}
    # Testing from a checkpoint restores callback states too: keep what fit recorded.
    epochs, restored = list(run.history.history), run.history.restored_epochs
    # A pruned trial is hopeless by its study's measure: it is not worth a test; a paused
    # PBT member is tested once it ends.
    if (
        cfg.get("test_after_fit")
        and not run.trainer.interrupted
        and not run.pruned
        and not run.paused
    ):
        final.update(_test_best(run))
    # After testing, the model holds the best checkpoint's weights (or the last, untested).
    context = RunContext(run.model, run.datamodule, run.trainer, run_dir)
    analyses = run_analyses(build_all(cfg.get("analysis")), context)
    run.history.history = epochs
    summary = _summary(run, final, run_dir)
    # TensorBoard's HParams columns: the best monitored value, the final and test values.
    monitor = run.history.monitor
    hp_metrics = {result_tag(best_column(monitor)): summary["best"].get(monitor, math.nan)}
    hp_metrics.update({result_tag(final_name(k)): v for k, v in final.items()})
    log_hparams(run.trainer, params, hp_metrics)
    if resume_from:
        summary["resumed_after_epoch"] = restored
    return {**summary, **analyses}


def trusted_by(cfg: DictConfig) -> list[str]:
    """What a checkpoint this run resumes from may name: what the user trusts, and the
    targets of the run's own config, which the user gave."""
    own = [cfg.model.get("_target_"), cfg.data.get("_target_")]
    return [*check_trusted_targets(cfg.get("trusted_targets")), *(t for t in own if t)]


def _test_best(run: _Run) -> dict[str, float]:
    """Test the best checkpoint (or, for a run that wrote none, the weights in memory);
    return the test metrics. Nothing when the data has no test split."""
    if not run.datamodule.has_split("test"):
        return {}
    best = best_checkpoint(run.trainer)
    run.trainer.test(
        run.model,
        datamodule=run.datamodule,
        ckpt_path="best" if best else None,
        verbose=False,
        weights_only=True,
    )
    return scalar_metrics(run.trainer.callback_metrics)


def _summary(run: _Run, final: dict[str, float], run_dir: Path) -> dict[str, Any]:
    """metrics.json's account of a finished fit (and test)."""
    diverged = run.diverged_at is not None or any(
        not math.isfinite(v) for k, v in final.items() if k.endswith(f"/{LOSS}")
    )
    status = DIVERGED if diverged else PRUNED if run.pruned else PAUSED if run.paused else COMPLETED
    return {
        "status": status,
        "diverged_at": run.diverged_at,
        **({"pruned_at": run.pruning.pruned_at} if run.pruned else {}),
        **({"paused_at": run.pause.paused_at} if run.paused and run.pause else {}),
        "best": run.history.best() or {},
        "final": final,
        "epochs": run.trainer.current_epoch,
        "global_step": run.trainer.global_step,
        "threads": run.threads,
        "parameters": sum(p.numel() for p in run.model.parameters()),
        "device": describe_device(run.trainer.strategy.root_device),
        "checkpoints": checkpoint_paths(run.trainer, run_dir),
        "history": run.history.history,
    }


def log_hparams(trainer: L.Trainer, params: dict[str, Any], metrics: dict | None = None) -> None:
    """Register the run's hyperparameters (`hyperparameters(cfg)`); at the end with its
    results (`~results/best <monitor>`, `~results/final <metric>`, `~results/test/...`), so
    TensorBoard's HParams tab lists every run of a sweep with its settings and outcome.
    """
    from hydra.core.hydra_config import HydraConfig
    from hydra.types import RunMode
    from lightning.pytorch.loggers import TensorBoardLogger

    from seqlab.loggers import TensorBoardLogger as SeqlabTensorBoardLogger

    # A sweep's jobs leave the HParams experiment summary to the sweep report.
    in_sweep = HydraConfig.initialized() and HydraConfig.get().mode == RunMode.MULTIRUN
    for logger in trainer.loggers:
        if metrics and isinstance(logger, SeqlabTensorBoardLogger):
            logger.log_hyperparams(params, metrics=metrics, experiment_summary=not in_sweep)
        elif metrics and isinstance(logger, TensorBoardLogger):
            logger.log_hyperparams(params, metrics=metrics)
        else:
            logger.log_hyperparams(params)
        logger.save()


def run_config(cfg: DictConfig) -> dict[str, Any]:
    """What metrics.json records of the run's config: `config`, every resolved value by
    its dotted key (`model.hidden_dim`), and in a Hydra run `choices`, the option chosen in
    each config group (`experiment`, `model`, ...). A table of thousands of runs
    (seqlab.results) then reads one JSON file per run, with no YAML to parse and no
    interpolation to resolve."""
    recorded: dict[str, Any] = {"config": flat_values(to_plain(cfg))}
    if (choices := group_choices()) is not None:
        recorded["choices"] = choices
    return recorded


def hyperparameters(cfg: DictConfig) -> dict[str, Any]:
    """Every scalar setting of the run (`model.lr`, `trainer.max_epochs`, ...) and, in a
    Hydra run, the option chosen in each config group (`experiment`, `model`, ...): so
    whatever a sweep varies is a hyperparameter TensorBoard can show."""
    # `trial` (a search trial's bookkeeping) and `resume` are not settings.
    skipped = ("paths", "hydra", "logger", TRIAL, RESUME)
    tree = {k: to_plain(cfg[k]) for k in cfg if k not in skipped}
    return {**flat_scalars(tree), **(group_choices() or {})}


def group_choices() -> dict[str, str] | None:
    """In a Hydra run, the option chosen in each top-level config group (`experiment`,
    `model`, ...; not Hydra's own, nor `local`); None outside one."""
    from hydra.core.hydra_config import HydraConfig

    if not HydraConfig.initialized():
        return None
    choices = HydraConfig.get().runtime.choices
    return {
        k: v
        for k, v in choices.items()
        if not any(c in k for c in "/@") and k not in ("hydra", "local")
    }


def _since(start: float) -> float:
    return round(time.time() - start, 3)


def _now() -> str:
    """This moment in UTC, to the millisecond, as metrics.json's `started_at`/`ended_at`."""
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")
