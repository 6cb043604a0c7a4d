"""Config composition and validation (no torch needed)."""

from pathlib import Path

import pytest
from omegaconf import OmegaConf

from seqlab.checks import Rule, validate
from seqlab.config import CONFIG_DIR, ConfigError, resolve_threads
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


@pytest.mark.parametrize(
    "override, key",
    [
        ("model.hidden_dim=0", "model.hidden_dim"),
        ("model.hidden_dim=2.5", "model.hidden_dim"),
        ("model.lr=0", "model.lr"),
        ("model.lr=-1", "model.lr"),
        ("model.lr=abc", "model.lr"),
        ("data.length=0", "data.length"),
        ("data.n=0", "data.n"),
        ("data.num_prob=1.5", "data.num_prob"),
        ("data.num_prob=-0.1", "data.num_prob"),
        ("data.batch_size=0", "data.batch_size"),
        ("data.mode=fast", "data.mode"),
        ("threads=0", "threads"),
        ("monitor.mode=up", "monitor.mode"),
    ],
)
def test_bad_values_name_the_key_and_what_is_allowed(override, key, tmp_path):
    cfg = compose_train([override], tmp_path)
    with pytest.raises(ConfigError) as err:
        validate(cfg)
    message = str(err.value)
    assert message.startswith(f"{key}=") and "expected" in message and "\n" not in message


def test_contradictory_range_is_rejected(tmp_path):
    with pytest.raises(ConfigError, match="data.low=5 > data.high=1"):
        validate(compose_train(["data.low=5", "data.high=1"], tmp_path))


def test_rule_descriptions():
    assert Rule(int, low=1).allowed() == "an integer >= 1"
    assert Rule(float, low=0, high=1).allowed() == "a number in [0, 1]"
    assert Rule(float, low=0, low_open=True).allowed() == "a number > 0"
    assert Rule(int, low=1, optional=True).allowed() == "an integer >= 1 or null"
    assert not Rule(int, low=1).ok(True)  # a bool is not an integer here


def test_threads_auto_splits_cores_between_parallel_jobs(monkeypatch):
    monkeypatch.setattr("seqlab.config.available_cores", lambda: 8)
    assert resolve_threads("auto") == 8
    assert resolve_threads("auto", parallel_jobs=4) == 2
    assert resolve_threads("auto", parallel_jobs=16) == 1
    assert resolve_threads(3, parallel_jobs=4) == 3
