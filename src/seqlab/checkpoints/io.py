"""Checkpoint files: written atomically and never with diverged weights.

Every checkpoint holds tensors and plain data only (hyperparameters, vocabularies, the
resolved config as `seqlab_config`, callback states), so reading one with
`torch.load(..., weights_only=True)` never runs code.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import torch
from lightning.fabric.plugins import TorchCheckpointIO

from seqlab.files import write_atomic

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

    def __init__(self) -> None:
        super().__init__()
        self.last_written: str | None = None  # the latest save's path, None if it was refused

    def save_checkpoint(
        self, checkpoint: dict[str, Any], path: str | Path, storage_options: Any = None
    ) -> None:
        self.last_written = None
        if not finite_weights(checkpoint):
            log.warning("not writing %s: its weights are not finite; the last good one stays", path)
            return
        write_atomic(path, lambda f: torch.save(checkpoint, f))
        self.last_written = str(path)
