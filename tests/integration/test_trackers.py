"""MLflow and W&B as a user meets them: a real MLflow tracking server started here, the
default local SQLite store, W&B offline read back with W&B's own reader, a SIGKILLed
sweep resumed into the same MLflow runs, and the one-line refusals (docs/trackers.md)."""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import QUIET, REPO, SMALL_SUM, assert_clear_failure, run_cli, start_cli
from tests.integration.conftest import job_dirs, only_sweep
from tests.integration.test_faults import (  # noqa: F401 (mounts: a fixture)
    kill,
    mounts,
    read_only,
    strace,
    wait_for,
)

# Without importing them here: `import mlflow` alone takes seconds in every test worker.
if importlib.util.find_spec("mlflow") is None or importlib.util.find_spec("wandb") is None:
    pytest.skip("the trackers' extras are not installed", allow_module_level=True)

SMALL = [*SMALL_SUM, *QUIET]
BIN = Path(sys.executable).parent
# What a run's metrics.json history holds that is no metric.
NOT_METRICS = ("epoch", "epoch_s")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def mlflow_server(tmp_path: Path) -> Iterator[tuple[str, subprocess.Popen]]:
    """`mlflow server` on 127.0.0.1 with a SQLite store and served artifacts: its URI."""
    port, home = free_port(), tmp_path / "server"
    home.mkdir()
    log = (home / "server.log").open("w")
    proc = subprocess.Popen(
        [
            str(BIN / "mlflow"),
            "server",
            "--backend-store-uri",
            f"sqlite:///{home / 'mlflow.db'}",
            "--artifacts-destination",
            str(home / "artifacts"),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            "1",
        ],
        cwd=home,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    uri = f"http://127.0.0.1:{port}"
    deadline = time.time() + 120
    import urllib.request

    while True:
        assert proc.poll() is None, (home / "server.log").read_text()[-3000:]
        with contextlib.suppress(OSError):
            urllib.request.urlopen(f"{uri}/health", timeout=2).read()
            break
        assert time.time() < deadline, "the MLflow server did not start"
        time.sleep(0.5)
    yield uri, proc
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    log.close()


def client(uri: str):
    from mlflow.tracking import MlflowClient

    return MlflowClient(uri)


def children(mlflow, parent_id: str, kind: str) -> list:
    runs = mlflow.search_runs(
        [mlflow.get_run(parent_id).info.experiment_id],
        filter_string=f"tags.`mlflow.parentRunId` = '{parent_id}'",
    )
    return [r for r in runs if r.data.tags.get("seqlab.kind") == kind]


def assert_matches_metrics_json(mlflow, run, run_dir: Path) -> dict:
    """The MLflow run holds its metrics.json: the settings as params, every epoch's
    metrics at their epoch, each epoch once."""
    metrics = json.loads((run_dir / "metrics.json").read_text())
    config, params = metrics["config"], run.data.params
    for key in ("model.hidden_dim", "model.lr", "seed", "data.length", "trainer.max_epochs"):
        assert params[key] == str(config[key]), key
    for key, value in params.items():
        if key in config:
            assert value == str(config[key])[:6000], key
    keys = {k for row in metrics["history"] for k in row if k not in NOT_METRICS}
    assert {"train/loss", "val/loss", "val/mse"} <= keys
    for key in keys:
        logged = sorted((m.step, m.value) for m in mlflow.get_metric_history(run.info.run_id, key))
        wanted = [(row["epoch"], row[key]) for row in metrics["history"] if key in row]
        assert logged == wanted, key
    best = metrics["best"][metrics["monitor"]]
    assert run.data.metrics[f"best {metrics['monitor']}"] == best
    assert run.data.metrics["test/mse"] == metrics["final"]["test/mse"]
    assert run.data.tags["seqlab.status"] == metrics["status"]
    return metrics


@pytest.mark.slow  # make test-faults: a server to start, and a sweep
def test_a_sweep_against_a_real_mlflow_server_is_a_parent_with_its_jobs_as_children(
    cli_cwd, mlflow_server
):
    uri, _ = mlflow_server
    args = ["seqlab-train", "-m", *SMALL, "logger=mlflow", f"logger.mlflow.tracking_uri={uri}"]
    result = run_cli([*args, "model.hidden_dim=8,16", "seed=1,2"], cli_cwd)
    assert result.returncode == 0, result.stderr[-3000:]
    sweep = only_sweep(cli_cwd)
    mlflow = client(uri)
    (parent,) = mlflow.search_runs(
        [e.experiment_id for e in mlflow.search_experiments()],
        filter_string="tags.`seqlab.kind` = 'sweep'",
    )
    assert parent.info.status == "FINISHED"
    assert parent.data.tags["seqlab.sweep_dir"] == str(sweep)
    assert parent.data.metrics["jobs completed"] == 4
    jobs = children(mlflow, parent.info.run_id, "job")
    assert len(jobs) == 4
    by_dir = {r.data.tags["seqlab.run_dir"]: r for r in jobs}
    assert sorted(by_dir) == sorted(str(d) for d in job_dirs(sweep))
    for run_dir in job_dirs(sweep):
        run = by_dir[str(run_dir)]
        metrics = assert_matches_metrics_json(mlflow, run, run_dir)
        assert run.info.status == "FINISHED"
        assert metrics["trackers"]["mlflow"]["run_id"] == run.info.run_id
        hidden, seed = metrics["config"]["model.hidden_dim"], metrics["config"]["seed"]
        assert run.data.tags["seqlab.setting"] == f"model.hidden_dim={hidden}"
        assert run.data.tags["seqlab.seed"] == str(seed)
        assert run.info.run_name == f"model.hidden_dim={hidden} seed={seed}"
        artifacts = [a.path for a in mlflow.list_artifacts(run.info.run_id)]
        assert artifacts == ["metrics.json"]

    # Each setting: a run of its own with its seeds' mean, as groups.csv has it.
    settings = children(mlflow, parent.info.run_id, "setting")
    assert sorted(r.data.params["model.hidden_dim"] for r in settings) == ["16", "8"]
    groups = (sweep / "groups.csv").read_text().splitlines()
    header = groups[0].split(",")
    for line in groups[1:]:
        row = dict(zip(header, line.split(","), strict=False))
        (run,) = [
            r for r in settings if r.data.params["model.hidden_dim"] == row["model.hidden_dim"]
        ]
        assert run.data.metrics["best val/mse mean"] == pytest.approx(
            float(row["best val/mse mean"]), rel=1e-5
        )
        assert run.data.metrics["seeds"] == 2

    # The report goes to the parent as artifacts, as the sweep directory has it.
    listed = {a.path for a in mlflow.list_artifacts(parent.info.run_id)}
    assert {"summary.md", "summary.csv", "groups.csv", "plots"} <= listed
    plots = {a.path for a in mlflow.list_artifacts(parent.info.run_id, "plots")}
    assert "plots/curves_val_mse.png" in plots
    local = mlflow.download_artifacts(parent.info.run_id, "summary.md", str(cli_cwd))
    assert Path(local).read_text() == (sweep / "summary.md").read_text()


@pytest.mark.slow
def test_an_mlflow_server_lost_mid_run_costs_a_warning_not_the_run(cli_cwd, mlflow_server):
    """The server dies (SIGKILL) during training: the run trains on, records everything in
    metrics.json and its checkpoints, and says in metrics.json what MLflow could not take."""
    uri, server = mlflow_server
    run_dir = cli_cwd / "run"
    killer = [
        "+callbacks.stop_server._target_=tests.integration.trackers_help.KillAtEpoch",
        f"+callbacks.stop_server.pid={server.pid}",
        "+callbacks.stop_server.epoch=2",
    ]
    args = [*SMALL, "trainer.max_epochs=4", "logger=[tensorboard,mlflow]", *killer]
    result = run_cli(
        [
            "seqlab-train",
            *args,
            f"logger.mlflow.tracking_uri={uri}",
            "logger.mlflow.flush_every_s=0",
            f"hydra.run.dir={run_dir}",
        ],
        cli_cwd,
        PYTHONPATH=str(REPO),
        MLFLOW_HTTP_REQUEST_MAX_RETRIES="0",
    )
    assert result.returncode == 0, result.stderr[-3000:]
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["status"] == "completed" and metrics["epochs"] == 4
    assert [row["epoch"] for row in metrics["history"]] == [1, 2, 3, 4]
    assert (run_dir / "checkpoints" / "best.ckpt").is_file()
    assert list((run_dir / "tensorboard").glob("events.out.tfevents.*"))
    assert "logging metrics" in metrics["trackers"]["mlflow"]["error"]
    assert "MLflow failed" in (run_dir / "train.log").read_text()


@pytest.mark.slow  # make test-faults: a training with both loggers
def test_the_local_store_with_tensorboard_beside_it(cli_cwd):
    """`logger=[tensorboard,mlflow]`, no server: outputs/mlflow.db holds the run, which
    matches its metrics.json, and TensorBoard's event files are written as ever."""
    run_dir = cli_cwd / "run"
    args = [*SMALL, "logger=[tensorboard,mlflow]", f"hydra.run.dir={run_dir}"]
    result = run_cli(["seqlab-train", *args], cli_cwd)
    assert result.returncode == 0, result.stderr[-3000:]
    assert list((run_dir / "tensorboard").glob("events.out.tfevents.*"))
    database = cli_cwd / "outputs" / "mlflow.db"
    assert database.is_file()
    mlflow = client(f"sqlite:///{database}")
    state = json.loads((run_dir / "mlflow.json").read_text())
    run = mlflow.get_run(state["run_id"])
    assert run.info.status == "FINISHED" and run.info.experiment_id == state["experiment_id"]
    assert run.data.tags["seqlab.kind"] == "run"
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert run.data.tags["mlflow.source.git.commit"] == metrics["provenance"]["git"]["commit"]
    assert_matches_metrics_json(mlflow, run, run_dir)
    told = f"MLflow run {state['run_id']}: mlflow ui --backend-store-uri sqlite:///{database}"
    assert told in (run_dir / "train.log").read_text()
    # The artifacts sit beside the database, not under whatever directory the run ran in.
    assert run.info.artifact_uri.startswith((cli_cwd / "outputs" / "mlartifacts").as_uri())
    assert not (cli_cwd / "mlruns").exists()


@pytest.mark.slow
def test_a_searchs_trials_and_its_confirmation_are_children_of_the_studys_run(cli_cwd):
    """hparams_search=sum_optuna with logger=mlflow, two trials side by side: one parent,
    the trials and the confirmation's jobs its children, tagged with their stage, and the
    confirmed setting a run of its own with its seeds' mean."""
    search = [
        "hparams_search=sum_optuna",
        "hydra.sweeper.n_trials=3",
        "hydra.sweeper.confirm.top_k=1",
        "hydra.sweeper.confirm.seeds=2",
        "hydra/launcher=local_parallel",
        "hydra.sweeper.n_jobs=2",
        "logger=mlflow",
    ]
    result = run_cli(["seqlab-train", *SMALL, *search], cli_cwd)
    assert result.returncode == 0, result.stderr[-3000:]
    sweep = only_sweep(cli_cwd)
    mlflow = client(f"sqlite:///{cli_cwd / 'outputs' / 'mlflow.db'}")
    parent = json.loads((sweep / "mlflow.json").read_text())["run_id"]
    assert mlflow.get_run(parent).data.tags["seqlab.sweeper"] == "SeqlabOptunaSweeper"
    jobs = children(mlflow, parent, "job")
    stages = sorted(r.data.tags["seqlab.stage"] for r in jobs)
    assert stages == ["confirmation"] * 2 + ["trial"] * 3
    assert {r.data.tags["seqlab.run_dir"] for r in jobs} == {str(d) for d in job_dirs(sweep)}
    (setting,) = children(mlflow, parent, "setting")
    confirmed = [r for r in jobs if r.data.tags["seqlab.stage"] == "confirmation"]
    assert {r.data.tags["seqlab.setting"] for r in confirmed} == {
        setting.data.tags["seqlab.setting"]
    }
    bests = [r.data.metrics["best val/mse"] for r in confirmed]
    assert setting.data.metrics["seeds"] == 2
    assert setting.data.metrics["best val/mse mean"] == pytest.approx(sum(bests) / 2)
    listed = {a.path for a in mlflow.list_artifacts(parent)}
    assert {"summary.md", "optimization_results.yaml"} <= listed


@pytest.mark.slow
def test_a_killed_sweep_resumes_into_the_same_mlflow_runs(cli_cwd):
    """SIGKILL of the sweep (driver and job in one process) between two checkpoint saves,
    after MLflow has the epochs since the last one; `resume=` continues the same parent and
    the same child run, which then has each epoch once, equal to its metrics.json."""
    many = [
        *SMALL,
        "trainer.max_epochs=150",
        "data.length=2",
        "model.hidden_dim=8",
        "callbacks.early_stopping=null",
        "callbacks.prediction_plot=null",
    ]
    killer = [
        "+callbacks.killer._target_=tests.integration.self_kill.KillBetweenSaves",
        "+callbacks.killer.after_epoch=40",
    ]
    args = ["seqlab-train", "-m", *many, "logger=mlflow", "logger.mlflow.flush_every_s=0", "seed=1"]
    result = run_cli([*args, *killer], cli_cwd, PYTHONPATH=str(REPO))
    assert result.returncode == -signal.SIGKILL, result.stderr[-3000:]
    sweep = only_sweep(cli_cwd)
    (job,) = job_dirs(sweep)
    first = json.loads((job / "mlflow.json").read_text())
    parent = json.loads((sweep / "mlflow.json").read_text())["run_id"]
    mlflow = client(first["tracking_uri"])
    killed_after = int((job / "killed_after_epochs").read_text())
    logged = mlflow.get_metric_history(first["run_id"], "val/mse")
    assert max(m.step for m in logged) == killed_after  # ahead of last.ckpt
    assert mlflow.get_run(parent).info.status == "RUNNING"

    result = run_cli([*args, f"resume={sweep}"], cli_cwd)
    assert result.returncode == 0, result.stderr[-3000:]
    metrics = json.loads((job / "metrics.json").read_text())
    assert metrics["status"] == "completed" and metrics["resumed_after_epoch"] < killed_after
    assert json.loads((job / "mlflow.json").read_text())["run_id"] == first["run_id"]
    assert json.loads((sweep / "mlflow.json").read_text())["run_id"] == parent
    run = mlflow.get_run(first["run_id"])
    assert run.info.status == "FINISHED"
    assert run.data.tags["mlflow.parentRunId"] == parent
    assert_matches_metrics_json(mlflow, run, job)  # each epoch once: 1..150
    assert len(mlflow.get_metric_history(run.info.run_id, "val/mse")) == 150
    assert mlflow.get_run(parent).info.status == "FINISHED"
    assert len(children(mlflow, parent, "job")) == 1


@pytest.mark.slow
def test_a_sweep_stopped_with_ctrl_c_leaves_its_mlflow_runs_killed_not_running(cli_cwd):
    """SIGINT to the sweep's process while a job trains: the job ends `interrupted` and
    its run KILLED; Hydra calls no end callback, and the driver marks the sweep's run
    KILLED as it exits, so nothing stays RUNNING in MLflow."""
    long = [*SMALL, "trainer.max_epochs=300", "data.length=2", "callbacks.early_stopping=null"]
    args = ["seqlab-train", "-m", *long, "logger=mlflow", "logger.mlflow.flush_every_s=0"]
    proc = start_cli([*args, "seed=1,2"], cli_cwd)
    try:
        wait_for(lambda: list(cli_cwd.glob("outputs/multiruns/*/*/0/mlflow.json")), proc=proc)
        time.sleep(2)  # into training
        os.killpg(proc.pid, signal.SIGINT)
        proc.wait(timeout=120)
    finally:
        kill(proc)
    sweep = only_sweep(cli_cwd)
    mlflow = client(f"sqlite:///{cli_cwd / 'outputs' / 'mlflow.db'}")
    parent = mlflow.get_run(json.loads((sweep / "mlflow.json").read_text())["run_id"])
    assert (parent.info.status, parent.data.tags["seqlab.status"]) == ("KILLED", "interrupted")
    job = sweep / "0"
    assert json.loads((job / "metrics.json").read_text())["status"] == "interrupted"
    run = mlflow.get_run(json.loads((job / "mlflow.json").read_text())["run_id"])
    assert (run.info.status, run.data.tags["seqlab.status"]) == ("KILLED", "interrupted")
    assert run.data.tags["seqlab.stopped_by"] == "SIGINT"


@pytest.mark.slow
def test_wandb_offline_writes_runs_wandb_reads_and_opens_no_socket_beyond_loopback(cli_cwd):
    """A 2-job sweep with logger=wandb under strace: every connect() of every process is
    to loopback or a local socket. W&B's own reader (`wandb leet inspect`) then shows each
    run's config keys, its metrics by epoch and its summary."""
    trace = cli_cwd / "connect.trace"
    command = [str(BIN / "seqlab-train"), "-m", *SMALL, "logger=wandb", "seed=1,2"]
    env = {**os.environ, "SEQLAB_OUTPUT_ROOT": str(cli_cwd / "outputs")}
    for name in ("WANDB_MODE", "WANDB_API_KEY", "WANDB_BASE_URL"):
        env.pop(name, None)
    result = subprocess.run(
        [strace(), "-f", "-qq", "-e", "trace=connect,sendto,sendmsg", "-o", str(trace), *command],
        cwd=cli_cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    traced = trace.read_text().splitlines()
    assert any("connect(" in line for line in traced)  # W&B's client reaching its service
    calls = [line for line in traced if "sa_family=AF_INET" in line]
    for line in calls:
        address = re.search(r'inet_(?:addr|pton)\((?:AF_INET6, )?"([^"]+)"', line)
        assert address and address.group(1) in ("127.0.0.1", "::1", "::ffff:127.0.0.1"), line

    sweep = only_sweep(cli_cwd)
    group = json.loads((sweep / "wandb.json").read_text())["group"]
    for job in job_dirs(sweep):
        metrics = json.loads((job / "metrics.json").read_text())
        (offline,) = (job / "wandb").glob("offline-run-*")
        read = subprocess.run(
            [str(BIN / "wandb"), "leet", "inspect", "--summary", "--json", str(offline)],
            capture_output=True,
            text=True,
            timeout=120,
            env=env,
        )
        assert read.returncode == 0, read.stderr
        run = json.loads(read.stdout)
        seed = metrics["config"]["seed"]
        assert run["name"] == f"seed={seed}" and run["state"] == "finished"
        assert run["run_id"] == metrics["trackers"]["wandb"]["id"]
        assert run["config"]["model.hidden_dim"] == metrics["config"]["model.hidden_dim"]
        assert run["config"]["seed"] == seed
        summary = run["summary"]
        assert summary["best val/mse"] == metrics["best"]["val/mse"]
        assert summary["test/mse"] == metrics["final"]["test/mse"]
        assert summary["seqlab.status"] == "completed"
        records = subprocess.run(
            [str(BIN / "wandb"), "leet", "inspect", "--json", str(offline)],
            capture_output=True,
            text=True,
            timeout=120,
            env=env,
        ).stdout.splitlines()
        history = [json.loads(r) for r in records if '"type":"history"' in r]
        by_epoch = {}
        for record in history:
            item = record["history"]["item"]
            if "val/mse" in item:
                by_epoch[item["epoch"]] = item["val/mse"]
        assert by_epoch == {row["epoch"]: row["val/mse"] for row in metrics["history"]}
        runs = [json.loads(r) for r in records if '"type":"run"' in r]
        assert [r["run"]["run_group"] for r in runs] == [group]


# --------------------------------------------------------------------------------------------
# Refused in one line, before training


def without(package: str, cwd: Path) -> dict[str, str]:
    """An environment in which `package` cannot be imported, as if it were not installed:
    a sitecustomize that marks it absent in sys.modules (where importlib's find_spec and
    the import statement both look first)."""
    hide = cwd / "hide"
    hide.mkdir(exist_ok=True)
    (hide / "sitecustomize.py").write_text(f"import sys\nsys.modules[{package!r}] = None\n")
    return {"PYTHONPATH": str(hide)}


@pytest.mark.parametrize("tracker", ["mlflow", "wandb"])
def test_a_tracker_that_is_not_installed_is_refused_with_the_pip_command(cli_cwd, tracker):
    env = without(tracker, cli_cwd)
    result = run_cli(["seqlab-train", *SMALL, f"logger={tracker}"], cli_cwd, **env)
    expected = f"the {tracker} package is not installed here; pip install 'seqlab[{tracker}]'"
    assert_clear_failure(result, expected, cli_cwd)
    if tracker == "mlflow":  # a sweep: refused by its driver, before any job
        sweep = run_cli(["seqlab-train", "-m", *SMALL, "logger=mlflow", "seed=1,2"], cli_cwd, **env)
        assert_clear_failure(sweep, expected, cli_cwd)
    assert not list(cli_cwd.glob("**/metrics.json"))


def test_an_unreachable_tracking_server_is_refused_before_training(cli_cwd):
    port = free_port()  # nothing listens there
    uri = f"http://127.0.0.1:{port}"
    result = run_cli(
        ["seqlab-train", *SMALL, "logger=mlflow", f"logger.mlflow.tracking_uri={uri}"], cli_cwd
    )
    assert_clear_failure(result, f"logger.mlflow.tracking_uri={uri}: cannot reach", cli_cwd)
    assert "Connection refused" in result.stderr
    assert not list(cli_cwd.glob("**/metrics.json"))


def test_an_unreachable_tracking_server_refuses_the_sweep_before_its_jobs(cli_cwd):
    uri = f"http://127.0.0.1:{free_port()}"
    args = ["seqlab-train", "-m", *SMALL, "logger=mlflow", f"logger.mlflow.tracking_uri={uri}"]
    result = run_cli([*args, "seed=1,2"], cli_cwd)
    assert_clear_failure(result, "cannot reach the MLflow server", cli_cwd)
    assert not list(cli_cwd.glob("**/metrics.json"))


def test_a_bad_wandb_mode_is_refused_in_one_line(cli_cwd):
    result = run_cli(["seqlab-train", *SMALL, "logger=wandb", "logger.wandb.mode=cloud"], cli_cwd)
    assert_clear_failure(result, "logger.wandb.mode='cloud' is not allowed", cli_cwd)


@pytest.mark.slow  # a read-only mount needs root
def test_a_store_on_a_read_only_file_system_is_refused_in_one_line(cli_cwd, tmp_path, mounts):  # noqa: F811
    source = tmp_path / "store"
    source.mkdir()
    point = read_only(mounts, source, tmp_path / "ro")
    uri = f"sqlite:///{point / 'mlflow.db'}"
    args = [*SMALL, "logger=mlflow", f"logger.mlflow.tracking_uri={uri}"]
    result = run_cli(["seqlab-train", *args], cli_cwd)
    assert_clear_failure(result, f"{point} is on a read-only file system", cli_cwd)
