"""The TensorBoard view of a sweep: run labels."""


def test_run_labels_cut_sampled_numbers_while_they_stay_unique():
    from seqlab.report.tensorboard_view import run_labels
    from seqlab.sweeps.jobs import Job

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
