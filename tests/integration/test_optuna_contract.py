"""hydra/sweeper=seqlab_optuna in a Hydra app that is not seqlab-train, as
hydra-optuna-sweeper's users run it (tests/hydra_apps/objective/my_app.py): the task's
return value is the objective, a task that raises is a failed trial, `custom_search_space`
adds conditional values, `shuffle(...)` is refused, and a multi-objective study writes
Hydra's `solutions` beside seqlab's `pareto_front`."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import optuna
import yaml

from seqlab.search import STUDY_FILE, storage
from tests.conftest import REPO

APP = REPO / "tests" / "hydra_apps" / "objective" / "my_app.py"
SPACE = ["hydra/sweeper=seqlab_optuna", "+x=choice(-1,-2,1,2,3)", "hydra.sweeper.sampler=random"]


def run_app(args: list[str], sweep: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(APP), "-m", *SPACE, f"hydra.sweep.dir={sweep}", *args],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=sweep.parent,
    )


def trials(sweep: Path) -> list[optuna.trial.FrozenTrial]:
    study = optuna.load_study(study_name="seqlab", storage=storage(sweep))
    return sorted(study.trials, key=lambda t: t.number)


def test_a_task_that_raises_is_a_failed_trial_and_the_study_goes_on(tmp_path):
    """max_failure_rate=1.0: every trial runs, those whose task raised are FAIL (with the
    error in the log), the others are told the task's return value."""
    sweep = tmp_path / "sweep"
    result = run_app(
        ["hydra.sweeper.n_trials=6", "hydra.sweeper.seed=1", "hydra.sweeper.max_failure_rate=1.0"],
        sweep,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    ran = trials(sweep)
    assert len(ran) == 6
    for t in ran:
        x = t.params["+x"]
        if x < 0:
            assert t.state.name == "FAIL"
            assert f"trial {t.number} (job {t.number}) failed: x={x} is negative" in result.stdout
        else:
            assert t.state.name == "COMPLETE" and t.value == (x - 2) ** 2
    assert {t.state.name for t in ran} == {"FAIL", "COMPLETE"}  # the seed gives both
    results = yaml.safe_load((sweep / "optimization_results.yaml").read_text())
    best = min((t for t in ran if t.state.name == "COMPLETE"), key=lambda t: t.value)
    assert results["best_value"] == best.value and "stopped" not in results


def test_the_study_stops_once_failures_pass_max_failure_rate(tmp_path):
    """Under max_failure_rate=0.5 the study starts no trial once more than half of the
    finished ones failed: it stops exactly there, before its n_trials, writes its results
    and ends with an error, as hydra-optuna-sweeper's does."""
    sweep = tmp_path / "sweep"
    result = run_app(
        ["hydra.sweeper.n_trials=12", "hydra.sweeper.seed=1", "hydra.sweeper.max_failure_rate=0.5"],
        sweep,
    )
    assert result.returncode == 1, result.stderr[-3000:]
    assert "more than hydra.sweeper.max_failure_rate=0.5: the study stopped" in result.stderr
    states = [t.state.name for t in trials(sweep)]
    rates = [states[: i + 1].count("FAIL") / (i + 1) for i in range(len(states))]
    assert len(states) < 12
    assert rates[-1] > 0.5 and all(rate <= 0.5 for rate in rates[:-1]), states
    results = yaml.safe_load((sweep / "optimization_results.yaml").read_text())
    assert "more than hydra.sweeper.max_failure_rate=0.5" in results["stopped"]


def test_custom_search_space_suggests_conditional_values(tmp_path):
    """The function adds `+y` only where x > 0; each job gets its trial's values as
    overrides, and the task's value counts them."""
    sweep = tmp_path / "sweep"
    args = [
        "hydra.sweeper.n_trials=8",
        "hydra.sweeper.seed=3",
        "hydra.sweeper.custom_search_space=my_app.conditional_space",
    ]
    result = run_app(args, sweep)
    assert result.returncode == 0, result.stderr[-3000:]
    ran = trials(sweep)
    assert len(ran) == 8
    for t in ran:
        overrides = yaml.safe_load(
            (sweep / str(t.number) / ".hydra" / "overrides.yaml").read_text()
        )
        assert ("+y" in t.params) == (t.params["+x"] > 0), t.params
        assert overrides == [f"{key}={value}" for key, value in t.params.items()]
        if t.state.name == "COMPLETE":
            assert t.value == (t.params["+x"] - 2) ** 2 + t.params.get("+y", 0)
    assert any("+y" in t.params for t in ran) and any("+y" not in t.params for t in ran)


def test_a_custom_search_space_that_is_not_a_function_is_refused(tmp_path):
    sweep = tmp_path / "sweep"
    result = run_app(["hydra.sweeper.custom_search_space=my_app.no_such_function"], sweep)
    assert result.returncode != 0
    assert "hydra.sweeper.custom_search_space=my_app.no_such_function: not a function" in (
        result.stderr
    )
    assert not (sweep / STUDY_FILE).exists()


def test_shuffle_in_a_search_space_is_refused_in_one_line(cli_cwd):
    from tests.conftest import assert_clear_failure, run_cli

    result = run_cli(
        [
            "seqlab-train",
            "-m",
            "experiment=tutorial_sum",
            "hparams_search=sum_optuna",
            "model.hidden_dim=shuffle(4,8,16)",
        ],
        cli_cwd,
    )
    assert_clear_failure(result, "model.hidden_dim=shuffle(4,8,16): a search draws values", cli_cwd)
    assert not list(cli_cwd.glob("**/" + STUDY_FILE))


def test_a_multi_objective_app_gets_hydras_solutions_and_seqlabs_front(tmp_path):
    """`direction: [minimize, maximize]` and a task returning two values, as in
    hydra-optuna-sweeper: optimization_results.yaml has Hydra's `solutions` (params,
    values as a list) and seqlab's `pareto_front` (with trial, job, named values), the
    same trials."""
    sweep = tmp_path / "sweep"
    args = [
        "hydra.sweeper.n_trials=5",
        "hydra.sweeper.seed=3",
        "+two=true",
        "hydra.sweeper.direction=[minimize,maximize]",
    ]
    result = run_app(args, sweep)
    assert result.returncode == 0, result.stderr[-3000:]
    done = [t for t in trials(sweep) if t.state.name == "COMPLETE"]
    for t in done:
        assert t.values == [(t.params["+x"] - 2) ** 2, t.params["+x"]]
    results = yaml.safe_load((sweep / "optimization_results.yaml").read_text())
    front = results["pareto_front"]
    assert front and results["solutions"] == [
        {"params": p["params"], "values": [p["values"]["value_0"], p["values"]["value_1"]]}
        for p in front
    ]
    assert results["objectives"] == {"value_0": "minimize", "value_1": "maximize"}
