"""Config composition: experiments, presets, resolvers, threads (no torch needed)."""

from __future__ import annotations

from pathlib import Path

import pytest
from omegaconf import OmegaConf

from seqlab.checks import validate
from seqlab.config import CONFIG_DIR, resolve_threads
from tests.conftest import compose_train

EXPERIMENTS = sorted(p.stem for p in (Path(CONFIG_DIR) / "experiment").glob("*.yaml"))


def test_all_four_experiments_exist():
    assert {"sum", "tagger", "tutorial_sum", "tutorial_tagger"} <= set(EXPERIMENTS)


# Values an experiment leaves for the command line (???).
REQUIRED = {"ud_pos": ["data.train_path=train.conllu", "data.val_path=dev.conllu"]}


@pytest.mark.parametrize("experiment", EXPERIMENTS)
def test_every_experiment_composes_resolves_and_validates(experiment, tmp_path):
    required = REQUIRED.get(experiment, [])
    cfg = compose_train([f"experiment={experiment}", *required], tmp_path)
    OmegaConf.resolve(cfg)
    validate(cfg)
    assert cfg.model._target_.startswith("seqlab.models.")
    assert cfg.data._target_.startswith("seqlab.data.")
    assert "hidden_dim" in cfg.model and "lr" in cfg.model


def test_the_four_sweep_axes_exist_where_they_apply(tmp_path):
    cfg = compose_train(
        [
            "experiment=tutorial_sum",
            "model.hidden_dim=8",
            "model.lr=0.5",
            "data.length=4",
            "data.n=10000",
        ],
        tmp_path,
    )
    assert (cfg.model.hidden_dim, cfg.model.lr, cfg.data.length, cfg.data.n) == (8, 0.5, 4, 10000)
    tagger = compose_train(
        ["experiment=tutorial_tagger", "model.hidden_dim=8", "model.lr=0.5"], tmp_path
    )
    assert "length" not in tagger.data and "n" not in tagger.data


def test_tutorial_presets_are_the_notebooks_settings(tmp_path):
    s = compose_train(["experiment=tutorial_sum"], tmp_path)
    assert (s.model.hidden_dim, s.model.lr, s.model.optimizer._target_) == (
        64,
        0.1,
        "torch.optim.Adam",
    )
    assert (s.data.n, s.data.length, s.data.num_prob, s.data.batch_size) == (1000, 2, 1.0, None)
    assert s.data.mode == "tutorial" and s.trainer.max_epochs == 100 and s.seed == 1
    assert s.callbacks.early_stopping.stopping_threshold == 1.0
    assert s.callbacks.early_stopping.monitor == "train/loss_epoch"
    t = compose_train(["experiment=tutorial_tagger"], tmp_path)
    assert (t.model.embedding_dim, t.model.hidden_dim, t.model.lr) == (6, 6, 0.1)
    assert t.model.optimizer._target_ == "torch.optim.SGD"
    assert t.trainer.max_epochs == 300 and t.data.batch_size == 1


def test_curriculum_epochs_are_the_stages_epochs(tmp_path):
    stages = "[{length: 2, epochs: 3}, {length: 4, epochs: 4}]"
    cfg = compose_train(["experiment=curriculum", f"curriculum.stages={stages}"], tmp_path)
    assert cfg.trainer.max_epochs == 7


def test_threads_auto_splits_cores_between_parallel_jobs(monkeypatch):
    monkeypatch.setattr("seqlab.config.available_cores", lambda: 8)
    assert resolve_threads("auto") == 8
    assert resolve_threads("auto", parallel_jobs=4) == 2
    assert resolve_threads("auto", parallel_jobs=16) == 1
    assert resolve_threads(3, parallel_jobs=4) == 3


def test_each_model_sets_its_monitor_and_an_experiment_may_change_it(tmp_path):
    monitors = {
        experiment: compose_train([f"experiment={experiment}"], tmp_path).monitor
        for experiment in ("sum", "tutorial_sum", "curriculum", "tagger", "tutorial_tagger")
    }
    regressor = {"metric": "val/mse", "mode": "min"}
    tagger = {"metric": "val/loss", "mode": "min"}
    assert monitors == {
        "sum": regressor,
        "tutorial_sum": regressor,
        "curriculum": regressor,
        "tagger": tagger,
        "tutorial_tagger": tagger,
    }
    ud = ["experiment=ud_pos", "data.train_path=a", "data.val_path=b"]
    assert compose_train(ud, tmp_path).monitor == {"metric": "val/acc", "mode": "max"}
    changed = compose_train(["experiment=sum", "monitor.metric=val/loss"], tmp_path).monitor
    assert changed.metric == "val/loss" and changed.mode == "min"


def test_every_configured_callback_can_be_switched_off(tmp_path):
    """All callbacks but the run contract's come from conf/callbacks/: none is wired in code."""
    from seqlab.training import contract_callbacks

    cfg = compose_train(["experiment=sum"], tmp_path)
    every = set(cfg.callbacks)
    assert {"model_checkpoint", "early_stopping", "divergence_guard", "trial_pruning"} <= every
    off = compose_train(["experiment=sum", *(f"callbacks.{name}=null" for name in every)], tmp_path)
    assert all(node is None for node in off.callbacks.values())
    history, config_keeper = contract_callbacks(off)
    assert history.monitor == "val/mse" and config_keeper.config["model"] == dict(off.model)
