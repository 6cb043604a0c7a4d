"""seqlab.load and its tables on sweep directories made by hand: every run with its status,
the index beside each sweep never trusted stale, filters, the grouped table against the
report's, paper tables."""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

import pandas as pd
import pytest

import seqlab
from seqlab.render.tables import cell
from seqlab.report.summary import write_report
from seqlab.results.records import INDEX_FILE
from tests.conftest import done, make_job, replicated


def mark_sweep(sweep: Path) -> Path:
    (sweep / "multirun.yaml").write_text("hydra: {}\n")
    return sweep


def with_config(job: Path, config: dict) -> None:
    """Give a hand-made job the config train() records in metrics.json."""
    path = job / "metrics.json"
    metrics = json.loads(path.read_text())
    metrics["config"] = config
    path.write_text(json.dumps(metrics))


def test_every_run_appears_with_its_status(sweep: Path):
    runs = seqlab.load(mark_sweep(sweep))
    table = runs.table()
    assert list(table["job"]) == [0, 1, 2, 3, 4, 10]
    assert list(table["status"]) == [
        "completed",
        "completed",
        "completed",
        "diverged",
        "failed",
        "pending",
    ]
    assert table.loc[table["job"] == 4, "error"].item() == "RuntimeError: boom"
    assert table.loc[table["job"] == 1, "best val/loss"].item() == 10.0
    assert math.isnan(table.loc[table["job"] == 10, "best val/loss"].item())


def test_table_values_are_the_metrics_files(sweep: Path):
    mark_sweep(sweep)
    with_config(sweep / "0", {"model.hidden_dim": 8, "model.lr": 0.1, "seed": 1})
    table = seqlab.load(sweep).table().set_index("job")
    metrics = json.loads((sweep / "0" / "metrics.json").read_text())
    assert table.loc[0, "model.hidden_dim"] == 8
    assert table.loc[0, "best val/loss"] == metrics["best"]["val/loss"]
    assert table.loc[0, "final val/loss"] == metrics["final"]["val/loss"]
    assert table.loc[0, "epochs"] == metrics["epochs"]
    assert table.loc[0, "sweep"] == str(sweep.absolute())


def test_a_run_killed_while_running_reads_as_interrupted(sweep: Path):
    mark_sweep(sweep)
    (sweep / "2" / "metrics.json").write_text(json.dumps({**done(3.0), "status": "running"}))
    # No process holds the job's lock: it was killed.
    table = seqlab.load(sweep).table()
    statuses = dict(zip(table["job"], table["status"], strict=True))
    assert statuses[2] == "interrupted"


def test_an_unreadable_metrics_file_is_a_row_that_says_so(sweep: Path):
    mark_sweep(sweep)
    (sweep / "1" / "metrics.json").write_text('{"status": "compl')
    table = seqlab.load(sweep).table().set_index("job")
    assert table.loc[1, "status"] == "unreadable"
    assert "metrics.json" in table.loc[1, "error"]


def test_the_index_is_rebuilt_when_a_run_changes(sweep: Path):
    mark_sweep(sweep)
    assert seqlab.load(sweep).table().set_index("job").loc[1, "best val/loss"] == 10.0
    assert (sweep / INDEX_FILE).is_file()
    # Rewritten as seqlab writes it (a new file renamed over the old one), within the same
    # second and with the same size as before.
    path = sweep / "1" / "metrics.json"
    before = path.stat()
    tmp = path.with_suffix(".tmp")
    tmp.write_text(path.read_text().replace('"val/loss": 10.0', '"val/loss": 11.0', 1))
    os.replace(tmp, path)
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert seqlab.load(sweep).table().set_index("job").loc[1, "best val/loss"] == 11.0


def test_a_stale_index_entry_is_never_used(sweep: Path):
    mark_sweep(sweep)
    seqlab.load(sweep).table()
    index = json.loads((sweep / INDEX_FILE).read_text())
    index["jobs"]["0"]["metrics"]["best"]["val/loss"] = -1.0  # a lie, with a stale stamp
    index["jobs"]["0"]["stamp"][2][2] -= 1
    (sweep / INDEX_FILE).write_text(json.dumps(index))
    assert seqlab.load(sweep).table().set_index("job").loc[0, "best val/loss"] == 30.0


