"""seqlab-report on hand-made sweep directories (no training needed)."""

import csv
import json
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from seqlab.sweep.replicates import group_jobs
from seqlab.sweep.stats import t_quantile
from seqlab.report.summary import write_report
from seqlab.sweep.jobs import read_jobs, swept_axes


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


# --------------------------------------------------------------------------------------------
# Replicates: jobs that differ only in their seed.


def replicated(root: Path, values: dict[str, list[float]], failed: str | None = None) -> Path:
    """Settings of model.hidden_dim, each run with seeds 1, 2, ...: best val/loss values as
    given; the job of setting `failed` with the last seed failed instead."""
    num = 0
    for hidden, bests in values.items():
        for seed, value in enumerate(bests, 1):
            over = {"model.hidden_dim": hidden, "seed": seed}
            metrics = done(value)
            metrics["final"] = {"val/loss": value + 1, "test/loss": value + 2}
            if hidden == failed and seed == len(bests):
                metrics = {"status": "failed", "error": "RuntimeError: boom"}
            make_job(root, num, over, metrics)
            num += 1
    return root


def test_student_t_quantiles_match_published_tables():
    # Two-sided 95%: t(0.975, df) from any statistics table.
    for df, table in ((1, 12.706), (2, 4.303), (5, 2.571), (10, 2.228), (30, 2.042)):
        assert t_quantile(0.975, df) == pytest.approx(table, abs=5e-4)
    assert t_quantile(0.975, 100_000) == pytest.approx(1.95996, abs=1e-4)  # the normal's


def test_replicates_are_grouped_with_hand_computed_intervals(tmp_path):
    sweep = replicated(tmp_path, {"16": [1.0, 2.0, 3.0], "64": [10.0, 11.0, 12.0]})
    jobs = read_jobs(sweep)
    groups = group_jobs(jobs, swept_axes(jobs), "val/loss", "min")
    assert [g.settings for g in groups] == [{"model.hidden_dim": "16"}, {"model.hidden_dim": "64"}]
    best = groups[0].best
    # mean 2, sample std 1, half width t(0.975, 2) * 1 / sqrt(3) = 4.302653 / 1.732051
    assert (best.n, best.mean, best.std) == (3, 2.0, 1.0)
    assert best.low == pytest.approx(2 - 2.484138, abs=1e-6)
    assert best.high == pytest.approx(2 + 2.484138, abs=1e-6)
    assert groups[0].final.mean == 3.0 and groups[0].test.mean == 4.0
    assert [g.rank for g in groups] == ["best", ""]  # [7.52, 14.48] misses [-0.48, 4.48]


def test_settings_whose_interval_overlaps_the_best_are_tied(tmp_path):
    values = {"8": [10.0, 11.0, 12.0], "16": [1.0, 2.0, 3.0], "32": [2.5, 3.5, 4.5]}
    sweep = replicated(tmp_path, values)
    jobs = read_jobs(sweep)
    groups = group_jobs(jobs, swept_axes(jobs), "val/loss", "min")
    ranks = {g.settings["model.hidden_dim"]: g.rank for g in groups}
    assert ranks == {"16": "best", "32": "tied", "8": ""}
    maximised = group_jobs(jobs, swept_axes(jobs), "val/loss", "max")
    assert maximised[0].settings == {"model.hidden_dim": "8"} and maximised[0].rank == "best"


def test_failed_replicates_do_not_count(tmp_path):
    sweep = replicated(tmp_path, {"16": [1.0, 2.0, 3.0], "64": [1.0, 5.0, 9.0]}, failed="64")
    jobs = read_jobs(sweep)
    (_, second) = group_jobs(jobs, swept_axes(jobs), "val/loss", "min")
    assert (second.best.n, len(second.jobs), second.best.mean) == (2, 3, 3.0)


