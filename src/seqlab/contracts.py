"""What the parts of seqlab must offer one another, named.

An analysis, a callback or a command that needs more of a model or a DataModule than
Lightning's own interface checks for one of these protocols with `isinstance` (or, on a
class, `issubclass`), and says which one is missing when it is. A new model or DataModule
takes part by implementing the methods; nothing needs registering.

| protocol | who offers it | who needs it |
| --- | --- | --- |
| Tagger | TaggerModule | seqlab-tag, the TagExamples callback |
| HasVocabulary | TaggerModule | seqlab-eval: data read with the model's vocabularies |
| ReadsWithVocabulary | ConlluDataModule (the class) | seqlab-eval, likewise |
| CountsConfusion | TaggerModule | the confusion report and figure |
| ScaledRegressor | RegressorModule | length generalisation, the prediction plot |
| SequenceSource | RandomSumDataModule | length generalisation |
| Reshapeable | RandomSumDataModule | the curriculum |
| StagedTraining | the Curriculum callback | the curriculum report |
| RecordsDivergence | the DivergenceGuard callback | train(): status `diverged` |
| PrunesTrials | the TrialPruning callback | train(): status `pruned` |
| PausesRuns | the PbtBoundary callback | train(): status `paused` |
| TracksRuns | the MLflow and W&B loggers | train(): the run's outcome, metrics.json's `trackers` |

A light module: torch's types appear in annotations only (pyproject.toml's import-linter
contracts).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

if TYPE_CHECKING:
    import torch


@runtime_checkable
class Tagger(Protocol):
    """A model that tags tokenised sentences with tag names, one per word."""

    def tag(self, sentences: Sequence[Sequence[str]]) -> list[list[str]]: ...


@runtime_checkable
class HasVocabulary(Protocol):
    """A model that carries the vocabularies it was trained with ({words, tags, chars})."""

    def vocabulary(self) -> dict[str, list[str]]: ...


@runtime_checkable
class ReadsWithVocabulary(Protocol):
    """A DataModule class that can read new data with a trained model's vocabularies
    rather than build its own, so unseen words map to <unk> as the model expects."""

    @classmethod
    def with_vocabulary(cls, vocabulary: dict[str, list[str]], **settings: Any) -> Any: ...


@runtime_checkable
class CountsConfusion(Protocol):
    """A classifier that keeps, per evaluation stage ("val", "test"), the last epoch's
    confusion matrix: (T, T) counts, rows gold and columns predicted, in `tag_names` order."""

    confusion: dict[str, torch.Tensor]

    @property
    def tag_names(self) -> list[str]: ...


@runtime_checkable
class ScaledRegressor(Protocol):
    """A model that maps scaled sequences x (B, L, 1) to scaled predictions (B, 1);
    dividing a prediction by `target_scale` gives it in the data's original units."""

    @property
    def target_scale(self) -> float: ...

    def __call__(self, x: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor: ...


@runtime_checkable
class SequenceSource(Protocol):
    """Data that can draw fresh sequences of any length from its seeded streams."""

    @property
    def length(self) -> int:
        """The sequence length the data trains on."""
        ...

    def draw(
        self, n: int, length: int, split: str = "test", device: Any = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """n sequences: x (n, length, 1) scaled as a model reads it, y (n, 1) in the data's
        units. The same (split, n, length) always gives the same sequences."""
        ...


@runtime_checkable
class Reshapeable(Protocol):
    """Data whose sequence length (and training-set size) can change between epochs."""

    def set_shape(self, length: int, n: int | None = None) -> None: ...


@runtime_checkable
class StagedTraining(Protocol):
    """A training schedule that records one row per finished stage ({length, epochs, n,
    train_loss, val_loss, val_mse, ...})."""

    stage_rows: list[dict[str, Any]]


@runtime_checkable
class RecordsDivergence(Protocol):
    """A callback that stops a run whose loss became NaN or infinite, and says where:
    {metric, epoch}, or None while the run is fine."""

    diverged_at: dict[str, Any] | None


@runtime_checkable
class PausesRuns(Protocol):
    """A callback that pauses a PBT member at the end of its generation, and says where:
    {epoch}, or None while the member trains on (and outside a PBT sweep)."""

    paused_at: dict[str, Any] | None


@runtime_checkable
class PrunesTrials(Protocol):
    """A callback that stops a search trial its study's pruner gives up on, and says where:
    {epoch, value}, or None while the trial goes on (and outside a search)."""

    pruned_at: dict[str, Any] | None


@runtime_checkable
class TracksRuns(Protocol):
    """A logger that keeps a run in an experiment tracker, and needs to know how the run
    ended (Lightning tells loggers only that fit or test finished). `tracked()` is what
    metrics.json records of the tracker's run (its ids; `error` if the tracker failed);
    `end_run(record)` hands it the run's metrics.json record at the end."""

    def tracked(self) -> dict[str, Any]: ...

    def end_run(self, record: dict[str, Any]) -> None: ...
