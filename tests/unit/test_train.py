"""train() end to end, in-process, on shrunk configs."""

import json
import math
import os
import signal

import lightning
import lightning as L
import pytest
import torch

import seqlab
from seqlab.models.tagger_module import TaggerModule
from seqlab.training import train
from tests.conftest import (
    QUIET,
    REPO,
    SMALL_SUM,
    assert_run_contract,
    compose_train,
    read_tensorboard,
    tensorboard_hparams,
)


def test_tutorial_sum_reproduces_the_notebooks_losses(tmp_path):
    # The notebook printed: "Epoch: 1 ... Loss: 7034.8" and "Epoch: 10 ... Loss: 5015.2".
    cfg = compose_train(
        ["experiment=tutorial_sum", "trainer.max_epochs=10", "test_after_fit=false"], tmp_path
    )
    metrics = train(cfg)
    losses = {row["epoch"]: row["train/loss"] for row in metrics["history"]}
    assert losses[1] == pytest.approx(7034.8, rel=5e-3)
    assert losses[10] == pytest.approx(5015.2, rel=5e-3)
    assert metrics["epochs"] == 10 and metrics["global_step"] == 10  # one full batch per epoch


def test_tutorial_tagger_tags_both_sentences(tmp_path):
    metrics = train(compose_train(["experiment=tutorial_tagger"], tmp_path))
    assert metrics["epochs"] == 300 and metrics["global_step"] == 600  # one sentence per step
    assert metrics["final"]["test/acc"] == 1.0
    model = TaggerModule.load_from_checkpoint(tmp_path / "checkpoints" / "last.ckpt")
    tagged = model.tag(["The dog ate the apple".split(), "the book ate the apple".split()])
    assert tagged == [["DET", "NN", "V", "DET", "NN"]] * 2
    # The same tags were printed and logged to TensorBoard as text at the end of training.
    acc = read_tensorboard(tmp_path / "tensorboard")
    text_tags = acc.Tags()["tensors"]
    assert "examples/tagged/text_summary" in text_tags
    text = acc.Tensors("examples/tagged/text_summary")[-1].tensor_proto.string_val[0].decode()
    assert "The/DET dog/NN ate/V the/DET apple/NN" in text
    assert "the/DET book/NN ate/V the/DET apple/NN" in text


def test_sum_run_directory_and_tensorboard(tmp_path):
    cfg = compose_train(SMALL_SUM, tmp_path)
    metrics = train(cfg)
    assert_run_contract(tmp_path, by_hydra=False)
    assert set(metrics["final"]) >= {"train/loss", "val/loss", "val/mse", "test/loss", "test/mse"}
    # val/mse is in original units: the scaled loss divided by target_scale**2.
    assert cfg.data.target_scale != 1
    assert metrics["final"]["val/mse"] == pytest.approx(
        metrics["final"]["val/loss"] / cfg.data.target_scale**2, rel=1e-4
    )
    assert [row["epoch"] for row in metrics["history"]] == [1, 2]
    # What produced the run: seqlab's code, the libraries, the device.
    provenance = metrics["provenance"]
    assert provenance["torch"] == torch.__version__  # e.g. 2.13.0+cpu, as pip installed it
    assert provenance["lightning"] == lightning.__version__
    assert provenance["seqlab"] == seqlab.__version__ and provenance["hydra-core"]
    if (REPO / ".git").exists():  # a checkout: its commit, and whether it was changed
        assert len(provenance["git"]["commit"]) == 40
        assert isinstance(provenance["git"]["dirty"], bool)
    assert metrics["device"].startswith("cpu")
    best = min(row["val/loss"] for row in metrics["history"])
    assert metrics["best"]["val/loss"] == best

    acc = read_tensorboard(tmp_path / "tensorboard")
    scalars = set(acc.Tags()["scalars"])
    curves = {"train/loss_step", "train/loss_epoch", "val/loss", "val/mse"}
    assert curves | {"~results/best val/mse", "~results/final val/mse"} <= scalars
    # The best monitored value: for the regressor the MSE in original units.
    assert metrics["monitor"] == "val/mse"
    best = acc.Scalars("~results/best val/mse")[-1].value
    assert best == pytest.approx(metrics["best"]["val/mse"])
    # Epoch metrics at their epoch (as metrics.json counts), per-step values at the step.
    epochs = [row["epoch"] for row in metrics["history"]]
    assert [e.step for e in acc.Scalars("val/mse")] == epochs
    assert [e.step for e in acc.Scalars("train/loss_epoch")] == epochs
    assert acc.Scalars("train/loss_step")[-1].step == metrics["global_step"] - 1
    hparams = tensorboard_hparams(acc)
    assert hparams["model.hidden_dim"] == 64 and hparams["data.length"] == 4
    assert "val/predictions" in acc.Tags()["images"]
    assert (tmp_path / "predictions.png").stat().st_size > 0

    # The checkpoint carries the resolved config, so it can be evaluated on its own.
    ckpt = torch.load(tmp_path / "checkpoints" / "best.ckpt", weights_only=True)
    assert ckpt["seqlab_config"]["data"]["length"] == 4


