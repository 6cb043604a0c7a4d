"""A Hydra callback that holds a SLURM job still
at a chosen moment after its run has finished, and says so in a marker file, so that a test
can signal it right there through SLURM (scancel --signal=USR2), the path --signal=USR2@<s>
takes. Given with `+hydra.callbacks.hold=...`; the sweep's environment needs the repository
on PYTHONPATH (sbatch passes it on to the job), so both the driver and the job import it."""

import atexit
import time
from pathlib import Path
from typing import Any

from hydra.experimental.callback import Callback


def _hold(marker: str, where: str, seconds: float) -> None:
    Path(marker).write_text(where)
    time.sleep(seconds)  # a handler that returns lets the sleep go on (PEP 475)


class _SlowToPickle:
    """Rides on the job's JobReturn: pickling it (inside submitit's temporary_save_path,
    submission.py:58-61) holds there; it unpickles, on the driver, as a plain str."""

    def __init__(self, marker: str, seconds: float) -> None:
        self.marker, self.seconds = marker, seconds

    def __reduce__(self) -> tuple:
        _hold(self.marker, "result", self.seconds)
        return (str, ("held",))


class HoldAfterRun(Callback):
    """where: "job_end" (metrics.json says completed; the job has not returned),
    "result" (while submitit writes the job's result), "exit" (result written, the
    process exiting: an atexit hook)."""

    def __init__(self, where: str, marker: str, seconds: float = 20) -> None:
        if where not in ("job_end", "result", "exit"):
            raise ValueError(f"where={where}: one of job_end, result, exit")
        self.where, self.marker, self.seconds = where, marker, seconds

    def on_job_end(self, config: Any, job_return: Any, **kwargs: Any) -> None:
        if self.where == "job_end":
            _hold(self.marker, self.where, self.seconds)
        elif self.where == "result":
            job_return.held = _SlowToPickle(self.marker, self.seconds)
        else:
            atexit.register(_hold, self.marker, self.where, self.seconds)
