"""The checkpoint callback's old import path still builds the callback."""

from __future__ import annotations


def test_a_config_naming_the_checkpoint_callbacks_old_place_still_builds(tmp_path):
    """The checkpoint callback moved from seqlab.checkpoints to seqlab.callbacks; configs
    written before the move still name the old place."""
    from hydra.utils import instantiate

    from seqlab.callbacks.checkpointing import ModelCheckpoint

    node = {"_target_": "seqlab.checkpoints.ModelCheckpoint", "dirpath": str(tmp_path)}
    assert type(instantiate(node)) is ModelCheckpoint