def test_same_config_and_seed_give_the_same_numbers(tmp_path):
    first = train(compose_train(SMALL_SUM, tmp_path / "a"))
    second = train(compose_train(SMALL_SUM, tmp_path / "b"))
    other = train(compose_train([*SMALL_SUM, "seed=99"], tmp_path / "c"))
    assert first["final"] == second["final"]
    assert first["final"] != other["final"]


def test_failure_is_recorded_in_metrics_json(tmp_path):
    cfg = compose_train(
        [*SMALL_SUM, "model.optimizer._target_=torch.optim.NoSuchOptimizer"], tmp_path
    )
    with pytest.raises(Exception, match="NoSuchOptimizer"):
        train(cfg)
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics["status"] == "failed" and "NoSuchOptimizer" in metrics["error"]


def test_batched_tagger_with_padding_trains(tmp_path):
    metrics = train(compose_train(["experiment=tagger", "trainer.max_epochs=60"], tmp_path))
    assert metrics["status"] == "completed"
    assert metrics["final"]["val/acc"] == 1.0
    assert math.isfinite(metrics["best"]["val/loss"])


def test_history_keeps_every_epoch_when_the_best_is_an_early_one(tmp_path):
    # Testing restores the best checkpoint, callbacks' states included; the history written
    # to metrics.json must still be fit's whole history, not the best epoch's.
    cfg = compose_train([*SMALL_SUM, "trainer.max_epochs=3", "monitor.mode=max"], tmp_path)
    metrics = train(cfg)
    assert metrics["best"]["epoch"] == 1  # the highest loss: the first epoch
    assert [row["epoch"] for row in metrics["history"]] == [1, 2, 3]


def test_validation_inside_an_epoch_leaves_the_training_means_whole(tmp_path):
    """With validation twice an epoch (`val_check_interval=0.5`), the epoch's training
    loss is still the mean over all of its batches: the same number as with validation
    at the epoch's end only (validation changes no weight and draws nothing)."""
    small = [*SMALL_SUM, "data.batch_size=32", "callbacks.prediction_plot=null"]
    whole = train(compose_train(small, tmp_path / "end"))
    twice = train(compose_train([*small, "+trainer.val_check_interval=0.5"], tmp_path / "mid"))
    for got, want in zip(twice["history"], whole["history"], strict=True):
        assert got["train/loss"] == want["train/loss"]
        assert got["train/mse"] == want["train/mse"]


SMALL = [*SMALL_SUM, *QUIET]


class SigtermAt(L.Callback):
    """Sends its own process SIGTERM at the end of epoch `epoch`, as SLURM does to a job it
    requeues, preempts or cancels."""

    def __init__(self, epoch: int) -> None:
        self.epoch = epoch

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if trainer.current_epoch + 1 == self.epoch:
            os.kill(os.getpid(), signal.SIGTERM)


@pytest.mark.parametrize("stop_at", [3, 6])
def test_a_run_stopped_by_sigterm_says_so_and_resumes(tmp_path, stop_at):
    """SIGTERM (a SLURM requeue): Lightning stops at the next step; metrics.json says
    `interrupted`, with the epochs trained. Started again, the run resumes; `attempts`
    counts both starts and `wall_s` adds up their times. Stopped after its last epoch (in
    its test), the resumed run trains nothing and still reports its final epoch."""
    args = [*SMALL, "trainer.max_epochs=6"]
    sigterm = [f"+callbacks.sigterm._target_={__name__}.SigtermAt"]
    sigterm.append(f"+callbacks.sigterm.epoch={stop_at}")
    with pytest.raises(SystemExit):  # Lightning's SIGTERMException
        train(compose_train([*args, *sigterm], tmp_path))
    stopped = json.loads((tmp_path / "metrics.json").read_text())
    assert stopped["status"] == "interrupted" and stopped["interrupted_by"] == "SIGTERM"
    assert [row["epoch"] for row in stopped["history"]] == list(range(1, stop_at + 1))
    assert stopped["best"]["epoch"] <= stop_at
    assert stopped["attempts"] == 1 and stopped["wall_s"] > 0

    metrics = train(compose_train(args, tmp_path))
    assert metrics["status"] == "completed" and metrics["attempts"] == 2
    assert 1 <= metrics["resumed_after_epoch"] <= stop_at
    assert [row["epoch"] for row in metrics["history"]] == [1, 2, 3, 4, 5, 6]
    last = metrics["history"][-1]
    for key in ("train/loss", "val/loss", "val/mse"):
        assert metrics["final"][key] == last[key], key
    assert "test/mse" in metrics["final"]
    assert metrics["wall_s"] > stopped["wall_s"]


def test_only_rank_zero_writes_metrics(tmp_path, monkeypatch):
    from lightning.pytorch.utilities import rank_zero_only

    monkeypatch.setattr(rank_zero_only, "rank", 1)
    metrics = train(compose_train([*SMALL, "trainer.max_epochs=1"], tmp_path))
    assert metrics["status"] == "completed"
    assert not (tmp_path / "metrics.json").exists()
