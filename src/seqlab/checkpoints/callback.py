"""The callbacks that put checkpoints on disk: ModelCheckpoint
(conf/callbacks/model_checkpoint.yaml), Lightning's, writing within a time budget and
linking last.ckpt to best.ckpt where they would be the same; and ConfigInCheckpoint, part
of every run's contract, which stores the run's config in each checkpoint."""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path
from typing import Any
from weakref import proxy

import lightning as L
import torch
from lightning.pytorch.callbacks import ModelCheckpoint as LightningModelCheckpoint

from seqlab.checkpoints.io import AtomicCheckpointIO
from seqlab.files import link_atomic
from seqlab.trust import CONFIG_KEY

log = logging.getLogger(__name__)


class ModelCheckpoint(LightningModelCheckpoint):
    """Lightning's ModelCheckpoint that spends at most `max_overhead` of the training time
    writing the checkpoints it saves at epoch ends.

    Short epochs (the notebook's full-batch ones take a few milliseconds) would otherwise
    spend more time writing best.ckpt and last.ckpt than training. Over budget:
    - a save of last.ckpt is skipped: the next save within budget writes the state of its
      own, later, epoch; the first save and the one at the final epoch are always written;
    - a save of best.ckpt is kept in memory, as a copy of the checkpoint it would have
      written, and written with the next save within budget or at the end of training (a
      newer best replaces it).
    A run killed in between resumes from the last.ckpt on disk, some epochs back: still
    exactly, since every random draw depends on the seed and the epoch alone. Saves every n
    steps or on a time interval, and data-parallel runs, are not budgeted.

    In an epoch that writes a new best.ckpt, last.ckpt would hold the very same bytes: it
    becomes a hard link to that file instead (`link_atomic`): one write instead of two, and
    a link costs a tiny fraction of a save (Lightning's dump, then the write).
    Where the filesystem has no hard links, it is written as before."""

    def __init__(self, *args: Any, max_overhead: float = 0.01, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.max_overhead = max_overhead
        self._pending: dict[str, dict[str, Any]] = {}  # best path -> checkpoint not yet written
        self._skipped_last = False  # a save of last.ckpt was skipped since the last write
        self._written: set[str] = set()
        # (global step, path, last_model_path in its state) of the last file written
        self._on_disk: tuple[int, str, str] | None = None
        self._writing_s, self._started = 0.0, time.perf_counter()

    def on_train_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._writing_s, self._started = 0.0, time.perf_counter()

    # Lightning builds this key (the repr of a dict of the settings below) at each of the
    # many times it asks, every checkpoint included; the settings do not change.
    @property
    def state_key(self) -> str:
        settings = (
            self.monitor,
            self.mode,
            self._every_n_train_steps,
            self._every_n_epochs,
            self._train_time_interval,
        )
        if getattr(self, "_state_key", (None, None))[0] != settings:
            self._state_key = (settings, super().state_key)
        return self._state_key[1]

    # Lightning keeps absolute paths in this state; seqlab keeps them relative to the
    # checkpoint directory, and reads either kind against the directory the run is in now,
    # so that a run (or sweep) moved or copied elsewhere resumes where it is, not from the
    # files at its old place.
    def state_dict(self) -> dict[str, Any]:
        state = super().state_dict()
        return {**_paths_mapped(state, lambda p: _relative(p, self.dirpath)), "dirpath": "."}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        old = state_dict.get("dirpath") or "."
        state = _paths_mapped(state_dict, lambda p: _rebased(p, old, self.dirpath))
        super().load_state_dict({**state, "dirpath": self.dirpath})

    # Lightning (2.6) saves last.ckpt only in the epochs that save a best one. seqlab's
    # last.ckpt is the latest epoch's state: resuming a killed run, or training a finished
    # one for longer, starts from there rather than from the best epoch.
    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        super().on_train_epoch_end(trainer, pl_module)
        if self._should_save_on_train_epoch_end(trainer):
            self._save_last_every_epoch(trainer)

    def on_validation_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        super().on_validation_end(trainer, pl_module)
        if not self._should_save_on_train_epoch_end(trainer):
            self._save_last_every_epoch(trainer)

    def _save_last_every_epoch(self, trainer: L.Trainer) -> None:
        due = self.save_last and (trainer.current_epoch + 1) % max(1, self._every_n_epochs) == 0
        if due and not self._should_skip_saving_checkpoint(trainer):  # not saved this step
            self._save_last_checkpoint(trainer, self._monitor_candidates(trainer))

    # Lightning deep-copies the callback metrics here, every epoch; they are new tensors
    # every epoch, never changed in place, so a copy of the dict is enough.
    def _monitor_candidates(self, trainer: L.Trainer) -> dict[str, torch.Tensor]:
        candidates = dict(trainer.callback_metrics)
        candidates["epoch"] = torch.tensor(trainer.current_epoch)
        candidates["step"] = torch.tensor(trainer.global_step)
        return candidates

    def _budgeted(self, trainer: L.Trainer) -> bool:
        return (
            trainer.world_size == 1
            and not self._every_n_train_steps
            and self._train_time_interval is None
        )

    def _save_checkpoint(self, trainer: L.Trainer, filepath: str) -> None:
        self._pending.pop(filepath, None)  # this save supersedes a kept one
        if self._link_to_twin(trainer, filepath):
            return
        elapsed = time.perf_counter() - self._started
        within = self._writing_s <= self.max_overhead * elapsed
        first = filepath not in self._written  # so a run killed early has both files
        if within or first or not self._budgeted(trainer) or _last_epoch(trainer):
            self._write_pending(trainer)
            start = time.perf_counter()
            super()._save_checkpoint(trainer, filepath)
            self._writing_s += time.perf_counter() - start
            self._saved(filepath)
            if _wrote(trainer, filepath):
                self._on_disk = (trainer.global_step, filepath, self.last_model_path)
        elif filepath == self.last_model_path:  # superseded by the next save that is written
            self._skipped_last = True
            self._last_global_step_saved = trainer.global_step
        else:
            checkpoint = trainer._checkpoint_connector.dump_checkpoint(self.save_weights_only)
            self._pending[filepath] = _snapshot(checkpoint)
            self._last_global_step_saved = trainer.global_step
            self._last_checkpoint_saved = filepath

    def _link_to_twin(self, trainer: L.Trainer, filepath: str) -> bool:
        """Save last.ckpt as a hard link to the file written at this same step, if there is
        one and its contents are what last.ckpt's would be: the same training state, and the
        same `last_model_path` in this callback's own state (at the first epoch the best is
        written before last.ckpt has a path). Whether it did."""
        twin = self._on_disk
        if filepath != self.last_model_path or twin is None or trainer.world_size != 1:
            return False
        step, written, last_in_state = twin
        if step != trainer.global_step or written == filepath or last_in_state != filepath:
            return False
        start = time.perf_counter()
        if not link_atomic(written, filepath):
            return False
        self._writing_s += time.perf_counter() - start
        self._saved(filepath)
        self._last_global_step_saved = trainer.global_step
        self._last_checkpoint_saved = filepath
        for logger in trainer.loggers:  # as Lightning tells them of every save
            logger.after_save_checkpoint(proxy(self))
        return True

    def _saved(self, filepath: str) -> None:
        self._written.add(filepath)
        self._skipped_last &= filepath != self.last_model_path

    def _write_pending(self, trainer: L.Trainer) -> None:
        for filepath, checkpoint in self._pending.items():
            start = time.perf_counter()
            trainer.strategy.save_checkpoint(checkpoint, filepath)
            self._writing_s += time.perf_counter() - start
        self._pending.clear()

    def on_exception(
        self, trainer: L.Trainer, pl_module: L.LightningModule, exception: BaseException
    ) -> None:
        """A run stopped by a signal or an error keeps the best epoch it reached: a kept
        best.ckpt holds a whole epoch's state, and is written now. last.ckpt stays as last
        written (the state at a signal may be in mid-epoch): a resumed run trains the
        epochs since again, to the same numbers, in at most about 1/max_overhead times the
        time one write takes."""
        try:
            self._write_pending(trainer)
        except OSError as e:  # a full disk, say: the run's own error is the one to report
            log.warning("could not write the kept best checkpoint: %s", e)
        super().on_exception(trainer, pl_module, exception)

    def on_train_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._write_pending(trainer)  # whatever it costs
        if self._skipped_last and self.last_model_path:  # training ended in mid-epoch
            super()._save_checkpoint(trainer, self.last_model_path)
            self._skipped_last = False
        super().on_train_end(trainer, pl_module)


class ConfigInCheckpoint(L.Callback):
    """Stores the run's resolved config in every checkpoint, as plain data.

    A checkpoint then carries all it needs to be evaluated again (data settings included),
    even when it has been moved away from its run directory.
    """

    def __init__(self, config: dict) -> None:
        self.config = config

    def on_save_checkpoint(
        self, trainer: L.Trainer, pl_module: L.LightningModule, checkpoint: dict
    ) -> None:
        checkpoint[CONFIG_KEY] = self.config


_PATH_KEYS = ("best_model_path", "kth_best_model_path", "last_model_path")


def _paths_mapped(state: dict[str, Any], how: Any) -> dict[str, Any]:
    """ModelCheckpoint's state with each checkpoint path in it mapped by `how`."""
    state = dict(state)
    for key in _PATH_KEYS:
        if state.get(key):
            state[key] = how(state[key])
    if isinstance(state.get("best_k_models"), dict):
        state["best_k_models"] = {how(k): v for k, v in state["best_k_models"].items()}
    return state


def _relative(path: str, dirpath: str | None) -> str:
    """`path` relative to `dirpath` if it lies inside it. By string: Lightning joins its
    paths to the directory as strings, and pathlib's parsing made this a sizeable part of
    every checkpoint's state."""
    if dirpath is None:
        return path
    base = dirpath.rstrip(os.sep) + os.sep
    return path[len(base) :] if os.path.isabs(path) and path.startswith(base) else path


def _rebased(path: str, old: str, new: str | None) -> str:
    """A path of the saved state in today's checkpoint directory `new`: relative ones
    (seqlab's) join it, absolute ones inside the old directory (Lightning's) move with it."""
    if new is None:
        return path
    p = Path(path)
    if not p.is_absolute():
        return str(Path(new) / p)
    if old != "." and p.is_relative_to(old):
        return str(Path(new) / p.relative_to(old))
    return path


def _wrote(trainer: L.Trainer, filepath: str) -> bool:
    """Whether the Trainer's last save really wrote `filepath` (AtomicCheckpointIO refuses
    checkpoints whose weights are not finite)."""
    io = trainer.strategy.checkpoint_io
    return not isinstance(io, AtomicCheckpointIO) or io.last_written == str(filepath)


def _last_epoch(trainer: L.Trainer) -> bool:
    """Whether training stops after this epoch-end save: early stopping (or a time limit)
    decided so, or the epoch or step limit is reached. Lightning runs checkpoint callbacks
    after all others, so `should_stop` is already set here."""
    loop = trainer.fit_loop
    max_epochs, max_steps = loop.max_epochs, loop.max_steps
    return (
        trainer.should_stop
        or (max_epochs is not None and 0 <= max_epochs <= loop.epoch_progress.current.processed)
        or (max_steps is not None and 0 <= max_steps <= trainer.global_step)
    )


# Entries of a checkpoint that stay the same for a whole run: a snapshot shares them.
_CONSTANT_ENTRIES = (CONFIG_KEY, "hyper_parameters", "datamodule_hyper_parameters")


def _snapshot(checkpoint: dict[str, Any]) -> dict[str, Any]:
    """A copy of a checkpoint that later training steps cannot change (`_detached_copy`)."""
    return {k: v if k in _CONSTANT_ENTRIES else _detached_copy(v) for k, v in checkpoint.items()}


_ATOMS = frozenset((int, float, str, bool, type(None)))


def _detached_copy(value: Any) -> Any:
    """Tensors cloned, containers copied, everything else (numbers, strings) shared.

    A container of numbers and strings alone (a row of the metric history, which grows by
    one row an epoch) is copied in one go, its items' types checked by `map` in C: the
    snapshot of a long run's history costs a fraction of a microsecond a row.
    """
    if isinstance(value, torch.Tensor):
        return value.detach().clone()
    if isinstance(value, dict):
        if _ATOMS.issuperset(map(type, value.values())):
            return type(value)(value)
        return type(value)(
            (k, v if type(v) in _ATOMS else _detached_copy(v)) for k, v in value.items()
        )
    if isinstance(value, (list, tuple)):
        if _ATOMS.issuperset(map(type, value)):
            return type(value)(value)
        return type(value)(v if type(v) in _ATOMS else _detached_copy(v) for v in value)
    return value
