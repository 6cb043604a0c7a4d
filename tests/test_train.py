"""train() end to end, in-process, on shrunk configs."""

import errno
import math
import os
from pathlib import Path
from typing import Any

import lightning
import pytest
import torch
from hydra import compose, initialize_config_dir
from omegaconf import OmegaConf, open_dict

import seqlab
from seqlab.build import build_all
from seqlab.config import CONFIG_DIR, register_resolvers
from seqlab.models.tagger_module import TaggerModule
from seqlab.train import train
from tests.conftest import (
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
    assert {"train/loss_step", "train/loss_epoch", "val/loss", "val/mse", "hp_metric"} <= scalars
    # hp_metric is the best monitored value: for the regressor the MSE in original units.
    assert metrics["monitor"] == "val/mse"
    assert acc.Scalars("hp_metric")[-1].value == pytest.approx(metrics["best"]["val/mse"])
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
    metrics = (tmp_path / "metrics.json").read_text()
    assert '"status": "failed"' in metrics and "NoSuchOptimizer" in metrics


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


def test_weight_ema_is_what_validation_checkpoints_and_testing_use(tmp_path):
    from seqlab.evaluate import evaluate

    cfg = compose_train(
        [
            *SMALL_SUM,
            "trainer.max_epochs=3",
            "callbacks=[default,weight_ema]",
            "callbacks.weight_ema.decay=0.9",
        ],
        tmp_path / "run",
    )
    metrics = train(cfg)
    ckpt = torch.load(tmp_path / "run" / "checkpoints" / "best.ckpt", weights_only=True)
    average, raw = ckpt["state_dict"], ckpt["current_model_state"]
    assert any(not torch.equal(average[k], raw[k]) for k in average)
    # The run's test used the best checkpoint's average, as evaluating that file does.
    best = tmp_path / "run" / "checkpoints" / "best.ckpt"
    register_resolvers()
    with initialize_config_dir(config_dir=CONFIG_DIR, version_base="1.3"):
        eval_cfg = compose("eval", [f"ckpt_path={best}", "trainer.enable_progress_bar=false"])
    with open_dict(eval_cfg):
        eval_cfg.paths.output_dir = str(tmp_path / "eval")
    evaluated = evaluate(eval_cfg)
    assert evaluated["test"]["test/mse"] == pytest.approx(metrics["final"]["test/mse"], rel=1e-6)


@pytest.fixture
def checkpoint_writes(monkeypatch) -> list[str]:
    """The names of the checkpoint files written (`write_atomic`), in order, as they go."""
    import seqlab.rundir

    writes: list[str] = []
    write_atomic = seqlab.rundir.write_atomic

    def counted(path, write):
        writes.append(Path(path).name)
        write_atomic(path, write)

    monkeypatch.setattr("seqlab.checkpoints.io.write_atomic", counted)
    return writes


def test_short_epochs_write_few_checkpoints_and_keep_the_best(tmp_path, checkpoint_writes):
    """Epochs of a few ms: checkpoints are written within a 5% time budget, and best.ckpt
    and last.ckpt still hold the best and the final epoch's state, as when every save is
    written."""
    writes = checkpoint_writes
    quick = ["experiment=tutorial_sum", "trainer.max_epochs=60", "test_after_fit=false"]
    unbudgeted = [*quick, "callbacks.model_checkpoint.max_overhead=1e9"]
    every = train(compose_train(unbudgeted, tmp_path / "a"))
    all_writes, writes[:] = list(writes), []
    budgeted = train(compose_train(quick, tmp_path / "b"))
    assert every["final"] == budgeted["final"]
    timed = ("epoch_s",)  # wall time, which differs between any two runs
    assert {k: v for k, v in every["best"].items() if k not in timed} == {
        k: v for k, v in budgeted["best"].items() if k not in timed
    }
    assert all_writes.count("best.ckpt") >= 30  # the loss falls at most epochs
    assert len(writes) <= len(all_writes) / 3, (len(writes), len(all_writes))
    runs = (tmp_path / "a", tmp_path / "b")
    best = [torch.load(d / "checkpoints" / "best.ckpt", weights_only=True) for d in runs]
    assert best[0]["epoch"] == best[1]["epoch"] == every["best"]["epoch"] - 1
    for name, tensor in best[0]["state_dict"].items():
        assert torch.equal(tensor, best[1]["state_dict"][name]), name
    last = [torch.load(d / "checkpoints" / "last.ckpt", weights_only=True) for d in runs]
    assert last[0]["epoch"] == last[1]["epoch"] == 59
    assert last[0]["loops"] == last[1]["loops"]
    for name, tensor in last[0]["state_dict"].items():
        assert torch.equal(tensor, last[1]["state_dict"][name]), name


def _same_checkpoint(a: Any, b: Any, a_dir: str, b_dir: str) -> bool:
    """Whether two checkpoints hold the same values: paths compared relative to their run,
    epoch wall times (`epoch_s`, which differ between any two runs) left out."""
    if isinstance(a, torch.Tensor):
        return isinstance(b, torch.Tensor) and torch.equal(a, b)
    if isinstance(a, dict):
        keys = {k.replace(a_dir, b_dir) if isinstance(k, str) else k: k for k in a}
        return (
            isinstance(b, dict)
            and keys.keys() == b.keys()
            and all(
                _same_checkpoint(a[k], b[ours], a_dir, b_dir)
                for ours, k in keys.items()
                if ours != "epoch_s"
            )
        )
    if isinstance(a, (list, tuple)):
        return (
            type(a) is type(b)
            and len(a) == len(b)
            and all(_same_checkpoint(x, y, a_dir, b_dir) for x, y in zip(a, b, strict=True))
        )
    if isinstance(a, str):
        return isinstance(b, str) and a.replace(a_dir, b_dir) == b
    if isinstance(a, float) and math.isnan(a):
        return isinstance(b, float) and math.isnan(b)
    return a == b


@pytest.mark.parametrize(("lr", "best_is_last"), [(0.5, True), (2.0, False)])
def test_last_ckpt_of_an_epoch_with_a_new_best_is_a_link_holding_what_a_write_holds(
    tmp_path, monkeypatch, checkpoint_writes, lr, best_is_last
):
    """In an epoch that writes a new best.ckpt, last.ckpt becomes a hard link to it: one
    write instead of two. Both files end up holding exactly what they hold when hard links
    are unavailable and every save is written (lr 0.5: the val MSE falls every epoch; lr 2:
    it rises in epochs 9, 10 and 12, which write last.ckpt alone)."""
    writes = checkpoint_writes
    every = [
        "experiment=tutorial_sum",
        "trainer.max_epochs=12",
        f"model.lr={lr}",
        "test_after_fit=false",
        "callbacks.prediction_plot=null",
        "callbacks.model_checkpoint.max_overhead=1e9",
    ]
    linked = train(compose_train(every, tmp_path / "linked"))
    linked_writes, writes[:] = list(writes), []

    def no_hard_links(source, target):
        raise OSError(errno.EPERM, "hard links are not supported here")

    monkeypatch.setattr(os, "link", no_hard_links)
    written = train(compose_train(every, tmp_path / "written"))
    assert linked["history"][-1]["val/mse"] == written["history"][-1]["val/mse"]
    improved = [
        r["epoch"]
        for r in written["history"]
        if r["val/mse"] == min(q["val/mse"] for q in written["history"][: r["epoch"]])
    ]
    assert writes.count("best.ckpt") == linked_writes.count("best.ckpt") == len(improved)
    assert writes.count("last.ckpt") == 12
    # Epoch 1 writes last.ckpt (its best was saved before last.ckpt had a path); every
    # later epoch with a new best links it.
    assert linked_writes.count("last.ckpt") == 12 - len([e for e in improved if e > 1])
    a, b = tmp_path / "linked" / "checkpoints", tmp_path / "written" / "checkpoints"
    assert (a / "last.ckpt").samefile(a / "best.ckpt") == best_is_last
    assert not (b / "last.ckpt").samefile(b / "best.ckpt")
    for name in ("best.ckpt", "last.ckpt"):
        ours, theirs = (torch.load(d / name, weights_only=True) for d in (a, b))
        assert _same_checkpoint(ours, theirs, str(tmp_path / "linked"), str(tmp_path / "written"))
    assert written["best"]["epoch"] == linked["best"]["epoch"]
    assert (written["best"]["epoch"] == 12) == best_is_last


@pytest.mark.parametrize(
    ("overrides", "shown"),
    [
        (["trainer.enable_progress_bar=true", "callbacks.progress_bar.refresh_rate=10"], True),
        (["trainer.enable_progress_bar=true", "callbacks.progress_bar=null"], False),
        (["trainer.enable_progress_bar=false", "callbacks.progress_bar.refresh_rate=10"], False),
    ],
)
def test_progress_bar_shows_only_when_configured(tmp_path, overrides, shown):
    """callbacks.progress_bar=null alone turns the bar off: Lightning adds no default bar of
    its own (its redraw thread slowed small jobs by a tenth), and enable_progress_bar=false
    with the callback still set is no error."""
    from lightning.pytorch.callbacks import ProgressBar

    from seqlab.build import build_trainer

    cfg = compose_train(["experiment=sum"], tmp_path)
    with open_dict(cfg):  # QUIET turns the bar off; put back what the test sets
        cfg.callbacks.progress_bar = {
            "_target_": "lightning.pytorch.callbacks.RichProgressBar",
            "refresh_rate": 1,
        }
    cfg = OmegaConf.merge(cfg, OmegaConf.from_dotlist(overrides))
    trainer = build_trainer(cfg, build_all(cfg.callbacks), [])
    bars = [c for c in trainer.callbacks if isinstance(c, ProgressBar)]
    assert (trainer.progress_bar_callback is not None) == shown
    assert len(bars) == int(shown)
    if shown:
        assert bars[0].refresh_rate == 10


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
