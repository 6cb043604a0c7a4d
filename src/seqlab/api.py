"""seqlab as a Python library: `train` and `sweep` from a script or a notebook, as
`seqlab-train` and `seqlab-train -m` do from a shell.

Each call hands Hydra the command's own task (seqlab.cli.train.task) with the command's
config, so the defaults, the checks, the run and sweep directories, `resume=`, the sweepers,
launchers, locks and the sweep report are the command's. What differs is what a long-lived
Python process needs: no `sys.argv` (a Jupyter kernel fills it with its own flags), Hydra's
global state, logging and the Ctrl-C handler given back as they were after every call, and
a refusal raised as one typed exception, ConfigError, whose message is the line the command
prints after `seqlab-train: error: `.

Only Hydra, OmegaConf and seqlab's light modules are imported here: torch and lightning
load when a run starts, pandas when a result is asked for as a table.
"""

from __future__ import annotations

import contextlib
import functools
import io
import logging
import os
import signal
import sys
import threading
import warnings
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from seqlab.config import CONFIG_DIR, ConfigError, Refused

if TYPE_CHECKING:
    from seqlab.results import Run, Sweep

Overrides = str | Iterable[str] | None


def train(
    experiment: str | None = None,
    overrides: Overrides = None,
    *,
    config_dir: str | Path | None = None,
    **settings: Any,
) -> Run:
    """Train one run in this process, as `seqlab-train [experiment=...] [overrides]` does;
    return it as a Run.

    `overrides` are the command line's (`["model.hidden_dim=32", "trainer=cpu"]`);
    `settings` are the same as keyword arguments, with `__` for a dot
    (`model__hidden_dim=32`, `seed=7`, `resume="outputs/runs/..."`). A keyword's value is a
    Python value (a list is a list, None is null); a string is passed as written, so it may
    use Hydra's syntax. `config_dir` is the command's `--config-dir`.

    A value that seqlab refuses raises ConfigError before anything is written; a run that
    fails while training raises its error, with the failure recorded in its metrics.json.
    A KeyboardInterrupt (Ctrl-C, a notebook's interrupt) is recorded as `interrupted` and
    raised again once the run's files are closed.
    """
    args = _arguments(experiment, overrides, settings, axes=False)
    run_dirs: list[str] = []
    with _hydra_call(args, multirun=False, config_dir=config_dir, run_dirs=run_dirs) as run:
        _check_before_writing(args, config_dir)
        run()
    from seqlab.results import Run

    return Run(run_dirs[-1])


def sweep(
    experiment: str | None = None,
    overrides: Overrides = None,
    *,
    config_dir: str | Path | None = None,
    **axes: Any,
) -> Sweep:
    """Run a multirun in this process, as `seqlab-train -m [experiment=...] [overrides]`
    does (any sweeper and launcher: `hydra/launcher=local_parallel`, `hparams_search=...`);
    return it as a Sweep once it has ended and its report is written.

    `overrides` are the command line's (`["model.hidden_dim=8,32", "seed=1,2,3"]`). A
    keyword's list, tuple or range is an axis of values (`model__hidden_dim=[8, 32]`),
    any other value a fixed setting, and a string is passed as written
    (`model__lr="interval(1e-4,1e-2)"` for a search space).

    A sweep some of whose jobs did not finish is returned with a warning that says how to
    carry it on (`resume=`); failed jobs are in its table with their errors, as in the
    report.
    """
    from seqlab.callbacks.hydra import STARTED_SWEEPS

    args = _arguments(experiment, overrides, axes, axes=True)
    started = len(STARTED_SWEEPS)
    with _hydra_call(args, multirun=True, config_dir=config_dir) as run:
        try:
            run()
        except Refused as refusal:
            # The report's own refusal, once the sweep ended: jobs left unfinished. The
            # command exits with 1; here the sweep is there to look at.
            if refusal.code != 1 or len(STARTED_SWEEPS) == started or refusal.__cause__:
                raise
            warnings.warn(refusal.line, stacklevel=2)
    if len(STARTED_SWEEPS) == started:  # Hydra ran no multirun (as for --cfg): nothing to load
        raise ConfigError("the sweep did not start: no sweep directory was made")
    from seqlab.results import Sweep

    return Sweep(STARTED_SWEEPS[-1])


