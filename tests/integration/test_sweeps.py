"""Sweeps through the real CLI: failures, resuming, parallel jobs, TensorBoard's
HParams, and length generalisation from a checkpoint."""

import csv
import json
import os
import signal
import time
from pathlib import Path

import pytest

from seqlab.config import available_cores
from seqlab.sweeps.jobs import job_directories
from tests.conftest import (
    QUIET,
    assert_run_contract,
    read_tensorboard,
    run_cli,
    start_cli,
    tensorboard_hparams,
)
from tests.integration.conftest import job_dirs, only_sweep

TINY = ["experiment=tutorial_sum", "data.n=200", "data.n_val=50", "data.n_test=50", *QUIET]


def run_sweep(args: list[str], cwd: Path) -> tuple[Path, list[Path]]:
    """Run `seqlab-train <args>` as a multirun; return the sweep and its job directories."""
    result = run_cli(["seqlab-train", *args], cwd)
    assert result.returncode == 0, result.stderr[-3000:]
    sweep = only_sweep(cwd)
    return sweep, job_dirs(sweep)


def status_of(job: Path) -> str:
    path = job / "metrics.json"
    return json.loads(path.read_text())["status"] if path.exists() else "none"


def test_seed_replicates_are_grouped_by_the_report(cli_cwd):
    args = ["-m", *TINY, "trainer.max_epochs=2", "model.hidden_dim=8,16", "seed=range(1,4)"]
    sweep, jobs = run_sweep(args, cli_cwd)
    assert len(jobs) == 6 and all(status_of(job) == "completed" for job in jobs)
    with (sweep / "groups.csv").open() as f:
        groups = list(csv.DictReader(f))
    assert sorted(g["model.hidden_dim"] for g in groups) == ["16", "8"]
    assert [g["n"] for g in groups] == ["3", "3"]
    bests = [json.loads((job / "metrics.json").read_text())["best"]["val/mse"] for job in jobs]
    by_setting = {"8": bests[:3], "16": bests[3:]}  # jobs are ordered as the sweep lists them
    for group in groups:
        values = by_setting[group["model.hidden_dim"]]
        assert float(group["best val/mse mean"]) == pytest.approx(sum(values) / 3, rel=1e-5)
    assert "2 settings, each run by its replicates" in (sweep / "summary.md").read_text()


