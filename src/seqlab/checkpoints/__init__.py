"""Checkpoints: how they are written (io), read as plain data (reading), resumed from
(resuming), and the callbacks that write them (callback).

Configs and checkpoints name the checkpoint callback `seqlab.checkpoints.ModelCheckpoint`.
"""

from seqlab.checkpoints.callback import ConfigInCheckpoint, ModelCheckpoint
from seqlab.checkpoints.io import AtomicCheckpointIO, finite_weights
from seqlab.checkpoints.reading import (
    checkpoint_data_config,
    load_checkpoint,
    load_model,
    model_target,
)
from seqlab.checkpoints.resuming import (
    best_checkpoint,
    check_resumable,
    checkpoint_paths,
    latest_checkpoint,
)
from seqlab.trust import CONFIG_KEY

__all__ = [
    "CONFIG_KEY",
    "AtomicCheckpointIO",
    "ConfigInCheckpoint",
    "ModelCheckpoint",
    "best_checkpoint",
    "check_resumable",
    "checkpoint_data_config",
    "checkpoint_paths",
    "finite_weights",
    "latest_checkpoint",
    "load_checkpoint",
    "load_model",
    "model_target",
]
