"""Where a sweep's job writes: its directory as Hydra's `run_job` names it.

`hydra.sweep.subdir` is the job's to resolve: `${hydra.job.num}`, `t${hydra.job.num}`,
`${hydra.job.override_dirname}` all depend on the job. A sweeper or launcher that needs a
job's directory before or after it runs (the SLURM launcher writes it at submission, the
Optuna sweeper reads the trial's metrics.json from it) composes the job's config as the
launcher does and resolves the two keys there.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf, open_dict


def job_dir(config_loader: Any, config: DictConfig, overrides: Sequence[str], num: int) -> Path:
    """Job `num`'s directory: hydra.sweep.dir / hydra.sweep.subdir in the job's own config
    (`config_loader.load_sweep_config` with its overrides; its number set as launchers set
    it). Hydra's `${hydra:...}` resolver reads the job's config while it resolves, as in
    run_job; the previous one is put back. Not thread-safe: callers in threads hold a lock."""
    from hydra.core.hydra_config import HydraConfig

    job = config_loader.load_sweep_config(config, list(overrides))
    with open_dict(job):
        job.hydra.job.id = f"job_id_for_{num}"
        job.hydra.job.num = num
    hydra_config = HydraConfig.instance()
    previous = hydra_config.cfg
    hydra_config.set_config(job)
    try:
        sweep_dir = OmegaConf.select(job, "hydra.sweep.dir")
        subdir = OmegaConf.select(job, "hydra.sweep.subdir")
    finally:
        hydra_config.cfg = previous
    return Path(str(sweep_dir)) / str(subdir)


def ran_in(
    config_loader: Any, config: DictConfig, result: Any, overrides: Sequence[str], num: int
) -> Path:
    """Where job `num` wrote: the directory its launcher ran it in (its JobReturn's
    `hydra.runtime.output_dir`), or for a job that returned no config of its own (a SLURM
    job that ended without a result) the one Hydra names for it (`job_dir`, not
    thread-safe)."""
    if result.hydra_cfg is not None:
        return Path(result.hydra_cfg.hydra.runtime.output_dir)
    return job_dir(config_loader, config, overrides, num)
