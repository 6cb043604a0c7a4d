"""Sweeps written down, planned and watched, through the real commands: sweep files in each
form, W&B's files run offline with a real Optuna study, `--plan`, the live status and
`seqlab-report --watch`, and the end-of-sweep notice."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest
import yaml

from seqlab.search import STUDY_FILE
from seqlab.sweeps.plan import PLAN_FILE
from tests.conftest import QUIET, _cli, run_cli
from tests.integration.conftest import job_dirs, only_sweep

# Jobs of a fraction of a second: the notebook's regressor on a few dozen sequences.
TINY = ["experiment=tutorial_sum", "data.n_val=20", "data.n_test=20", *QUIET]


def job_overrides(sweep: Path, ignore: list[str]) -> set[frozenset[str]]:
    """Each job's overrides as Hydra recorded them, without the keys the command line set."""
    keys = {o.split("=", 1)[0] for o in ignore}
    found = set()
    for job in job_dirs(sweep):
        overrides = yaml.safe_load((job / ".hydra" / "overrides.yaml").read_text())
        found.add(frozenset(o for o in overrides if o.split("=", 1)[0] not in keys))
    return found


def statuses(sweep: Path) -> list[str]:
    return [json.loads((job / "metrics.json").read_text())["status"] for job in job_dirs(sweep)]


def study_of(sweep: Path):
    """The sweep's Optuna study, from its journal."""
    import optuna

    from seqlab.search import storage

    return optuna.load_study(study_name="seqlab", storage=storage(sweep))


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


FORMS = """
fixed: {trainer.max_epochs: 1}
union:
  - zip: {data.length: [2, 3], data.n: [60, 80]}
  - settings: [{data.length: 2}]
    grid: {model.hidden_dim: [4, 6]}
    when:
      - if: {model.hidden_dim: 4}
        grid: {model.lr: [0.1, 0.2]}
seeds: 2
"""


def forms_command(cli_cwd: Path) -> list[str]:
    (cli_cwd / "forms.yaml").write_text(FORMS)
    return [
        "seqlab-train",
        "sweep_file=forms.yaml",
        *TINY,
        f"notify.url=http://127.0.0.1:{closed_port()}/",
        "notify.command='cat > notice.json'",  # quoted for Hydra's override parser
    ]


def test_a_sweep_file_runs_exactly_its_settings(cli_cwd):
    command = forms_command(cli_cwd)
    result = run_cli(command, cli_cwd)
    port = command[-2].split(":")[2].rstrip("/")
    # A notice to a dead port is a warning; the sweep's exit status stays its own.
    assert result.returncode == 0, result.stderr[-3000:]
    assert f"notify.url=http://127.0.0.1:{port}/: the notice was not sent" in result.stderr
    sweep = only_sweep(cli_cwd)
    expected = {
        frozenset({"trainer.max_epochs=1", *setting, f"seed={seed}"})
        for setting in (
            {"data.length=2", "data.n=60"},
            {"data.length=3", "data.n=80"},
            {"model.hidden_dim=4", "data.length=2", "model.lr=0.1"},
            {"model.hidden_dim=4", "data.length=2", "model.lr=0.2"},
            {"model.hidden_dim=6", "data.length=2"},
        )
        for seed in (1, 2)
    }
    assert job_overrides(sweep, command[1:]) == expected
    assert statuses(sweep) == ["completed"] * 10
    assert json.loads((sweep / PLAN_FILE).read_text())["total"] == 10
    assert "5 settings, each run by its replicates" in (sweep / "summary.md").read_text()
    notice = json.loads((cli_cwd / "notice.json").read_text())
    assert notice["counts"] == {"completed": 10} and notice["total"] == 10


@pytest.mark.slow  # make test-faults: a sweep, then two resumes
def test_a_sweep_file_resumes_its_jobs_and_no_others(cli_cwd):
    command = forms_command(cli_cwd)
    assert run_cli(command, cli_cwd).returncode == 0
    sweep = only_sweep(cli_cwd)
    # The same command carries the sweep on: nothing finished is trained again.
    again = run_cli([*command[:-2], f"resume={sweep}"], cli_cwd)
    assert again.returncode == 0, again.stderr[-3000:]
    attempts = [json.loads((j / "metrics.json").read_text())["attempts"] for j in job_dirs(sweep)]
    assert attempts == [1] * 10
    # A file that now gives other jobs would put them in the old jobs' directories.
    (cli_cwd / "forms.yaml").write_text(FORMS.replace("[60, 80]", "[60, 90]"))
    changed = run_cli([*command[:-2], f"resume={sweep}"], cli_cwd)
    assert changed.returncode != 0
    assert f"seqlab-train: error: resume={sweep}: this command gives other jobs" in changed.stderr
    assert "job 2 was" in changed.stderr and "data.n=90" in changed.stderr


