"""seqlab as a Python library, against the command line: seqlab.train twice and
seqlab.sweep once in this process give the directories, configs and numbers that
seqlab-train gives for the same overrides; their tables equal the files and the report;
a bad value raises ConfigError with the command's line and writes nothing; Ctrl-C is
recorded as an interruption; Hydra's global state is left as it was."""

from __future__ import annotations

import json
import logging
import os
import signal
from pathlib import Path

import pandas as pd
import pytest
from hydra.core.global_hydra import GlobalHydra
from hydra.core.hydra_config import HydraConfig
from lightning.pytorch.callbacks import Callback

import seqlab
from seqlab.render.tables import cell
from seqlab.results.records import INDEX_FILE
from tests.conftest import NO_CONFIRM, QUIET, SMALL_SUM, run_cli

RUN_A = [*QUIET, *SMALL_SUM]
RUN_B = [*QUIET, *SMALL_SUM, "model.hidden_dim=16", "seed=7"]
SWEEP = [*QUIET, *SMALL_SUM, "model.hidden_dim=8,16", "seed=1,2,3"]


@pytest.fixture
def in_dir(tmp_path: Path, monkeypatch) -> Path:
    """This process works in `tmp_path/api`, with its outputs there."""
    here = tmp_path / "api"
    here.mkdir()
    monkeypatch.chdir(here)
    monkeypatch.setenv("SEQLAB_OUTPUT_ROOT", str(here / "outputs"))
    return here


def numbers(metrics: dict, run_dir: Path) -> dict:
    """What a run computed: its metrics and config, without timings and dates, and with
    the paths inside its directory relative to it."""
    drop = ("epoch_s",)

    def relative(value):
        return value.replace(str(run_dir.absolute()), "<run>") if isinstance(value, str) else value

    return {
        "status": metrics["status"],
        "best": {k: v for k, v in metrics["best"].items() if k not in drop},
        "final": metrics["final"],
        "epochs": metrics["epochs"],
        "history": [{k: v for k, v in row.items() if k not in drop} for row in metrics["history"]],
        "config": {
            k: relative(v) for k, v in metrics["config"].items() if not k.startswith("paths.")
        },
        "choices": metrics["choices"],
    }


def same_run(api_dir: Path, cli_dir: Path) -> None:
    for name in ("config.yaml", "overrides.yaml"):
        assert (api_dir / ".hydra" / name).read_text() == (cli_dir / ".hydra" / name).read_text()
    api, cli = (json.loads((d / "metrics.json").read_text()) for d in (api_dir, cli_dir))
    assert numbers(api, api_dir) == numbers(cli, cli_dir)
    for name in ("checkpoints/best.ckpt", "checkpoints/last.ckpt", "train.log", "tensorboard"):
        assert (api_dir / name).exists(), name


