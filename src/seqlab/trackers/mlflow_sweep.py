"""A sweep in MLflow: one parent run, each job a child run, each setting a child run with
its seeds' mean.

The driver opens the parent when the multirun starts (`start_sweep`, from a Hydra
callback) and records it in `<sweep>/mlflow.json`; each job's logger reads that file and
starts its run as a child (`mlflow.parentRunId`), tagged with its setting and seed. When
the multirun ends, `publish_sweep` attaches the report to the parent (summary.md, the
tables, the plots) and gives each setting a child run of its own whose metrics are its
seeds' mean, std and interval.

Why a run per setting rather than the means as the parent's metrics: MLflow's table,
sorting, charts and "Compare" work on runs with params and metrics. A run per setting has
the swept keys as params and `best val/mse mean` as one column that sorts the settings;
the parent's metrics would need one column per setting and metric, which nothing in the UI
can sort or plot against a hyperparameter.

`resume=` reopens the same parent and the same setting runs. Light: mlflow is imported
by seqlab.trackers.mlflow_store's functions.
"""

from __future__ import annotations

import logging
import math
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from seqlab.names import COMPLETED, FAILED, INTERRUPTED, RUNNING
from seqlab.provenance import code_provenance
from seqlab.rundir import first_line
from seqlab.search import RESULTS_FILE, read_results
from seqlab.sweeps.jobs import (
    LEVEL,
    REPLICATE_KEYS,
    best_column,
    monitor_of,
    read_jobs,
    swept_axes,
    unfinished_jobs,
)
from seqlab.sweeps.replicates import group_jobs, stage_metrics
from seqlab.trackers import MLFLOW, STATUS_TAG, is_missing, provenance_tags, setting_label
from seqlab.trackers.mlflow_store import client, experiment_id, store_uri
from seqlab.trackers.state import SweepJob, job_name, read_state, write_state

log = logging.getLogger(__name__)

PARENT_TAG = "mlflow.parentRunId"  # MLflow's UI nests a run under the run this names
RUN_NAME_TAG = "mlflow.runName"
KIND_TAG, SETTING_TAG = "seqlab.kind", "seqlab.setting"
SEED_TAG, JOB_TAG, STAGE_TAG = "seqlab.seed", "seqlab.job", "seqlab.stage"
SWEEP, JOB, SETTING = "sweep", "job", "setting"
# What a sweep's parent keeps of its report, when the report wrote them.
REPORT_FILES = ("summary.md", "summary.csv", "groups.csv", RESULTS_FILE)


def start_sweep(
    sweep_dir: str | Path,
    tracking_uri: str,
    experiment: str,
    overrides: Sequence[str],
    fixed: Sequence[str],
    sweeper: str,
) -> dict[str, Any]:
    """Open the sweep's parent run, or reopen the one a resumed sweep had; return its
    state. `overrides` are the multirun's command line (the parent's param `overrides`),
    `fixed` the keys every job shares (left out of the jobs' names)."""
    sweep_dir, uri = Path(sweep_dir), store_uri(tracking_uri)
    mlflow_client = client(uri)
    state = read_state(sweep_dir, MLFLOW)
    if state is not None and state.get("tracking_uri") != uri:
        log.warning(
            "MLflow: the sweep logged to %s before, and now to %s: a new run for it there",
            state.get("tracking_uri"),
            uri,
        )
    elif state is not None:
        try:
            mlflow_client.update_run(state["run_id"], status="RUNNING")
        except Exception as e:
            if not is_missing(e):
                raise
            log.warning("MLflow: the sweep's run %s is gone: a new one", state["run_id"])
        else:
            mlflow_client.set_tag(state["run_id"], STATUS_TAG, RUNNING)
            log.info("MLflow: the sweep goes on in run %s", state["run_id"])
            return state
    from mlflow.tracking.context.registry import resolve_tags

    name = "/".join(sweep_dir.parts[-2:])
    tags = {
        RUN_NAME_TAG: f"sweep {name}",
        KIND_TAG: SWEEP,
        "seqlab.sweep_dir": str(sweep_dir.absolute()),
        "seqlab.sweeper": sweeper,
        STATUS_TAG: RUNNING,
        **provenance_tags(code_provenance()),
    }
    run = mlflow_client.create_run(experiment_id(uri, experiment), tags=resolve_tags(tags))
    if overrides:
        mlflow_client.log_param(run.info.run_id, "overrides", " ".join(overrides)[:6000])
    state = {
        "tracking_uri": uri,
        "experiment_id": run.info.experiment_id,
        "run_id": run.info.run_id,
        "fixed": list(fixed),
        "settings": {},
    }
    write_state(sweep_dir, MLFLOW, state)
    log.info("MLflow: sweep run %s in %s", run.info.run_id, uri)
    return state


def job_tags(job: SweepJob, seed: Any) -> dict[str, str]:
    """A job's tags as a child of its sweep: the parent, its setting (its overrides less
    those every job shares and the seed), its seed and number; its name says the first two."""
    setting = job.setting()
    return {
        PARENT_TAG: str(job.sweep["run_id"]),
        KIND_TAG: JOB,
        SETTING_TAG: setting,
        SEED_TAG: str(seed),
        JOB_TAG: str(job.number),
        RUN_NAME_TAG: job_name(setting, seed),
    }


