"""A trained tagger, read from its checkpoint for tagging: seqlab-tag and Run.tag use it."""

from __future__ import annotations

from collections.abc import Sequence

from seqlab.config import ConfigError
from seqlab.contracts import Tagger


def load_tagger(path: str, trusted: Sequence[str] = ()) -> Tagger:
    """The tagger of a seqlab checkpoint, read without running code: weights_only, and
    nothing imported that seqlab.trust does not allow (or `trusted` names)."""
    from hydra.utils import get_class

    from seqlab.build import quiet_lightning
    from seqlab.checkpoints import load_checkpoint, load_model, model_target

    ckpt = load_checkpoint(path, trusted)
    if not issubclass(get_class(model_target(ckpt)), Tagger):
        raise ConfigError(f"ckpt_path={path}: holds a {model_target(ckpt)}, which does not tag")
    quiet_lightning()
    return load_model(path, ckpt)
