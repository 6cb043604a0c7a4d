"""A sweep as a person meets it in TensorBoard: a real TensorBoard server on a free
localhost port, read through the HTTP API its own pages use."""

from __future__ import annotations

import json
import math
import socket
import statistics
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.conftest import QUIET, run_cli
from tests.integration.conftest import only_sweep

SWEEP = [
    "-m",
    "experiment=tutorial_sum",
    "data.n=200",
    "data.n_val=50",
    "data.n_test=50",
    "trainer.max_epochs=2",
    "model.hidden_dim=8,16",
    "model.lr=0.1,0.5",
    *QUIET,
]


LABELS = {f"hidden_dim={h},lr={lr}" for h in (8, 16) for lr in (0.1, 0.5)}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(url: str, body: dict | None = None) -> object:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data, {"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


@contextmanager
def tensorboard(logdir: Path, runs: int) -> Iterator[str]:
    """`tensorboard --logdir <logdir>` on a free port; yields its URL once it lists `runs`
    runs (it loads event files in the background)."""
    port = free_port()
    binary = Path(sys.executable).parent / "tensorboard"
    args = [str(binary), "--logdir", str(logdir), "--host", "127.0.0.1", "--port", str(port)]
    server = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                if len(get(f"{url}/data/runs")) >= runs:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline or server.poll() is not None:
                log = server.stderr.read()[-2000:]
                pytest.fail(f"TensorBoard did not serve {runs} runs: {log}")
            time.sleep(0.5)
        time.sleep(1)  # let the loader finish the runs it has found
        yield url
    finally:
        server.terminate()
        server.wait(timeout=30)


@pytest.mark.slow  # make test-faults: a sweep and its TensorBoard view
def test_a_sweep_in_tensorboard_is_named_by_its_settings(cli_cwd):
    result = run_cli(["seqlab-train", *SWEEP], cli_cwd)
    assert result.returncode == 0, result.stderr[-3000:]
    sweep = only_sweep(cli_cwd)
    assert f"Compare the jobs with: tensorboard --logdir {sweep / 'tensorboard'}" in result.stdout
    best = {}
    for job in sweep.iterdir():
        if job.name.isdigit():
            metrics = json.loads((job / "metrics.json").read_text())
            overrides = (job / ".hydra" / "overrides.yaml").read_text()
            hidden = "16" if "model.hidden_dim=16" in overrides else "8"
            lr = "0.5" if "model.lr=0.5" in overrides else "0.1"
            best[f"hidden_dim={hidden},lr={lr}"] = metrics

    with tensorboard(sweep / "tensorboard", runs=5) as url:
        # The run list: one run per job, named by its swept values; the HParams experiment
        # is no run of its own; `~sweep` holds the report's notes (two keys were swept).
        assert set(get(f"{url}/data/runs")) == {*LABELS, "~sweep"}
        assert get(f"{url}/data/plugin/text/tags") == {"~sweep": ["What mattered"]}
        query = urllib.parse.urlencode({"run": "~sweep", "tag": "What mattered"})
        [note] = get(f"{url}/data/plugin/text/text?{query}")
        # The Text tab renders the report's Markdown table: both keys, with their shares.
        assert "<table>" in note["text"]
        assert "model.hidden_dim" in note["text"] and "model.lr" in note["text"]
        scalars = get(f"{url}/data/plugin/scalars/tags")
        assert "epoch" not in {tag for tags in scalars.values() for tag in tags}
        assert all("val/mse" in scalars[label] for label in LABELS)

        # HParams: the swept keys, then the metrics in the data's units; nothing constant.
        experiment = get(f"{url}/data/plugin/hparams/experiment", {"experimentName": ""})
        columns = [(h["name"], h["displayName"]) for h in experiment["hparamInfos"]]
        assert columns == [("model.hidden_dim", "hidden_dim"), ("model.lr", "lr")]
        assert [h["domainDiscrete"] for h in experiment["hparamInfos"]] == [[8, 16], [0.1, 0.5]]
        metrics = [(m["name"]["tag"], m["displayName"]) for m in experiment["metricInfos"]]
        assert metrics == [
            ("~results/best val/mse", "best val/mse"),
            ("~results/final val/mse", "final val/mse"),
            ("~results/test/mse", "test/mse"),
        ]

        # Each trial is the job named by its settings, with its values and results.
        request = {
            "experimentName": "",
            "allowedStatuses": ["STATUS_UNKNOWN", "STATUS_SUCCESS", "STATUS_RUNNING"],
            "colParams": [{"hparam": name} for name, _ in columns]
            + [{"metric": {"tag": tag, "group": ""}} for tag, _ in metrics],
            "startIndex": 0,
            "sliceSize": 100,
        }
        groups = get(f"{url}/data/plugin/hparams/session_groups", request)["sessionGroups"]
        assert {g["name"] for g in groups} == LABELS
        for group in groups:
            hidden, lr = (part.split("=")[1] for part in group["name"].split(","))
            assert group["hparams"]["model.hidden_dim"] == float(hidden)
            assert group["hparams"]["model.lr"] == float(lr)
            values = {v["name"]["tag"]: v["value"] for v in group["metricValues"]}
            recorded = best[group["name"]]
            best_value = values["~results/best val/mse"]
            assert best_value == pytest.approx(recorded["best"]["val/mse"])
            assert values["~results/test/mse"] == pytest.approx(recorded["final"]["test/mse"])


def scalar_series(url: str, run: str, tag: str) -> dict[int, float]:
    """{step: value} of one run's scalar tag, from the server's scalars endpoint."""
    query = urllib.parse.urlencode({"run": run, "tag": tag})
    return {step: value for _, step, value in get(f"{url}/data/plugin/scalars/scalars?{query}")}


# Student's t quantile t(0.975, 2), for the 95% interval of the mean of three values.
T_975_2 = 4.302652729911275


@pytest.mark.slow  # make test-faults: a replicated sweep
def test_seed_replicates_get_a_mean_run_and_a_margin_chart(cli_cwd):
    """2 settings x 3 seeds: each setting gets a run `<setting> (mean of 3)` whose scalars,
    at each epoch, are the mean of its jobs' recorded values and the bounds of its 95%
    interval; the Custom Scalars layout draws them as margin charts."""
    args = [*SWEEP[: -len(QUIET)], *QUIET]
    args = [a for a in args if not a.startswith("model.lr=")]
    args = [*args, "seed=1,2,3", "trainer.max_epochs=3"]
    result = run_cli(["seqlab-train", *args], cli_cwd)
    assert result.returncode == 0, result.stderr[-3000:]
    sweep = only_sweep(cli_cwd)
    histories: dict[str, list[list[dict]]] = {}
    for job in sweep.iterdir():
        if job.name.isdigit():
            overrides = (job / ".hydra" / "overrides.yaml").read_text()
            hidden = "16" if "model.hidden_dim=16" in overrides else "8"
            metrics = json.loads((job / "metrics.json").read_text())
            histories.setdefault(f"hidden_dim={hidden} (mean of 3)", []).append(metrics["history"])
    assert {len(h) for h in histories.values()} == {3}

    with tensorboard(sweep / "tensorboard", runs=8) as url:
        runs = set(get(f"{url}/data/runs"))
        assert set(histories) <= runs and len(runs) == 8
        layout = get(f"{url}/data/plugin/custom_scalars/layout")
        charts = {c["title"]: c["margin"]["series"] for c in layout["category"][0]["chart"]}
        assert charts["val/mse"] == [
            {
                "value": "val/mse",
                "lower": "~interval/val/mse/low",
                "upper": "~interval/val/mse/high",
            }
        ]
        assert "train/loss_epoch" in charts
        for run, jobs in histories.items():
            mean, low, high = (
                scalar_series(url, run, tag)
                for tag in ("val/mse", "~interval/val/mse/low", "~interval/val/mse/high")
            )
            assert sorted(mean) == [1, 2, 3]  # the epoch is the x axis
            for epoch in mean:
                values = [h[epoch - 1]["val/mse"] for h in jobs]
                assert [h[epoch - 1]["epoch"] for h in jobs] == [epoch] * 3
                hand = statistics.mean(values)
                # An MSE's interval, by hand: Cox's, from the logs' mean and variance
                # (docs/sweeps.md "Intervals"), or where it would miss the mean Student's t
                # cut at 0.
                logs = [math.log(v) for v in values]
                m, var = statistics.mean(logs), statistics.variance(logs)
                half = T_975_2 * math.sqrt(var / 3 + var * var / 4)
                bounds = (math.exp(m + var / 2 - half), math.exp(m + var / 2 + half))
                if not bounds[0] <= hand <= bounds[1]:
                    t_half = T_975_2 * statistics.stdev(values) / math.sqrt(3)
                    bounds = (max(hand - t_half, 0.0), hand + t_half)
                assert mean[epoch] == pytest.approx(hand, rel=1e-5)
                assert low[epoch] == pytest.approx(bounds[0], rel=1e-4, abs=1e-6)
                assert high[epoch] == pytest.approx(bounds[1], rel=1e-4, abs=1e-6)
                assert low[epoch] > 0
