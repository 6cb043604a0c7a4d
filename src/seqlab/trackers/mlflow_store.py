"""Where MLflow keeps a run: its tracking URI, checked before training, and the client.

By default (conf/logger/mlflow.yaml) the store is a SQLite file in the outputs root,
`outputs/mlflow.db`, with the artifacts beside it in `outputs/mlartifacts/`: nothing to
start, and `mlflow ui --backend-store-uri sqlite:///outputs/mlflow.db` shows it. A
`tracking_uri` of `http://...` names a tracking server instead, which stores the artifacts
as it is configured to.

Light: mlflow is imported inside the functions that talk to the store.
"""

from __future__ import annotations

import functools
import logging
import os
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from seqlab.trackers import TrackerError

SQLITE = "sqlite:///"
ARTIFACT_DIR = "mlartifacts"  # beside a local SQLite store
# MLflow's client retries a failing request for minutes by default (against rate limits of
# hosted services). A run that loses its server mid-way should not stall that long for each
# batch of metrics: these apply unless the user set the variables.
HTTP_DEFAULTS = {"MLFLOW_HTTP_REQUEST_MAX_RETRIES": "2", "MLFLOW_HTTP_REQUEST_TIMEOUT": "20"}
PROBE_TIMEOUT_S = 5.0


def store_uri(uri: str) -> str:
    """The tracking URI as every process of a run or sweep must see it: a local SQLite
    file or `file:` store by its absolute path (each job may run from another directory)."""
    if uri.startswith(SQLITE) and unquote(uri[len(SQLITE) :]) not in ("", ":memory:"):
        return SQLITE + str(Path(unquote(uri[len(SQLITE) :])).absolute())
    if uri.startswith("file:") and not uri.startswith("file:///"):
        return Path(uri[len("file:") :]).absolute().as_uri()
    if "://" not in uri and uri:  # a plain path: MLflow's file store there
        return Path(uri).absolute().as_uri()
    return uri


def local_database(uri: str) -> Path | None:
    """The file of a local SQLite store, or None for any other store."""
    uri = store_uri(uri)
    return Path(unquote(uri[len(SQLITE) :])) if uri.startswith(SQLITE) else None


def artifact_location(uri: str) -> str | None:
    """Where a new experiment in a local SQLite store keeps its artifacts: beside the
    database (MLflow's default is ./mlruns under whatever directory a job runs in). None
    for a server, which decides itself."""
    database = local_database(uri)
    return (database.parent / ARTIFACT_DIR).as_uri() if database is not None else None


def check_store(uri: Any, where: str, probe: bool = True) -> None:
    """Refuse, in one line naming the key, a store that cannot be used: no URI, a local
    store on a read-only or unwritable file system, and with `probe` a server that does
    not answer its health check."""
    if not isinstance(uri, str) or not uri:
        raise TrackerError(f"{where}={uri!r}: give a tracking URI (sqlite:///<file>, http://...)")
    uri = store_uri(uri)
    if (database := local_database(uri)) is not None:
        _check_writable(database, uri, where)
    elif probe and uri.startswith(("http://", "https://")) and (problem := _unreachable(uri)):
        raise TrackerError(
            f"{where}={uri}: cannot reach the MLflow server ({problem}); start it, or "
            "leave tracking_uri unset for the local store in the outputs root"
        )


def _check_writable(database: Path, uri: str, where: str) -> None:
    existing = next((p for p in (database, *database.parents) if p.exists()), None)
    if existing is None:
        return
    directory = existing if existing.is_dir() else existing.parent
    if _read_only(directory):
        raise TrackerError(f"{where}={uri}: {directory} is on a read-only file system")
    if not os.access(existing, os.W_OK) or not os.access(directory, os.W_OK):
        raise TrackerError(f"{where}={uri}: {existing} is not writable")


def _read_only(directory: Path) -> bool:
    try:
        return bool(os.statvfs(directory).f_flag & os.ST_RDONLY)
    except OSError:
        return False


def _unreachable(uri: str) -> str | None:
    """Why a tracking server does not answer its health check, or None when it does."""
    try:
        with urllib.request.urlopen(f"{uri.rstrip('/')}/health", timeout=PROBE_TIMEOUT_S) as r:
            r.read()
    except urllib.error.HTTPError as e:
        # A server behind a proxy may not route /health; any HTTP answer means it is there.
        return None if e.code < 500 else f"HTTP {e.code}"
    except (urllib.error.URLError, OSError) as e:
        reason = getattr(e, "reason", e)
        return str(getattr(reason, "strerror", None) or reason)
    return None


def quiet_mlflow() -> None:
    """MLflow's database set-up logs every migration step at INFO: keep it to warnings."""
    for name in ("alembic", "mlflow.store.db.utils", "mlflow.tracking.fluent"):
        logging.getLogger(name).setLevel(logging.WARNING)
    for key, value in HTTP_DEFAULTS.items():
        os.environ.setdefault(key, value)


@functools.cache
def client(uri: str) -> Any:
    """An MlflowClient for the store (one per process and store)."""
    quiet_mlflow()
    from mlflow.tracking import MlflowClient

    return MlflowClient(store_uri(uri))


def experiment_id(uri: str, name: str) -> str:
    """The id of the experiment `name` in the store, created (artifacts beside a local
    database) if it does not exist yet."""
    mlflow_client = client(uri)
    experiment = mlflow_client.get_experiment_by_name(name)
    if experiment is not None and experiment.lifecycle_stage != "deleted":
        return experiment.experiment_id
    try:
        return mlflow_client.create_experiment(name, artifact_location=artifact_location(uri))
    except Exception:  # another job created it meanwhile
        experiment = mlflow_client.get_experiment_by_name(name)
        if experiment is None:
            raise
        return experiment.experiment_id
