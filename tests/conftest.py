"""Shared test helpers: compose configs as the CLI would, shrink runs, check run directories."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir
from omegaconf import DictConfig, open_dict

from seqlab.config import CONFIG_DIR, register_resolvers

REPO = Path(__file__).resolve().parents[1]
# Keep test runs quiet and independent of the machine: no progress bars, one thread each.
QUIET = [
    "callbacks.progress_bar=null",
    "trainer.enable_progress_bar=false",
    "callbacks.model_summary=null",
    "threads=1",
]
# A sum regressor small enough to train in a second or two.
SMALL_SUM = [
    "experiment=sum",
    "data.n=256",
    "data.n_val=64",
    "data.n_test=64",
    "data.length=4",
    "trainer.max_epochs=2",
    "trainer.log_every_n_steps=1",
]


def compose_train(overrides: list[str], output_dir: Path, config_name: str = "train") -> DictConfig:
    """The config `seqlab-train <overrides>` would run, writing into `output_dir`."""
    register_resolvers()
    with initialize_config_dir(config_dir=CONFIG_DIR, version_base="1.3"):
        cfg = compose(config_name=config_name, overrides=[*QUIET, *overrides])
    with open_dict(cfg):
        cfg.paths.output_dir = str(output_dir)
    return cfg


def run_cli(args: list[str], cwd: Path, timeout: float = 300, **env: str):
    """Run a seqlab console script in a subprocess; outputs go under `cwd`."""
    script = Path(sys.executable).parent / args[0]
    full_env = {**os.environ, "SEQLAB_OUTPUT_ROOT": str(cwd / "outputs"), **env}
    full_env.pop("HYDRA_FULL_ERROR", None)
    return subprocess.run(
        [str(script), *args[1:]],
        cwd=cwd,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def assert_run_contract(run_dir: Path, status: str = "completed", by_hydra: bool = True) -> dict:
    """Check that a run directory holds what the README promises; return its metrics.

    `by_hydra=False` for runs made by calling train() directly: Hydra writes .hydra/ and
    the log file, so only CLI runs have them.
    """
    run_dir = Path(run_dir)
    if by_hydra:
        for name in ("config.yaml", "overrides.yaml"):
            assert (run_dir / ".hydra" / name).is_file(), f"{run_dir}: .hydra/{name} missing"
        assert (run_dir / "train.log").stat().st_size > 0
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["status"] == status, metrics.get("error")
    assert metrics["epochs"] >= 1 and metrics["wall_s"] > 0
    assert metrics["final"] and metrics["best"]
    assert metrics["monitor"] in metrics["best"]
    for name in ("last.ckpt", "best.ckpt"):
        assert (run_dir / "checkpoints" / name).is_file(), f"{run_dir}: checkpoints/{name}"
    assert list((run_dir / "tensorboard").glob("events.out.tfevents.*"))
    return metrics


def job_dirs(sweep: Path) -> list[Path]:
    """A sweep's job directories (named by job number), in job order."""
    jobs = (p for p in Path(sweep).iterdir() if p.is_dir() and p.name.isdigit())
    return sorted(jobs, key=lambda p: int(p.name))


@pytest.fixture
def cli_cwd(tmp_path: Path) -> Path:
    return tmp_path


def read_tensorboard(log_dir: Path):
    """All event files of a directory, loaded (scalars, text, images, hparams)."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    acc = EventAccumulator(str(log_dir), size_guidance={"scalars": 0, "tensors": 0, "images": 0})
    acc.Reload()
    return acc


def tensorboard_hparams(acc) -> dict:
    """The hyperparameters a run registered with TensorBoard's HParams plugin."""
    from tensorboard.plugins.hparams import plugin_data_pb2

    content = acc.PluginTagToContent("hparams")["_hparams_/session_start_info"]
    info = plugin_data_pb2.HParamsPluginData.FromString(content).session_start_info
    out = {}
    for name, value in info.hparams.items():
        kind = value.WhichOneof("kind")
        out[name] = getattr(value, kind) if kind else None
    return out
