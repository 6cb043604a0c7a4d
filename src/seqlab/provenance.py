"""What produced a run: seqlab's version and git commit, the libraries, the device.

metrics.json keeps it as `provenance`, so a sweep resumed after a code change, or run on
two kinds of node, shows it (the sweep report warns when its jobs ran different code).
"""

from __future__ import annotations

import functools
import platform
import subprocess
from importlib import metadata
from pathlib import Path
from typing import Any

import seqlab

LIBRARIES = ("torch", "lightning", "hydra-core")


@functools.cache
def code_provenance() -> dict[str, Any]:
    """seqlab's version, its git commit and whether the checkout had uncommitted changes
    (None outside a git checkout, e.g. for a wheel), and the libraries' versions.

    Taken once per process: the code a process runs is the code it imported when it
    started, whatever the checkout holds later (and an in-process sweep's jobs are spared
    two git calls each)."""
    versions = {}
    for name in LIBRARIES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return {
        "seqlab": seqlab.__version__,
        "git": git_state(Path(seqlab.__file__).resolve().parents[2]),
        "python": platform.python_version(),
        **versions,
    }


def git_state(checkout: Path) -> dict[str, Any] | None:
    """{commit, dirty} of the git checkout seqlab's source lives in, or None."""
    if not (checkout / ".git").exists():
        return None

    def git(*args: str) -> str:
        return subprocess.run(
            ["git", "-C", str(checkout), *args], capture_output=True, text=True, timeout=10
        ).stdout.strip()

    try:
        commit = git("rev-parse", "HEAD")
        # Tracked files only: outputs and caches are not code.
        dirty = bool(git("status", "--porcelain", "--untracked-files=no"))
    except (OSError, subprocess.SubprocessError):
        return None
    return {"commit": commit, "dirty": dirty} if commit else None


def describe_device(device: Any) -> str:
    """A torch device in words: `cuda:0 (NVIDIA H100 80GB HBM3)`, `cpu (x86_64)`."""
    import torch

    if isinstance(device, torch.device) and device.type == "cuda":
        return f"{device} ({torch.cuda.get_device_name(device)})"
    return f"{device} ({platform.machine() or 'unknown'})"


def gpu_usage(device: Any) -> dict[str, Any] | None:
    """For a run on a CUDA device: its name and the most memory the run's tensors held on
    it (`peak_memory_mb`) and the most that torch's caching allocator reserved there
    (`peak_reserved_mb`, what other jobs on the same GPU could not have)."""
    import torch

    if not (isinstance(device, torch.device) and device.type == "cuda"):
        return None
    mib = 2**20
    return {
        "name": torch.cuda.get_device_name(device),
        "peak_memory_mb": round(torch.cuda.max_memory_allocated(device) / mib, 1),
        "peak_reserved_mb": round(torch.cuda.max_memory_reserved(device) / mib, 1),
    }


def code_label(provenance: dict[str, Any] | None) -> str:
    """The code a run ran, in a few characters: `0.1.0 a1b2c3d4`, `+dirty` when changed."""
    if not provenance:
        return "unknown"
    git = provenance.get("git") or {}
    label = str(provenance.get("seqlab", "?"))
    if git.get("commit"):
        label += f" {git['commit'][:8]}" + ("+dirty" if git.get("dirty") else "")
    return label
