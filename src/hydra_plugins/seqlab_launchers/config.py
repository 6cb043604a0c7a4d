"""seqlab's launchers' configs, typed, in Hydra's ConfigStore.

`hydra/launcher=local_parallel`: hydra-joblib-launcher's settings, plus the GPUs a sweep
may use and the jobs each of them takes at once.

    seqlab-train -m hydra/launcher=local_parallel hydra.launcher.jobs_per_gpu=4 \
        model.hidden_dim=32,64 model.lr=0.01,0.03

`hydra/launcher=slurm`: hydra-submitit-launcher's SLURM settings (every `#SBATCH` option it
knows), with defaults for one GPU job per sweep point that SLURM may requeue, and `shards`
for a share of a GPU instead of a whole one.

    seqlab-train -m hydra/launcher=slurm trainer=gpu hydra.launcher.partition=gpu \
        model.hidden_dim=32,64

Put a site's settings (partition, account, setup lines) in a gitignored conf/local/default.yaml
rather than typing them every time (docs/clusters.md).

(No `from __future__ import annotations`: OmegaConf reads these annotations at run time.)
"""

from dataclasses import dataclass
from typing import Any

from hydra.core.config_store import ConfigStore
from hydra_plugins.hydra_joblib_launcher.config import JobLibLauncherConf
from hydra_plugins.hydra_submitit_launcher.config import SlurmQueueConf


@dataclass
class LocalParallelLauncherConf(JobLibLauncherConf):
    _target_: str = "hydra_plugins.seqlab_launchers.local.LocalParallelLauncher"
    # Where there is no GPU (gpus is empty), joblib's n_jobs processes run the jobs side by
    # side; -1: one per core. With GPUs, jobs_per_gpu per GPU run at once, each in its own
    # process; a positive n_jobs caps them.
    n_jobs: int = -1
    # null: every GPU visible here (CUDA_VISIBLE_DEVICES, which SLURM sets for the GPUs of
    # an allocation; otherwise every GPU NVML counts). []: none. Or a list: [0, 1].
    gpus: Any = None
    jobs_per_gpu: int = 1  # at most this many jobs on one GPU at once
    # With GPUs: where submitit keeps each job's pickles and its stdout/stderr, named by
    # the job's process id.
    submitit_folder: str = "${hydra.sweep.dir}/.submitit"
    # In which order jobs start: longest_first (estimated from their configs, where seqlab
    # knows their model and data; seqlab.sweeps.order) or given (Hydra's). Job numbers and
    # directories follow Hydra's order either way.
    order: str = "longest_first"


@dataclass
class SlurmLauncherConf(SlurmQueueConf):
    _target_: str = "hydra_plugins.seqlab_launchers.slurm.SlurmLauncher"
    # --gpus-per-node: whole GPUs per job. Unset: 1, or none when `shards` is set; 0 for CPU
    # jobs.
    gpus_per_node: int | None = None
    # --gres=shard:N: a share of one GPU instead of a whole one, where the site configures
    # SLURM's shard GRES (SLURM >= 22.05); SLURM then packs several jobs onto each GPU.
    shards: int | None = None
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
    # Before submitting, build each model and data shape of the sweep and step it once on
    # the CPU here (as debug=fdr does): a setting that cannot even build its model stops
    # the submission in one line instead of failing after its wait in the queue.
    canary: bool = True


ConfigStore.instance().store(
    group="hydra/launcher",
    name="local_parallel",
    node=LocalParallelLauncherConf,
    provider="seqlab",
)
ConfigStore.instance().store(
    group="hydra/launcher", name="slurm", node=SlurmLauncherConf, provider="seqlab"
)
