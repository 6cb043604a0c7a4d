"""Hyperparameter search: seqlab's Optuna sweeper (hydra/sweeper=seqlab_optuna), through the
CLI as users run it; the study is read back from the sweep directory with Optuna itself."""

from __future__ import annotations

import json
import os
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

import optuna
import pytest
import yaml

from seqlab.search import STUDY_FILE
from seqlab.sweeps.jobs import job_directories
from tests.conftest import NO_CONFIRM, QUIET, REPO, assert_run_contract, run_cli
from tests.integration.conftest import job_dirs, only_sweep

# A small sum regressor: a trial takes about a second.
SEARCH = [
    "hparams_search=sum_optuna",
    *NO_CONFIRM,
    "data.n=256",
    "data.n_val=64",
    "data.n_test=64",
    "data.length=4",
    "trainer.max_epochs=3",
    "threads=1",
    *QUIET,
]


def run_search(args: list[str], cwd: Path, timeout: float = 300) -> tuple[Path, list[Path]]:
    result = run_cli(["seqlab-train", *SEARCH, *args], cwd, timeout=timeout)
    assert result.returncode == 0, result.stderr[-3000:]
    sweep = only_sweep(cwd)
    return sweep, job_dirs(sweep)


def load(sweep: Path, name: str = "sum_optuna") -> optuna.Study:
    storage = optuna.storages.JournalStorage(
        optuna.storages.journal.JournalFileBackend(str(sweep / STUDY_FILE))
    )
    return optuna.load_study(study_name=name, storage=storage)


def states(study: optuna.Study) -> list[str]:
    return [t.state.name for t in sorted(study.trials, key=lambda t: t.number)]


@pytest.mark.slow  # make test-faults: six trials
def test_six_trial_study_through_the_cli(cli_cwd):
    sweep, jobs = run_search(["hydra.sweeper.n_trials=6", "hydra.sweeper.pruner=none"], cli_cwd)
    assert [j.name for j in jobs] == [str(i) for i in range(6)]
    study = load(sweep)
    assert states(study) == ["COMPLETE"] * 6
    best = {}
    for job in jobs:
        metrics = assert_run_contract(job)
        trial = study.trials[int(job.name)]
        assert metrics["best"]["val/mse"] == trial.value  # what the study was told
        overrides = (job / ".hydra" / "overrides.yaml").read_text()
        assert f"model.hidden_dim={trial.params['model.hidden_dim']}" in overrides
        best[trial.value] = trial.params
    results = (sweep / "optimization_results.yaml").read_text()
    assert f"best_value: {min(best)}" in results
    summary = (sweep / "summary.md").read_text()
    assert "model.lr" in summary and "trial." not in summary  # bookkeeping is no axis


def test_pruning_stops_a_trial_built_to_be_bad(cli_cwd):
    """One trial learns (lr 1e-2); one cannot (lr 1e-7). The grid's order (seed 1) runs the
    good one first; the median pruner then stops the bad one after its warm-up epoch."""
    sweep, jobs = run_search(
        [
            "hydra.sweeper.n_trials=2",
            "hydra.sweeper.sampler=grid",
            "hydra.sweeper.seed=1",
            "hydra.sweeper.params=null",
            "model.lr=choice(0.01,1e-7)",
            "hydra.sweeper.pruner_options.median.n_startup_trials=1",
            "hydra.sweeper.pruner_options.median.n_warmup_steps=1",
            "trainer.max_epochs=12",
        ],
        cli_cwd,
    )
    study = load(sweep)
    [bad] = [t for t in study.trials if t.params["model.lr"] == 1e-7]
    assert bad.state.name == "PRUNED" and bad.number == 1
    metrics = json.loads((sweep / str(bad.number) / "metrics.json").read_text())
    assert metrics["status"] == "pruned"
    assert metrics["pruned_at"]["epoch"] == len(metrics["history"]) < 12
    assert "test/mse" not in metrics["final"]  # a pruned trial is not tested
    assert max(bad.intermediate_values) == metrics["pruned_at"]["epoch"]
    good = [t for t in study.trials if t.number != bad.number]
    assert all(t.state.name == "COMPLETE" for t in good)
    summary = (sweep / "summary.md").read_text()
    assert "pruned" in summary


