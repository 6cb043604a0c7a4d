"""seqlab-report as a command, on hand-made sweep directories."""

import subprocess
import sys
from pathlib import Path

import pytest

from seqlab.report.summary import write_report
from seqlab.sweeps.jobs import read_jobs, swept_axes
from seqlab.sweeps.replicates import group_jobs
from tests.conftest import QUIET, big_sweep, replicated, run_cli


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


@pytest.mark.slow  # make test-faults: two sweeps
def test_compare_two_real_sweeps_that_differ_in_one_settings_values(tmp_path):
    """The grid of hidden_dim 8, 16 against one of 16, 32, two seeds each: hidden_dim=16 is
    in both, with the same seeds and code, so the same numbers: tied, difference 0."""
    tiny = ["experiment=tutorial_sum", "data.n=200", "data.n_val=50", "data.n_test=50"]
    tiny += ["trainer.max_epochs=2", "seed=1,2", *QUIET]
    sweeps = {}
    for name, hidden in (("a", "8,16"), ("b", "16,32")):
        sweeps[name] = tmp_path / name
        args = ["-m", *tiny, f"model.hidden_dim={hidden}", f"hydra.sweep.dir={sweeps[name]}"]
        done = run_cli(["seqlab-train", *args], tmp_path)
        assert done.returncode == 0, done.stderr[-3000:]
    script = Path(sys.executable).parent / "seqlab-report"
    out = tmp_path / "compared.md"
    result = subprocess.run(
        [str(script), "--compare", str(sweeps["a"]), str(sweeps["b"]), "--out", str(out)],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    assert f"Comparison: {out}" in result.stdout
    assert result.stdout.strip().splitlines()[-1] == (
        "B against A, best val/mse: 0 better, 0 worse, 1 tied, of 1 settings in both; "
        "1 only in A, 1 only in B"
    )
    text = out.read_text()
    [row] = [line for line in text.splitlines() if line.startswith("| 16 |")]
    assert row.endswith("| 0 | yes | tied |"), row
    assert "Only in A: model.hidden_dim=8." in text and "Only in B: model.hidden_dim=32." in text
    assert text.count(", ran `") == 2  # the code each sweep ran
    bad = subprocess.run([str(script)], capture_output=True, text=True)
    assert bad.returncode == 2 and "give one sweep directory, or --compare A B" in bad.stderr
