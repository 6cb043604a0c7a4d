"""How a training process's C allocator treats the memory torch frees: kept for reuse, or
handed back to the kernel at once (glibc's default).

glibc serves every block above its mmap threshold (at most 32 MiB) with a fresh mapping
from the kernel and unmaps it again when freed. A full-batch LSTM step allocates and frees
its gates, states and their gradients, tens to hundreds of MiB, at every step, so every
page of them faults on first touch, every step: on the notebook's larger jobs that was
half of each epoch (docs/benchmarks.md). `allocator: reuse` tells glibc (mallopt) to serve
large blocks from its heap and not to give the heap's top back to the kernel, so a step
reuses the pages of the step before, as the allocators that PyTorch's CPU tuning guide
recommends (jemalloc, tcmalloc) do. The cost: the process keeps its peak memory until it
ends. `allocator: system` leaves glibc as it is (and sets glibc's default values back where an
earlier run in the same process, a sweep's or a notebook's, chose `reuse`).

Only the C library's bookkeeping changes: the same config and seed give the same numbers
either way. Where the C library is not glibc (macOS, musl), the setting changes nothing.

A light module: no torch.
"""

from __future__ import annotations

import ctypes
import logging
import sys
from typing import Any

log = logging.getLogger(__name__)

ALLOCATORS = ("reuse", "system")

# mallopt's parameters (glibc's malloc.h) and glibc's defaults for them (64-bit).
M_TRIM_THRESHOLD, M_MMAP_THRESHOLD, M_MMAP_MAX = -1, -3, -4
DEFAULTS = {M_TRIM_THRESHOLD: 128 * 1024, M_MMAP_THRESHOLD: 128 * 1024, M_MMAP_MAX: 65536}
NEVER = 2**31 - 1  # mallopt takes a C int: the largest trim threshold it can set

_chosen = "system"  # what this process's glibc is set to now


def _glibc() -> Any:
    """This process's C library, if it is glibc (only glibc has gnu_get_libc_version)."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(None)
    except OSError:
        return None
    return libc if hasattr(libc, "gnu_get_libc_version") and hasattr(libc, "mallopt") else None


def use_allocator(setting: str) -> bool:
    """Set this process's allocator to `setting` (one of ALLOCATORS); whether glibc is
    there to set."""
    global _chosen
    libc = _glibc()
    if libc is None:
        log.debug("allocator=%s: not glibc here; nothing to set", setting)
        return False
    if setting == _chosen:
        return True
    # reuse: no block mapped on its own, the heap's top never handed back.
    values = {M_MMAP_MAX: 0, M_TRIM_THRESHOLD: NEVER} if setting == "reuse" else DEFAULTS
    for parameter, value in values.items():
        if not libc.mallopt(parameter, value):
            log.warning("allocator=%s: glibc refused mallopt(%d, %d)", setting, parameter, value)
            return False
    _chosen = setting
    return True