def test_the_index_is_used_while_the_files_are_unchanged(sweep: Path):
    mark_sweep(sweep)
    seqlab.load(sweep).table()
    index = json.loads((sweep / INDEX_FILE).read_text())
    index["jobs"]["0"]["metrics"]["best"]["val/loss"] = 29.0  # stamps still match
    (sweep / INDEX_FILE).write_text(json.dumps(index))
    assert seqlab.load(sweep).table().set_index("job").loc[0, "best val/loss"] == 29.0


def test_a_job_removed_leaves_the_index(sweep: Path):
    mark_sweep(sweep)
    seqlab.load(sweep).table()
    for name in ("overrides.yaml",):
        (sweep / "3" / ".hydra" / name).unlink()
    assert 3 not in list(seqlab.load(sweep).table()["job"])
    assert "3" not in json.loads((sweep / INDEX_FILE).read_text())["jobs"]


def test_a_read_only_sweep_is_read_without_its_index(sweep: Path, monkeypatch):
    mark_sweep(sweep)

    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr("seqlab.results.records.write_text_atomic", refuse)
    assert len(seqlab.load(sweep)) == 6
    assert not (sweep / INDEX_FILE).exists()


def test_load_finds_runs_and_sweeps_at_any_depth(tmp_path: Path):
    a = mark_sweep(replicated(tmp_path / "outputs" / "multiruns" / "day" / "a", {"8": [1.0]}))
    b = mark_sweep(replicated(tmp_path / "elsewhere" / "deep" / "b", {"16": [2.0, 3.0]}))
    single = tmp_path / "outputs" / "runs" / "day" / "r"
    make_job(single.parent, "r", {"model.hidden_dim": 4}, done(7.0))
    table = seqlab.load(tmp_path).table()
    assert len(table) == 4
    assert set(table["sweep"].dropna()) == {str(a.absolute()), str(b.absolute())}
    assert table.loc[table["sweep"].isna(), "run"].item() == str(single.absolute())
    assert len(seqlab.load(a, b)) == 3
    assert len(seqlab.load(single)) == 1
    assert len(seqlab.load(a / "0")) == 1  # a job of a sweep, given alone
    with pytest.raises(FileNotFoundError, match="nowhere"):
        seqlab.load(tmp_path / "nowhere")


def test_where_filters_by_config_values_and_status(sweep: Path):
    mark_sweep(sweep)
    for job, hidden in ((0, 8), (1, 8), (2, 32), (3, 32), (4, 64)):
        with_config(sweep / str(job), {"model.hidden_dim": hidden, "model.lr": 0.1})
    runs = seqlab.load(sweep)
    assert len(runs.where(model__hidden_dim=8)) == 2
    assert len(runs.where(model__hidden_dim=[8, 64])) == 3
    assert len(runs.where(status="completed")) == 3
    assert len(runs.where(model__hidden_dim=lambda h: h is not None and h > 8)) == 3
    assert len(runs.where(lambda run: run.status == "failed")) == 1
    with pytest.raises(seqlab.ConfigError, match="model.hiden_dim: no run here has this key"):
        runs.where(model__hiden_dim=8)


def test_curves_are_long_format(sweep: Path):
    mark_sweep(sweep)
    curves = seqlab.load(sweep).curves()
    assert list(curves.columns) == ["run", "sweep", "job", "epoch", "metric", "value"]
    job0 = curves[(curves["job"] == 0) & (curves["metric"] == "val/loss")]
    history = json.loads((sweep / "0" / "metrics.json").read_text())["history"]
    assert list(job0["value"]) == [row["val/loss"] for row in history]
    wide = curves.pivot_table(index=["job", "epoch"], columns="metric", values="value")
    assert set(wide.columns) == {"train/loss", "val/loss"}
    assert set(seqlab.load(sweep).curves("val/loss")["metric"]) == {"val/loss"}