def plan(
    experiment: str | None = None,
    overrides: Overrides = None,
    *,
    probe: bool = False,
    config_dir: str | Path | None = None,
    **axes: Any,
) -> Any:
    """The jobs a sweep would run, as `seqlab-train -m ... --plan` lists them, as a
    DataFrame: one row per job with its overrides (a column per key) and its estimated
    seconds (`estimate_s`, and `estimate_from`: earlier runs, a probe, or none). Nothing
    is written and nothing runs; `probe=True` times each shape no earlier run has. The
    launcher's slots are in `.attrs["slots"]`, a study's search space in
    `.attrs["space"]`. Arguments as for `sweep`.
    """
    from seqlab.sweeps.plan import PLAN_ENV, SHOWN_PLANS

    args = _arguments(experiment, overrides, axes, axes=True)
    shown = len(SHOWN_PLANS)
    previous = os.environ.get(PLAN_ENV)
    os.environ[PLAN_ENV] = "probe" if probe else "history"
    try:
        # The frame is the answer: the printed plan is the command's.
        with (
            _hydra_call(args, multirun=True, config_dir=config_dir) as run,
            contextlib.redirect_stdout(io.StringIO()),
        ):
            run()
    finally:
        if previous is None:
            os.environ.pop(PLAN_ENV, None)
        else:
            os.environ[PLAN_ENV] = previous
    if len(SHOWN_PLANS) == shown:
        raise ConfigError("no plan was made: the sweeper did not plan this sweep")
    import pandas as pd

    from seqlab.results.frames import typed

    made = SHOWN_PLANS[-1]
    rows = []
    for num, job in enumerate(made.jobs):
        row: dict[str, Any] = {"job": num}
        row.update({k: typed(v) for k, v in (o.split("=", 1) for o in job if "=" in o)})
        seconds, source = made.estimates[num] if made.estimates else (None, "")
        row.update(estimate_s=seconds, estimate_from=source)
        rows.append(row)
    frame = pd.DataFrame(rows)
    frame.attrs.update(
        source=made.source, total=made.total, space=made.space,
        slots={"count": made.slots.count, "how": made.slots.how, "details": made.slots.details},
    )  # fmt: skip
    return frame


# --------------------------------------------------------------------------------------------
# Arguments


def _arguments(
    experiment: str | None, overrides: Overrides, settings: Mapping[str, Any], axes: bool
) -> list[str]:
    """The command line's arguments: `experiment=...`, the overrides, then the settings."""
    if isinstance(overrides, str):
        overrides = [overrides]
    args = [f"experiment={experiment}"] if experiment is not None else []
    args += [str(item) for item in overrides or ()]
    for key, value in settings.items():
        args.append(f"{key.replace('__', '.')}={override_text(value, axis=axes)}")
    return args


def override_text(value: Any, axis: bool = False) -> str:
    """A Python value as the command line writes it: True -> true, None -> null,
    [1, 2] -> [1,2] (or, as a sweep's axis, 1,2), {"a": 1} -> {a:1}. A string is kept
    as it is: it is what the user would type."""
    if axis and isinstance(value, (list, tuple, range)):
        return ",".join(override_text(item) for item in value)
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, (list, tuple, range)):
        return "[" + ",".join(override_text(item) for item in value) + "]"
    if isinstance(value, Mapping):
        return "{" + ",".join(f"{k}:{override_text(v)}" for k, v in value.items()) + "}"
    if isinstance(value, Path):
        return str(value)
    raise ConfigError(
        f"{value!r}: a {type(value).__name__} is no config value (give a number, a string, "
        "a bool, None, a list or a dict)"
    )


# --------------------------------------------------------------------------------------------
# One call of Hydra, as the command makes it, with the process given back as it was


