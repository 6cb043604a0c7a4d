"""GPU slots for a local sweep: which GPUs it may use, and at most K jobs on each at once.

hydra/launcher=local_parallel on a machine with GPUs (or inside a SLURM allocation that
holds some) runs every job in a process of its own, pinned to one GPU through
`CUDA_VISIBLE_DEVICES`, with at most `jobs_per_gpu` jobs on a GPU at once; a job starts in
the first slot that frees. This module holds the parts that need no torch: which GPUs are
visible (without creating a CUDA context in the sweep's own process, which would hold
memory on every GPU for the sweep's whole length), the slots, and what a job is told of
its slot through its environment.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from seqlab.config import ConfigError

VISIBLE_DEVICES = "CUDA_VISIBLE_DEVICES"
# What a job's process is told by the launcher that started it in a slot.
SLOT_ENV = "SEQLAB_GPU_SLOT"  # JSON: {"gpu": ..., "slot": ..., "jobs_per_gpu": ...}
JOBS_AT_ONCE_ENV = "SEQLAB_JOBS_AT_ONCE"  # jobs running side by side (threads=auto)

GPUS_ALLOWED = "null (every visible GPU), [] (none), or a list of GPU indices or UUIDs"


def visible_gpus(environ: Mapping[str, str] = os.environ) -> list[str]:
    """The GPUs this process may use, named as `CUDA_VISIBLE_DEVICES` names them.

    `CUDA_VISIBLE_DEVICES` when it is set (SLURM sets it for an allocation's GPUs; CUDA
    ignores every entry from the first invalid one, such as -1, on); otherwise every GPU
    that NVIDIA's management library (NVML) counts, which opens no CUDA context.
    """
    if VISIBLE_DEVICES in environ:
        gpus = []
        for entry in (e.strip() for e in environ[VISIBLE_DEVICES].split(",")):
            if not entry or entry.startswith("-"):
                break
            gpus.append(entry)
        return gpus
    return [str(i) for i in range(nvml_device_count())]


def nvml_device_count() -> int:
    """How many GPUs NVML sees; 0 where there is no NVIDIA driver."""
    try:
        import pynvml
    except ImportError:
        return 0
    try:
        pynvml.nvmlInit()
    except pynvml.NVMLError:
        return 0
    try:
        return int(pynvml.nvmlDeviceGetCount())
    finally:
        pynvml.nvmlShutdown()


def chosen_gpus(setting: Any, where: str = "hydra.launcher.gpus") -> list[str]:
    """The GPUs a sweep's `gpus` setting gives: null for every visible one, [] for none,
    or a list of indices or UUIDs (as CUDA_VISIBLE_DEVICES takes them)."""
    if setting is None:
        return visible_gpus()
    if isinstance(setting, (str, int)) or not isinstance(setting, Sequence):
        raise ConfigError(f"{where}={setting}: allowed: {GPUS_ALLOWED}")
    gpus = []
    for gpu in setting:
        ok = (isinstance(gpu, int) and not isinstance(gpu, bool) and gpu >= 0) or (
            isinstance(gpu, str) and gpu.strip() and not gpu.startswith("-")
        )
        if not ok:
            raise ConfigError(f"{where}: {gpu!r} is not a GPU; allowed: {GPUS_ALLOWED}")
        gpus.append(str(gpu).strip())
    if len(set(gpus)) < len(gpus):
        raise ConfigError(f"{where}={list(setting)}: a GPU is named twice; allowed: {GPUS_ALLOWED}")
    return gpus


def check_jobs_per_gpu(value: Any, where: str = "hydra.launcher.jobs_per_gpu") -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigError(f"{where}={value}: allowed: a whole number of jobs, 1 or more")
    return value


@dataclass(frozen=True)
class Slot:
    """One of the K places for a job on one GPU."""

    gpu: str  # as CUDA_VISIBLE_DEVICES names it
    index: int  # 0 .. jobs_per_gpu - 1

    def environment(self, jobs_per_gpu: int, jobs_at_once: int) -> dict[str, str]:
        """What the job's process gets: only its GPU is visible to it, and it is told its
        slot (for metrics.json) and how many jobs share the machine (for threads=auto)."""
        record = {"gpu": self.gpu, "slot": self.index, "jobs_per_gpu": jobs_per_gpu}
        return {
            VISIBLE_DEVICES: self.gpu,
            SLOT_ENV: json.dumps(record),
            JOBS_AT_ONCE_ENV: str(jobs_at_once),
        }


class GpuSlots:
    """`jobs_per_gpu` slots on each GPU, shared by every thread that launches jobs (the
    launcher's, and the Optuna sweeper's trials in flight). A job takes a slot on the GPU
    with the fewest jobs (the first such, in the order given), and frees it when it ends,
    however it ends; `limit` caps the slots taken at once over all GPUs."""

    def __init__(self, gpus: Sequence[str], jobs_per_gpu: int, limit: int | None = None) -> None:
        assert gpus and jobs_per_gpu >= 1
        self.gpus, self.jobs_per_gpu = list(gpus), jobs_per_gpu
        self.size = len(self.gpus) * jobs_per_gpu
        if limit is not None and limit > 0:
            self.size = min(self.size, limit)
        self._taken: set[Slot] = set()
        self._changed = threading.Condition()

    def acquire(self) -> Slot:
        """A free slot; waits for one."""
        with self._changed:
            self._changed.wait_for(lambda: len(self._taken) < self.size)
            slot = self._free_slot()
            self._taken.add(slot)
            return slot

    def release(self, slot: Slot) -> None:
        with self._changed:
            self._taken.discard(slot)
            self._changed.notify()

    @contextmanager
    def taken(self) -> Iterator[Slot]:
        slot = self.acquire()
        try:
            yield slot
        finally:
            self.release(slot)

    def _free_slot(self) -> Slot:
        def load(gpu: str) -> int:
            return sum(1 for s in self._taken if s.gpu == gpu)

        gpu = min((g for g in self.gpus if load(g) < self.jobs_per_gpu), key=load)
        index = min(i for i in range(self.jobs_per_gpu) if Slot(gpu, i) not in self._taken)
        return Slot(gpu, index)


def job_slot(environ: Mapping[str, str] = os.environ) -> dict[str, Any] | None:
    """The slot this job's launcher gave it, as metrics.json records it; otherwise, for a
    job that was given GPUs some other way (SLURM's GRES, a user's CUDA_VISIBLE_DEVICES),
    which ones it sees."""
    if raw := environ.get(SLOT_ENV):
        try:
            return {**json.loads(raw), "visible_devices": environ.get(VISIBLE_DEVICES)}
        except ValueError:
            pass
    if VISIBLE_DEVICES in environ:
        return {"visible_devices": environ[VISIBLE_DEVICES]}
    return None


def jobs_at_once(environ: Mapping[str, str] = os.environ) -> int | None:
    """How many jobs the launcher runs side by side with this one, where it said."""
    raw = environ.get(JOBS_AT_ONCE_ENV, "")
    return int(raw) if raw.isdigit() and int(raw) > 0 else None


def slurm_gpu_request(params: dict[str, Any]) -> dict[str, Any]:
    """hydra/launcher=slurm's settings with their GPU request made explicit: `shards: N` asks for
    `--gres=shard:N` (a share of one GPU) and no whole GPU; otherwise `gpus_per_node`
    unset asks for one whole GPU."""
    params = dict(params)
    shards = params.pop("shards", None)
    if shards is None:
        if params.get("gpus_per_node") is None:
            params["gpus_per_node"] = 1
        return params
    if isinstance(shards, bool) or not isinstance(shards, int) or shards < 1:
        raise ConfigError(f"hydra.launcher.shards={shards}: allowed: null, or 1 or more shards")
    for key in ("gpus_per_node", "gres", "gpus_per_task"):
        if params.get(key):
            raise ConfigError(
                f"hydra.launcher.shards={shards} and hydra.launcher.{key}={params[key]}: give "
                "one of them (shards ask for a share of a GPU, the other for whole GPUs)"
            )
    params.update(gres=f"shard:{shards}", gpus_per_node=None)
    return params