def test_failing_and_diverging_jobs_do_not_sink_the_sweep(cli_cwd):
    result = run_cli(
        [
            "seqlab-train",
            "-m",
            *TINY,
            "trainer.max_epochs=4",
            "model.optimizer._target_=torch.optim.SGD,torch.optim.NoSuchOptimizer",
            "model.lr=0.1,1e9",
        ],
        cli_cwd,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    sweep = only_sweep(cli_cwd)
    statuses = {}
    for job in job_dirs(sweep):
        overrides = (job / ".hydra" / "overrides.yaml").read_text()
        statuses[("NoSuch" in overrides, "1e9" in overrides or "1000000000" in overrides)] = (
            status_of(job)
        )
    assert statuses == {
        (False, False): "completed",
        (False, True): "diverged",
        (True, False): "failed",
        (True, True): "failed",
    }
    failed = next(j for j in sweep.iterdir() if j.is_dir() and status_of(j) == "failed")
    assert "NoSuchOptimizer" in json.loads((failed / "metrics.json").read_text())["error"]
    summary = (sweep / "summary.md").read_text()  # written by the end-of-sweep callback
    assert "4 jobs: 1 completed, 1 diverged, 2 failed." in summary
    assert (sweep / "summary.csv").is_file() and list(sweep.glob("plot_*.png"))


def test_tensorboard_hparams_list_every_job_with_its_values_and_results(cli_cwd):
    _, jobs = run_sweep(["-m", *TINY, "trainer.max_epochs=2", "model.hidden_dim=8,16"], cli_cwd)
    seen = {}
    for job in jobs:
        acc = read_tensorboard(job / "tensorboard")
        hparams = tensorboard_hparams(acc)
        metrics = json.loads((job / "metrics.json").read_text())
        best = acc.Scalars("~results/best val/mse")[-1].value
        seen[hparams["model.hidden_dim"]] = best
        assert best == pytest.approx(metrics["best"]["val/mse"])
        final = acc.Scalars("~results/test/mse")[-1].value
        assert final == pytest.approx(metrics["final"]["test/mse"])
    assert set(seen) == {8, 16}


@pytest.mark.slow  # make test-faults: a kill, and the resume
def test_killed_sweep_resumes_without_retraining_finished_jobs(cli_cwd):
    args = [
        "seqlab-train",
        "-m",
        *TINY,
        "data.n=2000",
        "data.length=8",
        "trainer.max_epochs=60",
        "model.hidden_dim=8,16,24,32",
    ]
    proc = start_cli(args, cli_cwd)
    deadline = time.time() + 240
    jobs_glob = "outputs/multiruns/*/*/*/metrics.json"
    try:  # kill the whole sweep as soon as two jobs have completed
        while time.time() < deadline:
            time.sleep(0.2)
            if sum(status_of(p.parent) == "completed" for p in cli_cwd.glob(jobs_glob)) >= 2:
                break
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    sweep = only_sweep(cli_cwd)
    # What the finished jobs had written when the sweep was killed.
    finished = {
        j.name: (j / "metrics.json").read_bytes()
        for j in sweep.iterdir()
        if j.is_dir() and status_of(j) == "completed"
    }
    assert 2 <= len(finished) < 4, f"{len(finished)} jobs had finished at the kill"

    result = run_cli([*args, f"resume={sweep}"], cli_cwd)
    assert result.returncode == 0, result.stderr[-3000:]
    assert only_sweep(cli_cwd) == sweep
    jobs = job_dirs(sweep)
    assert [j.name for j in jobs] == ["0", "1", "2", "3"]
    for job in jobs:
        metrics = assert_run_contract(job)
        assert metrics["epochs"] == 60 and len(metrics["history"]) == 60
        if job.name in finished:  # not retrained: metrics.json untouched
            assert (job / "metrics.json").read_bytes() == finished[job.name]
    resumed = [j for j in jobs if "resumed_from" in json.loads((j / "metrics.json").read_text())]
    for job in resumed:
        assert json.loads((job / "metrics.json").read_text())["resumed_from"].endswith("last.ckpt")


@pytest.mark.slow  # make test-faults: processes of their own
def test_local_parallel_launcher_splits_the_cores(cli_cwd):
    sweep, jobs = run_sweep(
        [
            "-m",
            "hydra/launcher=local_parallel",
            "hydra.launcher.n_jobs=2",
            *[a for a in TINY if a != "threads=1"],
            "trainer.max_epochs=2",
            "model.hidden_dim=8,16",
        ],
        cli_cwd,
    )
    assert len(jobs) == 2
    for job in jobs:
        metrics = assert_run_contract(job)
        assert metrics["threads"] == max(1, available_cores() // 2)
    assert (sweep / "summary.md").is_file()


@pytest.mark.slow  # make test-faults: processes of their own
def test_local_parallel_starts_the_longest_jobs_first(cli_cwd):
    args = ["-m", "hydra/launcher=local_parallel", "hydra.launcher.n_jobs=2", *TINY]
    args += ["trainer.max_epochs=2", "model.hidden_dim=4,8,48"]
    result = run_cli(["seqlab-train", *args], cli_cwd)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Starting the longest jobs first: #2, #1, #0" in result.stdout + result.stderr
    jobs = job_dirs(only_sweep(cli_cwd))
    metrics = [json.loads((job / "metrics.json").read_text()) for job in jobs]
    # Numbers and directories stay Hydra's...
    assert [m["config"]["model.hidden_dim"] for m in metrics] == [4, 8, 48]
    # ...while the smallest job waited for a worker that the two larger ones held.
    assert metrics[0]["started_at"] >= min(metrics[1]["ended_at"], metrics[2]["ended_at"])


@pytest.mark.slow  # make test-faults: a sweep, then an evaluation
def test_length_generalization_from_a_checkpoint(cli_cwd):
    result = run_cli(["seqlab-train", *TINY, "trainer.max_epochs=2"], cli_cwd)
    assert result.returncode == 0, result.stderr[-3000:]
    ckpt = next((cli_cwd / "outputs" / "runs").glob("*/*/checkpoints/best.ckpt"))
    result = run_cli(["seqlab-eval", f"ckpt_path={ckpt}", "eval.lengths=[2,16]"], cli_cwd)
    assert result.returncode == 0, result.stderr[-3000:]
    out = next((cli_cwd / "outputs" / "evals").glob("*/*"))
    rows = json.loads((out / "metrics.json").read_text())["length_generalization"]
    assert [r["length"] for r in rows] == [2, 16]
    assert (out / "length_generalization.png").is_file()


def test_length_generalization_needs_a_regressor(cli_cwd):
    result = run_cli(
        [
            "seqlab-train",
            "experiment=tutorial_tagger",
            "eval.lengths=[2]",
            "trainer.max_epochs=1",
            *QUIET,
        ],
        cli_cwd,
    )
    assert result.returncode == 2 and "eval.lengths: length generalisation needs a sum" in (
        result.stderr
    )


@pytest.mark.parametrize(
    ("subdir", "names"),
    [
        # Hydra's most common way to name job directories by their overrides.
        ("${hydra.job.override_dirname}", ["model.hidden_dim=16", "model.hidden_dim=8"]),
        pytest.param("job${hydra.job.num}", ["job0", "job1"], marks=pytest.mark.slow),
        # A job directory below another.
        pytest.param("${model.hidden_dim}/h", ["16/h", "8/h"], marks=pytest.mark.slow),
    ],
)
def test_jobs_go_where_hydra_sweep_subdir_puts_them(cli_cwd, subdir, names):
    """A hydra.* override with an interpolation is the job's to resolve (seqlab_basic keeps
    it unresolved, as Hydra's own sweeper does); the report finds the jobs there."""
    result = run_cli(
        [
            "seqlab-train",
            "-m",
            *TINY,
            "trainer.max_epochs=1",
            "model.hidden_dim=8,16",
            f"hydra.sweep.subdir={subdir}",
            # Left out of override_dirname, so that only the swept key names the jobs.
            "hydra.job.config.override_dirname.exclude_keys=[experiment,data.n,data.n_val,"
            "data.n_test,callbacks.progress_bar,trainer.enable_progress_bar,"
            "callbacks.model_summary,threads,trainer.max_epochs]",
        ],
        cli_cwd,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    sweep = only_sweep(cli_cwd)
    jobs = job_directories(sweep)
    assert sorted(j.relative_to(sweep).as_posix() for j in jobs) == sorted(names)
    for job in jobs:
        assert status_of(job) == "completed"
    assert "2 jobs: 2 completed." in (sweep / "summary.md").read_text()


def test_an_unknown_sweeper_key_is_one_line_before_anything_is_written(cli_cwd):
    result = run_cli(
        ["seqlab-train", "-m", *TINY, "model.hidden_dim=8,16", "+hydra.sweeper.max_batch=2"],
        cli_cwd,
    )
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "seqlab-train: error: hydra.sweeper.max_batch: no such key (keys of hydra.sweeper: "
        "max_batch_size, params, race)"
    )
    assert not (cli_cwd / "outputs").exists() or not list((cli_cwd / "outputs").rglob("*/*/*"))
