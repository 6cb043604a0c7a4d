"""allocator: reuse keeps the memory a process frees for its next allocations; system
hands large blocks back to the kernel at once, so fresh ones fault page by page."""

from __future__ import annotations

import ctypes
import resource
import sys

import pytest

from seqlab.allocator import _glibc, use_allocator

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux") or _glibc() is None, reason="the setting is glibc's"
)

BLOCK = 64 << 20  # larger than glibc's largest mmap threshold (32 MiB)
PAGES = BLOCK // resource.getpagesize()


def faults_per_block(rounds: int = 4) -> float:
    """Page faults per round of: allocate a large block, touch every page, free it."""
    libc = ctypes.CDLL(None)
    libc.malloc.restype = ctypes.c_void_p
    libc.malloc.argtypes = [ctypes.c_size_t]
    libc.free.argtypes = [ctypes.c_void_p]
    block = libc.malloc(BLOCK)  # the first round may fault in any case
    ctypes.memset(block, 1, BLOCK)
    libc.free(block)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(rounds):
        block = libc.malloc(BLOCK)
        ctypes.memset(block, 1, BLOCK)
        libc.free(block)
    return (resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before) / rounds


def test_reuse_keeps_freed_memory_and_system_gives_it_back():
    try:
        assert use_allocator("system")
        assert faults_per_block() > PAGES / 2  # every page of every block, fresh
        assert use_allocator("reuse")
        assert faults_per_block() < PAGES / 100  # the same pages again
        assert use_allocator("system")  # and back, for a later run in the same process
        assert faults_per_block() > PAGES / 2
    finally:
        use_allocator("system")