@contextlib.contextmanager
def _hydra_call(
    args: list[str],
    multirun: bool,
    config_dir: str | Path | None,
    run_dirs: list[str] | None = None,
) -> Iterator[Callable[[], None]]:
    """Yield a function that runs Hydra once on `args`; whatever it refuses is raised as
    ConfigError (or DirectoryInUse, StorageError) once the block ends."""
    from hydra._internal.utils import _run_hydra, get_args_parser

    from seqlab.cli import train as command
    from seqlab.cli.common import hold_resumed_directory, refusing

    parser = get_args_parser()
    flags = ["--multirun"] if multirun else []
    if config_dir is not None:
        flags += ["--config-dir", str(config_dir)]
    parsed = parser.parse_args([*flags, *args])
    task = command.task if run_dirs is None else _recording_run_dir(command.task, run_dirs)

    def run() -> None:
        _set_version_base(command.VERSION_BASE)
        refusing(
            lambda: _run_hydra(
                args=parsed,
                args_parser=parser,
                task_function=task,
                config_path=CONFIG_DIR,
                config_name=command.CONFIG_NAME,
            )
        )

    with _process_state_kept(), _fresh_workers(), _held_directories(args), _refusals_raised():
        hold_resumed_directory(args)
        yield run


def _recording_run_dir(task: Callable[[Any], Any], run_dirs: list[str]) -> Callable[[Any], Any]:
    """`task`, noting the run directory Hydra gave it. functools.wraps keeps the task's
    module, which Hydra reads to name the job and find its configs, as the command's."""

    @functools.wraps(task)
    def recording(cfg: Any) -> Any:
        from hydra.core.hydra_config import HydraConfig

        run_dirs.append(HydraConfig.get().runtime.output_dir)
        return task(cfg)

    return recording


def _check_before_writing(args: list[str], config_dir: str | Path | None) -> None:
    """Compose the run's config and check it as the command does, before Hydra makes its
    directory: a refused value leaves nothing behind."""
    from hydra._internal.hydra import Hydra
    from hydra._internal.utils import create_automatic_config_search_path
    from hydra.core.global_hydra import GlobalHydra
    from hydra.core.hydra_config import HydraConfig
    from hydra.core.override_parser.overrides_parser import OverridesParser
    from hydra.types import RunMode
    from omegaconf import open_dict

    from seqlab.cli import train as command
    from seqlab.cli.common import checked, refusing

    parsed = OverridesParser.create().parse_overrides(args) if args else []
    if any(o.is_sweep_override() for o in parsed):
        # As `seqlab-train a=1,2` without -m: Hydra's own line says to use a multirun.
        return
    search_path = create_automatic_config_search_path(None, command.__name__, CONFIG_DIR)
    if config_dir is not None:
        search_path.prepend("command-line", f"file://{Path(config_dir).absolute()}")

    def compose() -> None:
        hydra = Hydra.create_main_hydra2(task_name="train", config_search_path=search_path)
        try:
            cfg = hydra.compose_config(
                command.CONFIG_NAME, args, run_mode=RunMode.RUN, with_log_configuration=False
            )
            HydraConfig.instance().set_config(cfg)
            with open_dict(cfg):  # the task's config, as Hydra hands it to the command
                del cfg["hydra"]
            checked(lambda _: None, cfg)  # seqlab's checks, as the command runs them
        finally:
            GlobalHydra.instance().clear()

    _set_version_base(command.VERSION_BASE)
    refusing(compose)


@contextlib.contextmanager
def _refusals_raised() -> Iterator[None]:
    """A command's refusal (seqlab.config.Refused: a line and an exit status) raised as
    ConfigError; a directory another process holds raises DirectoryInUse, a full disk its
    StorageError, each with the command's line."""
    from seqlab.files import StorageError
    from seqlab.locking import DirectoryInUse

    try:
        yield
    except Refused as refusal:
        cause = refusal.__cause__
        if isinstance(cause, DirectoryInUse):
            raise DirectoryInUse(refusal.line) from None
        if refusal.code == 1 and isinstance(cause, StorageError):  # a full disk, a quota
            raise cause from None
        raise ConfigError(refusal.line) from None
    except SystemExit as stop:
        # Lightning answers Ctrl-C by recording the run as interrupted and exiting with 1;
        # a notebook's user gets the interrupt back, not an exit.
        if isinstance(stop.__context__, KeyboardInterrupt):
            raise KeyboardInterrupt from None
        raise


