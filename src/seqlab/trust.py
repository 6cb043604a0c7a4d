"""What may be built from a config read out of a checkpoint: seqlab's own classes only.

A checkpoint is read with `weights_only=True`, so unpickling runs no code; but the config
stored inside it (`seqlab_config`) names the classes that seqlab-eval, seqlab-tag and
resuming build (`model._target_`, `data._target_`), and building a class means importing
its module and calling it. A shared checkpoint whose config named `subprocess.Popen` would
run a command. So every `_target_` of a checkpoint's model and data configs, and of the
hyperparameters it stores, is checked against an allowlist of import paths *before*
anything is imported: seqlab's models and data modules, torch's optimizers and learning-rate
schedulers (which a model's hyperparameters name), and whatever the user trusts by name
(`trusted_targets=[mypkg.MyModule]`, `seqlab-tag --trust`). A test keeps the list in step
with conf/model/ and conf/data/.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from typing import Any

from seqlab.config import ConfigError

CONFIG_KEY = "seqlab_config"  # where a checkpoint keeps the run's resolved config

SEQLAB_TARGETS = frozenset(
    {
        "seqlab.models.regressor_module.RegressorModule",
        "seqlab.models.tagger_module.TaggerModule",
        "seqlab.data.random_sum.RandomSumDataModule",
        "seqlab.data.toy_tagging.ToyTaggingDataModule",
        "seqlab.data.conllu.ConlluDataModule",
    }
)
# torch.optim.Adam, torch.optim.lr_scheduler.CosineAnnealingLR: a class of those two modules
# by its plain name (no module attribute of them can be reached this way).
TORCH_OPTIM = re.compile(r"torch\.optim\.(lr_scheduler\.)?[A-Z][A-Za-z0-9]*")
IMPORT_PATH = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)+")
# The parts of a checkpoint that seqlab or Lightning build objects from.
CHECKED = (
    (CONFIG_KEY, "model"),
    (CONFIG_KEY, "data"),
    ("hyper_parameters",),
    ("datamodule_hyper_parameters",),
)


def allowed(target: Any, trusted: Iterable[str] = ()) -> bool:
    """Whether a `_target_` read from a checkpoint may be imported and built."""
    if not isinstance(target, str):
        return False
    return target in SEQLAB_TARGETS or bool(TORCH_OPTIM.fullmatch(target)) or target in trusted


def targets(tree: Any, where: str) -> Iterator[tuple[str, Any]]:
    """(`a.b._target_`, value) for every `_target_` anywhere in a tree of dicts and lists."""
    if isinstance(tree, dict):
        for key, value in tree.items():
            name = f"{where}.{key}"
            if key == "_target_":
                yield name, value
            else:
                yield from targets(value, name)
    elif isinstance(tree, (list, tuple)):
        for i, value in enumerate(tree):
            yield from targets(value, f"{where}[{i}]")


def check_checkpoint(ckpt: dict[str, Any], source: str, trusted: Iterable[str] = ()) -> None:
    """Refuse, in one line naming `source` (e.g. `ckpt_path=<file>`) and the key, a
    checkpoint that would have seqlab build anything outside the allowlist."""
    trusted = frozenset(trusted)
    for path in CHECKED:
        node: Any = ckpt
        for part in path:
            node = node.get(part) if isinstance(node, dict) else None
        for key, target in targets(node, ".".join(path)):
            if not allowed(target, trusted):
                raise ConfigError(
                    f"{source}: refused: {key}={target!r} is not one of seqlab's models, data "
                    "modules or torch's optimizers, and nothing else is built from a "
                    "checkpoint; if you trust it, add it to trusted_targets (seqlab-tag: "
                    "--trust)"
                )


def check_trusted_targets(value: Any) -> list[str]:
    """`trusted_targets`: a list of import paths (`mypkg.models.MyModule`)."""
    if value is None:
        return []
    if isinstance(value, str) or not all(
        isinstance(v, str) and IMPORT_PATH.fullmatch(v) for v in value
    ):
        raise ConfigError(
            f"trusted_targets={value!r} is not allowed: expected a list of import paths "
            "such as [mypkg.models.MyModule]"
        )
    return list(value)
