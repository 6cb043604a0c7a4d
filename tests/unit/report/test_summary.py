"""write_report on hand-made sweep directories (no training needed)."""

import csv
import json

from seqlab.report.summary import write_report
from tests.conftest import replicated


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
    assert not list(sweep.glob("curves_*.png"))  # no replicates, no mean curves


def test_report_leads_with_the_grouped_table(tmp_path):
    sweep = replicated(tmp_path, {"16": [1.0, 2.0, 3.0], "64": [20.0, 21.0, 22.0]})
    write_report(sweep)
    with (sweep / "groups.csv").open() as f:
        groups = list(csv.DictReader(f))
    assert [(g["model.hidden_dim"], g["n"], g["rank"]) for g in groups] == [
        ("16", "3", "best"),
        ("64", "3", ""),
    ]
    # a loss's interval: log-normal, never below 0 (by hand in tests/unit/sweeps/test_stats.py)
    assert groups[0]["best val/loss 95% CI"] == "[0.4584, 9.807]"
    md = (sweep / "summary.md").read_text()
    grouped, _, jobs_block = md.partition("<details>")
    assert "2 settings, each run by its replicates" in grouped
    assert "| 16 | 3 | 3 | 2 | 1 | [0.4584, 9.807] |" in grouped
    assert "95% interval (log-normal (Cox), for a positive metric) overlaps" in grouped
    assert "<summary>All 6 jobs</summary>" in jobs_block and "| 0 | 16 | 1 |" in jobs_block
    with (sweep / "summary.csv").open() as f:
        assert len(list(csv.DictReader(f))) == 6  # one row per job, as without replicates
    assert (sweep / "plot_model.hidden_dim.png").stat().st_size > 1000
    assert not (sweep / "plot_seed.png").exists()
    # Each setting's mean learning curve, linked from summary.md.
    for name in ("curves_val_loss.png", "curves_train_loss.png"):
        assert (sweep / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert f"[{name}]({name})" in md


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
