"""Per-run analyses: what runs after a model has been trained and tested, or evaluated.

An analysis is a small object built from its yaml in conf/analysis/ (one file each,
composed by `analysis: default`). train() and evaluate() hand every configured analysis the
same RunContext and name none of them:

    for each analysis: if analysis.applies(run): metrics.json[analysis.key] = analysis.run(run)

`applies` decides from the context alone (its settings, and the model's and data's
protocols in seqlab.contracts); it raises ConfigError when the analysis was asked for but
cannot work on this run, naming the setting. `run` writes the files it lists in `files`
into the run directory, may log figures to TensorBoard, and returns JSON-able results.
Only the first process of a data-parallel run analyses.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import lightning as L

from seqlab.loggers import tensorboard_writers


@dataclass
class RunContext:
    """A finished run, as analyses see it: the model holds the weights that were tested
    (the best checkpoint's after training)."""

    model: L.LightningModule
    datamodule: L.LightningDataModule
    trainer: L.Trainer
    run_dir: Path

    @property
    def writers(self) -> list[Any]:
        """TensorBoard SummaryWriters to log figures and scalars to (maybe none)."""
        return tensorboard_writers(self.trainer)

    @property
    def step(self) -> int:
        return self.trainer.global_step


@runtime_checkable
class RunAnalysis(Protocol):
    """The contract of a per-run analysis (see the module's docstring)."""

    key: str  # its entry in metrics.json
    files: tuple[str, ...]  # what it writes into the run directory

    def applies(self, run: RunContext) -> bool: ...

    def run(self, run: RunContext) -> Any: ...


def run_analyses(analyses: Iterable[Any], run: RunContext) -> dict[str, Any]:
    """Run every analysis that applies; return {key: result} for metrics.json."""
    results: dict[str, Any] = {}
    for analysis in analyses:
        if not isinstance(analysis, RunAnalysis):
            raise TypeError(f"{type(analysis).__name__} is not a RunAnalysis (seqlab.analysis)")
        if analysis.applies(run) and run.trainer.is_global_zero:
            results[analysis.key] = analysis.run(run)
    return results
