"""Config plumbing that must stay light: where the configs are, resolvers, plain data, threads.

Nothing here imports torch or lightning, so `--help`, `--cfg job` and a bad command line
are answered in well under a second.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, ListConfig, OmegaConf

from seqlab.names import logged_key


def _config_dir() -> str:
    """conf/: inside the installed package (a wheel ships it as seqlab/conf), else at the
    top of the source tree, beside src/ (a checkout or an editable install)."""
    packaged = Path(__file__).resolve().parent / "conf"
    if (packaged / "train.yaml").is_file():
        return str(packaged)
    return str(Path(__file__).resolve().parents[2] / "conf")


CONFIG_DIR = _config_dir()


class ConfigError(ValueError):
    """A config value that is not allowed; the message is one line naming the key."""


class Refused(SystemExit):
    """A command refusing its input or its directory: one line for the user, and the exit
    status (2 for a bad value or a directory another process holds, 1 for a full disk).

    A SystemExit, so that it passes through Hydra, which would turn a callback's exception
    into a warning and a task's into a failed job. The commands print `<prog>: error:
    <line>` and exit with `code`; the Python API (seqlab.api) raises the line as a
    ConfigError instead.
    """

    def __init__(self, line: str, code: int = 2) -> None:
        super().__init__(code)
        self.line = line


def unknown_key(schema: type, keys: Any, where: str) -> str | None:
    """One line on the first of `keys` that the dataclass `schema` has no field for, or
    None. Hydra adds a `+key` even to a typed config (a sweeper's, a launcher's), where it
    would do nothing."""
    import dataclasses

    known = [f.name for f in dataclasses.fields(schema)]
    for key in keys:
        if key not in known:
            allowed = ", ".join(k for k in known if k != "_target_")
            return f"{where}.{key}: no such key (keys of {where}: {allowed})"
    return None


def register_resolvers() -> None:
    """Register seqlab's OmegaConf resolvers (idempotent).

    `${uid:}` is a short random id. Like Hydra's `${now:}` it is cached on the config, and
    Hydra copies that cache into every job of a multirun, so all jobs of one sweep agree on
    the sweep directory while two runs started in the same second still get different ones.
    `${metric:train/loss}` is the key Lightning logs that metric under (seqlab.names).
    `${total_epochs:<stages>}` adds up a curriculum's stage epochs.
    """
    if not OmegaConf.has_resolver("uid"):
        OmegaConf.register_new_resolver("uid", lambda: secrets.token_hex(3), use_cache=True)
    if not OmegaConf.has_resolver("resume_dir"):
        # ${resume_dir:<resume>,<new dir>}: the directory to carry on, else a new one.
        OmegaConf.register_new_resolver(
            "resume_dir", lambda resume, new: str(resume).rstrip("/") if resume else new
        )
    if not OmegaConf.has_resolver("metric"):
        OmegaConf.register_new_resolver("metric", logged_key)
    if not OmegaConf.has_resolver("total_epochs"):
        OmegaConf.register_new_resolver("total_epochs", total_epochs)


def total_epochs(stages: Any) -> int:
    """The epochs of all stages of a schedule ([{epochs: ...}, ...]) added up."""
    try:
        return sum(int(stage["epochs"]) for stage in stages)
    except (KeyError, TypeError, ValueError) as e:
        raise ConfigError(
            f"curriculum.stages={to_plain(stages)!r}: each stage needs an integer `epochs`"
        ) from e


def to_plain(cfg: Any) -> Any:
    """A resolved DictConfig/ListConfig as plain dicts and lists (safe to pickle and to save)."""
    if isinstance(cfg, (DictConfig, ListConfig)):
        return OmegaConf.to_container(cfg, resolve=True)
    return cfg


def flat_scalars(tree: dict) -> dict[str, Any]:
    """flat_values, with the scalar leaves alone (lists and empty mappings dropped)."""
    return {
        key: value
        for key, value in flat_values(tree).items()
        if isinstance(value, (int, float, str, bool)) or value is None
    }


def flat_values(tree: dict, prefix: str = "") -> dict[str, Any]:
    """Flatten nested dicts to 'a.b' keys, every leaf kept (lists too); the objects' import
    paths (`_target_`, `_partial_`) are left out. What metrics.json's `config` holds and
    the tables of runs (seqlab.results) show."""
    out: dict[str, Any] = {}
    for key, value in tree.items():
        if key in ("_target_", "_partial_"):
            continue
        name = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            out.update(flat_values(value, f"{name}."))
        else:
            out[name] = value
    return out


# --------------------------------------------------------------------------------------------
# Threads


def available_cores() -> int:
    """Cores this process may use: its CPU affinity, within a SLURM job its allocation."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 1
    slurm = os.environ.get("SLURM_CPUS_PER_TASK", "")
    return min(cores, int(slurm)) if slurm.isdigit() and int(slurm) > 0 else cores


def resolve_threads(setting: int | str, parallel_jobs: int = 1) -> int:
    """Torch threads for one job: an explicit number, or 'auto' = cores / parallel jobs.

    Small LSTMs gain little from a second thread and lose a lot when another process
    competes for the core, so jobs that run side by side split the cores between them.
    """
    if setting != "auto":
        return int(setting)
    return max(1, available_cores() // max(1, parallel_jobs))
