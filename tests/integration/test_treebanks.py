"""CoNLL-U treebanks through the CLI: bad files refused before torch, and a
BiLSTM-CNN-CRF trained, evaluated on any file and used to tag."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from seqlab.data.conllu_reader import read_conllu
from tests.conftest import (
    QUIET,
    TREEBANK,
    assert_run_contract,
    make_treebank,
    run_cli,
    write_conllu,
)

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


def bad_treebank_cases(tmp_path: Path) -> list[tuple[list[str], str]]:
    """seqlab-train's arguments for bad treebank files written under `tmp_path`, each with
    the error it must report."""
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
    return [
        (["experiment=ud_pos", f"data.train_path={train}", f"data.val_path={val}"], expected)
        for (train, val), expected in cases
    ]


def test_bad_treebank_files_are_reported_before_torch(tmp_path):
    for args, expected in bad_treebank_cases(tmp_path):
        checked = subprocess.run(
            [sys.executable, "-c", CHECK_ONLY, *args], capture_output=True, text=True, timeout=60
        )
        assert f"ERROR {expected}" in checked.stdout, checked.stdout + checked.stderr
        assert "HEAVY []" in checked.stdout
        result = run_cli(["seqlab-train", *args], tmp_path, timeout=60)
        assert (
            result.returncode == 2 and result.stderr.strip() == f"seqlab-train: error: {expected}"
        )
    assert not list(tmp_path.glob("**/metrics.json"))


@pytest.mark.slow  # make test-faults: training on the real treebank
def test_ud_pos_trains_evaluates_any_file_and_tags_with_the_checkpoint(tmp_path):

    train_path = make_treebank(tmp_path, "train.conllu", TREEBANK * 4)
    dev_path = make_treebank(tmp_path, "dev.conllu", TREEBANK[:2])
    run_dir = tmp_path / "run"
    args = [
        "experiment=ud_pos",
        f"data.train_path={train_path}",
        f"data.val_path={dev_path}",
        "data.min_freq=1",
        "model.embedding_dim=16",
        "model.hidden_dim=16",
        "model.char_dim=8",
        "model.char_filters=8",
        "model.lr=0.05",
        "trainer.max_epochs=25",
        "callbacks.early_stopping=null",
        "seed=3",
        f"hydra.run.dir={run_dir}",
        *QUIET,
    ]
    result = run_cli(["seqlab-train", *args], tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    metrics = assert_run_contract(run_dir)
    assert metrics["best"]["val/acc"] == 1.0  # the dev sentences are training sentences
    assert "test/acc" not in metrics["final"]  # no test file given: nothing tested
    assert metrics["best"]["val/acc_by_tag/NOUN"] == 1.0
    assert {r["epoch"] for r in metrics["history"]} == set(range(1, 26))

    # Evaluate on another file, with the training files gone: the vocabularies come from
    # the checkpoint. "old" and "saw" occur once in training; "Cats" and "tiny" never.
    ckpt = run_dir / metrics["checkpoints"]["best"]
    train_path.unlink()
    other = make_treebank(
        tmp_path,
        "other.conllu",
        [
            "The/DET old/ADJ dog/NOUN saw/VERB ./PUNCT",
            "Cats/NOUN sleeps/VERB",
            "A/DET tiny/ADJ cat/NOUN",
        ],
    )
    eval_dir = tmp_path / "eval"
    args = [f"ckpt_path={ckpt}", f"data.test_path={other}", f"hydra.run.dir={eval_dir}"]
    result = run_cli(["seqlab-eval", *args, "trainer.enable_progress_bar=false"], tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    evaluated = json.loads((eval_dir / "metrics.json").read_text())
    by_tag = evaluated["test_by_tag"]
    assert {tag: row["tokens"] for tag, row in by_tag.items()} == {
        "ADJ": 2,
        "DET": 2,
        "NOUN": 3,
        "PUNCT": 1,
        "VERB": 2,
    }
    for tag, row in by_tag.items():
        assert evaluated["test"][f"test/acc_by_tag/{tag}"] == pytest.approx(row["acc"])
    overall = sum(row["acc"] * row["tokens"] for row in by_tag.values()) / 10
    assert evaluated["test"]["test/acc"] == pytest.approx(overall)
    confusion = (eval_dir / "confusion_test.csv").read_text().splitlines()
    assert confusion[0] == "gold \\ predicted,ADJ,DET,NOUN,PUNCT,VERB"
    assert sum(int(n) for line in confusion[1:] for n in line.split(",")[1:]) == 10
    assert (eval_dir / "confusion_test.png").stat().st_size > 0

    tagged = run_cli(["seqlab-tag", str(ckpt), "The dog barks .", "A cat sleeps"], tmp_path)
    assert tagged.returncode == 0, tagged.stderr[-3000:]
    assert tagged.stdout.splitlines() == [
        "The/DET dog/NOUN barks/VERB ./PUNCT",
        "A/DET cat/NOUN sleeps/VERB",
    ]
    conllu = run_cli(["seqlab-tag", str(ckpt), "--format", "conllu", "A cat sleeps"], tmp_path)
    assert "1\tA\t_\tDET\t" in conllu.stdout and "3\tsleeps\t_\tVERB\t" in conllu.stdout
    sentences = read_conllu(write_conllu(tmp_path, conllu.stdout, "tagged.conllu"))
    assert sentences[0].tags == ["DET", "NOUN", "VERB"]
