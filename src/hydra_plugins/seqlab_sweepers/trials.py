"""What a study's trial is told, and how it is set up: its job's outcome, read from its
metrics.json (a seqlab run) or from its task's return value (any other Hydra app, as
hydra-optuna-sweeper reads it), and the values a user's `custom_search_space` function
suggests on top of `hydra.sweeper.params`."""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

from seqlab.config import ConfigError
from seqlab.rundir import first_line

log = logging.getLogger(__name__)

JOB_ATTR = "job"  # a trial's user attribute: the job (sweep subdirectory) that runs it
INTERRUPTED_ATTR = "interrupted"  # set on a trial that a killed sweep left running


def job_error(result: Any) -> str | None:
    """The first line of what a job's task raised, or None when it returned. The launcher
    keeps the exception in the JobReturn; a failed task is a failed trial, never the end
    of the study (only a launcher that fails to run jobs ends it)."""
    from hydra.core.utils import JobStatus

    if result.status != JobStatus.FAILED:
        return None
    error = result._return_value  # (return_value itself re-raises it)
    return first_line(error) if isinstance(error, BaseException) else str(error)


def returned_outcome(result: Any, settings: Any) -> tuple[str, float | list[float] | None]:
    """A plain Hydra app's trial: ("COMPLETE", value or values) when its task returned one
    finite number per objective, else ("FAIL", None) with a warning saying why."""
    returned = result.return_value
    count = len(settings.objectives)
    try:
        values = [float(returned)] if count == 1 else [float(v) for v in returned]
    except (TypeError, ValueError):
        values = []
    if len(values) != count or not all(math.isfinite(v) for v in values):
        wanted = "a number" if count == 1 else f"{count} numbers, one per direction"
        log.warning("the task returned %r, not %s: the trial failed", returned, wanted)
        return "FAIL", None
    return "COMPLETE", values[0] if count == 1 else values


def metrics_outcome(run_dir: Path, settings: Any) -> tuple[str, float | list[float] | None]:
    """A seqlab run's trial, from its metrics.json: its state and objective value(s);
    ("INTERRUPTED", None) for a job that was stopped (resume= retries it)."""
    from seqlab.names import INTERRUPTED
    from seqlab.rundir import read_metrics
    from seqlab.search import objective_values, outcome

    metrics = read_metrics(run_dir)
    if metrics.get("status") == INTERRUPTED:  # e.g. its SLURM job was cancelled
        return "INTERRUPTED", None
    state, value = outcome(metrics)
    if state == "COMPLETE" and settings.multi_objective:
        value = objective_values(metrics, settings.metric_names)
        if value is None:
            log.warning(
                "%s: %s not all recorded in metrics.json: the trial failed",
                run_dir,
                ", ".join(settings.metric_names),
            )
            return "FAIL", None
    return state, value


def search_space_extender(path: str | None) -> Callable[[Any, Any], Any] | None:
    """hydra.sweeper.custom_search_space: the function at a dotted path, called with the
    sweep's config and each new trial to suggest more values (`trial.suggest_*`), so a
    key can depend on another's value. None when unset; a one-line ConfigError when the
    path names no function."""
    if path is None:
        return None
    import importlib

    module_name, _, name = path.rpartition(".")
    try:
        found = getattr(importlib.import_module(module_name), name) if module_name else None
    except ImportError as e:
        why = f"{type(e).__name__}: {first_line(e)}"
    except AttributeError:
        why = f"{module_name} has no {name}"
    else:
        why = "" if callable(found) else "a dotted path module.function"
    if why:
        raise ConfigError(
            f"hydra.sweeper.custom_search_space={path}: not a function that can be imported "
            f"({why}); allowed: the dotted path of a function (cfg, trial) -> None"
        )
    return found