def test_plan_lists_the_notebook_grid_without_writing_anything(cli_cwd):
    grid = [
        "experiment=tutorial_sum",
        "model.hidden_dim=8,32,64",
        "model.lr=0.1,0.5",
        "data.length=2,4,8,16",
        "data.n=1000,10000",
    ]
    elapsed = []
    for _ in range(2):  # the better of two: a command's time, not the machine's hiccups
        start = time.perf_counter()
        result = run_cli(["seqlab-train", "-m", *grid, "--plan", "--no-probe"], cli_cwd)
        elapsed.append(time.perf_counter() - start)
    assert result.returncode == 0, result.stderr[-3000:]
    lines = result.stdout.splitlines()
    assert lines[0] == "Plan: 48 job(s) from the command line"
    jobs = [line for line in lines if re.match(r"  #\d+ ", line)]
    assert len(jobs) == 48
    assert jobs[0].split()[1:] == [
        "experiment=tutorial_sum", "model.hidden_dim=8", "model.lr=0.1", "data.length=2",
        "data.n=1000",
    ]  # fmt: skip
    assert "Slots: 1 (hydra/launcher=basic" in result.stdout
    assert list(cli_cwd.iterdir()) == []  # no sweep directory, no outputs root
    assert min(elapsed) < 2.0, f"--plan took {elapsed} s"


@pytest.mark.slow  # make test-faults: a probe, a sweep and its plan again
def test_plan_of_the_notebook_sweep_file_and_its_estimates(cli_cwd):
    plan = run_cli(["seqlab-train", "sweep=notebook", "--plan", "--no-probe"], cli_cwd)
    assert plan.returncode == 0, plan.stderr[-3000:]
    assert plan.stdout.splitlines()[0] == "Plan: 16 job(s) from sweep=notebook"
    assert "Estimate: none (16 job(s) without an earlier run (no estimate))" in plan.stdout
    # With a probe: each shape of the sweep trained two epochs, timed, and scaled.
    small = ["sweep=notebook", "model.hidden_dim=4", "data.n=50", "trainer.max_epochs=3"]
    probed = run_cli(["seqlab-train", *small, "--plan"], cli_cwd)
    assert probed.returncode == 0, probed.stderr[-3000:]
    assert "from a probe" in probed.stdout and "Estimated wall time:" in probed.stdout
    assert not (cli_cwd / "outputs").exists()
    # After a run of the same settings, its wall time is the estimate.
    run = run_cli(["seqlab-train", *small, *QUIET, "--multirun"], cli_cwd)
    assert run.returncode == 0, run.stderr[-3000:]
    again = run_cli(["seqlab-train", *small, "--plan", "--no-probe"], cli_cwd)
    jobs = len(job_dirs(only_sweep(cli_cwd)))
    assert f"{jobs} job(s) from earlier runs" in again.stdout, again.stdout


class _Notices(BaseHTTPRequestHandler):
    received: list[dict] = []

    def do_POST(self) -> None:  # noqa: N802 (http.server's name)
        body = self.rfile.read(int(self.headers["Content-Length"]))
        _Notices.received.append(json.loads(body))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


