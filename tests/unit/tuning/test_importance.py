"""What mattered: PED-ANOVA importances on a synthetic objective, in the report and the
Python API."""

from __future__ import annotations

import random

import seqlab
from seqlab.report.summary import write_report
from seqlab.sweeps.jobs import read_jobs, swept_axes
from seqlab.tuning.importance import importance_rows
from tests.conftest import done, make_job


def synthetic_grid(sweep, seeds: int = 2):
    """val/loss = lr-driven (1, 2, 4, 8 times 10) plus noise; `model.hidden_dim` and
    `data.batch_size` change nothing."""
    rng = random.Random(0)
    num = 0
    for lr in (0.001, 0.01, 0.1, 1.0):
        for hidden in (8, 16, 32):
            for batch in (16, 64):
                for seed in range(1, seeds + 1):
                    value = 10 * {0.001: 1, 0.01: 2, 0.1: 4, 1.0: 8}[lr] + rng.gauss(0, 0.5)
                    over = {"model.lr": lr, "model.hidden_dim": hidden, "data.batch_size": batch}
                    make_job(sweep, num, {**over, "seed": seed}, done(value))
                    num += 1
    return sweep


def test_the_key_that_matters_ranks_first_and_the_others_get_little(tmp_path):
    sweep = synthetic_grid(tmp_path)
    jobs = read_jobs(sweep)
    rows = importance_rows(jobs, swept_axes(jobs), "val/loss", "min")
    assert [r["key"] for r in rows][0] == "model.lr"
    shares = {r["key"]: r["importance"] for r in rows}
    assert abs(sum(shares.values()) - 1.0) < 1e-9
    assert shares["model.lr"] > 0.8
    assert shares["model.hidden_dim"] < 0.1 and shares["data.batch_size"] < 0.1
    assert {r["key"]: r["values"] for r in rows} == {
        "model.lr": 4,
        "model.hidden_dim": 3,
        "data.batch_size": 2,
    }
    assert "seed" not in shares  # replicates are observations, not a key


def test_the_report_and_the_python_api_show_the_same_table(tmp_path):
    sweep = synthetic_grid(tmp_path, seeds=1)
    write_report(sweep, plots=False)
    summary = (sweep / "summary.md").read_text()
    assert "## What mattered" in summary
    table = seqlab.load(sweep).importance()
    assert table["key"].iloc[0] == "model.lr" and list(table["rank"]) == [1, 2, 3]
    for _, row in table.iterrows():
        shown = f"{round(row['importance'], 3):g}"
        assert f"| {row['key']} | {shown} | {row['values']} | {row['rank']} |" in summary


def test_fewer_than_two_swept_keys_give_no_table(tmp_path):
    for num, (hidden, seed) in enumerate((h, s) for h in (8, 16) for s in (1, 2)):
        make_job(tmp_path, num, {"model.hidden_dim": hidden, "seed": seed}, done(float(num)))
    jobs = read_jobs(tmp_path)
    assert importance_rows(jobs, swept_axes(jobs), "val/loss", "min") == []
    write_report(tmp_path, plots=False)
    assert "What mattered" not in (tmp_path / "summary.md").read_text()
    assert seqlab.load(tmp_path).importance().empty


def test_optuna_importance_leaves_scikit_learn_to_a_later_import(tmp_path):
    """The evaluator is imported without scikit-learn, and later code (a notebook's fANOVA,
    through `optuna.importance` or its own import) gets the package afresh, with it."""
    import subprocess
    import sys

    code = (
        "import sys; from seqlab.tuning.importance import _optuna_importance as f; f(); "
        "assert 'sklearn' not in sys.modules and 'optuna.importance' not in sys.modules; "
        "import optuna; optuna.importance.FanovaImportanceEvaluator(); "
        "import optuna.importance as i; i.FanovaImportanceEvaluator(); print('ok')"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.stdout.strip() == "ok", result.stderr[-2000:]
