"""seqlab.trackers' light parts: which loggers are trackers, the store's URI and checks,
the jobs' names in a sweep (the servers themselves: tests/integration/test_trackers.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from seqlab.trackers import (
    TrackerError,
    check_trackers,
    configured_trackers,
    provenance_tags,
    require,
)
from seqlab.trackers.mlflow_store import artifact_location, check_store, local_database, store_uri
from seqlab.trackers.state import fixed_keys, job_name, job_setting, read_state, write_state
from seqlab.trackers.wandb_mode import check_mode, goes_online


def test_trackers_are_found_by_their_logger_class():
    loggers = {
        "tensorboard": {"_target_": "seqlab.loggers.TensorBoardLogger"},
        "mlflow": {"_target_": "seqlab.loggers.MLFlowLogger", "tracking_uri": "sqlite:///x"},
        "mine": {"_target_": "lightning.pytorch.loggers.WandbLogger"},
        "off": None,
    }
    found = configured_trackers(loggers)
    # Lightning's own loggers are the user's to configure: no sweep runs, no checks.
    assert {k: name for k, (name, _) in found.items()} == {"mlflow": "mlflow"}
    loggers["mine"] = {"_target_": "seqlab.loggers.wandb.WandbLogger"}
    assert set(configured_trackers(loggers)) == {"mlflow", "wandb"}


def test_a_relative_local_store_is_made_absolute(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert store_uri("sqlite:///outputs/mlflow.db") == f"sqlite:///{tmp_path}/outputs/mlflow.db"
    assert store_uri("sqlite:////abs/mlflow.db") == "sqlite:////abs/mlflow.db"
    assert store_uri("http://127.0.0.1:5000") == "http://127.0.0.1:5000"
    assert store_uri("mlruns") == (tmp_path / "mlruns").as_uri()
    assert local_database("sqlite:///a.db") == tmp_path / "a.db"
    assert local_database("http://host") is None
    # The artifacts of a local store sit beside it, not under some job's working directory.
    assert artifact_location("sqlite:///o/mlflow.db") == (tmp_path / "o" / "mlartifacts").as_uri()
    assert artifact_location("http://host:5000") is None


def test_a_store_that_cannot_be_written_is_refused_in_one_line(tmp_path, monkeypatch):
    from seqlab.trackers import mlflow_store

    where = "logger.mlflow.tracking_uri"
    check_store(f"sqlite:///{tmp_path}/new/dir/mlflow.db", where)  # made when first used
    with pytest.raises(TrackerError, match=rf"^{where}=None: give a tracking"):
        check_store(None, where)
    # statvfs's read-only flag, as on a read-only mount (the real one: the integration test)
    monkeypatch.setattr(mlflow_store, "_read_only", lambda directory: directory == tmp_path)
    with pytest.raises(TrackerError) as refused:
        check_store(f"sqlite:///{tmp_path}/mlflow.db", where)
    assert str(refused.value) == (
        f"{where}=sqlite:///{tmp_path}/mlflow.db: {tmp_path} is on a read-only file system"
    )


def test_a_server_is_probed_unless_asked_not_to():
    import socket

    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    uri = f"http://127.0.0.1:{port}"
    with pytest.raises(TrackerError, match="cannot reach the MLflow server"):
        check_store(uri, "logger.mlflow.tracking_uri")
    check_store(uri, "logger.mlflow.tracking_uri", probe=False)  # a sweep's job


def test_a_missing_package_names_the_pip_command(monkeypatch):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name: None if name == "wandb" else real(name)
    )
    with pytest.raises(TrackerError) as refused:
        require("wandb", "logger.wandb (wandb)")
    assert str(refused.value) == (
        "logger.wandb (wandb): the wandb package is not installed here; pip install 'seqlab[wandb]'"
    )
    with pytest.raises(TrackerError, match=r"seqlab\[wandb\]"):
        check_trackers({"wandb": {"_target_": "seqlab.loggers.WandbLogger", "mode": "offline"}})


def test_wandb_modes():
    for mode in ("offline", "online", "disabled", "dryrun", "run"):
        check_mode(mode, "logger.wandb.mode")
    with pytest.raises(TrackerError, match=r"logger.wandb.mode='cloud' is not allowed: expected"):
        check_mode("cloud", "logger.wandb.mode")
    assert [goes_online(m) for m in ("offline", "dryrun", "online", "run", "disabled")] == [
        False,
        False,
        True,
        True,
        False,
    ]


def test_a_jobs_name_is_its_swept_setting_and_seed():
    command = ["experiment=sum", "logger=mlflow", "model.hidden_dim=8,16", "seed=range(3)"]
    fixed = fixed_keys(command)
    assert fixed == ["experiment", "logger"]
    # Hydra gives the jobs their overrides normalised (escaped, False for false).
    job = ["experiment=sum", "logger=mlflow", "model.hidden_dim=16", "seed=2", "trial.number=4"]
    assert job_setting(fixed, job) == "model.hidden_dim=16"
    assert job_name(job_setting(fixed, job), 2) == "model.hidden_dim=16 seed=2"
    assert job_name(job_setting(fixed, ["experiment=sum", "seed=1"]), 1) == "seed=1"


def test_provenance_as_tags():
    tags = provenance_tags(
        {"seqlab": "0.1.0", "git": {"commit": "abc", "dirty": True}, "torch": "2.13.0"}
    )
    assert tags == {
        "seqlab.code.seqlab": "0.1.0",
        "seqlab.code.torch": "2.13.0",
        "mlflow.source.git.commit": "abc",
        "seqlab.code.dirty": "true",
    }
    assert provenance_tags(None) == {}


def test_state_files_round_trip(tmp_path: Path):
    assert read_state(tmp_path, "mlflow") is None
    write_state(tmp_path, "mlflow", {"run_id": "r1"})
    assert read_state(tmp_path, "mlflow") == {"run_id": "r1"}
    (tmp_path / "wandb.json").write_text("[1, 2]")  # not seqlab's
    assert read_state(tmp_path, "wandb") is None