def test_a_running_sweep_says_how_far_it_is_and_announces_a_failure(cli_cwd):
    # 8 jobs, the fourth of which fails; every change is a line (every_s=0).
    server = HTTPServer(("127.0.0.1", 0), _Notices)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    _Notices.received.clear()
    args = [
        "seqlab-train",
        "-m",
        *TINY,
        "data.n=300",
        "trainer.max_epochs=25",
        "model.lr=0.1,0.2,0.3,-1,0.4,0.5,0.6,0.7",
        "hydra.callbacks.sweep_status.every_s=0",
        f"notify.url=http://127.0.0.1:{server.server_port}/sweep",
    ]
    command, env = _cli(args, cli_cwd, {})
    driver = subprocess.Popen(command, cwd=cli_cwd, env=env, stdout=subprocess.PIPE, text=True)
    deadline = time.time() + 60
    # Once the sweep has written its plan (a directory alone may be a sweep not begun).
    while not list(cli_cwd.glob("outputs/multiruns/*/*/plan.json")) and time.time() < deadline:
        time.sleep(0.1)
    sweep = only_sweep(cli_cwd)
    command, env = _cli(["seqlab-report", "--watch", str(sweep), "--every", "0"], cli_cwd, {})
    watcher = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    out, _ = driver.communicate(timeout=300)
    server.shutdown()
    assert driver.returncode == 0

    lines = [line for line in out.splitlines() if line.startswith(("sweep: ", "job "))]
    shown = [re.match(r"sweep: (\d+)/(\d+) done", line) for line in lines]
    counts = [(int(m.group(1)), int(m.group(2))) for m in shown if m]
    assert all(total == 8 for _, total in counts)
    assert [done for done, _ in counts] == sorted(done for done, _ in counts)  # never back
    failure = next(i for i, line in enumerate(lines) if line.startswith("job 3 failed: "))
    assert "model.lr=-1" in lines[failure] and str(sweep / "3") in lines[failure]
    assert failure < len(lines) - 1  # announced before the sweep's last line
    assert any(re.search(r" · ETA \d+", line) for line in lines[:failure])
    assert any(" running" in line and " pending" in line for line in lines)
    last = lines[-1]
    assert last.startswith("sweep: 7/8 done · 1 failed · ") and " ended" in last
    assert re.search(r"best val/mse [\d.e+]+ \(job \d\)", last)
    # Another process, reading the same files, sees the same counts and the same failure.
    assert watcher.returncode == 0, watcher.stderr
    watched = watcher.stdout.splitlines()
    assert watched[-1].startswith("sweep: 7/8 done · 1 failed · ") and " ended" in watched[-1]
    assert any(line.startswith("job 3 failed: ") for line in watched)
    # The notice: the counts, the best job, the failed one with its cause, the report.
    (notice,) = _Notices.received
    assert notice["total"] == 8 and notice["counts"] == {"completed": 7, "failed": 1}
    assert notice["failed"][0]["job"] == "3" and "model.lr" in notice["failed"][0]["cause"]
    assert notice["best"]["job"] in {str(i) for i in range(8)} - {"3"}
    assert Path(notice["report"]).is_file()


# --- W&B's sweep files, offline -------------------------------------------------------------

# Put first on the path of every process the test starts: a socket may connect to loopback
# only, and any other attempt is written down before it is refused.
NETWORK_GUARD = """
import os, socket
_connect = socket.socket.connect
def _guarded(self, address):
    host = address[0] if isinstance(address, tuple) else str(address)
    if self.family in (socket.AF_INET, socket.AF_INET6) and host not in (
        "127.0.0.1", "::1", "localhost"
    ):
        with open(os.environ["SEQLAB_TEST_NETWORK_LOG"], "a") as f:
            f.write(f"{host}\\n")
        raise OSError("network access refused by the test")
    return _connect(self, address)
socket.socket.connect = _guarded
_lookup = socket.getaddrinfo
def _guarded_lookup(host, *args, **kwargs):
    if host not in (None, "127.0.0.1", "::1", "localhost"):
        with open(os.environ["SEQLAB_TEST_NETWORK_LOG"], "a") as f:
            f.write(f"lookup {host}\\n")
        raise OSError("name lookups refused by the test")
    return _lookup(host, *args, **kwargs)
socket.getaddrinfo = _guarded_lookup
"""

WANDB = {
    "grid": """
program: train.py
method: grid
metric: {name: val/loss, goal: minimize}
parameters:
  model:
    parameters:
      hidden_dim: {values: [4, 8]}
      lr: {value: 0.1}
""",
    "random": """
method: random
metric: {name: val/mse, goal: minimize}
run_cap: 3
parameters:
  model.hidden_dim: {distribution: int_uniform, min: 4, max: 8}
  model.lr: {distribution: log_uniform_values, min: 0.01, max: 0.5}
""",
    "bayes": """
method: bayes
metric: {name: val/mse, goal: minimize}
run_cap: 4
early_terminate: {type: hyperband, min_iter: 1, eta: 2}
parameters:
  model.hidden_dim: {values: [4, 8]}
  model.lr: {distribution: uniform, min: 0.05, max: 0.5}
""",
}


