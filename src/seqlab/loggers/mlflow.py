"""seqlab's MLflow logger (conf/logger/mlflow.yaml): Lightning's MLFlowLogger, with a run's
epochs on MLflow's step axis, its outcome as MLflow's status, a sweep's jobs as children of
the sweep's run, and `resume=` continuing the same MLflow run (docs/trackers.md)."""

from __future__ import annotations

import logging
import math
import re
import time
from pathlib import Path
from typing import Any

from lightning.fabric.utilities.logger import _convert_params, _flatten_dict
from lightning.pytorch.loggers import MLFlowLogger as LightningMLFlowLogger
from lightning.pytorch.loggers.logger import rank_zero_experiment
from lightning.pytorch.utilities import rank_zero_only

from seqlab.loggers.guarded import Guarded
from seqlab.names import TEST, final_name, is_epoch_metric, recorded_name
from seqlab.provenance import code_provenance
from seqlab.rundir import METRICS_FILE
from seqlab.trackers import MLFLOW, MLFLOW_STATUS, STATUS_TAG, is_missing, provenance_tags
from seqlab.trackers.mlflow_store import (
    artifact_location,
    client,
    experiment_id,
    quiet_mlflow,
    store_uri,
)
from seqlab.trackers.mlflow_sweep import JOB, KIND_TAG, RUN_NAME_TAG, job_tags
from seqlab.trackers.state import read_state, sweep_job, write_state

log = logging.getLogger(__name__)

MAX_PARAM_LENGTH = 6000  # MLflow's limit on a param's value
UNSAFE = re.compile(r"[^a-zA-Z0-9_/. -]+")  # MLflow's metric names allow only these


