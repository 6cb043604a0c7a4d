"""Checkpoint files that are never torn and never hold a diverged model."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import torch
from lightning.fabric.plugins import TorchCheckpointIO

from seqlab.rundir import write_atomic

log = logging.getLogger(__name__)


def finite_weights(checkpoint: dict[str, Any]) -> bool:
    """Whether every floating-point tensor of the checkpoint's model weights is finite."""
    return all(
        bool(torch.isfinite(t).all())
        for t in checkpoint.get("state_dict", {}).values()
        if isinstance(t, torch.Tensor) and t.is_floating_point()
    )


class AtomicCheckpointIO(TorchCheckpointIO):
    """Writes every checkpoint atomically (`write_atomic`): a crash or a kill at any moment
    leaves the old file or the new one, never a torn one.

    A checkpoint whose weights are NaN or infinite (a diverged run) is not written, so the
    last good one stays in place.
    """

    def save_checkpoint(
        self, checkpoint: dict[str, Any], path: str | Path, storage_options: Any = None
    ) -> None:
        if not finite_weights(checkpoint):
            log.warning("not writing %s: its weights are not finite; the last good one stays", path)
            return
        write_atomic(path, lambda f: torch.save(checkpoint, f))
