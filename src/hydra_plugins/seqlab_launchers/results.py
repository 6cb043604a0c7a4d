"""What a launcher that runs jobs through submitit gives back for a job."""

# No `from __future__ import annotations`: Hydra's plugin scan imports this module.
import logging
from typing import Any

from hydra.core.utils import JobReturn, JobStatus

log = logging.getLogger(__name__)


def job_result(job: Any, num: int, overrides: list[str]) -> JobReturn:
    """The job's own JobReturn, waited for.

    One that ended without a result (cancelled, out of time, its node lost, its process
    killed) is logged and counts as done: its directory says how far it got, and `resume=`
    carries it on. One whose process failed before Hydra ran it (its pickle unreadable)
    is a failed job, as a job that raised is.
    """
    from submitit.core.utils import FailedJobError, UncompletedJobError

    try:
        return job.results()[0]
    except UncompletedJobError:
        log.warning(f"job {num} ({_kind(job)} {job.job_id}) ended without a result: {job.state}")
        return JobReturn(overrides=overrides, status=JobStatus.COMPLETED)
    except FailedJobError as e:
        first = str(e).strip().splitlines()[:1]
        log.warning(f"job {num} ({_kind(job)} {job.job_id}) failed: {' '.join(first)}")
        return JobReturn(overrides=overrides, status=JobStatus.FAILED, _return_value=e)


def _kind(job: Any) -> str:
    return "SLURM job" if type(job).__name__.startswith("Slurm") else "process"
