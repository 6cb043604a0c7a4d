"""A callback that kills another process (a tracking server) with SIGKILL at the end of a
given epoch: a tracker lost in the middle of a run, at a moment the test chooses."""

import os
import signal

import lightning as L


class KillAtEpoch(L.Callback):
    def __init__(self, pid: int, epoch: int) -> None:
        self.pid, self.epoch = pid, epoch

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if trainer.current_epoch + 1 == self.epoch:
            os.killpg(self.pid, signal.SIGKILL)
