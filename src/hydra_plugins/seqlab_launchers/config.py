"""The SLURM launcher's config, typed, in Hydra's ConfigStore as `hydra/launcher=slurm`:
hydra-submitit-launcher's SLURM settings (every `#SBATCH` option it knows), with defaults
for one GPU job per sweep point that SLURM may requeue.

    seqlab-train -m hydra/launcher=slurm trainer=gpu hydra.launcher.partition=gpu \
        model.hidden_dim=32,64

Put a site's settings (partition, account, setup lines) in a gitignored conf/local/default.yaml
rather than typing them every time (docs/clusters.md).

(No `from __future__ import annotations`: OmegaConf reads these annotations at run time.)
"""

from dataclasses import dataclass

from hydra.core.config_store import ConfigStore
from hydra_plugins.hydra_submitit_launcher.config import SlurmQueueConf


@dataclass
class SlurmLauncherConf(SlurmQueueConf):
    _target_: str = "hydra_plugins.seqlab_launchers.slurm.SlurmLauncher"
    gpus_per_node: int | None = 1  # --gpus-per-node; 0 for CPU jobs
    # One task per GPU: set it to trainer.devices for trainer=ddp.
    tasks_per_node: int = 1
    cpus_per_task: int | None = 4  # torch threads per task follow it (threads=auto)
    mem_gb: int | None = 16
    timeout_min: int = 60  # each job's time limit
    array_parallelism: int = 64  # jobs of the array running at once
    # Before the time limit SLURM signals the job (signal_delay_s ahead); submitit then
    # requeues it, up to max_num_timeout times, and the requeued job resumes from
    # checkpoints/last.ckpt.
    signal_delay_s: int = 120
    max_num_timeout: int = 3


ConfigStore.instance().store(
    group="hydra/launcher", name="slurm", node=SlurmLauncherConf, provider="seqlab"
)
