"""Nothing a checkpoint's config names is imported or built unless it is allowed."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import torch
import yaml

from seqlab.checkpoints import load_checkpoint
from seqlab.config import ConfigError
from seqlab.trust import SEQLAB_TARGETS, allowed, check_checkpoint, check_trusted_targets
from tests.conftest import REPO

LEGACY = REPO / "tests" / "fixtures" / "seqlab-0.1.0"


def test_the_allowlist_holds_every_model_and_data_module_the_configs_name():
    named = set()
    for group in ("model", "data"):
        for path in (REPO / "conf" / group).glob("*.yaml"):
            node = yaml.safe_load(path.read_text())
            node = node.get(group, node)  # model configs are `# @package _global_`
            named.add(node["_target_"])
    assert named == SEQLAB_TARGETS


@pytest.mark.parametrize(
    "target, ok",
    [
        ("seqlab.models.regressor_module.RegressorModule", True),
        ("torch.optim.Adam", True),
        ("torch.optim.lr_scheduler.CosineAnnealingLR", True),
        ("subprocess.Popen", False),
        ("os.system", False),
        ("builtins.exec", False),
        ("torch.optim.os.system", False),  # a module reached through an allowed one
        ("seqlab.models.regressor_module.torch.load", False),
        (["not", "a", "string"], False),
    ],
)
def test_allowed_targets(target, ok):
    assert allowed(target) is ok


def _hostile(tmp_path: Path, where: str, target: str) -> Path:
    """The legacy sum checkpoint with `target` put at `where`."""
    ckpt = torch.load(LEGACY / "sum.ckpt", weights_only=True)
    if where == "data":
        ckpt["seqlab_config"]["data"] = {"_target_": target, "args": ["touch", "x"]}
    elif where == "model":
        ckpt["seqlab_config"]["model"]["_target_"] = target
    else:  # the stored hyperparameters' optimizer
        ckpt["hyper_parameters"]["optimizer"] = {"_target_": target, "_args_": ["print(1)"]}
    path = tmp_path / "hostile.ckpt"
    torch.save(ckpt, path)
    return path


@pytest.mark.parametrize(
    "where, target, key",
    [
        ("data", "subprocess.Popen", "seqlab_config.data._target_"),
        ("model", "os.system", "seqlab_config.model._target_"),
        ("optimizer", "builtins.exec", "hyper_parameters.optimizer._target_"),
        ("model", "seqlab_probe_module.Model", "seqlab_config.model._target_"),
    ],
)
def test_a_hostile_checkpoint_is_refused_before_anything_is_imported(
    tmp_path, monkeypatch, where, target, key
):
    probe = tmp_path / "seqlab_probe_module.py"
    probe.write_text(f"open({str(tmp_path / 'imported')!r}, 'w').close()\nModel = object\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    path = _hostile(tmp_path, where, target)
    with pytest.raises(ConfigError) as refused:
        load_checkpoint(path)
    line = str(refused.value)
    assert "\n" not in line and f"{key}='{target}'" in line and str(path) in line
    assert "seqlab_probe_module" not in sys.modules and not (tmp_path / "imported").exists()


def test_a_target_the_user_trusts_is_let_through(tmp_path):
    path = _hostile(tmp_path, "model", "mypkg.models.MyModule")
    ckpt = load_checkpoint(path, trusted=["mypkg.models.MyModule"])
    assert ckpt["seqlab_config"]["model"]["_target_"] == "mypkg.models.MyModule"


def test_nested_targets_are_found_in_lists_too():
    ckpt = {"seqlab_config": {"model": {"layers": [{"_target_": "os.system"}]}, "data": {}}}
    with pytest.raises(ConfigError, match=r"seqlab_config\.model\.layers\[0\]\._target_"):
        check_checkpoint(ckpt, "ckpt_path=x")


@pytest.mark.parametrize("value", ["mypkg.Model", ["not an import path"], [3]])
def test_trusted_targets_must_be_a_list_of_import_paths(value):
    with pytest.raises(ConfigError, match="trusted_targets="):
        check_trusted_targets(value)
