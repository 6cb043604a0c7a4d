"""Runs too big for the memory there is are refused before anything is allocated."""

from __future__ import annotations

import pytest

from seqlab.config import ConfigError
from seqlab.memory import check_memory, estimate, lstm_weights, memory_limit
from tests.conftest import compose_train

GIB = 1 << 30


def test_lstm_weights_match_torchs():
    import torch

    lstm = torch.nn.LSTM(3, 16, num_layers=2, bidirectional=True)
    assert lstm_weights(3, 16, 2, directions=2) == sum(p.numel() for p in lstm.parameters())


@pytest.mark.parametrize(
    "overrides, named",
    [
        (["data.length=10000000"], "data.n=10000, data.length=10000000"),
        (["data.n=2000000000"], "data.n=2000000000"),
        (["model.hidden_dim=30000"], "model.hidden_dim=30000"),
        (["experiment=tagger", "model.hidden_dim=1000000"], "model.hidden_dim=1000000"),
    ],
)
def test_absurd_sizes_are_refused_naming_the_setting(tmp_path, overrides, named):
    cfg = compose_train(overrides, tmp_path)
    with pytest.raises(ConfigError) as refused:
        check_memory(cfg, (16 * GIB, "the machine's memory"))
    line = str(refused.value)
    assert line.startswith(named) and "more than the 16.0 GiB of the machine's memory" in line


@pytest.mark.parametrize("experiment", ["sum", "tutorial_sum", "tagger", "curriculum"])
def test_the_shipped_experiments_fit_in_a_small_machine(tmp_path, experiment):
    cfg = compose_train([f"experiment={experiment}"], tmp_path)
    check_memory(cfg, (2 * GIB, "a small machine"))


def test_the_estimate_grows_with_the_data(tmp_path):
    fixed = ["data.n_val=1", "data.n_test=1"]
    small = estimate(compose_train([*fixed, "data.n=1000"], tmp_path))
    large = estimate(compose_train([*fixed, "data.n=100000"], tmp_path))
    assert 90 < large.data / small.data < 110


def test_a_slurm_allocation_bounds_the_memory(monkeypatch):
    monkeypatch.setenv("SLURM_MEM_PER_NODE", "1024")
    assert memory_limit() == (1 << 30, "the SLURM job's memory")
