"""The checkpoint callback's import paths: every one that configs have named still builds it."""

from __future__ import annotations

import pytest


@pytest.mark.parametrize(
    "target",
    [
        "seqlab.checkpoints.ModelCheckpoint",  # today's, and seqlab 0.1's first
        "seqlab.callbacks.checkpointing.ModelCheckpoint",  # seqlab 0.1's later configs
    ],
)
def test_every_name_configs_gave_the_checkpoint_callback_builds_it(target, tmp_path):
    from hydra.utils import instantiate

    from seqlab.checkpoints.callback import ModelCheckpoint

    node = {"_target_": target, "dirpath": str(tmp_path)}
    assert type(instantiate(node)) is ModelCheckpoint


def test_the_config_names_the_checkpoint_callback_where_it_lives(tmp_path):
    from seqlab.checkpoints import ModelCheckpoint
    from tests.conftest import compose_train

    target = compose_train([], tmp_path).callbacks.model_checkpoint._target_
    assert target == f"seqlab.checkpoints.{ModelCheckpoint.__name__}"
