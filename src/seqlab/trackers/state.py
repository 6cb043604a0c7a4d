"""Which tracker run a run or a sweep writes to: `<dir>/<tracker>.json` (`mlflow.json`,
`wandb.json`), written atomically when the tracker's run starts. `resume=` reads it to
carry on the same tracker run; a sweep's jobs read their sweep's to find their parent
(MLflow) or group (W&B), and the overrides every job shares, which their names leave out.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from seqlab.files import write_json_atomic
from seqlab.sweeps.jobs import REPLICATE_KEYS
from seqlab.trackers import setting_label


def state_file(directory: str | Path, tracker: str) -> Path:
    return Path(directory) / f"{tracker}.json"


def read_state(directory: str | Path, tracker: str) -> dict[str, Any] | None:
    """What `<directory>/<tracker>.json` says, or None (absent, or not seqlab's)."""
    try:
        state = json.loads(state_file(directory, tracker).read_text())
    except (OSError, ValueError):
        return None
    return state if isinstance(state, dict) else None


def write_state(directory: str | Path, tracker: str, state: Mapping[str, Any]) -> None:
    write_json_atomic(state_file(directory, tracker), dict(state))


@dataclass(frozen=True)
class SweepJob:
    """A job of a multirun whose driver set a tracker up for the sweep."""

    sweep: dict[str, Any]  # what the sweep directory's <tracker>.json says
    overrides: list[str]  # the job's own, as Hydra gives them
    number: Any  # hydra.job.num

    def setting(self) -> str:
        return job_setting(self.sweep.get("fixed") or [], self.overrides)


def sweep_job(tracker: str) -> SweepJob | None:
    """This process's job, if it is one of a multirun whose driver set `tracker` up."""
    from hydra.core.hydra_config import HydraConfig
    from hydra.types import RunMode

    if not HydraConfig.initialized() or HydraConfig.get().mode != RunMode.MULTIRUN:
        return None
    hydra = HydraConfig.get()
    state = read_state(hydra.sweep.dir, tracker)
    if state is None:
        return None
    return SweepJob(state, [str(o) for o in hydra.overrides.task], hydra.job.get("num"))


def parse_overrides(overrides: Sequence[str]) -> list[Any]:
    from hydra.core.override_parser.overrides_parser import OverridesParser

    return OverridesParser.create().parse_overrides([str(o) for o in overrides])


def fixed_keys(task_overrides: Sequence[str]) -> list[str]:
    """The keys a multirun's command line gives every job the same value: those of its
    overrides that are not sweeps (`model.lr=0.1`, not `model.lr=0.1,0.2`, `seed=range(3)`)."""
    return [
        o.get_key_element() for o in parse_overrides(task_overrides) if not o.is_sweep_override()
    ]


def job_setting(fixed: Sequence[str], overrides: Sequence[str]) -> str:
    """A job's setting: its overrides less the keys every job shares and the replicate
    keys (`model.hidden_dim=8,model.lr=0.01`), as Hydra gives the values."""
    shared, bookkeeping = set(fixed), ("trial.", "resume")
    own = {}
    for override, line in zip(parse_overrides(overrides), overrides, strict=True):
        key = override.get_key_element()
        if key in shared or key in REPLICATE_KEYS or key.startswith(bookkeeping):
            continue
        own[key] = str(line).split("=", 1)[1]
    return setting_label(own)


def job_name(setting: str, seed: Any) -> str:
    """A sweep job's name in a tracker: its setting and seed (`model.lr=0.1 seed=2`)."""
    return f"seed={seed}" if setting == "all jobs" else f"{setting} seed={seed}"
