"""W&B's modes as seqlab offers them: `offline` by default, so that a run on a laptop or a
cluster node without internet writes its W&B run to disk and nothing goes out;
`wandb sync <run>/wandb/offline-run-*` uploads it later. `online` is the user's explicit
choice, and `disabled` turns W&B off for a run without changing its logger list.

W&B's process-wide settings must say offline too, not only the run's: W&B's client
otherwise probes its cloud for telemetry as it starts a run, offline or not (a DNS lookup
and an HTTPS request that the tests' network guard caught)."""

from __future__ import annotations

from typing import Any

from seqlab.trackers import TrackerError

MODES = ("offline", "online", "disabled")
ALIASES = {"dryrun": "offline", "run": "online"}  # W&B's older names, as WANDB_MODE may say


def check_mode(mode: Any, where: str) -> None:
    if mode not in MODES and mode not in ALIASES:
        allowed = " or ".join(repr(m) for m in MODES)
        raise TrackerError(f"{where}={mode!r} is not allowed: expected {allowed}")


def goes_online(mode: str) -> bool:
    return ALIASES.get(mode, mode) == "online"
