"""Bad input, tried systematically through the real CLI.

Every case must end with a non-zero exit status and one line on stderr that names the key,
file or value and says what is allowed; no traceback; and no run directory that looks
completed. Config mistakes are caught before torch or lightning is imported, so they fail
in under 2 s (tests/perf/test_bad_input.py times the same commands).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from seqlab.training import train
from tests.conftest import SMALL_SUM, assert_clear_failure, compose_train, run_cli

# (arguments, text the error line must contain). `{sum}`/`{tagger}`/`{junk}`/`{cut}`
# stand for checkpoint files made by the fixtures below.
CONFIG_CASES = [
    # unknown keys and misspelt groups or options
    (["model.hiden_dim=8"], "model.hiden_dim: no such key (keys of model: hidden_dim"),
    (["experiment=tutorial_summ"], "experiment=tutorial_summ: no such option (available:"),
    (["model=transformer"], "model=transformer: no such option (available: regressor, tagger)"),
    (["hydra/launcher=slurmm"], "Could not find 'hydra/launcher/slurmm'"),
    (["trainer=tpu"], "trainer=tpu: no such option (available: cpu, ddp, ddp_cpu"),
    (["model.hidden_dim=[1,2"], "no viable alternative at input '[1,2'"),
    # wrong types
    (["model.lr=abc"], "model.lr='abc' is not allowed: expected a number > 0"),
    (["model.hidden_dim=2.5"], "model.hidden_dim=2.5 is not allowed: expected an integer >= 1"),
    (["data.batch_size=big"], "data.batch_size='big' is not allowed"),
    (["threads=many"], "threads='many' is not allowed"),
    (["allocator=tcmalloc"], "allocator='tcmalloc' is not allowed: expected 'reuse' or 'system'"),
    # out of range, one per numeric field family
    (["model.hidden_dim=0"], "model.hidden_dim=0 is not allowed: expected an integer >= 1"),
    (["model.num_layers=0"], "model.num_layers=0 is not allowed"),
    (["model.lr=0"], "model.lr=0 is not allowed: expected a number > 0"),
    (["model.lr=-0.1"], "model.lr=-0.1 is not allowed"),
    (["data.length=0"], "data.length=0 is not allowed"),
    (["data.n=0"], "data.n=0 is not allowed"),
    (["data.n_val=0"], "data.n_val=0 is not allowed"),
    (["data.num_prob=1.5"], "data.num_prob=1.5 is not allowed: expected a number in [0, 1]"),
    (["data.batch_size=0"], "data.batch_size=0 is not allowed"),
    (["data.input_scale=0"], "data.input_scale=0 is not allowed"),
    (["threads=0"], "threads=0 is not allowed"),
    (["seed=-1"], "seed=-1 is not allowed"),
    (["trainer.max_epochs=-5"], "trainer.max_epochs=-5 is not allowed"),
    (["trainer.log_every_n_steps=0"], "trainer.log_every_n_steps=0 is not allowed"),
    (["eval.lengths=[0,4]"], "eval.lengths=[0, 4] is not allowed: expected a list of integers"),
    (["trainer.precision=fp8"], "trainer.precision='fp8' is not allowed: expected '32-true'"),
    (["data.mode=fast"], "data.mode='fast' is not allowed: expected 'torch' or 'tutorial'"),
    (["monitor.mode=up"], "monitor.mode='up' is not allowed: expected 'min' or 'max'"),
    # sizes no machine here holds (a zero too many), refused before anything is allocated
    (["data.length=10000000"], "data.n=10000, data.length=10000000: this run needs at least"),
    (["data.n=2000000000"], "data.n=2000000000, data.length=16: this run needs at least"),
    (["model.hidden_dim=30000"], "model.hidden_dim=30000, model.num_layers=1: this run needs"),
    (["model.hidden_dim=1000000"], "model.hidden_dim=1000000, model.num_layers=1: this run"),
    # contradictory settings
    (["data.min_length=20", "data.length=16"], "data.min_length=20 > data.length=16"),
    (["data.low=50", "data.high=10"], "data.low=50 > data.high=10"),
    (
        ["experiment=curriculum", "trainer.max_epochs=5"],
        "trainer.max_epochs=5 contradicts curriculum.stages, whose epochs add up to 800",
    ),
    # a value that does not resolve, a required one left out
    (["model.lr=${oops}"], "model.lr: Interpolation key 'oops' not found"),
    (["experiment=ud_pos"], "data.train_path: required; give data.train_path=..."),
    # the tagger's and the trainer's own values
    (["experiment=tagger", "model.dropout=1.5"], "model.dropout=1.5 is not allowed"),
    (
        ["experiment=tagger", "model.char_kernel=4"],
        "model.char_kernel=4 is not allowed: expected an odd",
    ),
    (
        ["experiment=tagger", "model.char_dim=-1"],
        "model.char_dim=-1 is not allowed: expected an integer >= 0",
    ),
    (
        ["experiment=ud_pos", "data.train_path=a", "data.val_path=b", "data.tag_column=deprel"],
        "data.tag_column='deprel' is not allowed: expected 'upos' or 'xpos'",
    ),
    (["trainer.devices=0"], "trainer.devices=0 is not allowed: expected a count >= 1"),
    # sweep and cluster settings
    (["-m", "hydra/launcher=slurm"], "hydra/launcher=slurm: SLURM's sbatch is not on PATH"),
    (
        ["-m", "hydra/launcher=slurm", "hydra.launcher.timeout_min=abc"],
        "hydra.launcher.timeout_min: Value 'abc' of type 'str' could not be converted",
    ),
    (
        ["-m", "hydra/launcher=local_parallel", "hydra.launcher.n_jobs=abc"],
        "hydra.launcher.n_jobs: Value 'abc' of type 'str' could not be converted",
    ),
    (["-m", "hydra/launcher=slurm", "hydra.launcher.partiton=gpu"], "hydra.launcher.partiton"),
]


EVAL_CONFIG_CASES = [
    ([], "ckpt_path: required; give ckpt_path=..."),
    (["ckpt_path=nope.ckpt"], "ckpt_path=nope.ckpt: no such file"),
]


CHECKPOINT_CASES = [
    (["seqlab-eval", "ckpt_path={junk}"], "ckpt_path={junk}: not a readable checkpoint"),
    (["seqlab-eval", "ckpt_path={cut}"], "ckpt_path={cut}: not a readable checkpoint"),
    (["seqlab-eval", "ckpt_path={sum}", "data.n_tset=5"], "data.n_tset: not a key of this"),
    (["seqlab-eval", "ckpt_path={sum}", "data.length=0"], "data.length=0 is not allowed"),
    (
        ["seqlab-train", *SMALL_SUM, "ckpt_path={tagger}"],
        "ckpt_path={tagger}: holds a seqlab.models.tagger_module.TaggerModule, this run "
        "trains a seqlab.models.regressor_module.RegressorModule",
    ),
    (
        ["seqlab-train", *SMALL_SUM, "model.hidden_dim=16", "ckpt_path={sum}"],
        "ckpt_path={sum}: weight net.lstm.weight_ih_l0 has shape (256, 1) there and (64, 1)",
    ),
    (["seqlab-train", *SMALL_SUM, "ckpt_path={junk}"], "ckpt_path={junk}: not a readable"),
    (
        ["seqlab-train", "experiment=tagger", "model.char_dim=8"],
        "model.char_dim=8: character features need data that spells words out (data=conllu)",
    ),
    (
        ["seqlab-train", "experiment=ud_pos", "data.train_path={bad_conllu}", "data.val_path=x"],
        "data.val_path=x: no such file",
    ),
    (
        [
            "seqlab-train",
            "experiment=ud_pos",
            "data.train_path={bad_conllu}",
            "data.val_path={bad_conllu}",
        ],
        "{bad_conllu}:2: a token line needs 10 tab-separated fields, found 3",
    ),
]


def without_sbatch() -> dict[str, str]:
    """The environment of a machine without SLURM, wherever the tests run."""
    path = os.environ["PATH"].split(os.pathsep)
    return {"PATH": os.pathsep.join(d for d in path if not (Path(d) / "sbatch").exists())}


@pytest.mark.parametrize("args, expected", CONFIG_CASES, ids=[" ".join(a) for a, _ in CONFIG_CASES])
def test_bad_training_config(args, expected, cli_cwd):
    env = without_sbatch() if "sbatch is not on PATH" in expected else {}
    result = run_cli(["seqlab-train", *args], cli_cwd, timeout=60, **env)
    assert_clear_failure(result, expected, cli_cwd)
    assert result.returncode == 2
    # Refused before anything trained: no run directory holds a metrics.json.
    assert not list(cli_cwd.glob("**/metrics.json"))


@pytest.mark.parametrize("args, expected", EVAL_CONFIG_CASES)
def test_bad_evaluation_config(args, expected, cli_cwd):
    result = run_cli(["seqlab-eval", *args], cli_cwd, timeout=60)
    assert_clear_failure(result, expected, cli_cwd)


@pytest.fixture(scope="module")
def checkpoints(tmp_path_factory) -> dict[str, str]:
    """A trained sum regressor and tagger, a truncated copy and a file that is no checkpoint."""
    root = tmp_path_factory.mktemp("checkpoints")
    train(compose_train([*SMALL_SUM, "trainer.max_epochs=1"], root / "sum"))
    tagger = ["experiment=tutorial_tagger", "trainer.max_epochs=1", "callbacks.tag_examples=null"]
    train(compose_train(tagger, root / "tagger"))
    sum_ckpt = root / "sum" / "checkpoints" / "last.ckpt"
    cut = root / "cut.ckpt"
    data = sum_ckpt.read_bytes()
    cut.write_bytes(data[: len(data) // 2])
    junk = root / "junk.ckpt"
    junk.write_text("not a checkpoint\n")
    bad_conllu = root / "bad.conllu"
    bad_conllu.write_text("# sent_id = 1\n1\tDogs\tdog\n\n")
    return {
        "bad_conllu": str(bad_conllu),
        "sum": str(sum_ckpt),
        "tagger": str(root / "tagger" / "checkpoints" / "last.ckpt"),
        "cut": str(cut),
        "junk": str(junk),
    }


@pytest.mark.parametrize("args, expected", CHECKPOINT_CASES)
def test_bad_checkpoint(args, expected, checkpoints, cli_cwd):
    args = [a.format(**checkpoints) for a in args]
    result = run_cli(args, cli_cwd, timeout=120)
    assert_clear_failure(result, expected.format(**checkpoints), cli_cwd)
    # The checkpoints it was given are unharmed.
    assert Path(checkpoints["sum"]).stat().st_size > Path(checkpoints["cut"]).stat().st_size


def test_unwritable_output_directory(cli_cwd):
    blocker = cli_cwd / "not_a_directory"
    blocker.write_text("a file where the output root should be\n")
    result = run_cli(["seqlab-train", *SMALL_SUM], cli_cwd, SEQLAB_OUTPUT_ROOT=str(blocker))
    assert_clear_failure(result, f"{blocker}/runs/", cli_cwd)
    assert "Not a directory" in result.stderr
    assert blocker.read_text() == "a file where the output root should be\n"
