"""The import path that configs written by seqlab 0.1 name the checkpoint callback by
(`seqlab.callbacks.checkpointing.ModelCheckpoint`); the callback lives in seqlab.checkpoints."""

from seqlab.checkpoints.callback import ModelCheckpoint

__all__ = ["ModelCheckpoint"]
