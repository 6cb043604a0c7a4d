"""seqlab-report as a command, on hand-made sweep directories."""

import subprocess
import sys
from pathlib import Path

import pytest

from seqlab.report.summary import write_report
from seqlab.sweep.jobs import read_jobs, swept_axes
from seqlab.sweep.replicates import group_jobs
from tests.conftest import big_sweep, replicated


def test_cli_errors_and_output(sweep, tmp_path):
    script = Path(sys.executable).parent / "seqlab-report"
    ok = subprocess.run([str(script), str(sweep), "--no-plots"], capture_output=True, text=True)
    assert ok.returncode == 0 and "| 1 | 8 | 0.5 |" in ok.stdout
    empty = tmp_path / "empty"
    empty.mkdir()
    bad = subprocess.run([str(script), str(empty)], capture_output=True, text=True)
    assert bad.returncode == 2 and "no job directories" in bad.stderr


def test_a_sweep_without_replicates_is_not_grouped(sweep, tmp_path):
    jobs = read_jobs(sweep)
    assert group_jobs(jobs, swept_axes(jobs), "val/loss", "min") is None
    write_report(sweep)
    assert not (sweep / "groups.csv").exists()
    assert "<details>" not in (sweep / "summary.md").read_text()
    # Replicates are a setting: with none, a seed sweep is reported job by job.
    seeds = replicated(tmp_path / "seeds", {"16": [1.0, 2.0]})
    script = Path(sys.executable).parent / "seqlab-report"
    result = subprocess.run(
        [str(script), str(seeds), "--replicates", "", "--no-plots"], capture_output=True, text=True
    )
    assert result.returncode == 0 and not (seeds / "groups.csv").exists()
    assert "Ranked by best `val/loss`" in result.stdout


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
def test_48_job_report(tmp_path):
    sweep = big_sweep(tmp_path)
    script = Path(sys.executable).parent / "seqlab-report"
    subprocess.run([str(script), str(sweep)], check=True, capture_output=True)
