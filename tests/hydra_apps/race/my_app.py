"""A Hydra app whose job's value is known: `means[setting]` times exp(sd * z), z a standard
normal draw seeded by the setting and the seed. It writes metrics.json as a seqlab run does
(status, monitor, best), so a race (hydra.sweeper.race) can judge it, and a job that already
holds one does nothing, as seqlab-train does on resume. RACE_KILL_AT_JOB=<n> in the
environment SIGKILLs the whole sweep when job n first starts."""

import json
import math
import os
import random
import signal
from pathlib import Path

from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig

import hydra


@hydra.main(version_base=None, config_path=".", config_name="race")
def my_app(cfg: DictConfig) -> float:
    run_dir = Path(HydraConfig.get().runtime.output_dir)
    done = run_dir / "metrics.json"
    if done.exists():
        return json.loads(done.read_text())["best"]["val/mse"]
    marker = run_dir.parent / "killed"
    kill_at = int(os.environ.get("RACE_KILL_AT_JOB", "-1"))
    if HydraConfig.get().job.num == kill_at and not marker.exists():
        marker.touch()
        os.kill(os.getpid(), signal.SIGKILL)
    z = random.Random(f"{cfg.setting}-{cfg.seed}").gauss(0.0, 1.0)
    value = cfg.means[cfg.setting] * math.exp(cfg.sd * z)
    metrics = {"status": "completed", "monitor": "val/mse", "best": {"val/mse": value}}
    done.write_text(json.dumps(metrics))
    return value


if __name__ == "__main__":
    my_app()
