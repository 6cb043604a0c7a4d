"""Config validation: rules, and errors that name the key and what is allowed."""

import pytest

from seqlab.checks import Rule, validate
from seqlab.config import ConfigError
from tests.conftest import compose_train


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
        ("allocator=jemalloc", "allocator"),
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