@pytest.mark.slow  # make test-faults
def test_study_resumes_to_six_trials(cli_cwd):
    """3 trials, then resume=<sweep dir> with n_trials=6: the first 3 are kept as they are."""
    sweep, jobs = run_search(["hydra.sweeper.n_trials=3"], cli_cwd)
    before = {j.name: (j / "metrics.json").read_text() for j in jobs}
    sweep_again, jobs = run_search(["hydra.sweeper.n_trials=6", f"resume={sweep}"], cli_cwd)
    assert sweep_again == sweep
    assert [j.name for j in jobs] == [str(i) for i in range(6)]
    assert {n: (sweep / n / "metrics.json").read_text() for n in before} == before
    study = load(sweep)
    assert len(study.trials) == 6
    assert all(s in ("COMPLETE", "PRUNED") for s in states(study))


@pytest.mark.slow
def test_killed_study_retries_its_interrupted_trial(cli_cwd):
    """SIGKILL the sweep while its fourth trial trains; resume=<sweep dir> fails that trial,
    retries its settings in the same job directory (resuming from last.ckpt), and ends
    with 6 trials that ran to an end."""
    args = ["hydra.sweeper.n_trials=6", "hydra.sweeper.pruner=none", "trainer.max_epochs=300"]
    env = {**os.environ, "SEQLAB_OUTPUT_ROOT": str(cli_cwd / "outputs")}
    script = Path(sys.executable).parent / "seqlab-train"
    process = subprocess.Popen(
        [str(script), *SEARCH, *args],
        cwd=cli_cwd,
        env=env,
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.time() + 240
    while time.time() < deadline:
        running = list((cli_cwd / "outputs").glob("multiruns/*/*/3/checkpoints/last.ckpt"))
        if running:
            break
        time.sleep(0.05)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    sweep = only_sweep(cli_cwd)
    assert json.loads((sweep / "3" / "metrics.json").read_text())["status"] == "running"
    interrupted = load(sweep).trials[3]
    _, jobs = run_search([*args, f"resume={sweep}"], cli_cwd)
    assert [j.name for j in jobs] == [str(i) for i in range(6)]
    study = load(sweep)
    assert study.trials[3].state.name == "FAIL" and study.trials[3].user_attrs["interrupted"]
    [retry] = [t for t in study.trials if t.user_attrs.get("retry_of") == 3]
    assert retry.params == interrupted.params and retry.state.name == "COMPLETE"
    metrics = assert_run_contract(sweep / "3")
    assert metrics["resumed_after_epoch"] >= 1
    epochs = [r["epoch"] for r in metrics["history"]]
    assert epochs == list(range(1, metrics["epochs"] + 1))  # each epoch once, resumed or not
    counted = [t for t in study.trials if not t.user_attrs.get("interrupted")]
    assert len(counted) == 6


@pytest.mark.slow  # make test-faults: processes of their own
def test_four_trials_through_local_parallel(cli_cwd):
    sweep, jobs = run_search(
        [
            "hydra/launcher=local_parallel",
            "hydra.launcher.n_jobs=2",
            "hydra.sweeper.n_jobs=2",
            "hydra.sweeper.n_trials=4",
        ],
        cli_cwd,
    )
    assert len(jobs) == 4
    study = load(sweep)
    assert all(s in ("COMPLETE", "PRUNED") for s in states(study))
    starts = sorted(t.datetime_start for t in study.trials)
    ends = sorted(t.datetime_complete for t in study.trials)
    assert starts[1] < ends[0]  # two trials were in flight at once


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("hydra.sweeper.pruner=sometimes", "hydra.sweeper.pruner=sometimes: allowed: median"),
        ("model.lr=interval(0.1,0.01)", "interval(low, high) needs low < high"),
        (
            "+hydra.sweeper.direction=maximize",
            "hydra.sweeper.direction=maximize contradicts monitor.mode=min",
        ),
        ("hydra.sweeper.n_trials=0", "hydra.sweeper.n_trials=0: allowed: a whole number >= 1"),
        ("hydra.sweeper.sampler=grid", "hydra.sweeper.sampler=grid: hydra.sweeper.params.model"),
    ],
)
def test_bad_sweeper_settings_fail_before_any_job(cli_cwd, override, message):
    result = run_cli(["seqlab-train", *SEARCH, override], cli_cwd)
    assert result.returncode == 2, result.stderr[-2000:]
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], lines
    assert not list((cli_cwd / "outputs").glob("multiruns/*/*/0"))  # no job ran


