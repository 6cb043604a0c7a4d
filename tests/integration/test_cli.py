"""The real command-line tools, in subprocesses."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from seqlab.cli import COMMANDS
from seqlab.training import train
from tests.conftest import QUIET, REPO, assert_run_contract, compose_train, run_cli
from tests.integration.conftest import job_dirs, only_sweep

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    tomllib = pytest.importorskip("tomli")


TINY_SUM = [
    "experiment=tutorial_sum",
    "trainer.max_epochs=3",
    "data.n=200",
    "data.n_val=50",
    "data.n_test=50",
    *QUIET,
]


def test_multirun_of_four_jobs_gives_four_complete_run_directories(cli_cwd):
    result = run_cli(
        ["seqlab-train", "-m", *TINY_SUM, "model.hidden_dim=8,16", "data.length=2,3"], cli_cwd
    )
    assert result.returncode == 0, result.stderr[-3000:]
    jobs = job_dirs(only_sweep(cli_cwd))  # all jobs of one sweep share one sweep directory
    assert [p.name for p in jobs] == ["0", "1", "2", "3"]
    seen = set()
    for job in jobs:
        metrics = assert_run_contract(job)
        overrides = (job / ".hydra" / "overrides.yaml").read_text()
        hidden = 8 if "model.hidden_dim=8" in overrides else 16
        length = 2 if "data.length=2" in overrides else 3
        seen.add((hidden, length))
        assert metrics["epochs"] == 3
    assert seen == {(8, 2), (8, 3), (16, 2), (16, 3)}


def test_single_run_prints_its_directory_and_tensorboard_command(cli_cwd):
    result = run_cli(["seqlab-train", *TINY_SUM], cli_cwd)
    assert result.returncode == 0, result.stderr[-3000:]
    runs = list((cli_cwd / "outputs" / "runs").glob("*/*"))
    assert len(runs) == 1
    assert_run_contract(runs[0])
    out = result.stdout + result.stderr
    shown = runs[0].relative_to(cli_cwd)  # paths inside the working directory print relative
    assert f"run directory: {shown}\n" in out
    assert f"tensorboard --logdir {shown}\n" in out

    # seqlab-eval reloads model and data config from the checkpoint and tests it.
    ckpt = runs[0] / "checkpoints" / "last.ckpt"
    result = run_cli(["seqlab-eval", f"ckpt_path={ckpt}", "data.n_test=80"], cli_cwd)
    assert result.returncode == 0, result.stderr[-3000:]
    evals = list((cli_cwd / "outputs" / "evals").glob("*/*"))
    assert len(evals) == 1
    metrics = json.loads((evals[0] / "metrics.json").read_text())
    assert metrics["status"] == "completed" and metrics["data"]["n_test"] == 80
    assert metrics["test"]["test/mse"] > 0 and metrics["trained_epochs"] == 3
    assert (evals[0] / "eval.log").is_file()

    unknown = run_cli(["seqlab-eval", f"ckpt_path={ckpt}", "data.n_tset=80"], cli_cwd)
    assert unknown.returncode == 2
    assert "data.n_tset: not a key of this checkpoint's data config" in unknown.stderr


ONE_LINE = [
    ("data.num_prob=2", "data.num_prob=2 is not allowed: expected a number in [0, 1]"),
    (
        "model.hiden_dim=8",
        "model.hiden_dim: no such key (keys of model: hidden_dim, num_layers, lr, optimizer, "
        "scheduler, scheduler_interval); to add a new key, write +model.hiden_dim=...",
    ),
    (
        "experiment=tutorial_summ",
        "experiment=tutorial_summ: no such option (available: curriculum, sum, tagger, "
        "tutorial_sum, tutorial_tagger, ud_pos)",
    ),
]


@pytest.mark.parametrize("arg, message", ONE_LINE)
def test_config_errors_are_one_line_with_exit_status_2(arg, message, cli_cwd):
    result = run_cli(["seqlab-train", arg], cli_cwd, timeout=60)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [f"seqlab-train: error: {message}"]


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_gpu_trainer_without_cuda_is_a_clear_error(cli_cwd):
    result = run_cli(["seqlab-train", "trainer=gpu", *TINY_SUM], cli_cwd, timeout=120)
    assert result.returncode == 2
    assert "trainer.accelerator=gpu: no CUDA device is visible" in result.stderr
    assert "Traceback" not in result.stderr
    metrics = json.loads(next(cli_cwd.glob("outputs/runs/*/*/metrics.json")).read_text())
    assert metrics["status"] == "failed"


@pytest.mark.slow  # make test-faults: a run, then several evaluations
def test_eval_rejects_missing_and_broken_checkpoints(cli_cwd, tmp_path):
    missing = run_cli(["seqlab-eval", "ckpt_path=nope.ckpt"], cli_cwd, timeout=60)
    assert missing.returncode == 2 and "ckpt_path=nope.ckpt: no such file" in missing.stderr
    junk = tmp_path / "junk.ckpt"
    junk.write_text("not a checkpoint")
    bad = run_cli(["seqlab-eval", f"ckpt_path={junk}"], cli_cwd, timeout=60)
    assert bad.returncode == 2 and "not a readable checkpoint" in bad.stderr


def test_runs_started_together_get_different_directories(cli_cwd):
    procs = [
        subprocess.Popen(
            [str(Path(sys.executable).parent / "seqlab-train"), "model.lr=abc"],
            cwd=cli_cwd,
            env={"SEQLAB_OUTPUT_ROOT": str(cli_cwd / "outputs"), "PATH": ""},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for _ in range(3)
    ]
    for p in procs:
        p.wait(timeout=60)
    assert len(list((cli_cwd / "outputs" / "runs").glob("*/*"))) == 3


LIGHT_CHECK = """
import sys
sys.argv = ["seqlab-train", *sys.argv[1:]]
from seqlab.cli.train import main as train_main
try:
    train_main()