@contextlib.contextmanager
def _held_directories(args: list[str]) -> Iterator[None]:
    """Give back, after the call, the locks this process took for it: the resumed
    directory's and the sweep's (a refused sweep leaves its lock to the process's end, which
    for a command comes at once and for a notebook's kernel may never come)."""
    from seqlab.callbacks.hydra import STARTED_SWEEPS
    from seqlab.cli.common import resumed_directories
    from seqlab.locking import release_all
    from seqlab.sweeps.status import stop_all

    started = len(STARTED_SWEEPS)
    try:
        yield
    finally:
        stop_all()  # a sweep that was refused midway never reached its end callbacks
        for directory in [*STARTED_SWEEPS[started:], *resumed_directories(args)]:
            release_all(directory)


@contextlib.contextmanager
def _process_state_kept() -> Iterator[None]:
    """Keep what a Hydra run changes for the whole process: Hydra's singletons (its
    global config loader, the job's config, the job's runtime), its version base, the
    logging set-up (Hydra points the root logger at the run's log file), the working
    directory, and the SIGINT handler (Lightning ignores SIGINT once it has handled one)."""
    from hydra.core.global_hydra import GlobalHydra
    from hydra.core.hydra_config import HydraConfig
    from hydra.core.utils import JobRuntime
    from hydra.version import VersionBase

    global_hydra, hydra_config = GlobalHydra.instance(), HydraConfig.instance()
    job_runtime, version_base = JobRuntime.instance(), VersionBase.instance()
    kept = (
        global_hydra.config_loader,
        hydra_config.cfg,
        job_runtime.conf,
        version_base.version_base,
    )
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    raise_exceptions = logging.raiseExceptions
    cwd = os.getcwd()
    in_main_thread = threading.current_thread() is threading.main_thread()
    sigint = signal.getsignal(signal.SIGINT) if in_main_thread else None
    global_hydra.clear()  # the user's own hydra.initialize(), if any, comes back after
    try:
        yield
    finally:
        global_hydra.config_loader = kept[0]
        hydra_config.cfg, job_runtime.conf, version_base.version_base = kept[1:]
        for handler in list(root.handlers):
            if handler not in handlers:
                root.removeHandler(handler)
                handler.close()
        for handler in handlers:
            if handler not in root.handlers:
                root.addHandler(handler)
        root.setLevel(level)
        logging.raiseExceptions = raise_exceptions
        os.chdir(cwd)
        if in_main_thread and sigint is not None:
            signal.signal(signal.SIGINT, sigint)


@contextlib.contextmanager
def _fresh_workers() -> Iterator[None]:
    """End joblib's reusable worker processes before and after the call.

    hydra/launcher=local_parallel runs jobs in joblib's pool, whose workers outlive a sweep
    and keep the working directory and environment they started with: a second sweep in
    the same kernel, after `%cd` or a new SEQLAB_OUTPUT_ROOT, would write its jobs where the
    first one did. A command starts a new process each time and never meets this.
    """
    _end_reusable_workers()
    try:
        yield
    finally:
        _end_reusable_workers()


def _end_reusable_workers() -> None:
    loky = sys.modules.get("joblib.externals.loky.reusable_executor")
    executor = getattr(loky, "_executor", None) if loky is not None else None
    if executor is not None:
        executor.shutdown(wait=True)


def _set_version_base(version: str) -> None:
    """Hydra's version base, which hydra.main sets for the command when it is imported,
    and which the caller's own Hydra use may have changed since."""
    from hydra.version import VersionBase
    from packaging.version import Version

    VersionBase.instance().setbase(Version(version))
