"""Turning config nodes into objects: data, models, callbacks, loggers and the Trainer."""

from __future__ import annotations

import logging
import warnings
from typing import Any

import lightning as L
import torch
import torch.utils.deterministic
from hydra.utils import get_class, instantiate
from lightning.pytorch.callbacks import ProgressBar
from omegaconf import DictConfig

from seqlab.allocator import use_allocator
from seqlab.checkpoints import AtomicCheckpointIO
from seqlab.config import ConfigError, resolve_threads, to_plain
from seqlab.memory import check_memory

log = logging.getLogger(__name__)


def build(node: DictConfig | dict, **extra: Any) -> Any:
    """Call the node's `_target_` with its other keys (as plain data) and `extra`.

    Models and data modules are built this way rather than with `instantiate`, so nested
    optimizer and scheduler configs reach them as plain dicts, which is what they save in
    their hyperparameters and so in checkpoints.
    """
    kwargs = dict(to_plain(node))
    target = kwargs.pop("_target_", None)
    if target is None:
        raise ConfigError(f"config node {sorted(kwargs)} has no _target_ to build")
    return get_class(target)(**kwargs, **extra)


def build_all(group: DictConfig | None) -> list[Any]:
    """Instantiate every entry of a group such as `callbacks` or `logger`; null entries skip."""
    if not group:
        return []
    return [instantiate(node) for node in group.values() if node and "_target_" in node]


class _DropTips(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return "Tip:" not in record.getMessage()


def quiet_lightning() -> None:
    """One copy of each Lightning message, without advertising, and no known-noise warnings.

    `import lightning` adds its own console handler; once Hydra has configured the root
    logger (console and the run's log file) that handler only prints every line twice.
    """
    if logging.getLogger().handlers:
        logging.getLogger("lightning").handlers.clear()
    rank_zero = logging.getLogger("lightning.pytorch.utilities.rank_zero")
    if not any(isinstance(f, _DropTips) for f in rank_zero.filters):
        rank_zero.addFilter(_DropTips())
    # Raised inside Lightning against newer torch; nothing a user can act on.
    warnings.filterwarnings("ignore", message=r".*isinstance\(treespec, LeafSpec\).*")
    # On any machine with SLURM's commands (a cluster's login node), Lightning suggests
    # `srun` for every run started without it; seqlab's local runs mean to run locally, and
    # its SLURM jobs come through the launcher.
    warnings.filterwarnings("ignore", message=r".*`srun` command is available on your system")


def setup_torch(cfg: DictConfig, parallel_jobs: int = 1) -> int:
    """Apply the thread and allocator settings and check that the requested accelerator exists."""
    quiet_lightning()
    trainer = cfg.trainer
    if "ddp" in str(trainer.get("strategy", "")) and trainer.get("accelerator") == "cpu":
        parallel_jobs *= max(1, int(trainer.get("devices", 1)))  # one process per device
    threads = resolve_threads(cfg.get("threads", "auto"), parallel_jobs)
    torch.set_num_threads(threads)
    use_allocator(cfg.get("allocator", "reuse"))
    # `trainer.deterministic` turns on torch's deterministic algorithms, which by default also
    # fill every new tensor with NaN to expose reads of uninitialised memory: a debugging aid
    # that changes no result and slows a small LSTM's CPU step noticeably (make bench).
    torch.utils.deterministic.fill_uninitialized_memory = False
    accelerator = str(cfg.trainer.get("accelerator", "auto"))
    if accelerator in ("gpu", "cuda") and not torch.cuda.is_available():
        raise ConfigError(
            f"trainer.accelerator={accelerator}: no CUDA device is visible here; "
            "use trainer.accelerator=auto or cpu"
        )
    if accelerator in ("gpu", "cuda", "auto") and torch.cuda.is_available():
        # The data are generated on the device: the GPU's memory bounds the run too.
        props = torch.cuda.get_device_properties(torch.cuda.current_device())
        check_memory(cfg, (props.total_memory, f"the GPU ({props.name})"))
    return threads


def build_trainer(cfg: DictConfig, callbacks: list[L.Callback], loggers: list[Any]) -> L.Trainer:
    """The configured Trainer; its checkpoints are written atomically (AtomicCheckpointIO).

    A progress bar shows when `callbacks.progress_bar` is set and `trainer.enable_progress_bar`
    is true; either one turns it off. (Lightning would otherwise add a default bar of its
    own when the callback is null, whose redraw thread slows a small job noticeably.)
    """
    bars = [c for c in callbacks if isinstance(c, ProgressBar)]
    shown = bool(bars) and bool(cfg.trainer.get("enable_progress_bar", True))
    if not shown:
        callbacks = [c for c in callbacks if c not in bars]
    return instantiate(
        cfg.trainer,
        callbacks=callbacks,
        logger=loggers or False,
        plugins=[AtomicCheckpointIO()],
        enable_progress_bar=shown,
    )