except SystemExit:
    pass
heavy = sorted(m for m in ("torch", "lightning") if m in sys.modules)
print("HEAVY:", ",".join(heavy) or "none")
"""


@pytest.mark.parametrize("args", [["--help"], ["--cfg", "job"], ["model.lr=abc"]])
def test_help_config_printing_and_validation_do_not_import_torch(args, cli_cwd):
    result = subprocess.run(
        [sys.executable, "-c", LIGHT_CHECK, *args],
        cwd=cli_cwd,
        capture_output=True,
        text=True,
        timeout=60,
        env={"SEQLAB_OUTPUT_ROOT": str(cli_cwd / "outputs")},
    )
    assert "HEAVY: none" in result.stdout, result.stdout + result.stderr


def test_commands_table_matches_the_installed_scripts(tmp_path):
    scripts = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["scripts"]
    assert {f"seqlab-{name}": target for name, (target, _) in COMMANDS.items()} == {
        k: v for k, v in scripts.items() if k != "seqlab"
    }
    assert scripts["seqlab"] == "seqlab.cli:main"
    listed = run_cli(["seqlab", "--help"], tmp_path)
    assert listed.returncode == 0 and all(name in listed.stdout for name in COMMANDS)
    wrong = run_cli(["seqlab", "trian"], tmp_path)
    assert wrong.returncode == 2 and wrong.stderr.strip() == (
        "seqlab: error: trian: no such command (train, eval, report, tag)"
    )
    help_text = run_cli(["seqlab", "train", "--help"], tmp_path)
    assert help_text.returncode == 0 and "seqlab-train: train an LSTM" in help_text.stdout


@pytest.mark.slow  # make test-faults: a tagger trained, then every bad checkpoint
def test_seqlab_tag_with_the_toy_tagger_and_bad_checkpoints(tmp_path):

    run_dir = tmp_path / "toy"
    train(compose_train(["experiment=tutorial_tagger", "callbacks.tag_examples=null"], run_dir))
    ckpt = run_dir / "checkpoints" / "last.ckpt"
    result = run_cli(["seqlab-tag", str(ckpt), "The dog ate the apple"], tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip() == "The/DET dog/NN ate/V the/DET apple/NN"

    sums = tmp_path / "sum"
    train(compose_train(["experiment=sum", "data.n=64", "trainer.max_epochs=1"], sums))
    other = run_cli(["seqlab-tag", str(sums / "checkpoints" / "last.ckpt"), "a b"], tmp_path)
    assert other.returncode == 2 and "which does not tag" in other.stderr
    missing = run_cli(["seqlab-tag", str(tmp_path / "nope.ckpt"), "a"], tmp_path)
    assert missing.returncode == 2 and "nope.ckpt: no such file" in missing.stderr
