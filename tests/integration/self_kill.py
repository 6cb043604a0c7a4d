"""A callback that kills its own process (SIGKILL: no handler runs, nothing is flushed) at
the start of the first epoch after `after_epoch` whose previous epoch's last.ckpt save was
skipped by the checkpoint callback's time budget: the moment between two saves, made
deliberately rather than waited for. It leaves the count of epochs trained in the run
directory's `killed_after_epochs`."""

import os
import signal
from pathlib import Path

import lightning as L

from seqlab.checkpoints import ModelCheckpoint


class KillBetweenSaves(L.Callback):
    def __init__(self, after_epoch: int) -> None:
        self.after_epoch = after_epoch

    def on_train_epoch_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        (checkpoints,) = [c for c in trainer.callbacks if isinstance(c, ModelCheckpoint)]
        if trainer.current_epoch > self.after_epoch and checkpoints._skipped_last:
            trained = Path(trainer.default_root_dir) / "killed_after_epochs"
            trained.write_text(str(trainer.current_epoch))
            os.kill(os.getpid(), signal.SIGKILL)


class KillMemberOnce(L.Callback):
    """In PBT member `member`'s job (its `pbt.member`), SIGKILL the process at the start of
    epoch `epoch` (0-based), once: a marker `killed_once` in the run directory says it
    did. Other members, and the member's later attempts, train on."""

    def __init__(self, member: int | None, kill: int, epoch: int) -> None:
        self.here, self.kill, self.epoch = member, kill, epoch

    def on_train_epoch_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        marker = Path(trainer.default_root_dir) / "killed_once"
        if self.here == self.kill and trainer.current_epoch == self.epoch and not marker.exists():
            marker.write_text(str(trainer.current_epoch))
            os.kill(os.getpid(), signal.SIGKILL)
