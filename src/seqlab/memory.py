"""Refusing runs that cannot fit in memory, before anything is allocated.

A typo with one zero too many (`data.length=10000000`, `model.hidden_dim=30000`) would
otherwise grow until the kernel kills the process with no message, or fail seconds later
deep inside torch. `estimate` adds up what a run must hold at once, from its config alone:
the data it generates (every split, and the analyses' test sets), the model's weights with
their gradients and optimizer state, and one batch's activations. `check_memory` compares
that with the memory this process may use (`memory_limit`): the machine's, its cgroup's or
its SLURM allocation's, or the GPU's, whichever is least. The estimate is a lower bound
(what the tensors alone need), so a run it lets through may still be too big; one it
refuses is too big for certain.

No torch here: the check runs with the other config checks, before the heavy imports.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from omegaconf import OmegaConf

from seqlab.config import ConfigError

FLOAT = 4  # bytes of a float32
# torch.randint draws int64, then where() makes another int64 tensor and a float copy: bytes
# per value while one split of random sums is generated.
GENERATING = 1 + 8 + 8 + FLOAT
# Per weight: itself, its gradient and Adam's two moments.
TRAINING_COPIES = 4
# Per (batch element, step, hidden unit, layer): the four gates, the cell and hidden state
# kept for the backward pass, and the gradients of them.
ACTIVATIONS = 12


@dataclass(frozen=True)
class Estimate:
    data: int
    model: int
    batch: int

    @property
    def total(self) -> int:
        return self.data + self.model + self.batch


def setting(cfg: Any, key: str, default: Any = None) -> Any:
    """`cfg`'s value at dotted `key`, or `default` where it is missing or null."""
    value = OmegaConf.select(cfg, key, default=default)
    return default if value is None else value


def lstm_weights(inputs: int, hidden: int, layers: int, directions: int = 1) -> int:
    """Weights of torch's LSTM: per layer and direction 4 gates of input, hidden and 2 biases."""
    total = 0
    for layer in range(layers):
        width = inputs if layer == 0 else hidden * directions
        total += directions * 4 * hidden * (width + hidden + 2)
    return total


def is_sum_regressor(cfg: Any) -> bool:
    """Whether `cfg` trains a regressor on random sums: the run whose sizes seqlab knows
    from its config alone (here and in seqlab.sweeps.order)."""
    model, data = str(setting(cfg, "model._target_", "")), str(setting(cfg, "data._target_", ""))
    return data.endswith("RandomSumDataModule") and model.endswith("RegressorModule")


def estimate(cfg: Any) -> Estimate | None:
    """What a run holds at once, in bytes; None for data or models it does not know."""
    model = str(setting(cfg, "model._target_", ""))
    hidden, layers = (
        int(setting(cfg, "model.hidden_dim", 1)),
        int(setting(cfg, "model.num_layers", 1)),
    )
    if is_sum_regressor(cfg):
        length, n = int(setting(cfg, "data.length", 1)), int(setting(cfg, "data.n", 1))
        splits = [n, int(setting(cfg, "data.n_val", 0)), int(setting(cfg, "data.n_test", 0))]
        kept = sum(splits) * length * FLOAT
        eval_lengths = setting(cfg, "eval.lengths") or []
        eval_n = int(setting(cfg, "eval.n", 0)) if eval_lengths else 0
        longest = max([length, *(int(v) for v in eval_lengths)])
        transient = max(max(splits) * length, eval_n * longest) * (GENERATING - FLOAT)
        weights = lstm_weights(1, hidden, layers) + hidden + 1
        batch = int(setting(cfg, "data.batch_size", 0)) or n  # null: the whole set at once
        activations = min(batch, n) * longest * hidden * layers * ACTIVATIONS * FLOAT
        return Estimate(kept + transient, weights * TRAINING_COPIES * FLOAT, activations)
    if model.endswith("TaggerModule"):
        embedding = int(setting(cfg, "model.embedding_dim", 1))
        directions = 2 if setting(cfg, "model.bidirectional", False) else 1
        weights = lstm_weights(embedding, hidden, layers, directions)
        return Estimate(0, weights * TRAINING_COPIES * FLOAT, 0)
    return None


def memory_limit() -> tuple[int, str] | None:
    """The memory this process may use, in bytes, and what sets it: the machine's memory,
    its cgroup's limit or its SLURM allocation, whichever is least."""
    limits = []
    if (total := _meminfo_total()) is not None:
        limits.append((total, "the machine's memory"))
    if (cgroup := _cgroup_limit()) is not None:
        limits.append((cgroup, "this process's cgroup limit"))
    if (slurm := _slurm_limit()) is not None:
        limits.append((slurm, "the SLURM job's memory"))
    return min(limits) if limits else None


def _meminfo_total() -> int | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def _cgroup_limit() -> int | None:
    """cgroup v2's memory.max of this process's group, or v1's memory.limit_in_bytes."""
    candidates = []
    try:
        for line in Path("/proc/self/cgroup").read_text().splitlines():
            hierarchy, _, path = line.partition("::")
            if hierarchy == "0":
                candidates.append(Path("/sys/fs/cgroup") / path.lstrip("/") / "memory.max")
    except OSError:
        pass
    candidates.append(Path("/sys/fs/cgroup/memory/memory.limit_in_bytes"))
    for path in candidates:
        try:
            text = path.read_text().strip()
        except OSError:
            continue
        if text.isdigit() and int(text) < 1 << 60:  # v1 writes "no limit" as a huge number
            return int(text)
    return None


def _slurm_limit() -> int | None:
    per_node = os.environ.get("SLURM_MEM_PER_NODE", "")
    if per_node.isdigit() and int(per_node) > 0:
        return int(per_node) << 20  # megabytes
    per_cpu = os.environ.get("SLURM_MEM_PER_CPU", "")
    cpus = os.environ.get("SLURM_CPUS_PER_TASK") or os.environ.get("SLURM_CPUS_ON_NODE") or "1"
    if per_cpu.isdigit() and int(per_cpu) > 0 and cpus.isdigit():
        return int(per_cpu) * int(cpus) << 20
    return None


def size(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if n < 1024 or unit == "PiB":
            return f"{n:.1f} {unit}" if unit != "B" else f"{int(n)} B"
        n /= 1024
    raise AssertionError


def check_memory(cfg: Any, limit: tuple[int, str] | None = None) -> None:
    """Refuse in one line a run whose estimate exceeds `limit` (default: memory_limit()),
    naming the settings that make it big."""
    need = estimate(cfg)
    limit = limit or memory_limit()
    if need is None or limit is None or need.total <= limit[0]:
        return
    keys = {
        "data": ["data.n", "data.length"],
        "model": ["model.hidden_dim", "model.num_layers"],
        "batch": ["data.batch_size", "data.length", "model.hidden_dim"],
    }
    largest = max(("data", "model", "batch"), key=lambda part: getattr(need, part))
    named = ", ".join(f"{k}={OmegaConf.select(cfg, k)}" for k in keys[largest])
    raise ConfigError(
        f"{named}: this run needs at least {size(need.total)} of memory (data "
        f"{size(need.data)}, model in training {size(need.model)}, one batch "
        f"{size(need.batch)}), more than the {size(limit[0])} of {limit[1]}; lower them"
    )
