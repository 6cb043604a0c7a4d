"""What a tracker's logger does when its tracker fails mid-run: one warning, and the run
trains on without it. metrics.json and the checkpoints are the run's record; a tracker is
a view of it, and never the reason a run is lost."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from seqlab.rundir import first_line

log = logging.getLogger(__name__)


class Guarded:
    """Mixed into a tracker's logger: `_guarded(what, call, ...)` runs a call to the
    tracker; the first failure is kept in `error` (metrics.json's `trackers`) and logged
    once, and every later call is skipped."""

    tracker = "the tracker"
    error: str | None = None

    def _guarded(self, what: str, call: Callable[..., Any], *args: Any) -> None:
        if self.error is not None:
            return
        try:
            call(*args)
        except Exception as e:  # noqa: BLE001 (metrics.json and the checkpoints are the record)
            if self.error is not None:  # a guarded call inside this one failed first
                return
            self.error = f"{what}: {type(e).__name__}: {first_line(e)}"[:1000]
            log.warning(
                "%s failed (%s); the run goes on without it, metrics.json keeps every value",
                self.tracker,
                self.error,
            )
