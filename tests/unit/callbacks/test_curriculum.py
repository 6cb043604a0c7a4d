"""Curriculum: training through its stages, and what it records."""

import csv

import pytest

from seqlab.training import train
from tests.conftest import compose_train, read_tensorboard


def test_curriculum_trains_through_its_stages(tmp_path):
    stages = (
        "[{length: 2, epochs: 3, n: 64}, {length: 4, epochs: 2, n: 64}, {length: 8, epochs: 2}]"
    )
    cfg = compose_train(
        ["experiment=curriculum", f"curriculum.stages={stages}", "data.n_val=64", "data.n_test=64"],
        tmp_path,
    )
    metrics = train(cfg)
    assert metrics["epochs"] == 7  # the stages' epochs, whatever trainer.max_epochs said
    with (tmp_path / "curriculum.csv").open() as f:
        rows = list(csv.DictReader(f))
    assert [(int(r["length"]), int(r["epochs"]), int(r["n"])) for r in rows] == [
        (2, 3, 64),
        (4, 2, 64),
        (8, 2, 64),
    ]
    history = {row["epoch"]: row["train/loss"] for row in metrics["history"]}
    assert [float(r["train_loss"]) for r in rows] == pytest.approx(
        [history[3], history[5], history[7]]
    )
    assert (tmp_path / "curriculum.png").stat().st_size > 0
    acc = read_tensorboard(tmp_path / "tensorboard")
    assert [e.step for e in acc.Scalars("curriculum/final_train_loss")] == [2, 4, 8]
    assert "curriculum/loss_by_length" in acc.Tags()["images"]
