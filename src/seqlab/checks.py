"""Config checks that need no torch: values, relations between values, and data files.

Hydra already rejects unknown keys (struct mode); these catch wrong types, out-of-range
values, contradictions and unreadable data files before any model is built, so a bad
command line fails in under a second or two, in one line naming the key or file.
"""

from __future__ import annotations

import importlib
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, ListConfig, OmegaConf

from seqlab.allocator import ALLOCATORS
from seqlab.config import ConfigError, total_epochs
from seqlab.trust import check_trusted_targets

# Keys absent from a config are skipped, so one table serves every experiment.


@dataclass(frozen=True)
class Rule:
    kind: type  # int, float or str
    low: float | None = None
    high: float | None = None
    low_open: bool = False  # low < value instead of low <= value
    high_open: bool = False
    choices: tuple[Any, ...] = ()  # allowed literal values (checked before the type)
    optional: bool = False  # null allowed

    def allowed(self) -> str:
        """What the rule allows, in words."""
        what = {int: "an integer", float: "a number", str: "a string"}[self.kind]
        if self.low is not None and self.high is not None:
            lo = "(" if self.low_open else "["
            hi = ")" if self.high_open else "]"
            what += f" in {lo}{_fmt(self.low)}, {_fmt(self.high)}{hi}"
        elif self.low is not None:
            what += f" {'>' if self.low_open else '>='} {_fmt(self.low)}"
        elif self.high is not None:
            what += f" {'<' if self.high_open else '<='} {_fmt(self.high)}"
        extras = [repr(c) if isinstance(c, str) else str(c) for c in self.choices]
        if self.optional:
            extras.append("null")
        if extras:
            what = (what + " or " if self.kind is not str else "") + " or ".join(extras)
        return what

    def ok(self, value: Any) -> bool:
        if value is None:
            return self.optional
        if value in self.choices:
            return True
        if self.kind is str:
            return not self.choices and isinstance(value, str)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return False
        if self.kind is int and not isinstance(value, int):
            return False
        if isinstance(value, float) and not math.isfinite(value):
            return False
        if self.low is not None and (value <= self.low if self.low_open else value < self.low):
            return False
        return not (
            self.high is not None and (value >= self.high if self.high_open else value > self.high)
        )


