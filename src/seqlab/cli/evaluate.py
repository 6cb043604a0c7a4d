"""seqlab-eval: test a trained checkpoint (a Hydra app)."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import hydra
from omegaconf import DictConfig

from seqlab.cli.common import checked, parallel_jobs, run_hydra_app, shown
from seqlab.config import CONFIG_DIR
from seqlab.trackers import check_trackers

log = logging.getLogger("seqlab")


def eval_task(cfg: DictConfig) -> dict:
    check_trackers(cfg.get("logger"))  # installed, reachable: before torch, in one line
    from seqlab.evaluate import evaluate  # heavy imports (torch, lightning) start here

    metrics = evaluate(cfg, parallel_jobs=parallel_jobs())
    log.info("results in: %s", shown(Path(cfg.paths.output_dir) / "metrics.json"))
    return metrics


@hydra.main(version_base="1.3", config_path=CONFIG_DIR, config_name="eval")
def _app(cfg: DictConfig) -> dict:
    return checked(eval_task, cfg)


def main() -> None:
    """seqlab-eval ckpt_path=<run>/checkpoints/last.ckpt [data.<key>=<value> ...]."""
    # The data config comes from the checkpoint, so eval.yaml cannot list its keys;
    # `++` lets `data.n_test=5000` through composition, and evaluate() checks the key.
    sys.argv = [_force_data_override(a) for a in sys.argv]
    run_hydra_app(_app, "seqlab-eval")


def _force_data_override(arg: str) -> str:
    return f"++{arg}" if arg.startswith("data.") and "=" in arg else arg