@pytest.mark.slow  # make test-faults: a process per method
@pytest.mark.parametrize("method", list(WANDB))
def test_a_wandb_sweep_file_runs_offline(cli_cwd, method):
    guard = cli_cwd / "guard"
    guard.mkdir()
    (guard / "sitecustomize.py").write_text(NETWORK_GUARD)
    log = cli_cwd / "network.log"
    env = {"PYTHONPATH": str(guard), "SEQLAB_TEST_NETWORK_LOG": str(log)}
    # The guard itself: a lookup of a host elsewhere is written down and refused.
    probe = (
        "import socket\ntry: socket.create_connection(('example.org', 80), 1)\nexcept OSError: pass"
    )
    subprocess.run([sys.executable, "-c", probe], env={**os.environ, **env}, check=True)
    assert log.read_text() == "lookup example.org\n"
    log.unlink()
    (cli_cwd / "sweep.yaml").write_text(WANDB[method])
    result = run_cli(
        ["seqlab-train", "sweep_file=sweep.yaml", *TINY, "data.n=60", "trainer.max_epochs=3"],
        cli_cwd,
        **env,
        WANDB_MODE="offline",
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert not log.exists(), log.read_text()  # not one connection left the machine
    sweep = only_sweep(cli_cwd)
    jobs = job_dirs(sweep)
    metrics = [json.loads((job / "metrics.json").read_text()) for job in jobs]
    # W&B's metric is the runs' monitor (the experiment's own is val/mse).
    assert {m["monitor"] for m in metrics} == {"val/loss" if method == "grid" else "val/mse"}
    if method == "grid":
        assert "program: train.py ignored: seqlab is the program" in result.stderr + result.stdout
        assert sorted(m["config"]["model.hidden_dim"] for m in metrics) == [4, 8]
        assert {m["config"]["model.lr"] for m in metrics} == {0.1}
        assert not (sweep / STUDY_FILE).exists()
        return
    study = study_of(sweep)
    assert len(study.trials) == len(jobs) == (3 if method == "random" else 4)
    for trial in study.trials:
        assert 4 <= trial.params["model.hidden_dim"] <= 8
    lrs = [t.params["model.lr"] for t in study.trials]
    assert all((0.01 if method == "random" else 0.05) <= lr <= 0.5 for lr in lrs)
    assert [d.name for d in study.directions] == ["MINIMIZE"]
    if method == "bayes":
        assert "Optuna's TPE sampler" in result.stderr + result.stdout


@pytest.mark.slow  # make test-faults: a process per job
def test_a_sweep_file_runs_side_by_side_with_local_parallel(cli_cwd):
    (cli_cwd / "pairs.yaml").write_text(
        "fixed: {trainer.max_epochs: 2, data.n: 60}\n"
        "zip: {model.hidden_dim: [4, 8, 12], model.lr: [0.1, 0.2, -1]}\n"
    )
    command = ["seqlab-train", "sweep_file=pairs.yaml", *TINY, "hydra/launcher=local_parallel",
               "hydra.launcher.n_jobs=2"]  # fmt: skip
    result = run_cli(command, cli_cwd)
    assert result.returncode == 0, result.stderr[-3000:]
    sweep = only_sweep(cli_cwd)
    fixed = ["trainer.max_epochs=2", "data.n=60"]
    assert job_overrides(sweep, [*command[1:], *fixed]) == {
        frozenset({"model.hidden_dim=4", "model.lr=0.1"}),
        frozenset({"model.hidden_dim=8", "model.lr=0.2"}),
        frozenset({"model.hidden_dim=12", "model.lr=-1"}),
    }
    assert sorted(statuses(sweep)) == ["completed", "completed", "failed"]
    assert "job 2 failed: ConfigError: model.lr=-1" in result.stdout
    assert "sweep: 2/3 done · 1 failed · " in result.stdout


@pytest.mark.slow  # make test-faults: a study
def test_a_seqlab_sweep_file_is_the_search_space_of_an_optuna_study(cli_cwd):
    (cli_cwd / "space.yaml").write_text(
        "fixed: {data.n: 60, trainer.max_epochs: 2}\n"
        "grid: {model.hidden_dim: [4, 8], model.lr: 'interval(0.05, 0.5)'}\n"
    )
    result = run_cli(
        ["seqlab-train", "sweep_file=space.yaml", *TINY, "hydra/sweeper=seqlab_optuna",
         "hydra.sweeper.n_trials=3", "hydra.sweeper.pruner=none", "hydra.sweeper.seed=1"],
        cli_cwd,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    study = study_of(only_sweep(cli_cwd))
    assert len(study.trials) == 3
    assert all(t.params["model.hidden_dim"] in (4, 8) for t in study.trials)
    assert all(0.05 <= t.params["model.lr"] <= 0.5 for t in study.trials)
    data_n = {json.loads((j / "metrics.json").read_text())["config"]["data.n"]
              for j in job_dirs(only_sweep(cli_cwd))}  # fmt: skip
    assert data_n == {60}
    # A file beyond a grid is no search space: one line, naming the field.
    (cli_cwd / "zipped.yaml").write_text("zip: {model.hidden_dim: [4, 8], model.lr: [0.1, 0.2]}")
    refused = run_cli(
        ["seqlab-train", "sweep_file=zipped.yaml", *TINY, "hydra/sweeper=seqlab_optuna"], cli_cwd
    )
    assert refused.returncode == 2
    assert "sweep_file=zipped.yaml: zip: the Optuna sweeper searches a space" in refused.stderr
