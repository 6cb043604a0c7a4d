"""DivergenceGuard: a run that diverges stops and keeps its last good checkpoint."""

from __future__ import annotations

import lightning as L
import torch

from seqlab.training import train
from tests.conftest import SMALL_SUM, compose_train


class PoisonWeights(L.Callback):
    """Sets the model's weights to NaN when epoch `at` starts (1-based)."""

    def __init__(self, at: int) -> None:
        self.at = at

    def on_train_epoch_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if trainer.current_epoch + 1 == self.at:
            with torch.no_grad():
                for p in pl_module.parameters():
                    p.fill_(float("nan"))


def test_divergence_stops_the_run_and_keeps_the_last_good_checkpoint(tmp_path):
    cfg = compose_train(
        [
            *SMALL_SUM,
            "trainer.max_epochs=5",
            f"+callbacks.poison._target_={__name__}.PoisonWeights",
            "+callbacks.poison.at=3",
        ],
        tmp_path,
    )
    metrics = train(cfg)
    assert metrics["status"] == "diverged"
    assert metrics["diverged_at"]["epoch"] == 3
    assert [row["epoch"] for row in metrics["history"]] == [1, 2, 3]
    for name in ("last", "best"):
        ckpt = torch.load(tmp_path / metrics["checkpoints"][name], weights_only=True)
        assert ckpt["epoch"] + 1 <= 2, name  # written before the weights went bad
        assert all(torch.isfinite(t).all() for t in ckpt["state_dict"].values())


def test_without_the_guard_a_diverged_run_trains_on_and_is_still_marked_diverged(tmp_path):
    """DivergenceGuard is a configured callback: switched off, nothing stops the run, and
    its non-finite final loss still marks it diverged."""
    cfg = compose_train(
        [
            *SMALL_SUM,
            "trainer.max_epochs=4",
            "callbacks.divergence_guard=null",
            "callbacks.early_stopping=null",
            f"+callbacks.poison._target_={__name__}.PoisonWeights",
            "+callbacks.poison.at=3",
        ],
        tmp_path,
    )
    metrics = train(cfg)
    assert metrics["status"] == "diverged"
    assert metrics["diverged_at"] is None  # no guard said where
    assert [row["epoch"] for row in metrics["history"]] == [1, 2, 3, 4]
