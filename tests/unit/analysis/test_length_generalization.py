"""LengthGeneralization after training: rows, files, TensorBoard."""

import csv

import pytest

from seqlab.training import train
from tests.conftest import LONGER_TEST_SUM, compose_train, read_tensorboard


def test_length_generalization_after_training(tmp_path):
    cfg = compose_train([*LONGER_TEST_SUM, "eval.lengths=[2,4,8]", "eval.n=200"], tmp_path)
    metrics = train(cfg)
    rows = metrics["length_generalization"]
    assert [r["length"] for r in rows] == [2, 4, 8]
    # At the trained length with n = n_test, the sequences are the run's own test set.
    at_4 = rows[1]
    assert at_4["mse"] == pytest.approx(metrics["final"]["test/mse"], rel=1e-4)
    assert all(r["mse_zero"] > 0 and r["std"] >= 0 for r in rows)
    with (tmp_path / "length_generalization.csv").open() as f:
        assert [int(r["length"]) for r in csv.DictReader(f)] == [2, 4, 8]
    assert "| 8 |" in (tmp_path / "length_generalization.md").read_text()
    assert (tmp_path / "length_generalization.png").stat().st_size > 0
    acc = read_tensorboard(tmp_path / "tensorboard")
    assert "length_generalization/mse" in acc.Tags()["images"]
    assert [e.step for e in acc.Scalars("length_generalization/mse_by_length")] == [2, 4, 8]
