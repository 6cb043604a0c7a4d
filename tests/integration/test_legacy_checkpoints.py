"""Checkpoints written before the package was reorganised (tests/fixtures/seqlab-0.1.0),
through the CLI."""

from __future__ import annotations

import json

import pytest

from tests.conftest import REPO, run_cli

LEGACY = REPO / "tests" / "fixtures" / "seqlab-0.1.0"


@pytest.mark.slow  # make test-faults: an evaluation of a full test set
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