def test_train_twice_and_sweep_once_in_one_process_as_the_command_line(in_dir, tmp_path):
    root = logging.getLogger()
    handlers, sigint = list(root.handlers), signal.getsignal(signal.SIGINT)

    run_a = seqlab.train(overrides=RUN_A)
    run_b = seqlab.train(overrides=RUN_A, model__hidden_dim=16, seed=7)
    grid = seqlab.sweep(overrides=[*QUIET, *SMALL_SUM], model__hidden_dim=[8, 16], seed=[1, 2, 3])

    # Hydra's state, logging and the Ctrl-C handler are as they were.
    assert not GlobalHydra.instance().is_initialized()
    assert not HydraConfig.initialized()
    assert root.handlers == handlers and signal.getsignal(signal.SIGINT) is sigint

    cli_dir = tmp_path / "cli"
    cli_dir.mkdir()
    for args in (RUN_A, RUN_B, ["-m", *SWEEP]):
        result = run_cli(["seqlab-train", *args], cli_dir)
        assert result.returncode == 0, result.stderr
    cli_runs = sorted((cli_dir / "outputs" / "runs").glob("*/*"))
    (cli_sweep,) = (cli_dir / "outputs" / "multiruns").glob("*/*")

    assert run_a.path.parent.parent == in_dir / "outputs" / "runs"
    assert grid.path.parent.parent == in_dir / "outputs" / "multiruns"
    by_seed = {json.loads((d / "metrics.json").read_text())["seed"]: d for d in cli_runs}
    same_run(run_a.path, by_seed[1234])
    same_run(run_b.path, by_seed[7])
    assert run_a.status == "completed" and run_b.config["model.hidden_dim"] == 16
    # The same files, and the index that reading the sweep as a Sweep made.
    assert sorted(p.name for p in grid.path.iterdir()) == sorted(
        [INDEX_FILE, *(p.name for p in cli_sweep.iterdir())]
    )
    for job in range(6):
        same_run(grid.path / str(job), cli_sweep / str(job))
    assert (grid.path / "groups.csv").read_text() == (cli_sweep / "groups.csv").read_text()

    # The tables: values as the metrics files hold them, groups as the report's groups.csv.
    table = seqlab.load(in_dir / "outputs").table()
    assert len(table) == 8 and set(table["status"]) == {"completed"}
    for _, row in table.iterrows():
        metrics = json.loads((Path(row["run"]) / "metrics.json").read_text())
        assert row["best val/mse"] == metrics["best"]["val/mse"]
        assert row["test/mse"] == metrics["final"]["test/mse"]
        assert row["model.hidden_dim"] == metrics["config"]["model.hidden_dim"]
        assert row["seed"] == metrics["seed"] and row["epochs"] == metrics["epochs"]
        assert row["provenance.seqlab"] == seqlab.__version__
    report = pd.read_csv(grid.path / "groups.csv", dtype=str, keep_default_na=False)
    grouped = grid.groups()
    assert [[cell(v, 6) for v in grouped[c]] for c in report.columns] == [
        list(report[c]) for c in report.columns
    ]
    curves = grid.curves("val/mse")
    assert len(curves) == 6 * 2 and set(curves["epoch"]) == {1, 2}

    # The same tables from the command line.
    result = run_cli(["seqlab-report", "--table", "groups", str(grid.path)], cli_dir)
    assert result.returncode == 0, result.stderr
    assert result.stdout == grouped.to_csv(index=False)
    result = run_cli(["seqlab-report", "--table", "runs", "--format", "markdown"], in_dir)
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("| completed |") == 8


# (overrides, train or sweep): each refused by seqlab-train with one line.
BAD = [
    (["model.hidden_dim=0"], "train"),
    (["model.hiden_dim=8"], "train"),
    (["experiment=tutorial_summ"], "train"),
    (["data.length=10000000"], "train"),
    (["model.lr=0.1,0.5"], "train"),  # a sweep's value without -m
    (["hydra/launcher=local_parallel", "+hydra.launcher.n_jobz=2", "seed=1,2"], "sweep"),
]


@pytest.mark.parametrize(("overrides", "how"), BAD)
def test_a_bad_value_raises_the_command_lines_line_and_writes_nothing(
    in_dir, tmp_path, overrides, how
):
    call = seqlab.train if how == "train" else seqlab.sweep
    with pytest.raises(seqlab.ConfigError) as refused:
        call("sum", [*QUIET, *overrides])
    assert not (in_dir / "outputs").exists(), list((in_dir / "outputs").rglob("*"))
    cli = run_cli(
        ["seqlab-train", *(["-m"] if how == "sweep" else []), "experiment=sum", *QUIET, *overrides],
        tmp_path,
    )
    assert cli.returncode == 2
    assert cli.stderr.strip() == f"seqlab-train: error: {refused.value}"


def test_a_resumed_run_carries_on_in_its_directory(in_dir):
    first = seqlab.train(overrides=RUN_A)
    again = seqlab.train(overrides=RUN_A, resume=str(first.path))
    assert again.path == first.path and again.status == "completed"
    assert again.metrics["attempts"] == 1  # finished already: nothing to do
    other = seqlab.train(overrides=RUN_A, resume=str(first.path))
    assert other.path == first.path  # the resumed directory's lock was given back


class InterruptAtEpoch(Callback):
    """Sends this process SIGINT, as a notebook's interrupt button does, after epoch 1."""

    def on_train_epoch_end(self, trainer, pl_module):
        os.kill(os.getpid(), signal.SIGINT)


def test_ctrl_c_is_recorded_as_interrupted_and_raised(in_dir):
    sigint = signal.getsignal(signal.SIGINT)
    target = f"{__name__}.{InterruptAtEpoch.__name__}"
    with pytest.raises(KeyboardInterrupt):
        seqlab.train(
            overrides=[*RUN_A, "trainer.max_epochs=5", f"+callbacks.stop._target_={target}"]
        )
    assert signal.getsignal(signal.SIGINT) is sigint  # Lightning had set it to ignore
    (run_dir,) = (in_dir / "outputs" / "runs").glob("*/*")
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["status"] == "interrupted" and metrics["interrupted_by"] == "SIGINT"
    assert seqlab.load(run_dir).table()["status"].item() == "interrupted"
    resumed = seqlab.train(overrides=[*RUN_A, "trainer.max_epochs=5"], resume=str(run_dir))
    assert resumed.status == "completed" and resumed.metrics["epochs"] == 5


