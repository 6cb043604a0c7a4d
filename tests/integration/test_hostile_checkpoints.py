"""Checkpoints whose config, plain data, names code to run: every command that reads a
checkpoint refuses them in one line, and the payload never runs.

`weights_only=True` already stops pickled code; these checkpoints hold nothing but plain
data, and their `_target_`s name `subprocess.Popen`, `os.system`, `builtins.exec` or a
module that does its harm on import. Each payload would create the file `pwned`.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from tests.conftest import REPO, SMALL_SUM, assert_clear_failure, run_cli

BASE = REPO / "tests" / "fixtures" / "seqlab-0.1.0" / "sum.ckpt"
PROBE = "seqlab_probe_payload"  # a module on PYTHONPATH that creates `pwned` when imported


def payload(name: str, mark: Path) -> tuple[str, dict]:
    """(where it goes, the node) for each payload."""
    return {
        "popen": ("data", {"_target_": "subprocess.Popen", "args": ["touch", str(mark)]}),
        "system": ("data", {"_target_": "os.system", "command": f"touch {mark}"}),
        "exec": (
            "optimizer",
            {"_target_": "builtins.exec", "_args_": [f"open({str(mark)!r}, 'w')"]},
        ),
        "module": ("model", {"_target_": f"{PROBE}.Model"}),
    }[name]


def hostile_checkpoint(path: Path, name: str, mark: Path) -> Path:
    ckpt = torch.load(BASE, weights_only=True)
    where, node = payload(name, mark)
    if where == "data":
        ckpt["seqlab_config"]["data"] = node
    elif where == "model":
        ckpt["seqlab_config"]["model"]["_target_"] = node["_target_"]
    else:
        ckpt["hyper_parameters"]["optimizer"] = node
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(ckpt, path)
    return path


def command(kind: str, ckpt: Path, tmp_path: Path) -> list[str]:
    if kind == "eval":
        return ["seqlab-eval", f"ckpt_path={ckpt}"]
    if kind == "tag":
        return ["seqlab-tag", str(ckpt), "The dog barks"]
    if kind == "ckpt_path":
        return ["seqlab-train", *SMALL_SUM, f"ckpt_path={ckpt}"]
    if kind == "curriculum":
        return ["seqlab-train", "experiment=curriculum", f"ckpt_path={ckpt}"]
    # resume=: an interrupted run whose last checkpoint is the hostile one
    run = ckpt.parent.parent
    (run / "metrics.json").write_text(json.dumps({"status": "interrupted", "attempts": 1}))
    return ["seqlab-train", *SMALL_SUM, f"resume={run}"]


COMMANDS = ["eval", "tag", "ckpt_path", "resume", "curriculum"]
PAYLOADS = ["popen", "system", "exec", "module"]
# Each command with one payload by default (every payload among them); all pairs are slow.
CASES = [
    pytest.param(
        kind, name, marks=() if PAYLOADS[i % 4] == name else pytest.mark.slow, id=f"{kind}-{name}"
    )
    for i, kind in enumerate(COMMANDS)
    for name in PAYLOADS
]


@pytest.mark.parametrize("kind, name", CASES)
def test_a_hostile_checkpoint_is_refused_and_runs_nothing(tmp_path, kind, name):
    mark = tmp_path / "pwned"
    probe = tmp_path / "probe"
    probe.mkdir()
    (probe / f"{PROBE}.py").write_text(f"open({str(mark)!r}, 'w').close()\nModel = object\n")
    ckpt = hostile_checkpoint(tmp_path / "run" / "checkpoints" / "last.ckpt", name, mark)
    result = run_cli(command(kind, ckpt, tmp_path), tmp_path, timeout=120, PYTHONPATH=str(probe))
    assert_clear_failure(result, "refused: ", tmp_path)
    assert "_target_=" in result.stderr and "trusted_targets" in result.stderr
    assert not mark.exists(), "the payload ran"
