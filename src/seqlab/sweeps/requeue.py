"""SLURM's signal before a job's time limit, once the job's run has finished: not a requeue.

SLURM signals a job `signal_delay_s` before its time limit (`--signal=USR2@<s>`), and
submitit's handler of that signal checkpoints and requeues the job, then exits with -1, at
whatever line the job has reached (submitit/core/job_environment.py). Until the run has
finished, that is what a sweep wants: the requeued job resumes from checkpoints/last.ckpt.
After it, it is not: the job is requeued only to start again and return its record, and a
signal that lands while submitit writes the job's result leaves the result's temporary file
behind (`<job>_<task>_result.pkl.save_tmp`), on which the next start of the job fails
(submitit's `temporary_save_path` asserts that there is none): SLURM says FAILED of a job
whose run completed.

So, in a SLURM job, the signal goes on to submitit's handler only while the run has not
finished (its metrics.json says neither completed, diverged nor pruned) and the job has not
made its result; afterwards it is logged and ignored. SLURM's SIGTERM and SIGKILL at the
time limit itself are no signals of this kind: a job still running then ends TIMEOUT,
whatever its exit status.
"""

from __future__ import annotations

import contextlib
import logging
import signal
from collections.abc import Callable, Iterator
from pathlib import Path
from types import FrameType
from typing import Any

from seqlab.names import FINISHED
from seqlab.rundir import read_metrics

log = logging.getLogger(__name__)

Handler = Callable[[int, FrameType | None], Any]


class RequeueUnlessFinished:
    """The handler of the signal before the time limit: `requeue` (the handler installed
    before, submitit's) while the run in `run_dir` has not finished and `ended` is False."""

    def __init__(self, requeue: Handler, run_dir: Path | None) -> None:
        self.requeue = requeue
        self.run_dir = run_dir
        self.ended = False  # the job has made its result: submitit writes it, then exits

    def finished(self) -> str | None:
        """Why the job needs no requeue any more; None while it does."""
        if self.ended:
            return "the job has made its result"
        if self.run_dir is not None:
            status = read_metrics(self.run_dir).get("status")
            if status in FINISHED:
                return f"its run is {status}"
        return None

    def __call__(self, signum: int, frame: FrameType | None) -> None:
        if (why := self.finished()) is not None:
            name = signal.Signals(signum).name
            log.warning("%s before the time limit: not requeued, %s", name, why)
            return
        self.requeue(signum, frame)


@contextlib.contextmanager
def requeue_only_unfinished(signum: int, run_dir: Path | None) -> Iterator[None]:
    """While inside, `signum` requeues the job (through the handler installed before) only
    while the run in `run_dir` has not finished; once out (the job's result is made, or it
    raised), never. The handler stays installed: Lightning, which puts back at each
    fit's or test's end the handlers it found, puts this one back."""
    before = signal.getsignal(signum)
    if not callable(before):  # no handler of submitit's to guard: the signal's own action
        yield
        return
    handler = RequeueUnlessFinished(before, run_dir)
    signal.signal(signum, handler)
    try:
        yield
    finally:
        handler.ended = True


def remove_unfinished_result(result_pickle: Path) -> None:
    """Delete the temporary file of the job's result that an earlier start of the same job
    left when it was stopped while writing it: submitit refuses to write the result (and
    the job fails) while there is one. Only this job writes it, and not yet."""
    unfinished = result_pickle.with_name(result_pickle.name + ".save_tmp")
    with contextlib.suppress(FileNotFoundError):
        unfinished.unlink()
        log.warning("removed %s, which an earlier start of this job left unfinished", unfinished)
