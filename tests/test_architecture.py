"""The structure's promises: named contracts, analyses as plug-ins, one table of names and
commands, old checkpoints that still load, a package that installs anywhere."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from seqlab import contracts, names
from seqlab.analysis.base import RunAnalysis
from seqlab.analysis.confusion import ConfusionReport
from seqlab.analysis.curriculum import CurriculumReport
from seqlab.analysis.length_generalization import LengthGeneralization
from seqlab.callbacks.curriculum import Curriculum
from seqlab.cli import COMMANDS
from seqlab.data.conllu import ConlluDataModule
from seqlab.data.random_sum import RandomSumDataModule
from seqlab.data.toy_tagging import ToyTaggingDataModule
from seqlab.models.regressor_module import RegressorModule
from seqlab.models.tagger_module import TaggerModule
from seqlab.rundir import CONTRACT
from seqlab.train import train
from tests.conftest import REPO, SMALL_SUM, compose_train, run_cli

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    tomllib = pytest.importorskip("tomli")

LEGACY = REPO / "tests" / "fixtures" / "seqlab-0.1.0"


def test_models_and_data_offer_the_contracts_their_users_check():
    tagger = TaggerModule(words=["<pad>", "<unk>", "a"], tags=["X", "Y"])
    regressor = RegressorModule(target_scale=0.5)
    sums = RandomSumDataModule()
    offered = {
        "tagger": {
            contracts.Tagger,
            contracts.HasVocabulary,
            contracts.CountsConfusion,
        },
        "regressor": {contracts.ScaledRegressor},
        "sums": {contracts.SequenceSource, contracts.Reshapeable},
    }
    objects = {"tagger": tagger, "regressor": regressor, "sums": sums}
    every = {
        getattr(contracts, n)
        for n in dir(contracts)
        if isinstance(getattr(contracts, n), type)
        and getattr(contracts, n).__module__ == contracts.__name__
    } - {contracts.ReadsWithVocabulary}  # a class-level contract, checked below
    for name, obj in objects.items():
        for protocol in every:
            assert isinstance(obj, protocol) == (protocol in offered[name]), (name, protocol)
    assert regressor.target_scale == 0.5
    assert tagger.tag_names == ["X", "Y"]
    assert issubclass(ConlluDataModule, contracts.ReadsWithVocabulary)
    assert not issubclass(ToyTaggingDataModule, contracts.ReadsWithVocabulary)
    assert not issubclass(RandomSumDataModule, contracts.ReadsWithVocabulary)
    assert isinstance(Curriculum([{"length": 2, "epochs": 1}]), contracts.StagedTraining)


def test_sequence_source_draws_the_test_set_at_its_own_length():
    data = RandomSumDataModule(length=5, n=8, n_val=4, n_test=6, input_scale=0.5, seed=3)
    data.setup()
    x, y = data.draw(6, 5, "test")
    assert (x == data.splits["test"]["x"]).all()  # scaled as the model reads it
    assert (y == data.splits["test"]["y"]).all()  # target_scale 1: the same units
    longer, sums = data.draw(3, 9)
    assert longer.shape == (3, 9, 1) and sums.shape == (3, 1)
    assert torch.allclose(sums, (longer / 0.5).sum(dim=1))


def test_every_analysis_follows_the_contract():
    analyses = [LengthGeneralization([2]), ConfusionReport(), CurriculumReport()]
    for analysis in analyses:
        assert isinstance(analysis, RunAnalysis)
        assert analysis.files and all(isinstance(f, str) for f in analysis.files)
    assert len({a.key for a in analyses}) == len(analyses)


class FinalLossProbe:
    """A per-run analysis written outside seqlab: it must run without seqlab naming it."""

    key = "probe"
    files = ("probe.txt",)

    def __init__(self, note: str) -> None:
        self.note = note

    def applies(self, run) -> bool:
        return isinstance(run.model, contracts.ScaledRegressor)

    def run(self, run) -> dict:
        (run.run_dir / "probe.txt").write_text(self.note)
        return {"note": self.note, "epochs": run.trainer.current_epoch}


def test_a_new_analysis_needs_only_its_module_and_config(tmp_path):
    target = f"{__name__}.FinalLossProbe"
    overrides = [f"+analysis.probe._target_={target}", "+analysis.probe.note=hello"]
    metrics = train(compose_train([*SMALL_SUM, *overrides], tmp_path / "sum"))
    assert metrics["probe"] == {"note": "hello", "epochs": 2}
    assert (tmp_path / "sum" / "probe.txt").read_text() == "hello"
    # It decides for itself where it applies: not to a tagger.
    tagger = ["experiment=tutorial_tagger", "trainer.max_epochs=2", "callbacks.tag_examples=null"]
    metrics = train(compose_train([*tagger, *overrides], tmp_path / "tagger"))
    assert "probe" not in metrics and not (tmp_path / "tagger" / "probe.txt").exists()
    # Switched off like a callback.
    off = train(compose_train([*SMALL_SUM, *overrides, "analysis.probe=null"], tmp_path / "off"))
    assert "probe" not in off


def test_metric_names_in_configs_come_from_one_place(tmp_path):
    cfg = compose_train(["experiment=tutorial_sum"], tmp_path)
    assert cfg.callbacks.early_stopping.monitor == names.logged_key(names.TRAIN_LOSS)
    assert names.recorded_name(names.logged_key(names.TRAIN_LOSS)) == names.TRAIN_LOSS
    assert names.logged_key(names.VAL_LOSS) == names.VAL_LOSS  # evaluation keys are as recorded
    tagger = compose_train(["experiment=tagger"], tmp_path)
    assert tagger.monitor.metric == names.DEFAULT_MONITOR
    assert compose_train([], tmp_path).monitor.metric == names.metric(names.VAL, names.MSE)


def test_curriculum_epochs_are_the_stages_epochs(tmp_path):
    stages = "[{length: 2, epochs: 3}, {length: 4, epochs: 4}]"
    cfg = compose_train(["experiment=curriculum", f"curriculum.stages={stages}"], tmp_path)
    assert cfg.trainer.max_epochs == 7


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


def test_every_package_and_config_group_is_in_the_wheel_list():
    setuptools = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]
    listed = set(setuptools["packages"])
    src = REPO / "src"
    packages = {
        str(p.parent.relative_to(src)).replace(os.sep, ".")
        for pattern in ("seqlab/**/__init__.py", "hydra_plugins/*/__init__.py")
        for p in src.glob(pattern)
    }
    groups = {
        "seqlab.conf." + str(d.relative_to(REPO / "conf")).replace(os.sep, ".")
        for d in (REPO / "conf").glob("**/")
        if d != REPO / "conf" and d.name != "local" and list(d.glob("*.yaml"))
    }
    assert listed == packages | groups | {"seqlab.conf"}


def test_no_source_file_is_over_300_lines():
    for path in (REPO / "src").glob("**/*.py"):
        lines = len(path.read_text().splitlines())
        assert lines <= 300, f"{path.relative_to(REPO)}: {lines} lines"


def test_readme_lists_the_run_directory_contract_and_the_layout():
    readme = (REPO / "README.md").read_text()
    run_dir = readme.split("## Run directory", 1)[1].split("```", 2)[1]
    for entry, _ in CONTRACT:
        assert f"── {entry}" in run_dir, f"README's run directory lacks {entry}"
    layout = readme.split("## Layout", 1)[1].split("```", 2)[1]
    for path in sorted((REPO / "src").glob("**/*.py")):
        if path.name != "__init__.py":
            assert path.name in layout, f"README's Layout lacks {path.relative_to(REPO)}"
    for group in sorted(d.name for d in (REPO / "conf").iterdir() if d.is_dir()):
        if group != "local":
            assert f"{group}/" in layout, f"README's Layout lacks conf/{group}/"


# --------------------------------------------------------------------------------------------
# Checkpoints written before the package was reorganised (tests/fixtures/seqlab-0.1.0).


def test_a_checkpoint_from_before_the_move_evaluates_to_its_recorded_numbers(tmp_path):
    recorded = json.loads((LEGACY / "test_metrics.json").read_text())
    for name in ("sum", "tagger"):
        out = tmp_path / name
        args = [f"ckpt_path={LEGACY / f'{name}.ckpt'}", f"hydra.run.dir={out}", "threads=1"]
        result = run_cli(["seqlab-eval", *args, "trainer.enable_progress_bar=false"], tmp_path)
        assert result.returncode == 0, result.stderr[-3000:]
        test = json.loads((out / "metrics.json").read_text())["test"]
        assert test == pytest.approx(recorded[name], rel=1e-5)


def test_a_tagger_checkpoint_from_before_the_move_tags(tmp_path):
    result = run_cli(["seqlab-tag", str(LEGACY / "tagger.ckpt"), "The dog ate the apple"], tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip() == "The/DET dog/NN ate/V the/DET apple/NN"


def test_a_config_naming_the_checkpoint_callbacks_old_place_still_builds(tmp_path):
    """The checkpoint callback moved from seqlab.checkpoints to seqlab.callbacks; configs
    written before the move still name the old place."""
    from hydra.utils import instantiate

    from seqlab.callbacks.checkpointing import ModelCheckpoint

    node = {"_target_": "seqlab.checkpoints.ModelCheckpoint", "dirpath": str(tmp_path)}
    assert type(instantiate(node)) is ModelCheckpoint


# --------------------------------------------------------------------------------------------
# Data files are checked before torch is imported.

CHECK_ONLY = """
import sys
from hydra import compose, initialize_config_dir
from seqlab.cli.common import check
from seqlab.config import CONFIG_DIR, ConfigError
from omegaconf import open_dict
with initialize_config_dir(config_dir=CONFIG_DIR, version_base="1.3"):
    cfg = compose("train", overrides=sys.argv[1:])
