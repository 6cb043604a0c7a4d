"""ModelCheckpoint: writes within a time budget, and links last.ckpt to best.ckpt."""

import errno
import json
import math
import os
from pathlib import Path
from typing import Any

import pytest
import torch

from seqlab.training import train
from tests.conftest import compose_train


@pytest.fixture
def checkpoint_writes(monkeypatch) -> list[str]:
    """The names of the checkpoint files written (`write_atomic`), in order, as they go."""
    import seqlab.files

    writes: list[str] = []
    write_atomic = seqlab.files.write_atomic

    def counted(path, write):
        writes.append(Path(path).name)
        write_atomic(path, write)

    monkeypatch.setattr("seqlab.checkpoints.io.write_atomic", counted)
    return writes


def test_short_epochs_write_few_checkpoints_and_keep_the_best(tmp_path, checkpoint_writes):
    """Epochs of a few ms: checkpoints are written within a 1% time budget, and best.ckpt
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


def test_checkpoints_keep_their_paths_relative_so_a_moved_run_resumes_where_it_is(tmp_path):
    from tests.conftest import SMALL_SUM

    old, new = tmp_path / "old", tmp_path / "new"
    cfg = compose_train([*SMALL_SUM, "trainer.max_epochs=2"], old)
    train(cfg)
    ckpt = torch.load(old / "checkpoints" / "last.ckpt", weights_only=True)
    [state] = [v for k, v in ckpt["callbacks"].items() if k.startswith("ModelCheckpoint")]
    assert state["dirpath"] == "." and state["best_model_path"] == "best.ckpt"
    assert state["last_model_path"] == "last.ckpt"
    metrics = json.loads((old / "metrics.json").read_text())
    (old / "metrics.json").write_text(json.dumps({**metrics, "status": "interrupted"}))
    old.rename(new)
    # Carried on in its new place for two more epochs, as if it had been stopped: it
    # resumes from, tests and records the checkpoints there.
    metrics = train(compose_train([*SMALL_SUM, "trainer.max_epochs=4"], new))
    assert metrics["status"] == "completed" and metrics["epochs"] == 4
    assert metrics["checkpoints"] == {
        "best": "checkpoints/best.ckpt",
        "last": "checkpoints/last.ckpt",
    }
    assert metrics["resumed_from"] == "checkpoints/last.ckpt"