def _fmt(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else str(x)


POSITIVE_INT = Rule(int, low=1)
POSITIVE = Rule(float, low=0, low_open=True)
FRACTION = Rule(float, low=0, high=1)

RULES: dict[str, Rule] = {
    "seed": Rule(int, low=0),
    "threads": Rule(int, low=1, choices=("auto",)),
    "allocator": Rule(str, choices=ALLOCATORS),
    "monitor.mode": Rule(str, choices=("min", "max")),
    # models
    "model.hidden_dim": POSITIVE_INT,
    "model.embedding_dim": POSITIVE_INT,
    "model.num_layers": POSITIVE_INT,
    "model.lr": POSITIVE,
    "model.scheduler_interval": Rule(str, choices=("epoch", "step")),
    "model.dropout": Rule(float, low=0, high=1, high_open=True),
    "model.word_dropout": Rule(float, low=0, high=1, high_open=True),
    "model.char_dim": Rule(int, low=0),
    "model.char_filters": POSITIVE_INT,
    "model.char_kernel": POSITIVE_INT,
    "data.min_freq": POSITIVE_INT,
    "data.tag_column": Rule(str, choices=("upos", "xpos")),
    # data
    "data.length": POSITIVE_INT,
    "data.n": POSITIVE_INT,
    "data.n_val": POSITIVE_INT,
    "data.n_test": POSITIVE_INT,
    "data.num_prob": FRACTION,
    "data.low": Rule(int),
    "data.high": Rule(int),
    "data.input_scale": POSITIVE,
    "data.target_scale": POSITIVE,
    "data.batch_size": Rule(int, low=1, optional=True),
    "data.mode": Rule(str, choices=("torch", "tutorial")),
    "data.seed": Rule(int, low=0),
    "data.min_length": Rule(int, low=1, optional=True),
    "eval.n": POSITIVE_INT,
    # trainer
    "trainer.max_epochs": Rule(int, low=-1),
    "trainer.min_epochs": Rule(int, low=0, optional=True),
    "trainer.max_steps": Rule(int, low=-1),
    "trainer.log_every_n_steps": POSITIVE_INT,
    "trainer.check_val_every_n_epoch": Rule(int, low=1, optional=True),
    "trainer.accelerator": Rule(str),
    "trainer.precision": Rule(
        str,
        choices=("32-true", "16-mixed", "bf16-mixed", "16-true", "bf16-true", "64-true", 32, 64),
    ),
}


def validate(cfg: DictConfig, rules: dict[str, Rule] = RULES) -> None:
    """Raise ConfigError for a required value left unset (`???`), the first value in `cfg`
    that its rule does not allow, or two values that contradict each other."""
    missing = sorted(OmegaConf.missing_keys(cfg))
    if missing:
        raise ConfigError(f"{missing[0]}: required; give {missing[0]}=...")
    for key, rule in rules.items():
        value = OmegaConf.select(cfg, key, default="__absent__")
        if isinstance(value, str) and value == "__absent__":
            continue
        if not rule.ok(value):
            raise ConfigError(f"{key}={value!r} is not allowed: expected {rule.allowed()}")
    check_trusted_targets(cfg.get("trusted_targets"))
    _check_data_relations(cfg.get("data") or {})
    _check_model_and_trainer(cfg)


def _check_data_relations(data: Any) -> None:
    if "low" in data and "high" in data and data.low > data.high:
        raise ConfigError(
            f"data.low={data.low} > data.high={data.high}: the value range must not be empty"
        )
    min_length, length = data.get("min_length"), data.get("length")
    if min_length is not None and length is not None and min_length > length:
        raise ConfigError(
            f"data.min_length={min_length} > data.length={length}: sequences are drawn with "
            "lengths in [min_length, length]"
        )
    if data.get("mode") == "tutorial" and min_length not in (None, length):
        raise ConfigError("data.min_length: variable lengths need data.mode=torch")
    if data.get("mode") == "tutorial" and (data.get("low"), data.get("high")) != (-100, 99):
        raise ConfigError(
            "data.mode='tutorial' draws the notebook's values: it needs data.low=-100, data.high=99"
        )


def _check_model_and_trainer(cfg: DictConfig) -> None:
    kernel = OmegaConf.select(cfg, "model.char_kernel")
    if isinstance(kernel, int) and kernel % 2 == 0:
        raise ConfigError(
            f"model.char_kernel={kernel} is not allowed: expected an odd width (1, 3, 5, ...), "
            "so that each filter is centred on a character"
        )
    devices = OmegaConf.select(cfg, "trainer.devices")
    if devices is not None and devices != "auto" and not _devices_ok(devices):
        raise ConfigError(
            f"trainer.devices={devices!r} is not allowed: expected a count >= 1, -1 (all), "
            "auto, or a list of device indices"
        )
    lengths = OmegaConf.select(cfg, "eval.lengths")
    if lengths is not None and (
        isinstance(lengths, (str, int)) or not all(_positive_int(v) for v in lengths)
    ):
        raise ConfigError(
            f"eval.lengths={lengths!r} is not allowed: expected a list of integers >= 1 or null"
        )
    stages = OmegaConf.select(cfg, "curriculum.stages")
    max_epochs = OmegaConf.select(cfg, "trainer.max_epochs")
    if stages is not None and max_epochs != total_epochs(stages):
        raise ConfigError(
            f"trainer.max_epochs={max_epochs} contradicts curriculum.stages, whose epochs add "
            f"up to {total_epochs(stages)}: leave trainer.max_epochs out, the stages set it"
        )


def _devices_ok(value: Any) -> bool:
    if isinstance(value, ListConfig | list):
        return all(isinstance(v, int) and v >= 0 for v in value) and len(value) > 0
    return isinstance(value, int) and not isinstance(value, bool) and (value >= 1 or value == -1)


def _positive_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 1


# --------------------------------------------------------------------------------------------
# Data files. Readers that need no torch check a data config's files before training starts,
# keyed by the DataModule's `_target_`; a reader caches what it parsed, so the DataModule
# built afterwards in the same process does not read the files again.

FILE_CHECKS = {
    "seqlab.data.conllu.ConlluDataModule": "seqlab.data.conllu_reader:check_files",
}


def check_data_files(data: Any) -> None:
    """Every `*_path` of a data config that is set must be a file; data whose DataModule
    has a file check (FILE_CHECKS) is read through it, so a malformed file is reported
    here, naming its line."""
    data = data or {}
    for key, value in data.items():
        if str(key).endswith("_path") and value is not None and not Path(value).is_file():
            raise ConfigError(f"data.{key}={value}: no such file")
    check = FILE_CHECKS.get(str(data.get("_target_")))
    if check:
        module, _, name = check.partition(":")
        getattr(importlib.import_module(module), name)(data)