def test_a_config_directory_of_the_users_own(in_dir):
    site = in_dir / "site" / "experiment"
    site.mkdir(parents=True)
    (site / "mine.yaml").write_text("# @package _global_\nmodel:\n  hidden_dim: 12\n")
    small = [arg for arg in RUN_A if not arg.startswith("experiment=")]
    run = seqlab.train("mine", small, config_dir=in_dir / "site")
    assert run.config["model.hidden_dim"] == 12 and run.config["experiment"] == "mine"


@pytest.mark.slow  # make test-faults: processes of their own for every job
def test_a_search_and_parallel_sweeps_from_python(in_dir, tmp_path, monkeypatch):
    """The Optuna sweeper, and jobs in processes of their own (local_parallel's pool),
    started from Python as from the command line; a second parallel sweep after a change
    of directory and output root writes where the first would not."""
    search = seqlab.sweep(
        "sum",
        [*QUIET, *SMALL_SUM[1:], "hparams_search=sum_optuna", *NO_CONFIRM],
        hydra__sweeper__n_trials=2,
    )
    assert len(search) == 2 and set(search.table()["status"]) <= {"completed", "pruned"}
    assert (search.path / "optimization_results.yaml").is_file()
    parallel = [*QUIET, *SMALL_SUM, "hydra/launcher=local_parallel"]
    first = seqlab.sweep(overrides=parallel, model__hidden_dim=[8, 16])
    assert len(first) == 2 and set(first.table()["status"]) == {"completed"}
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    monkeypatch.setenv("SEQLAB_OUTPUT_ROOT", str(elsewhere / "outputs"))
    second = seqlab.sweep(overrides=parallel, model__hidden_dim=[4])
    assert second.path.is_relative_to(elsewhere / "outputs")
    assert list(second.table()["status"]) == ["completed"]
    assert len(seqlab.load(in_dir / "outputs" / "multiruns")) == 4  # nothing more written there


def test_a_sweep_left_unfinished_comes_back_with_a_warning(in_dir, monkeypatch):
    """Where seqlab-train -m ends with exit status 1 (jobs that did not finish), the sweep is
    returned to look at, and the command's line is the warning."""
    line = "1 of 1 jobs did not finish (1 interrupted: jobs 0); run the same command with resume"
    monkeypatch.setattr("seqlab.callbacks.hydra.unfinished_jobs", lambda sweep_dir: line)
    with pytest.warns(UserWarning, match=r"1 of 1 jobs did not finish"):
        grid = seqlab.sweep(overrides=RUN_A)
    assert len(grid) == 1 and (grid.path / "summary.md").is_file()
    with pytest.raises(seqlab.ConfigError, match="model.hidden_dim=0 is not allowed"):
        seqlab.train(overrides=RUN_A, model__hidden_dim=0)  # other refusals still raise


def test_a_sweep_file_planned_and_run_from_python(in_dir, capsys):
    # The plan, as --plan gives it: a row per job, its overrides as columns; nothing written.
    jobs = seqlab.plan(overrides=["sweep=notebook"])
    assert len(jobs) == 16 and jobs.attrs["source"] == "sweep=notebook"
    assert list(jobs.columns[:6]) == [
        "job", "data.length", "data.n", "model.hidden_dim", "model.lr", "trainer.max_epochs"
    ]  # fmt: skip
    assert jobs["model.hidden_dim"].tolist().count(64) == 11
    assert jobs["estimate_s"].isna().all() and jobs.attrs["slots"]["count"] == 1
    assert not (in_dir / "outputs").exists()
    assert "Plan:" not in capsys.readouterr().out  # the frame is the answer
    # The same file runs as a sweep: the command line (here, keywords) wins key by key.
    (in_dir / "pairs.yaml").write_text("zip: {model.hidden_dim: [4, 8], seed: [1, 2]}\n")
    swept = seqlab.sweep(
        "tutorial_sum", [*QUIET, "sweep_file=pairs.yaml"], data__n=40, trainer__max_epochs=1
    )
    table = swept.table()
    assert sorted(zip(table["model.hidden_dim"], table["seed"], strict=True)) == [(4, 1), (8, 2)]
    assert set(table["status"]) == {"completed"}
