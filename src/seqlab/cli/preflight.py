"""`python -m seqlab.cli.preflight check|probe <configs.json>`: jobs tried on the CPU
before a sweep, in a process of their own (seqlab.sweeps.estimates starts it).

- `check` (the canary of a SLURM sweep): each config is built and stepped once, one
  training and one validation batch, as `debug=fdr` does.
- `probe` (`--plan`'s estimate): each config trains two epochs; the second is timed.

One JSON line per config goes to `<configs.json>.out`: `{"ok": true, ...}` with the times,
or `{"error": "<one line>"}`. The configs are composed jobs whose output directories lie in
a temporary directory.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf, open_dict

from seqlab.config import register_resolvers
from seqlab.names import COMPLETED, DIVERGED
from seqlab.rundir import failure

PROBE_EPOCHS = 2


def on_cpu(cfg: DictConfig, mode: str) -> DictConfig:
    """The job, on one CPU device, without a test: stepped once (check) or for two epochs
    (probe)."""
    with open_dict(cfg):
        trainer = cfg.trainer
        trainer.accelerator, trainer.devices, trainer.strategy = "cpu", 1, "auto"
        trainer.precision = "32-true"
        if "num_nodes" in trainer:
            trainer.num_nodes = 1
        cfg.test_after_fit = False
        if mode == "check":
            trainer.fast_dev_run = True
        else:
            trainer.max_epochs = trainer.min_epochs = PROBE_EPOCHS
            trainer.enable_progress_bar = False
    return cfg


def tried(plain: dict[str, Any], mode: str) -> dict[str, Any]:
    from seqlab.cli.common import check
    from seqlab.training import train

    cfg = on_cpu(OmegaConf.create(plain), mode)
    start = time.perf_counter()
    try:
        check(cfg)  # seqlab's own checks first, as the job runs them: their line, not torch's
        metrics = train(cfg, parallel_jobs=1)
    except Exception as e:
        return {"error": failure(e)}
    if metrics.get("status") not in (COMPLETED, DIVERGED):
        return {"error": str(metrics.get("error") or metrics.get("status"))}
    result: dict[str, Any] = {"ok": True, "wall_s": round(time.perf_counter() - start, 3)}
    epochs = [row["epoch_s"] for row in metrics.get("history", []) if "epoch_s" in row]
    if mode == "probe" and epochs:
        result["epoch_s"] = epochs[-1]
        result["setup_s"] = max(0.0, result["wall_s"] - sum(epochs))
    return result


def main(argv: list[str] | None = None) -> None:
    mode, path = argv if argv is not None else sys.argv[1:]
    register_resolvers()
    configs = json.loads(Path(path).read_text())
    with open(f"{path}.out", "w") as out:
        for plain in configs:
            out.write(json.dumps(tried(plain, mode)) + "\n")
            out.flush()


if __name__ == "__main__":
    main()
