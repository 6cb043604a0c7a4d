"""The Python API's own parts that need no training: `import seqlab` stays light, and
keyword arguments become the command line's overrides."""

from __future__ import annotations

import subprocess
import sys

import pytest

import seqlab
from seqlab.api import _arguments, override_text


def test_import_seqlab_imports_no_torch_lightning_or_pandas():
    # What `python -X importtime -c "import seqlab"` lists: every module the import loads.
    code = "import seqlab; seqlab.train; seqlab.sweep; seqlab.load; seqlab.Run; seqlab.Sweep"
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", code], capture_output=True, text=True, check=True
    )
    imported = {line.split("|")[-1].strip().split(".")[0] for line in result.stderr.splitlines()}
    assert "seqlab" in imported
    assert not {"torch", "lightning", "pandas", "matplotlib"} & imported


def test_the_public_names():
    assert set(seqlab.__all__) >= {"train", "sweep", "load", "Run", "Sweep", "Runs", "ConfigError"}
    assert seqlab.ConfigError is seqlab.config.ConfigError
    with pytest.raises(AttributeError, match="no attribute 'trian'"):
        seqlab.trian  # noqa: B018


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (32, "32"),
        (0.001, "0.001"),
        (True, "true"),
        (None, "null"),
        ("interval(1e-4,1e-2)", "interval(1e-4,1e-2)"),
        ([2, 4, 8], "[2,4,8]"),
        ({"length": 2, "epochs": 100}, "{length:2,epochs:100}"),
        ([{"length": 2}], "[{length:2}]"),
    ],
)
def test_python_values_are_written_as_the_command_line_writes_them(value, text):
    assert override_text(value) == text


def test_a_sweeps_lists_are_axes():
    assert override_text([8, 32], axis=True) == "8,32"
    assert override_text(range(1, 4), axis=True) == "1,2,3"
    assert override_text(0.5, axis=True) == "0.5"


def test_arguments_are_the_command_lines():
    args = _arguments("tutorial_sum", ["trainer=cpu"], {"model__hidden_dim": 32}, axes=False)
    assert args == ["experiment=tutorial_sum", "trainer=cpu", "model.hidden_dim=32"]
    assert _arguments(None, "seed=3", {}, axes=False) == ["seed=3"]


def test_a_value_that_is_no_config_value_is_refused():
    with pytest.raises(seqlab.ConfigError, match="a object is no config value"):
        override_text(object())