def test_report_leads_with_the_grouped_table(tmp_path):
    sweep = replicated(tmp_path, {"16": [1.0, 2.0, 3.0], "64": [10.0, 11.0, 12.0]})
    write_report(sweep)
    with (sweep / "groups.csv").open() as f:
        groups = list(csv.DictReader(f))
    assert [(g["model.hidden_dim"], g["n"], g["rank"]) for g in groups] == [
        ("16", "3", "best"),
        ("64", "3", ""),
    ]
    assert groups[0]["best val/loss 95% CI"] == "[-0.4841, 4.484]"
    md = (sweep / "summary.md").read_text()
    grouped, _, jobs_block = md.partition("<details>")
    assert "2 settings, each run by its replicates" in grouped
    assert "| 16 | 3 | 3 | 2 | 1 | [-0.4841, 4.484] |" in grouped
    assert "<summary>All 6 jobs</summary>" in jobs_block and "| 0 | 16 | 1 |" in jobs_block
    with (sweep / "summary.csv").open() as f:
        assert len(list(csv.DictReader(f))) == 6  # one row per job, as without replicates
    assert (sweep / "plot_model.hidden_dim.png").stat().st_size > 1000
    assert not (sweep / "plot_seed.png").exists()


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


def test_the_report_warns_when_jobs_ran_different_code(tmp_path):
    sweep = replicated(tmp_path, {"16": [1.0, 2.0], "64": [3.0, 4.0]})
    same = {"seqlab": "0.1.0", "git": {"commit": "a" * 40, "dirty": False}}
    for job in sweep.iterdir():
        metrics = json.loads((job / "metrics.json").read_text())
        metrics["provenance"] = same
        (job / "metrics.json").write_text(json.dumps(metrics))
    write_report(sweep, plots=False)
    assert "different code" not in (sweep / "summary.md").read_text()
    changed = {"seqlab": "0.1.0", "git": {"commit": "b" * 40, "dirty": True}}
    metrics = json.loads((sweep / "3" / "metrics.json").read_text())
    (sweep / "3" / "metrics.json").write_text(json.dumps({**metrics, "provenance": changed}))
    write_report(sweep, plots=False)
    lines = [line for line in (sweep / "summary.md").read_text().splitlines() if "code" in line]
    assert lines == [
        "**Warning: the jobs ran different code:** `0.1.0 aaaaaaaa` (3 jobs), "
        "`0.1.0 bbbbbbbb+dirty` (1 jobs)."
    ]


def test_run_labels_cut_sampled_numbers_while_they_stay_unique():
    from seqlab.sweep.jobs import Job
    from seqlab.report.tensorboard_view import run_labels

    axes = ["model.hidden_dim", "model.lr"]
    jobs = [
        Job("0", {"model.hidden_dim": "64", "model.lr": "0.0006437200997469248"}, {}),
        Job("1", {"model.hidden_dim": "64", "model.lr": "0.1"}, {}),
    ]
    assert run_labels(jobs, axes) == {
        "0": "hidden_dim=64,lr=0.0006437",
        "1": "hidden_dim=64,lr=0.1",
    }
    twins = [*jobs, Job("2", {"model.hidden_dim": "64", "model.lr": "0.0006437209"}, {})]
    assert run_labels(twins, axes)["2"] == "hidden_dim=64,lr=0.0006437209"  # cut, 0 and 2 collide


def test_a_sweep_whose_jobs_did_not_all_finish_says_which_in_one_line(tmp_path):
    from seqlab.sweep.jobs import unfinished_jobs

    sweep = tmp_path
    make_job(sweep, 0, {"model.lr": "0.1"}, done(0.5))
    make_job(sweep, 1, {"model.lr": "0.2"}, {"status": "failed", "error": "ValueError: x"})
    assert unfinished_jobs(sweep) is None  # a failed job is finished with, as the sweep meant
    make_job(sweep, 2, {"model.lr": "0.3"}, {**done(0.4), "status": "interrupted"})
    make_job(sweep, 3, {"model.lr": "0.4"}, None)  # submitted, never started
    assert unfinished_jobs(sweep) == (
        "2 of 4 jobs did not finish (1 interrupted, 1 pending: jobs 2 3); run the same "
        f"command with resume={sweep} to carry the sweep on"
    )
    summary = write_report(sweep).read_text()
    assert "4 jobs: 1 completed, 1 failed, 1 interrupted, 1 pending." in summary


def test_resume_is_no_setting_of_a_resumed_sweeps_jobs(tmp_path):
    """Jobs run again by `resume=` carry that override; the ones left alone do not."""
    sweep = tmp_path
    make_job(sweep, 0, {"model.lr": "0.1"}, done(0.5))
    make_job(sweep, 1, {"model.lr": "0.2", "resume": str(sweep)}, done(0.4))
    assert swept_axes(read_jobs(sweep)) == ["model.lr"]