def test_groups_equal_the_reports_groups_csv(tmp_path: Path):
    sweep = mark_sweep(replicated(tmp_path, {"8": [3.0, 4.0, 3.5], "16": [1.0, 1.5, 1.2]}))
    write_report(sweep, plots=False)
    report = pd.read_csv(sweep / "groups.csv", dtype=str, keep_default_na=False)
    grouped = seqlab.load(sweep).groups()
    # The same numbers, written as the report writes them (6 significant digits).
    written = [[cell(v, 6) for v in grouped[c]] for c in report.columns]
    assert written == [list(report[c]) for c in report.columns]
    assert list(grouped["rank"]) == ["best", ""]


def test_paper_tables_mark_the_best_in_bold_and_the_ties(tmp_path: Path):
    sweep = mark_sweep(
        replicated(tmp_path, {"8": [3.0, 4.0, 3.5], "16": [1.0, 1.5, 1.2], "32": [1.1, 1.6, 1.3]})
    )
    grouped = seqlab.load(sweep).groups()
    best, tied = grouped.iloc[0], grouped.iloc[1]
    # A loss's interval is not symmetric about its mean (log-normal): its ends are shown,
    # to two significant digits of its shorter side, the mean alike.
    mean, low, high = (best[f"best val/loss {k}"] for k in ("mean", "low", "high"))
    assert high - mean > mean - low > 0.1
    markdown = seqlab.load(sweep).paper_table()
    rows = [line for line in markdown.splitlines() if line.startswith("| ")]
    assert rows[0] == "| model.hidden_dim | n | best val/loss |"
    assert rows[1] == f"| 16 | 3 | **{mean:.2f} [{low:.2f}, {high:.2f}]** |"
    assert rows[2].startswith(f"| 32 | 3 | {tied['best val/loss mean']:.2f} [")
    assert rows[2].endswith(" † |") and tied["rank"] == "tied"
    assert rows[3] == "| 8 | 3 | 3.5 [2.4, 5.0] |"  # 3.5: [2.449, 5.036]
    latex = seqlab.load(sweep).paper_table(format="latex")
    assert r"model.hidden\_dim & n & best val/loss \\" in latex
    assert rf"16 & 3 & \textbf{{{mean:.2f} [{low:.2f}, {high:.2f}]}} \\" in latex
    assert r"$^\dagger$ \\" in latex
    with pytest.raises(seqlab.ConfigError, match="format='html' is not allowed"):
        seqlab.load(sweep).paper_table(format="html")


def test_a_symmetric_interval_is_written_as_plus_or_minus_half():
    from seqlab.results.paper import _estimate

    assert _estimate(0.6012, 0.5502, 0.6522, 4) == "0.601 ± 0.051"  # half to 2 digits
    assert _estimate(21.0, 18.66, 23.65, 4) == "21.0 [18.7, 23.6]"  # 2.34 below, 2.65 above
    assert _estimate(3.0, float("nan"), float("nan"), 4) == "3"  # one run: no interval


def test_groups_by_config_keys_across_sweeps(tmp_path: Path):
    a = mark_sweep(replicated(tmp_path / "a", {"8": [3.0, 4.0]}))
    b = mark_sweep(replicated(tmp_path / "b", {"8": [3.5], "16": [1.0, 1.5]}))
    grouped = seqlab.load(a, b).groups(by="model.hidden_dim")
    assert dict(zip(grouped["model.hidden_dim"], grouped["n"], strict=True)) == {16: 2, 8: 3}


def test_notebook_summaries_and_figures(sweep: Path):
    mark_sweep(sweep)
    runs = seqlab.load(sweep)
    html = runs[0]._repr_html_()
    assert "completed" in html and "data:image/png;base64," in html
    assert "6 jobs" not in html
    sweep_html = seqlab.Sweep(sweep)._repr_html_()
    assert "1 diverged" in sweep_html and "1 failed" in sweep_html
    fig = runs.plot("val/loss")
    assert fig.axes[0].get_ylabel() == "val/loss"
    assert len(fig.axes[0].lines) == 4  # the runs with a history