with open_dict(cfg):
    cfg.paths.output_dir = "unused"
try:
    check(cfg)
except ConfigError as e:
    print("ERROR", e)
print("HEAVY", sorted(m for m in ("torch", "lightning") if m in sys.modules))
"""


def test_bad_treebank_files_are_reported_before_torch(tmp_path):
    good = tmp_path / "good.conllu"
    good.write_text(
        "1\tDogs\tdog\tNOUN\t_\t_\t_\t_\t_\t_\n2\tbark\tbark\tVERB\t_\t_\t_\t_\t_\t_\n\n"
    )
    bad = tmp_path / "bad.conllu"
    bad.write_text("1\tDogs\tdog\tNOUN\t_\t_\t_\t_\t_\t_\n2\tbark\n\n")
    odd_tag = tmp_path / "odd.conllu"
    odd_tag.write_text("1\tDogs\tdog\tPROPN\t_\t_\t_\t_\t_\t_\n\n")
    cases = [
        (
            [good, tmp_path / "missing.conllu"],
            f"data.val_path={tmp_path}/missing.conllu: no such file",
        ),
        ([good, bad], f"{bad}:2: a token line needs 10 tab-separated fields, found 2"),
        (
            [good, odd_tag],
            f"{odd_tag}:1: tag 'PROPN' does not occur in the training data (tags: NOUN, VERB)",
        ),
    ]
    for (train_path, val_path), expected in cases:
        args = ["experiment=ud_pos", f"data.train_path={train_path}", f"data.val_path={val_path}"]
        checked = subprocess.run(
            [sys.executable, "-c", CHECK_ONLY, *args], capture_output=True, text=True, timeout=60
        )
        assert f"ERROR {expected}" in checked.stdout, checked.stdout + checked.stderr
        assert "HEAVY []" in checked.stdout
        start = time.perf_counter()
        result = run_cli(["seqlab-train", *args], tmp_path, timeout=60)
        elapsed = time.perf_counter() - start
        assert (
            result.returncode == 2 and result.stderr.strip() == f"seqlab-train: error: {expected}"
        )
        assert elapsed < 2.0, f"took {elapsed:.2f} s"
    assert not list(tmp_path.glob("**/metrics.json"))


# --------------------------------------------------------------------------------------------
# An install that works anywhere.


@pytest.mark.slow
def test_a_built_wheel_runs_outside_the_checkout(tmp_path):
    """Build a wheel, install it into a fresh venv and train from a directory outside the
    checkout. The venv takes seqlab from the wheel alone; its dependencies (torch,
    lightning, ...) come from the test's own environment through a .pth file, so the test
    needs no downloads."""
    wheels = tmp_path / "wheels"
    build = [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation"]
    subprocess.run([*build, str(REPO), "-w", str(wheels)], check=True, timeout=300)
    (wheel,) = wheels.glob("seqlab-*.whl")
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    py = venv / "bin" / "python"
    pip = [str(py), "-m", "pip", "install", "-q", "--no-deps", "--no-index", str(wheel)]
    subprocess.run(pip, check=True, timeout=300)
    site = subprocess.run(
        [str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    ours = subprocess.run(
        [sys.executable, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    (Path(site) / "seqlab_test_deps.pth").write_text(ours + "\n")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "HYDRA_FULL_ERROR")}
    env["SEQLAB_OUTPUT_ROOT"] = str(elsewhere / "outputs")

    where = subprocess.run(
        [str(py), "-c", "import seqlab.config as c; print(c.__file__); print(c.CONFIG_DIR)"],
        cwd=elsewhere,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert all(line.startswith(site) for line in where), where
    job = subprocess.run(
        [str(venv / "bin" / "seqlab-train"), "--cfg", "job", "experiment=tutorial_sum"],
        cwd=elsewhere,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert job.returncode == 0 and "mode: tutorial" in job.stdout, job.stderr[-3000:]
    run = subprocess.run(
        [
            str(venv / "bin" / "seqlab-train"),
            *SMALL_SUM,
            "trainer.max_epochs=1",
            "threads=1",
            "callbacks.progress_bar=null",
            "trainer.enable_progress_bar=false",
        ],
        cwd=elsewhere,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    (metrics,) = (elsewhere / "outputs" / "runs").glob("*/*/metrics.json")
    assert json.loads(metrics.read_text())["status"] == names.COMPLETED
