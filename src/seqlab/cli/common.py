"""What seqlab's Hydra commands share: one-line errors, the thread budget, paths shown.

Only Hydra, OmegaConf and seqlab's light modules are imported here: `--help`, `--cfg job`
and a config that fails its checks never pay for importing torch or lightning.
"""

from __future__ import annotations

import logging
import os
import re
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from hydra.core.hydra_config import HydraConfig
from hydra.errors import (
    ConfigCompositionException,
    InstantiationException,
    MissingConfigException,
    OverrideParseException,
)
from hydra.types import RunMode
from omegaconf import DictConfig
from omegaconf.errors import MissingMandatoryValue, OmegaConfBaseException, ValidationError

from seqlab.checks import check_data_files, validate
from seqlab.config import ConfigError, Refused, available_cores, register_resolvers
from seqlab.files import StorageError, unwritable, within
from seqlab.locking import DirectoryInUse, acquire
from seqlab.memory import check_memory
from seqlab.names import RESUME
from seqlab.sweeps.gpu_slots import jobs_at_once
from seqlab.sweeps.status import stop_all
from seqlab.trackers import check_trackers

register_resolvers()


def check(cfg: DictConfig) -> None:
    """Every check that needs no torch: values, their relations, and the data's files."""
    validate(cfg)
    check_memory(cfg)
    check_data_files(cfg.get("data"))
    # A sweep's driver reached the tracking server before its jobs started (SweepTrackers).
    in_sweep = HydraConfig.initialized() and HydraConfig.get().mode == RunMode.MULTIRUN
    check_trackers(cfg.get("logger"), probe=not in_sweep)


