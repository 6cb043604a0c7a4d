"""seqlab-report on hand-made sweep directories (no training needed)."""

import csv
import json
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from seqlab.analysis.sweep import read_jobs, swept_axes, write_report


def make_job(sweep: Path, num: int, overrides: dict, metrics: dict | None) -> None:
    job = sweep / str(num)
    (job / ".hydra").mkdir(parents=True)
    items = [f"{k}={v}" for k, v in overrides.items()]
    (job / ".hydra" / "overrides.yaml").write_text(yaml.safe_dump(items))
    if metrics is not None:
        (job / "metrics.json").write_text(json.dumps(metrics))


def done(value: float, status: str = "completed", epochs: int = 5) -> dict:
    return {
        "status": status,
        "monitor": "val/loss",
        "mode": "min",
        "epochs": epochs,
        "wall_s": 1.5,
        "best": {"val/loss": value, "epoch": epochs},
        "final": {"val/loss": value + 1},
    }


@pytest.fixture
def sweep(tmp_path: Path) -> Path:
    fixed = {"experiment": "tutorial_sum"}
    make_job(tmp_path, 0, {**fixed, "model.hidden_dim": 8, "model.lr": 0.1}, done(30.0))
    make_job(tmp_path, 1, {**fixed, "model.hidden_dim": 8, "model.lr": 0.5}, done(10.0))
    make_job(tmp_path, 2, {**fixed, "model.hidden_dim": 32, "model.lr": 0.1}, done(20.0))
    make_job(
        tmp_path,
        3,
        {**fixed, "model.hidden_dim": 32, "model.lr": 0.5},
        done(5.0, status="diverged", epochs=2),
    )
    failed = {"status": "failed", "error": "RuntimeError: boom", "monitor": "val/loss"}
    make_job(tmp_path, 4, {**fixed, "model.hidden_dim": 64, "model.lr": 0.1}, failed)
    make_job(tmp_path, 10, {**fixed, "model.hidden_dim": 64, "model.lr": 0.5}, None)  # running
    return tmp_path


def test_jobs_axes_and_statuses(sweep):
    jobs = read_jobs(sweep)
    assert [j.name for j in jobs] == ["0", "1", "2", "3", "4", "10"]  # numeric order
    assert swept_axes(jobs) == ["model.hidden_dim", "model.lr"]
    assert [j.status for j in jobs] == ["completed"] * 3 + ["diverged", "failed", "pending"]


def test_summary_files(sweep):
    write_report(sweep)
    with (sweep / "summary.csv").open() as f:
        rows = list(csv.DictReader(f))
    assert [r["job"] for r in rows] == ["0", "1", "2", "3", "4", "10"]
    assert rows[1]["model.lr"] == "0.5" and rows[1]["best val/loss"] == "10"
    assert rows[4]["status"] == "failed" and rows[4]["error"] == "RuntimeError: boom"
    assert rows[5]["status"] == "pending"

    md = (sweep / "summary.md").read_text()
    table = [line for line in md.splitlines() if line.startswith("| ") and "job" not in line]
    order = [line.split("|")[1].strip() for line in table]
    # Completed jobs best first; the diverged job (its value is not a result), then the rest.
    assert order[:3] == ["1", "2", "0"]
    assert set(order[3:]) == {"3", "4", "10"}
    assert "6 jobs: 3 completed, 1 diverged, 1 failed, 1 pending." in md
    assert "Fixed: `experiment=tutorial_sum`" in md
    for axis in ("model.hidden_dim", "model.lr"):
        assert (sweep / f"plot_{axis}.png").stat().st_size > 1000


def test_cli_errors_and_output(sweep, tmp_path):
    script = Path(sys.executable).parent / "seqlab-report"
    ok = subprocess.run([str(script), str(sweep), "--no-plots"], capture_output=True, text=True)
    assert ok.returncode == 0 and "| 1 | 8 | 0.5 |" in ok.stdout
    empty = tmp_path / "empty"
    empty.mkdir()
    bad = subprocess.run([str(script), str(empty)], capture_output=True, text=True)
    assert bad.returncode == 2 and "no job directories" in bad.stderr


def big_sweep(root: Path) -> Path:
    """The notebook's 48-job grid, with made-up results."""
    num = 0
    for h in (8, 32, 64):
        for lr in (0.1, 0.5):
            for length in (2, 4, 8, 16):
                for n in (1000, 10000):
                    over = {
                        "model.hidden_dim": h,
                        "model.lr": lr,
                        "data.length": length,
                        "data.n": n,
                    }
                    make_job(root, num, over, done(float(length * 100 / h + lr)))
                    num += 1
    return root


LIGHT = """
import sys, time
from seqlab.cli.report import main
start = time.perf_counter()
code = main([sys.argv[1]])
print("SECONDS", time.perf_counter() - start)
print("HEAVY", sorted(m for m in ("torch", "lightning") if m in sys.modules))
"""


def test_report_imports_neither_torch_nor_lightning(tmp_path):
    sweep = big_sweep(tmp_path)
    result = subprocess.run(
        [sys.executable, "-c", LIGHT, str(sweep)], capture_output=True, text=True, timeout=120
    )
    assert "HEAVY []" in result.stdout, result.stderr
    assert len(list(sweep.glob("plot_*.png"))) == 4


@pytest.mark.slow
def test_48_job_report_takes_under_3_seconds(tmp_path):
    sweep = big_sweep(tmp_path)
    script = Path(sys.executable).parent / "seqlab-report"
    start = time.perf_counter()
    subprocess.run([str(script), str(sweep)], check=True, capture_output=True)
    assert time.perf_counter() - start < 3.0
