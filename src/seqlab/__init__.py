"""seqlab: LSTM sequence-model experiments (Lightning + Hydra + TensorBoard).

As a library (docs/python.md):

    import seqlab
    run = seqlab.train("tutorial_sum", ["model.hidden_dim=32"])   # one run, as seqlab-train
    grid = seqlab.sweep("tutorial_sum", model__lr=[0.1, 0.5])     # a multirun, as -m
    jobs = seqlab.plan(overrides=["sweep=notebook"])               # its jobs, as --plan
    runs = seqlab.load("outputs/")                                # every run under a root
    runs.table(); runs.curves(); runs.groups()                    # pandas DataFrames

Importing the package is cheap on purpose: its names are looked up when first used, torch
and lightning are imported only by the code paths that train or evaluate, and pandas only
when a table is asked for, so `--help`, `--cfg job` and config validation stay fast.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

# name -> the module that defines it
_PUBLIC = {
    "train": "seqlab.api",
    "sweep": "seqlab.api",
    "plan": "seqlab.api",
    "load": "seqlab.results",
    "Run": "seqlab.results",
    "Sweep": "seqlab.results",
    "Runs": "seqlab.results",
    "paper_table": "seqlab.results",
    "ConfigError": "seqlab.config",
}
__all__ = [
    "ConfigError",
    "Run",
    "Runs",
    "Sweep",
    "__version__",
    "load",
    "paper_table",
    "plan",
    "sweep",
    "train",
]

if TYPE_CHECKING:
    from seqlab.api import plan, sweep, train
    from seqlab.config import ConfigError
    from seqlab.results import Run, Runs, Sweep, load, paper_table


def __getattr__(name: str) -> Any:
    if name not in _PUBLIC:
        raise AttributeError(f"module 'seqlab' has no attribute {name!r}")
    value = getattr(importlib.import_module(_PUBLIC[name]), name)
    globals()[name] = value  # looked up once
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_PUBLIC])
