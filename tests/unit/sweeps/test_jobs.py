"""Sweep jobs read from disk: order, axes, statuses, unfinished jobs."""

from seqlab.report.summary import write_report
from seqlab.sweeps.jobs import read_jobs, swept_axes
from tests.conftest import done, make_job


def test_jobs_axes_and_statuses(sweep):
    jobs = read_jobs(sweep)
    assert [j.name for j in jobs] == ["0", "1", "2", "3", "4", "10"]  # numeric order
    assert swept_axes(jobs) == ["model.hidden_dim", "model.lr"]
    assert [j.status for j in jobs] == ["completed"] * 3 + ["diverged", "failed", "pending"]


def test_a_sweep_whose_jobs_did_not_all_finish_says_which_in_one_line(tmp_path):
    from seqlab.sweeps.jobs import unfinished_jobs

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


def test_an_unreadable_metrics_file_is_reported_not_fatal(tmp_path):
    make_job(tmp_path, 0, {"model.lr": "0.1"}, done(0.5))
    make_job(tmp_path, 1, {"model.lr": "0.2"}, done(0.4))
    (tmp_path / "1" / "metrics.json").write_text('{"status": "completed", "best": {"val/lo')
    jobs = read_jobs(tmp_path)
    assert [j.status for j in jobs] == ["completed", "unreadable"]
    assert jobs[1].metrics["error"].startswith(f"{tmp_path / '1' / 'metrics.json'}: JSONDecode")
    report = write_report(tmp_path, plots=False).read_text()
    assert "Job 1 is unreadable" in report and "metrics.json" in report


def test_a_running_job_whose_process_is_gone_is_interrupted(tmp_path):
    from seqlab.locking import acquire, release
    from seqlab.sweeps.jobs import unfinished_jobs

    make_job(tmp_path, 0, {"model.lr": "0.1"}, {"status": "running"})
    make_job(tmp_path, 1, {"model.lr": "0.2"}, {"status": "running"})
    acquire(tmp_path / "1")  # job 1 is trained now, by this process
    try:
        assert [j.status for j in read_jobs(tmp_path)] == ["interrupted", "running"]
        assert "1 interrupted, 1 running" in unfinished_jobs(tmp_path)
    finally:
        release(tmp_path / "1")