def test_sweeper_module_is_light():
    """Hydra imports every plugin on every start (`--help` too): no optuna, torch or
    lightning at import."""
    code = (
        "import sys, hydra_plugins.seqlab_sweepers.optuna_sweeper;"
        "print([m for m in ('optuna', 'torch', 'lightning') if m in sys.modules])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO)
    assert out.stdout.strip() == "[]", out.stderr


def overrides_of(job: Path) -> str:
    return (job / ".hydra" / "overrides.yaml").read_text()


def test_a_key_fixed_on_the_command_line_is_not_searched(cli_cwd):
    """sum_optuna searches model.hidden_dim; `model.hidden_dim=32` on the command line takes
    it out of the study (as in Hydra's Optuna sweeper), and the log says so."""
    result = run_cli(
        ["seqlab-train", *SEARCH, "model.hidden_dim=32", "hydra.sweeper.n_trials=3"], cli_cwd
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "model.hidden_dim=32: fixed on the command line, so it is not searched" in (
        result.stdout + result.stderr
    )
    sweep = only_sweep(cli_cwd)
    study = load(sweep)
    assert all("model.hidden_dim" not in t.params for t in study.trials)
    assert {"model.lr", "data.batch_size"} <= set(study.trials[0].params)
    for job in job_dirs(sweep):
        assert overrides_of(job).count("model.hidden_dim") == 1
        assert "model.hidden_dim=32" in overrides_of(job)
        assert "hidden_dim: 32" in (job / ".hydra" / "config.yaml").read_text()


@pytest.mark.slow  # make test-faults: a study
def test_trials_run_where_hydra_sweep_subdir_puts_them(cli_cwd):
    """`hydra.sweep.subdir=t${hydra.job.num}`: the jobs write t0, t1, and the study reads
    each trial's result from there."""
    sweep, _ = run_search(
        [
            "hydra.sweeper.n_trials=2",
            "hydra.sweeper.pruner=none",
            "hydra.sweep.subdir=t${hydra.job.num}",
        ],
        cli_cwd,
    )
    assert sorted(j.name for j in job_directories(sweep)) == ["t0", "t1"]
    study = load(sweep)
    assert states(study) == ["COMPLETE", "COMPLETE"]
    for trial in study.trials:
        metrics = json.loads((sweep / f"t{trial.number}" / "metrics.json").read_text())
        assert metrics["best"]["val/mse"] == trial.value
    assert "best_value" in (sweep / "optimization_results.yaml").read_text()


@pytest.mark.slow  # make test-faults: a study
def test_the_grid_sampler_runs_a_float_range(cli_cwd):
    """range(0.001, 0.004, 0.001) is 0.001, 0.002 and 0.003 (stop excluded, as in Hydra's
    basic sweeper): the grid runs each once."""
    sweep, _ = run_search(
        [
            "hydra.sweeper.sampler=grid",
            "hydra.sweeper.params=null",
            "model.lr=range(0.001,0.004,0.001)",
            "hydra.sweeper.n_trials=5",
            "trainer.max_epochs=1",
        ],
        cli_cwd,
    )
    lrs = sorted(t.params["model.lr"] for t in load(sweep).trials)
    assert lrs == [0.001, 0.002, 0.003]


@pytest.mark.slow  # make test-faults
def test_the_study_stops_at_max_failure_rate(cli_cwd):
    """Every trial fails (an optimizer that does not exist). With max_failure_rate=0.5 the
    study stops after its first trial, says so in one line and ends with exit status 1;
    its report is written. With the default 0 it runs all its trials, and exits 0."""
    failing = ["model.optimizer._target_=torch.optim.NoSuchOptimizer", "hydra.sweeper.n_trials=3"]
    result = run_cli(
        ["seqlab-train", *SEARCH, *failing, "hydra.sweeper.max_failure_rate=0.5"], cli_cwd
    )
    assert result.returncode == 1, result.stderr[-3000:]
    error = [line for line in result.stderr.splitlines() if "error:" in line]
    assert error == [
        "seqlab-train: error: 1 of 1 finished trials failed, more than "
        "hydra.sweeper.max_failure_rate=0.5: the study stopped"
    ]
    sweep = only_sweep(cli_cwd)
    assert states(load(sweep)) == ["FAIL"]
    assert "stopped" in (sweep / "optimization_results.yaml").read_text()
    assert "1 jobs: 1 failed." in (sweep / "summary.md").read_text()

    (cli_cwd / "default").mkdir()
    result = run_cli(["seqlab-train", *SEARCH, *failing], cli_cwd / "default")
    assert result.returncode == 0, result.stderr[-3000:]
    assert states(load(only_sweep(cli_cwd / "default"))) == ["FAIL"] * 3


@pytest.mark.slow  # make test-faults
def test_a_multi_objective_study_gives_its_pareto_front(cli_cwd):
    """val/mse and the parameter count: the study has two named objectives, no pruning (one
    info line says so), and optimization_results.yaml and summary.md give its Pareto front,
    which is exactly the trials no other trial dominates."""
    result = run_cli(
        [
            "seqlab-train",
            *SEARCH,
            "hydra.sweeper.objectives={val/mse:min,parameters:min}",
            "hydra.sweeper.n_trials=4",
        ],
        cli_cwd,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "cannot prune a multi-objective study" in result.stdout + result.stderr
    sweep = only_sweep(cli_cwd)
    study = load(sweep)
    assert study.metric_names == ["val/mse", "parameters"]
    assert [d.name for d in study.directions] == ["MINIMIZE", "MINIMIZE"]
    trials = [t for t in study.trials if t.state.name == "COMPLETE"]
    assert len(trials) == 4  # nothing pruned
    for t in trials:
        metrics = json.loads((sweep / str(t.number) / "metrics.json").read_text())
        assert t.values == [metrics["best"]["val/mse"], metrics["parameters"]]

    def dominated(t):
        return any(
            all(a <= b for a, b in zip(o.values, t.values, strict=True)) and o.values != t.values
            for o in trials
        )

    front = sorted(t.number for t in trials if not dominated(t))
    results = yaml.safe_load((sweep / "optimization_results.yaml").read_text())
    assert results["objectives"] == {"val/mse": "minimize", "parameters": "minimize"}
    assert sorted(t["trial"] for t in results["pareto_front"]) == front
    # Hydra's own key for the same front, as hydra-optuna-sweeper writes it
    assert [s["params"] for s in results["solutions"]] == [
        t["params"] for t in results["pareto_front"]
    ]
    summary = (sweep / "summary.md").read_text()
    assert f"## Pareto front: {len(front)} trial(s)" in summary


def test_a_single_objective_study_names_its_metric(cli_cwd):
    sweep, _ = run_search(["hydra.sweeper.n_trials=1"], cli_cwd)
    assert load(sweep).metric_names == ["val/mse"]  # optuna-dashboard shows this name


@pytest.mark.parametrize(
    ("override", "message"),
    [
        (
            "+hydra.sweeper.max_failure_rat=1.0",
            "hydra.sweeper.max_failure_rat: no such key (keys of hydra.sweeper: study_name,",
        ),
        ("hydra.sweeper.n_trial=3", "hydra.sweeper.n_trial: no such key (keys of hydra.sweeper"),
        ("hydra.sweeper.max_failure_rate=2", "max_failure_rate=2.0: allowed: a number from 0 to 1"),
        ("hydra.sweeper.objectives={val/mse:least}", "objectives.val/mse=least: allowed: min"),
        (
            "hydra.sweeper.objectives={train/loss:min}",
            "a single objective is the run's monitor (val/mse, min)",
        ),
        (
            "hydra.sweeper.objectives={val/mse:min,parameters:min}",
            "hydra.sweeper.sampler=cmaes: it optimises one objective",
        ),
    ],
)
def test_unknown_or_bad_sweeper_keys_write_nothing(cli_cwd, override, message):
    extra = ["hydra.sweeper.sampler=cmaes"] if "parameters" in override else []
    result = run_cli(["seqlab-train", *SEARCH, override, *extra], cli_cwd)
    assert result.returncode == 2, result.stderr[-2000:]
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], lines
    if "no such key" in message:  # refused before the sweep directory exists
        assert not list((cli_cwd / "outputs").glob("multiruns/*/*"))
    assert not list((cli_cwd / "outputs").glob("multiruns/*/*/0"))


@pytest.mark.slow  # make test-faults: a study and its confirmation
def test_the_best_settings_are_confirmed_over_fresh_seeds(cli_cwd):
    """6 trials, then the best 2 settings with 3 fresh seeds each: 6 ordinary jobs (no
    trials of the study) after the trials'; optimization_results.yaml and summary.md name
    the setting with the best mean over them, with its interval."""
    confirm = ["hydra.sweeper.confirm.top_k=2", "hydra.sweeper.confirm.seeds=3"]
    args = [*SEARCH, "hydra.sweeper.n_trials=6", "hydra.sweeper.pruner=none", *confirm]
    result = run_cli(["seqlab-train", *args], cli_cwd)
    assert result.returncode == 0, result.stderr[-3000:]
    sweep = only_sweep(cli_cwd)
    assert len(load(sweep).trials) == 6  # the confirmation runs are no trials
    results = yaml.safe_load((sweep / "optimization_results.yaml").read_text())
    confirmed = results["confirmed"]
    assert confirmed["jobs"] == [str(n) for n in range(6, 12)]
    trials_seed = yaml.safe_load((sweep / "0" / ".hydra" / "config.yaml").read_text())["seed"]
    assert confirmed["seeds"] == [trials_seed + 1, trials_seed + 2, trials_seed + 3]  # fresh
    # By hand: each setting's mean over its three confirmation jobs, best first.
    by_setting: dict[tuple, list[float]] = {}
    for name in confirmed["jobs"]:
        overrides = yaml.safe_load((sweep / name / ".hydra" / "overrides.yaml").read_text())
        assert not any(o.startswith("trial.") for o in overrides)
        setting = tuple(o for o in overrides if o.split("=")[0] in results["best_params"])
        metrics = json.loads((sweep / name / "metrics.json").read_text())
        by_setting.setdefault(setting, []).append(metrics["best"]["val/mse"])
    assert sorted(len(v) for v in by_setting.values()) == [3, 3]
    means = sorted(statistics.mean(v) for v in by_setting.values())
    assert confirmed["best_mean"] == pytest.approx(means[0])
    low, high = confirmed["best_interval"]
    assert low < confirmed["best_mean"] < high
    assert confirmed["tied"] == (confirmed["settings"][1]["rank"] == "tied")
    summary = (sweep / "summary.md").read_text()
    title, confirmation = summary.split("\n", 1)
    assert confirmation.lstrip().startswith("## Confirmed over seeds: the best 2 setting(s)")
    assert f"mean {confirmed['best_mean']:.4g} [{low:.4g}, {high:.4g}]" in summary
    assert "## The study's trials" in summary and "12 jobs" not in summary


@pytest.mark.slow  # make test-faults: a study and a race of its best settings
def test_the_best_settings_can_be_confirmed_by_a_race(cli_cwd):
    """3 trials, then a race of the best 2 over fresh seeds, 2 to 4 each: ordinary jobs
    numbered after the trials', race.json and `confirmed` agree, and summary.md shows the
    race after the confirmation."""
    confirm = [
        "hydra.sweeper.confirm.top_k=2",
        "hydra.sweeper.confirm.seeds=0",
        "hydra.sweeper.confirm.race.min_seeds=2",
        "hydra.sweeper.confirm.race.max_seeds=4",
    ]
    args = [*SEARCH, "hydra.sweeper.n_trials=3", "hydra.sweeper.pruner=none", *confirm]
    result = run_cli(["seqlab-train", *args], cli_cwd)
    assert result.returncode == 0, result.stderr[-3000:]
    sweep = only_sweep(cli_cwd)
    assert len(load(sweep).trials) == 3
    confirmed = yaml.safe_load((sweep / "optimization_results.yaml").read_text())["confirmed"]
    race = json.loads((sweep / "race.json").read_text())
    jobs = [job for e in race["entrants"] for job in e["jobs"]]
    assert sorted(jobs, key=int) == [str(n) for n in range(3, 3 + race["jobs"])]
    assert sorted(confirmed["jobs"], key=int) == sorted(jobs, key=int)
    trials_seed = yaml.safe_load((sweep / "0" / ".hydra" / "config.yaml").read_text())["seed"]
    for e in race["entrants"]:
        assert e["seeds"] == list(range(trials_seed + 1, trials_seed + 1 + len(e["seeds"])))
        assert 2 <= len(e["seeds"]) <= 4
        for job, seed in zip(e["jobs"], e["seeds"], strict=True):
            config = yaml.safe_load((sweep / job / ".hydra" / "config.yaml").read_text())
            assert config["seed"] == seed
    assert confirmed["race"]["result"] == race["result"] in ("winner", "tied")
    if race["result"] == "winner":
        winner = next(s for s in confirmed["settings"] if s["state"] == "winner")
        assert confirmed["best_params"] == winner["params"] and not confirmed["tied"]
    summary = (sweep / "summary.md").read_text()
    assert summary.index("## Confirmed over seeds") < summary.index("## Race: ")
    assert summary.index("## Race: ") < summary.index("## The study's trials")
