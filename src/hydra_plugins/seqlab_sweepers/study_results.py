"""What a study leaves: optimization_results.yaml (hydra-optuna-sweeper's file, with
seqlab's additions), and the best settings that its confirmation stage re-runs."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from omegaconf import OmegaConf

from hydra_plugins.seqlab_sweepers.trials import JOB_ATTR
from seqlab.files import write_text_atomic
from seqlab.search import RESULTS_FILE

log = logging.getLogger(__name__)


def _state(name: str) -> Any:
    from optuna.trial import TrialState

    return TrialState[name]


def top_settings(study: Any, k: int, direction: str) -> list[dict]:
    """The params of the best `k` distinct settings among the completed trials, best
    first."""
    done = study.get_trials(deepcopy=False, states=(_state("COMPLETE"),))
    ranked = sorted(done, key=lambda t: t.value if direction == "minimize" else -t.value)
    top: list[dict] = []
    for trial in ranked:
        if trial.params not in top:
            top.append(dict(trial.params))
        if len(top) == k:
            break
    return top


def write_results(
    study: Any,
    sweep_dir: Path,
    settings: Any,
    stopped: str | None,
    confirmed: dict[str, Any] | None = None,
) -> None:
    """optimization_results.yaml: the best trial's settings and value (as Hydra's own
    Optuna sweeper wrote it), or for several objectives the Pareto front; why the study
    stopped early, if it did; the confirmation stage's result, if it ran; and a line in
    the log."""
    objectives = {metric: d for metric, d in settings.objectives}
    results: dict[str, Any] = {"name": "optuna", "objectives": objectives}
    if stopped:
        results["stopped"] = stopped
    if settings.multi_objective:
        front = sorted(study.best_trials, key=lambda t: t.number)
        results["pareto_front"] = [
            {
                "trial": t.number,
                "job": t.user_attrs.get(JOB_ATTR),
                "params": t.params,
                "values": dict(zip(settings.metric_names, t.values, strict=True)),
            }
            for t in front
        ]
        # The same front as hydra-optuna-sweeper writes it, for tools that read its file.
        results["solutions"] = [{"params": t.params, "values": list(t.values)} for t in front]
        if not front:
            log.warning("study %s: no trial completed", study.study_name)
        else:
            log.info("study %s: %d trial(s) on the Pareto front", study.study_name, len(front))
    else:
        try:
            best = study.best_trial
        except ValueError:  # no trial completed
            best = None
            log.warning("study %s: no trial completed", study.study_name)
        if best is not None:
            results.update(best_params=best.params, best_value=best.value)
            results["best_trial"] = {"trial": best.number, "job": best.user_attrs.get(JOB_ATTR)}
            log.info(
                "best trial %d (job %s): %s = %s",
                best.number,
                best.user_attrs.get(JOB_ATTR),
                best.params,
                best.value,
            )
    if confirmed is not None:
        results["confirmed"] = confirmed
    write_text_atomic(sweep_dir / RESULTS_FILE, OmegaConf.to_yaml(results))


def best_of_confirmed(best: dict[str, Any], tied: list[dict[str, Any]]) -> dict[str, Any]:
    """`confirmed`'s verdict: the best setting's params, mean and interval (a summary of
    `confirmed.settings`), and the params of the settings tied with it."""
    return {
        "best_params": best["params"],
        "best_mean": best["mean"],
        "best_interval": best["interval"],
        "tied": bool(tied),
        "tied_with": tied,
    }