def end_interrupted(sweep_dir: str | Path) -> None:
    """The sweep's run, when its driver stops (Ctrl-C, an error) before the multirun's
    end: KILLED, as seqlab's `interrupted`; `resume=` reopens it."""
    state = read_state(sweep_dir, MLFLOW)
    if state is None:
        return
    mlflow_client = client(state["tracking_uri"])
    mlflow_client.set_tag(state["run_id"], STATUS_TAG, INTERRUPTED)
    mlflow_client.set_terminated(state["run_id"], "KILLED")


def publish_sweep(
    sweep_dir: str | Path, report: Path | None, replicate_keys: Sequence[str] = REPLICATE_KEYS
) -> None:
    """At the end of a multirun with an MLflow parent: the report to the parent, the
    settings' means as their runs, the jobs' setting tags, and the parent's status. A
    failure is one warning line: the sweep's own files are its record."""
    sweep_dir = Path(sweep_dir)
    state = read_state(sweep_dir, MLFLOW)
    if state is None:
        return
    try:
        _publish(sweep_dir, state, report, replicate_keys)
    except Exception as e:  # noqa: BLE001 (a tracker never fails a finished sweep)
        warning = f"seqlab-train: warning: MLflow: could not publish the sweep: {first_line(e)}"
        print(warning, file=sys.stderr)


def _publish(
    sweep_dir: Path, state: dict[str, Any], report: Path | None, replicate_keys: Sequence[str]
) -> None:
    mlflow_client, parent = client(state["tracking_uri"]), state["run_id"]
    jobs = read_jobs(sweep_dir)
    axes = swept_axes(jobs)
    monitor, mode = monitor_of(jobs, None)
    setting_axes = [a for a in axes if a not in replicate_keys]
    # A search's confirmation stage: its jobs are the seeds of the settings that won; the
    # trials before it are one seed each, and get no mean of their own (as in the report).
    confirming = set((read_results(sweep_dir).get("confirmed") or {}).get("jobs") or [])
    for job in jobs:  # the swept keys are known now: every job's setting by the same words
        if (job_state := read_state(sweep_dir / job.name, MLFLOW)) is not None:
            label = setting_label({a: job.overrides.get(a, "") for a in setting_axes})
            tags = {SETTING_TAG: label, JOB_TAG: job.name}
            if confirming:
                tags[STAGE_TAG] = "confirmation" if job.name in confirming else "trial"
            for key, value in tags.items():
                mlflow_client.set_tag(job_state["run_id"], key, value)
    replicated = [j for j in jobs if j.name in confirming] if confirming else jobs
    groups = group_jobs(replicated, axes, monitor, mode, replicate_keys) or []
    for group in groups:
        _publish_setting(mlflow_client, sweep_dir, state, group, monitor)
    if report is not None:
        for name in REPORT_FILES:
            if (sweep_dir / name).is_file():
                mlflow_client.log_artifact(parent, str(sweep_dir / name))
        for plot in sorted(sweep_dir.glob("*.png")):
            mlflow_client.log_artifact(parent, str(plot), "plots")
    counts = {"jobs": len(jobs)}
    counts.update({f"jobs {s}": sum(j.status == s for j in jobs) for s in (COMPLETED, FAILED)})
    best = [j.best(monitor) for j in jobs if math.isfinite(j.best(monitor))]
    if best:
        counts[best_column(monitor)] = min(best) if mode == "min" else max(best)
    _log_metrics(mlflow_client, parent, counts)
    unfinished = unfinished_jobs(sweep_dir)
    status, word = ("KILLED", "unfinished") if unfinished else ("FINISHED", COMPLETED)
    mlflow_client.set_tag(parent, STATUS_TAG, word)
    mlflow_client.set_terminated(parent, status)


def _publish_setting(
    mlflow_client: Any, sweep_dir: Path, state: dict[str, Any], group: Any, monitor: str
) -> None:
    """A setting's run: its swept values as params, its seeds' mean, std and interval of
    the best, final and test values as metrics; created once, updated on each report."""
    label = setting_label(group.settings)
    run_id = state["settings"].get(label)
    if run_id is None:
        run = mlflow_client.create_run(
            state["experiment_id"],
            tags={
                PARENT_TAG: state["run_id"],
                RUN_NAME_TAG: f"{label} (mean of seeds)",
                KIND_TAG: SETTING,
                SETTING_TAG: label,
            },
        )
        run_id = state["settings"][label] = run.info.run_id
        write_state(sweep_dir, MLFLOW, state)
        from mlflow.entities import Param

        params = [Param(k, str(v)) for k, v in group.settings.items()]
        mlflow_client.log_batch(run_id, params=params)
    val_metric, test_metric = stage_metrics(monitor)
    values: dict[str, float] = {"seeds": float(group.best.n), "jobs": float(len(group.jobs))}
    for label_, summary in (
        (best_column(monitor), group.best),
        (f"final {val_metric}", group.final),
        (test_metric, group.test),
    ):
        for part in ("mean", "std", "low", "high"):
            values[f"{label_} {part}"] = getattr(summary, part)
    _log_metrics(mlflow_client, run_id, values)
    mlflow_client.set_tag(run_id, "seqlab.interval", f"{LEVEL:.0%}, over seeds")
    mlflow_client.set_terminated(run_id, "FINISHED")


def _log_metrics(mlflow_client: Any, run_id: str, values: Mapping[str, float]) -> None:
    import time

    from mlflow.entities import Metric

    now = int(time.time() * 1000)
    metrics = [Metric(k, float(v), now, 0) for k, v in values.items() if math.isfinite(v)]
    if metrics:
        mlflow_client.log_batch(run_id, metrics=metrics)