class MLFlowLogger(Guarded, LightningMLFlowLogger):
    """Lightning's MLFlowLogger as seqlab's runs need it.

    - Epoch metrics go at their epoch (1, 2, ... as metrics.json counts them) under the
      names metrics.json gives them (`train/loss`, `val/mse`); per-step values keep the
      global step; test metrics go at the last epoch.
    - Metrics wait in memory and go to the store as one batch at most every
      `flush_every_s` seconds and at the end, not one request per log call.
    - The run's id is kept in `<run>/mlflow.json`: a resumed run logs to the same MLflow
      run, and epochs it trains again are not logged twice.
    - In a sweep, the run is a child of the sweep's run (seqlab.trackers.mlflow_sweep).
    - seqlab's train() ends the run with its outcome (`end_run`): MLflow's status with
      seqlab's own as the tag `seqlab.status`, the best and final values, metrics.json (and
      with `log_checkpoint`, the best checkpoint) as artifacts.
    - A store that fails mid-run costs one warning: the run trains on without MLflow.
    """

    tracker, key = "MLflow", "mlflow"  # in messages; in metrics.json's `trackers`

    def __init__(
        self,
        run_dir: str,
        tracking_uri: str,
        experiment_name: str = "seqlab",
        run_name: str | None = None,
        tags: dict[str, Any] | None = None,
        log_checkpoint: bool = False,
        flush_every_s: float = 5.0,
        **kwargs: Any,
    ) -> None:
        quiet_mlflow()  # before Lightning's client makes a new store's tables
        sweep = sweep_job(MLFLOW)
        if sweep is not None and not (
            sweep.sweep.get("run_id") and sweep.sweep.get("tracking_uri")
        ):
            sweep = None
        # A sweep's job logs where its parent is: the driver's store, by its absolute path.
        uri = sweep.sweep["tracking_uri"] if sweep else store_uri(tracking_uri)
        given_elsewhere = tracking_uri == store_uri(tracking_uri) != uri  # not a relative path
        if sweep and given_elsewhere:
            log.warning("MLflow: a sweep's jobs log to their sweep's store, %s", uri)
        super().__init__(
            experiment_name=experiment_name,
            run_name=run_name,
            tracking_uri=uri,
            tags={str(k): str(v) for k, v in (tags or {}).items()},
            artifact_location=kwargs.pop("artifact_location", None) or artifact_location(uri),
            **kwargs,
        )
        self._mlflow_client = client(uri)
        self.run_dir = Path(run_dir)
        self.log_checkpoint = log_checkpoint
        self.flush_every_s = flush_every_s
        self._flushed_at = time.monotonic()
        self._pending: list[Any] = []  # mlflow.entities.Metric
        self._params: dict[str, str] = {}  # what the run has, as MLflow keeps it
        self._logged_steps: dict[str, int] = {}  # a resumed run: the last step of each key
        self._sweep = sweep
        self._seed: Any = None  # a sweep job's, known when its params are logged

    # -- the run ---------------------------------------------------------------------

    @property
    @rank_zero_experiment
    def experiment(self) -> Any:
        if not self._initialized and self.error is None:
            self._guarded("starting the run", self._open)
        return self._mlflow_client

    def _open(self) -> None:
        """Continue the run `<run>/mlflow.json` names (resume=), or start one."""
        state = read_state(self.run_dir, MLFLOW)
        if state is not None and state.get("tracking_uri") != self._tracking_uri:
            log.warning(
                "MLflow: this run logged to %s before, and now to %s: a new run there",
                state.get("tracking_uri"),
                self._tracking_uri,
            )
        elif state is not None:
            try:
                run = self._mlflow_client.get_run(state["run_id"])
            except Exception as e:
                if not is_missing(e):  # a server that fails now: the guard says so
                    raise
                log.warning("MLflow run %s is gone from the store: a new one", state["run_id"])
            else:
                self._run_id, self._experiment_id = run.info.run_id, run.info.experiment_id
                self._params = dict(run.data.params)
                self._logged_steps = self._last_steps(run)
                self._mlflow_client.update_run(self._run_id, status="RUNNING")
                self._initialized = True
                log.info("MLflow: continuing run %s", self._run_id)
                return
        from mlflow.tracking.context.registry import resolve_tags

        self._experiment_id = experiment_id(self._tracking_uri, self._experiment_name)
        tags = {
            RUN_NAME_TAG: self._run_name or "/".join(self.run_dir.parts[-2:]),
            KIND_TAG: JOB if self._sweep else "run",
            "seqlab.run_dir": str(self.run_dir.absolute()),
            **provenance_tags(code_provenance()),
            **(self.tags or {}),
        }
        if self._sweep:
            tags.update(job_tags(self._sweep, self._seed))
            if self._run_name:
                tags[RUN_NAME_TAG] = self._run_name
        run = self._mlflow_client.create_run(self._experiment_id, tags=resolve_tags(tags))
        self._run_id = run.info.run_id
        self._initialized = True
        write_state(
            self.run_dir,
            MLFLOW,
            {
                "tracking_uri": self._tracking_uri,
                "experiment_id": self._experiment_id,
                "run_id": self._run_id,
                **({"parent_run_id": self._sweep.sweep["run_id"]} if self._sweep else {}),
            },
        )

    def _last_steps(self, run: Any) -> dict[str, int]:
        """The last step MLflow holds of each of a resumed run's metrics."""
        steps = {}
        for key in run.data.metrics:
            history = self._mlflow_client.get_metric_history(run.info.run_id, key)
            steps[key] = max((m.step for m in history), default=-1)
        return steps

    def tracked(self) -> dict[str, Any]:
        """What metrics.json records of the MLflow run."""
        if not self._initialized:
            return {"error": self.error} if self.error else {}
        where = {
            "tracking_uri": self._tracking_uri,
            "experiment_id": self._experiment_id,
            "run_id": self._run_id,
        }
        return {**where, **({"error": self.error} if self.error else {})}

    # -- what Lightning hands a logger ---------------------------------------------------

    @rank_zero_only
    def log_hyperparams(self, params: Any) -> None:
        self._guarded("logging params", self._log_params, params)

    def _log_params(self, params: Any) -> None:
        from mlflow.entities import Param

        if not self._initialized and "seed" in params:
            self._seed = params["seed"]
        _ = self.experiment
        if self.error is not None:
            return
        flat = {
            k: str(v)[:MAX_PARAM_LENGTH] for k, v in _flatten_dict(_convert_params(params)).items()
        }
        changed = sorted(k for k, v in flat.items() if k in self._params and self._params[k] != v)
        if changed:  # MLflow's params cannot change: a resumed run with another setting
            log.warning(
                "MLflow keeps the first value of params that changed on resuming: %s",
                ", ".join(changed),
            )
        new = [Param(k, v) for k, v in flat.items() if k not in self._params]
        for start in range(0, len(new), 100):  # MLflow takes at most 100 params a request
            self._mlflow_client.log_batch(self._run_id, params=new[start : start + 100])
        self._params.update({p.key: p.value for p in new})

    @rank_zero_only
    def log_metrics(self, metrics: dict[str, Any], step: int | None = None) -> None:
        """Queue the call's scalars: epoch metrics at their epoch, by metrics.json's names."""
        from mlflow.entities import Metric

        epoch = metrics.get("epoch")
        now = int(time.time() * 1000)
        for key, value in metrics.items():
            if key == "epoch" or isinstance(value, (str, dict)):
                continue
            if epoch is not None and key.startswith(f"{TEST}/"):
                at = int(epoch)  # measured once, after the last epoch
            elif epoch is not None and is_epoch_metric(key):
                at = int(epoch) + 1
            else:
                at = step or 0
            name = recorded_name(key) if is_epoch_metric(key) else key
            name = UNSAFE.sub("", name)  # what MLflow refuses in a metric's name, as Lightning
            if at <= self._logged_steps.get(name, -1):
                continue  # a resumed run training an epoch again that MLflow already has
            self._pending.append(Metric(name, float(value), now, at))

    @rank_zero_only
    def save(self) -> None:
        if self._pending and time.monotonic() - self._flushed_at >= self.flush_every_s:
            self._flush()

    def _flush(self) -> None:
        self._flushed_at = time.monotonic()
        pending, self._pending = self._pending, []
        if pending:
            self._guarded("logging metrics", self._log_batch, pending)

    def _log_batch(self, metrics: list[Any]) -> None:
        _ = self.experiment
        if self.error is not None:
            return
        for start in range(0, len(metrics), 1000):  # MLflow's limit a request
            self._mlflow_client.log_batch(self._run_id, metrics=metrics[start : start + 1000])

    @rank_zero_only
    def finalize(self, status: str) -> None:
        """Write what waits. The run's status is set by `end_run`, once seqlab knows how
        the run ended (Lightning finalizes after fit and again after testing); a failure
        Lightning saw is recorded now, in case nothing else comes."""
        self._flush()
        if status == "failed" and self._initialized:
            self._guarded("setting the status", self._end, "FAILED", None)

    def after_save_checkpoint(self, checkpoint_callback: Any) -> None:
        """The best checkpoint goes up once, at the end (`log_checkpoint`), not every save."""

    # -- the end, from seqlab's train() --------------------------------------------------

    @rank_zero_only
    def end_run(self, record: dict[str, Any]) -> None:
        """The run's outcome from its metrics.json record: results, artifacts, status."""
        self._flush()
        if self.error is None and self._initialized:
            self._guarded("ending the run", self._end_run, record)

    def _end_run(self, record: dict[str, Any]) -> None:
        from mlflow.entities import Metric

        status = str(record.get("status"))
        epochs = int(record.get("epochs") or 0)
        now = int(time.time() * 1000)
        results: dict[str, float] = {}
        monitor = record.get("monitor")
        best = record.get("best") or {}
        if monitor in best:
            results[f"best {monitor}"] = best[monitor]
            results["best epoch"] = best.get("epoch", math.nan)
        for key, value in (record.get("final") or {}).items():
            if not key.startswith(f"{TEST}/"):  # test metrics came from Lightning already
                results[final_name(key)] = value
        metrics = [
            Metric(k, float(v), now, epochs)
            for k, v in results.items()
            if isinstance(v, (int, float)) and math.isfinite(v)
        ]
        if metrics:
            self._mlflow_client.log_batch(self._run_id, metrics=metrics)
        if (self.run_dir / METRICS_FILE).is_file():
            self._mlflow_client.log_artifact(self._run_id, str(self.run_dir / METRICS_FILE))
        checkpoints = record.get("checkpoints") or {}
        best_path = checkpoints.get("best") if isinstance(checkpoints, dict) else None
        if self.log_checkpoint and best_path and (self.run_dir / best_path).is_file():
            self._mlflow_client.log_artifact(
                self._run_id, str(self.run_dir / best_path), "checkpoints"
            )
        self._end(MLFLOW_STATUS.get(status, "FAILED"), record)

    def _end(self, mlflow_status: str, record: dict[str, Any] | None) -> None:
        if record is not None:
            self._mlflow_client.set_tag(self._run_id, STATUS_TAG, str(record.get("status")))
            if why := record.get("error") or record.get("interrupted_by"):
                self._mlflow_client.set_tag(self._run_id, "seqlab.stopped_by", str(why)[:5000])
        self._mlflow_client.set_terminated(self._run_id, mlflow_status)