def parallel_jobs() -> int:
    """How many jobs run side by side on this machine (1 for the basic launcher).

    joblib's `n_jobs`: a positive count, or -1 for one job per core, -2 for all but one...
    submitit's `cpus_per_task`: cores per job, so cores // cpus_per_task jobs share a machine
    (under SLURM the allocation itself is the machine: see available_cores). A sweeper with
    its own `n_jobs` (Optuna's trials in flight) runs at most that many. A job that
    local_parallel started in a GPU slot is told the count by its launcher.
    """
    if (told := jobs_at_once()) is not None:
        return told
    hydra = HydraConfig.get()
    launcher = hydra.launcher
    cpus_per_task = launcher.get("cpus_per_task")
    if isinstance(cpus_per_task, int) and cpus_per_task > 0:
        return max(1, available_cores() // cpus_per_task)
    n_jobs = launcher.get("n_jobs")
    if not isinstance(n_jobs, int) or n_jobs == 0:
        return 1
    jobs = n_jobs if n_jobs > 0 else max(1, available_cores() + 1 + n_jobs)
    in_flight = hydra.sweeper.get("n_jobs")
    return min(jobs, in_flight) if isinstance(in_flight, int) and in_flight > 0 else jobs


def shown(path: str | Path) -> str:
    """A path as a user can paste it: relative to the working directory when inside it."""
    return within(path, Path.cwd())


def checked(task: Callable[[DictConfig], Any], cfg: DictConfig) -> Any:
    """Check `cfg`, then run `task`. A config error, or a directory another process holds,
    is refused (seqlab.config.Refused) with one line and exit status 2; a full disk, a quota
    or a read-only file system with one line and exit status 1."""
    try:
        check(cfg)
        return task(cfg)
    except (ConfigError, OmegaConfBaseException, InstantiationException) as e:
        raise Refused(config_error_line(e)) from e
    except DirectoryInUse as e:
        raise Refused(str(e)) from e
    except StorageError as e:
        where = shown(cfg.paths.output_dir)
        raise Refused(
            f"{e}; the run's checkpoints are kept: make room, then carry it on with resume={where}",
            1,
        ) from e


def hold_resumed_directory(args: Sequence[str]) -> None:
    """With `resume=<dir>`, take that directory's lock before Hydra writes anything into
    it (its .hydra/ files, its log): a second process carrying on the same run or sweep is
    refused in one line while the first keeps it (seqlab.locking). The lock is held until
    this process ends; train() and the sweep's callback take it again, at no cost.

    Processes that Lightning starts for the other devices of a data-parallel run re-run the
    command line, and leave the lock to the first."""
    if any(os.environ.get(var, "0") != "0" for var in ("LOCAL_RANK", "NODE_RANK")):
        return
    for directory in resumed_directories(args):
        try:
            acquire(directory)
        except DirectoryInUse as e:
            raise Refused(str(e)) from e
        except OSError:  # a read-only directory: the run reports it in one line itself
            pass


def resumed_directories(args: Sequence[str]) -> list[str]:
    """The existing directories that `resume=<dir>` arguments name."""
    found = []
    for arg in args:
        key, sep, value = arg.lstrip("+").partition("=")
        if key == RESUME and sep and value not in ("", "null") and Path(value).is_dir():
            found.append(value)
    return found


def config_error_line(error: Exception) -> str:
    """One line for a ConfigError, an OmegaConf error met while reading the config, or an
    object the config describes that refused its arguments (Hydra's InstantiationException)."""
    if isinstance(error, InstantiationException):
        where = re.search(r"full_key: (\S+)", str(error))
        cause = error.__cause__ or error
        if isinstance(cause, ConfigError):  # its message names the key already
            return str(cause)
        return f"{where.group(1) if where else 'config'}: {cause}"
    if isinstance(error, MissingMandatoryValue):
        return f"{error.full_key}: required; give {error.full_key}=..."
    key = getattr(error, "full_key", None)
    message = str(error).splitlines()[0]
    return f"{key}: {message}" if key and not message.startswith(key) else message


def composition_error_line(error: Exception) -> str:
    """A Hydra composition error as one line: the key or option, and what is allowed."""
    if isinstance(error, MissingConfigException) and error.options is not None:
        missing = str(error.missing_cfg_file or "").split("/")
        if len(missing) == 2:
            group, option = missing
            options = ", ".join(sorted(error.options))
            return f"{group}={option}: no such option (available: {options})"
    cause = error.__cause__
    if isinstance(cause, ValidationError) and getattr(cause, "full_key", None):
        return f"{cause.full_key}: {str(cause).splitlines()[0]}"
    if isinstance(cause, OmegaConfBaseException) and getattr(cause, "full_key", None):
        return _unknown_key_line(cause)
    return " ".join(str(error).split("\n")[0:1]).strip() or type(error).__name__


def _unknown_key_line(cause: OmegaConfBaseException) -> str:
    parent = getattr(cause, "parent_node", None)
    known = [
        k for k in (parent.keys() if parent is not None else []) if k not in ("_target_", "hydra")
    ]
    where, _, _ = str(cause.full_key).rpartition(".")
    allowed = (
        f"keys of {where or 'the config'}: {', '.join(map(str, known))}"
        if known
        else "no keys there"
    )
    if str(cause.full_key).startswith("hydra."):  # Hydra's and its plugins' keys are fixed
        return f"{cause.full_key}: no such key ({allowed})"
    return (
        f"{cause.full_key}: no such key ({allowed}); to add a new key, write +{cause.full_key}=..."
    )


def run_hydra_app(app: Callable[[], Any], prog: str, args: Sequence[str] = ()) -> None:
    """Run a Hydra app; whatever it refuses (a bad override or config option, a directory
    in use, a full disk) ends in one line and its exit status."""
    # On a full disk every line logged to the run's log file would print a traceback.
    logging.raiseExceptions = False
    try:
        hold_resumed_directory(args)
        refusing(app)
    except Refused as e:
        print(f"{prog}: error: {e.line}", file=sys.stderr)
        sys.exit(e.code)
    finally:
        stop_all()  # a sweep refused or interrupted midway never reached its end callbacks


def refusing(call: Callable[[], Any]) -> Any:
    """call(), with every error that seqlab reports in one line raised as Refused.

    Hydra prints such errors over several lines; seqlab asks Hydra to raise them instead
    (HYDRA_FULL_ERROR) and makes one line of each. With HYDRA_FULL_ERROR=1 set by the user,
    Hydra's full report is kept.
    """
    if os.environ.get("HYDRA_FULL_ERROR") == "1":
        return call()
    os.environ["HYDRA_FULL_ERROR"] = "1"
    try:
        return call()
    except (ConfigCompositionException, MissingConfigException, OverrideParseException) as e:
        raise Refused(composition_error_line(e)) from e
    # An unresolvable interpolation; a plugin (sweeper, launcher) refusing its settings.
    except (OmegaConfBaseException, ConfigError, InstantiationException) as e:
        raise Refused(config_error_line(e)) from e
    except Exception as e:  # an output directory that cannot be written, a full disk
        line = unwritable(e)
        if line is None:
            raise
        raise Refused(line, 1) from e
    finally:
        del os.environ["HYDRA_FULL_ERROR"]
