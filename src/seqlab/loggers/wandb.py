"""seqlab's Weights & Biases logger (conf/logger/wandb.yaml): Lightning's WandbLogger,
offline unless asked otherwise, with a sweep's jobs in one group and epochs on the x axis
(docs/trackers.md)."""

from __future__ import annotations

import contextlib
import logging
import math
from pathlib import Path
from typing import Any

from lightning.fabric.utilities.logger import _convert_params, _flatten_dict
from lightning.pytorch.loggers import WandbLogger as LightningWandbLogger
from lightning.pytorch.loggers.logger import rank_zero_experiment
from lightning.pytorch.utilities import rank_zero_only

from seqlab.loggers.guarded import Guarded
from seqlab.names import COMPLETED, PRUNED, TEST, final_name, is_epoch_metric, recorded_name
from seqlab.provenance import code_provenance
from seqlab.trackers import WANDB, provenance_tags
from seqlab.trackers.state import job_name, read_state, sweep_job, write_state
from seqlab.trackers.wandb_mode import ALIASES, goes_online

log = logging.getLogger(__name__)

EPOCH, GLOBAL_STEP = "epoch", "trainer/global_step"


class WandbLogger(Guarded, LightningWandbLogger):
    """Lightning's WandbLogger as seqlab's runs need it.

    - `mode: offline` (the default) writes the run under `<run>/wandb/` and opens no
      connection beyond the machine; `wandb sync` uploads it later. `online` is the user's
      choice alone.
    - A sweep's jobs share a `group` (the sweep), are named by their setting and seed, and
      carry the flattened config (`model.hidden_dim`, ...).
    - Epoch metrics are logged against `epoch` (1, 2, ... as metrics.json counts them) under
      metrics.json's names; per-step values against `trainer/global_step`.
    - seqlab's train() ends the run (`end_run`): the summary holds the best, final and
      test values and seqlab's status, and the run finishes with exit code 0 or 1.
    - The run's id is kept in `<run>/wandb.json`; `resume=` reuses it.
    - W&B failing mid-run costs one warning: the run trains on without it.
    """

    tracker, key = "W&B", "wandb"  # in messages; in metrics.json's `trackers`

    def __init__(
        self,
        run_dir: str,
        project: str = "seqlab",
        mode: str = "offline",
        name: str | None = None,
        group: str | None = None,
        tags: list[str] | None = None,
        **kwargs: Any,
    ) -> None:
        self.run_dir = Path(run_dir)
        self.run_dir.mkdir(parents=True, exist_ok=True)
        state = read_state(self.run_dir, WANDB) or {}
        sweep = self._sweep = sweep_job(WANDB)
        import wandb

        if not goes_online(mode):  # process-wide, or W&B's telemetry still looks for its cloud
            try:
                wandb.setup(settings=wandb.Settings(mode=ALIASES.get(mode, mode)))
            except Exception as e:  # noqa: BLE001 (its first run will fail and say so)
                log.warning("W&B could not be set up offline: %s", e)
        settings = kwargs.pop("settings", None) or wandb.Settings(
            console="off",  # the run's own log has the console; W&B would wrap stdout
            silent=True,
            disable_git=False,
            x_disable_stats=True,  # no system-metrics sampler in every job
        )
        super().__init__(
            name=name,
            save_dir=str(self.run_dir),
            id=state.get("id"),
            project=project,
            mode=mode,
            group=group or (sweep.sweep.get("group") if sweep else None),
            job_type="job" if sweep else "run",
            tags=tags,
            settings=settings,
            **kwargs,
        )
        self._wandb_init.pop("anonymous", None)  # W&B warns that it is going away
        self.mode = mode
        self._defined: set[str] = set()
        self._seed: Any = None

    @property
    @rank_zero_experiment
    def experiment(self) -> Any:
        if self._experiment is None:
            if not self._wandb_init.get("name"):
                self._wandb_init["name"] = self._run_name()
            experiment = super().experiment
            write_state(self.run_dir, WANDB, {"id": experiment.id, "mode": self.mode})
            experiment.define_metric(EPOCH)
            experiment.define_metric(GLOBAL_STEP)
            code = provenance_tags(code_provenance())
            if commit := code.pop("mlflow.source.git.commit", None):
                code["seqlab.code.commit"] = commit
            experiment.config.update(code, allow_val_change=True)
        return self._experiment

    def _run_name(self) -> str:
        if self._sweep is not None:
            return job_name(self._sweep.setting(), self._seed)
        return "/".join(self.run_dir.parts[-2:])

    def tracked(self) -> dict[str, Any]:
        """What metrics.json records of the W&B run."""
        if self._experiment is None:
            return {"error": self.error} if self.error else {}
        where = {"id": self._experiment.id, "mode": self.mode, "dir": str(self._experiment.dir)}
        return {**where, **({"error": self.error} if self.error else {})}

    @rank_zero_only
    def log_hyperparams(self, params: Any) -> None:
        def update() -> None:
            flat = _flatten_dict(_convert_params(params))
            if self._experiment is None and "seed" in flat:
                self._seed = flat["seed"]
            self.experiment.config.update(flat, allow_val_change=True)

        self._guarded("logging the config", update)

    @rank_zero_only
    def log_metrics(self, metrics: dict[str, Any], step: int | None = None) -> None:
        self._guarded("logging metrics", self._log_metrics, metrics, step)

    def _log_metrics(self, metrics: dict[str, Any], step: int | None) -> None:
        epoch = metrics.get("epoch")
        by_epoch: dict[str, float] = {}
        by_step: dict[str, float] = {}
        for key, value in metrics.items():
            if key == "epoch" or isinstance(value, (str, dict)):
                continue
            if epoch is not None and (is_epoch_metric(key) or key.startswith(f"{TEST}/")):
                by_epoch[recorded_name(key)] = float(value)
            else:
                by_step[key] = float(value)
        experiment = self.experiment
        for key in [*by_epoch, *by_step]:
            if key not in self._defined:
                experiment.define_metric(key, step_metric=EPOCH if key in by_epoch else GLOBAL_STEP)
                self._defined.add(key)
        if by_epoch:
            # test metrics are measured after the last epoch, and logged at it
            at = int(epoch) if any(k.startswith(f"{TEST}/") for k in by_epoch) else int(epoch) + 1
            experiment.log({EPOCH: at, **by_epoch})
        if by_step:
            experiment.log({GLOBAL_STEP: step or 0, **by_step})

    @rank_zero_only
    def end_run(self, record: dict[str, Any]) -> None:
        """The run's outcome from its metrics.json record, in the summary; then finish."""
        if self._experiment is None:
            return
        self._guarded("ending the run", self._end_run, record)
        failed = record.get("status") not in (COMPLETED, PRUNED)
        # Finished whatever happened before: W&B hands a process's next run (the next job of
        # an in-process sweep) the one still open.
        with contextlib.suppress(Exception):
            self._experiment.finish(exit_code=1 if failed or self.error else 0)

    def _end_run(self, record: dict[str, Any]) -> None:
        summary: dict[str, Any] = {"seqlab.status": str(record.get("status"))}
        monitor, best = record.get("monitor"), record.get("best") or {}
        if monitor in best:
            summary[f"best {monitor}"] = best[monitor]
            summary["best epoch"] = best.get("epoch")
        for key, value in (record.get("final") or {}).items():
            if isinstance(value, (int, float)) and math.isfinite(value):
                summary[final_name(key)] = value
        if why := record.get("error") or record.get("interrupted_by"):
            summary["seqlab.stopped_by"] = str(why)
        self._experiment.summary.update(summary)

    @rank_zero_only
    def finalize(self, status: str) -> None:
        """Nothing: `end_run` finishes the run once seqlab knows how it ended (Lightning
        finalizes after fit and again after testing)."""
