"""What mattered: how much of the monitored value each swept key explains, by Optuna's
PED-ANOVA importance evaluator (Watanabe et al. 2023) on a sweep's completed jobs.

PED-ANOVA is Optuna's default evaluator (`optuna.importance.get_param_importances`): it
compares each key's values among the best 10% of the jobs with their values among all,
and needs no scikit-learn, which fANOVA and mean decrease in impurity would add for a
random forest. Every completed job is one observation, so a setting run with three seeds
counts three times, and a grid, a race, a search and its confirmation alike give a table.
The importances are shares that sum to 1; a key that took one value is left out.
"""

from __future__ import annotations

import math
import sys
import warnings
from collections.abc import Sequence
from typing import Any

from seqlab.names import COMPLETED
from seqlab.sweeps.jobs import REPLICATE_KEYS, Job, override_value

EVALUATOR = "PED-ANOVA"


def importance_rows(
    jobs: Sequence[Job],
    axes: Sequence[str],
    metric: str,
    mode: str,
    replicate_keys: Sequence[str] = REPLICATE_KEYS,
) -> list[dict[str, Any]]:
    """One row per swept key, most important first: `key`, `importance` (a share of 1),
    `values` (how many it took) and `rank`; [] when fewer than two keys took two or more
    values among the completed jobs, or fewer than four jobs completed."""
    keys = [a for a in axes if a not in replicate_keys and a != "resume"]
    done = [
        (job.overrides, value)
        for job in jobs
        if job.status == COMPLETED and math.isfinite(value := job.best(metric))
    ]
    taken = {key: {overrides.get(key) for overrides, _ in done} - {None} for key in keys}
    keys = [key for key in keys if len(taken[key]) >= 2]
    if len(keys) < 2 or len(done) < 4:
        return []
    shares = _importances(done, keys, taken, mode)
    ranked = sorted(keys, key=lambda key: -shares.get(key, 0.0))
    return [
        {"key": key, "importance": shares.get(key, 0.0), "values": len(taken[key]), "rank": i}
        for i, key in enumerate(ranked, 1)
    ]


def _importances(
    done: list[tuple[dict[str, str], float]],
    keys: list[str],
    taken: dict[str, set[str]],
    mode: str,
) -> dict[str, float]:
    """{key: share}: the completed jobs as the trials of an in-memory study, a key's
    values as a number range (a log one where they span two decades) or as choices."""
    importance = _optuna_importance()
    import optuna
    from optuna.distributions import CategoricalDistribution, FloatDistribution

    distributions: dict[str, Any] = {}
    for key in keys:
        values = [override_value(str(v)) for v in taken[key]]
        if all(isinstance(v, float) for v in values):
            low, high = min(values), max(values)
            log = low > 0 and high / low >= 100
            distributions[key] = FloatDistribution(low, high, log=log)
        else:
            distributions[key] = CategoricalDistribution(sorted(str(v) for v in values))
    trials = []
    for overrides, value in done:
        if any(overrides.get(key) is None for key in keys):
            continue  # a job without one of the keys (a conditional sweep): no point there
        params = {
            key: float(override_value(overrides[key]))
            if isinstance(distributions[key], FloatDistribution)
            else str(overrides[key])
            for key in keys
        }
        trials.append(
            optuna.trial.create_trial(params=params, distributions=distributions, value=value)
        )
    verbosity = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(optuna.logging.WARNING)  # no "A new study created" line
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # Optuna's warnings on its experimental features
            study = optuna.create_study(direction="minimize" if mode == "min" else "maximize")
            study.add_trials(trials)
            evaluator = importance.PedAnovaImportanceEvaluator()
            return importance.get_param_importances(study, evaluator=evaluator, normalize=True)
    finally:
        optuna.logging.set_verbosity(verbosity)


def _optuna_importance() -> Any:
    """optuna.importance, without the scikit-learn that it imports for fANOVA whenever it is
    installed (it comes with MLflow): seqlab uses PED-ANOVA alone, and scikit-learn's import
    would multiply the report's time. Its modules are then dropped from sys.modules, so
    that a later `import optuna.importance` (fANOVA in a notebook) gets them afresh, with
    scikit-learn."""
    if "optuna.importance" in sys.modules or "sklearn" in sys.modules:
        import optuna.importance

        return optuna.importance
    import optuna

    lazy = optuna.__dict__.get("importance")  # Optuna's own lazy import of the package
    sys.modules["sklearn"] = None  # type: ignore[assignment]  # an import of it fails at once
    try:
        import optuna.importance as importance
    finally:
        del sys.modules["sklearn"]
        for name in [m for m in sys.modules if m.startswith("optuna.importance")]:
            del sys.modules[name]
        if lazy is None:
            optuna.__dict__.pop("importance", None)
        else:  # `optuna.importance` imports it afresh, with scikit-learn, when first used
            optuna.importance = lazy
    return importance
