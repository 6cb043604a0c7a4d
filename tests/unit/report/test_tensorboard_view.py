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


def test_the_reports_notes_go_to_the_text_tab(tmp_path):
    """What mattered, as a text summary of the run `~sweep`: TensorBoard's text plugin,
    the section's title as its tag and its Markdown table as the text; empty notes leave
    no file."""
    from seqlab.report.tensorboard_view import write_notes
    from tests.conftest import read_tensorboard

    notes = "\n## What mattered\n\nShares of 1.\n\n| key | importance |\n|---|---|\n| lr | 0.9 |\n"
    write_notes(tmp_path / "~sweep", notes)
    acc = read_tensorboard(tmp_path / "~sweep")
    assert acc.Tags()["tensors"] == ["What mattered"]
    assert acc.SummaryMetadata("What mattered").plugin_data.plugin_name == "text"
    [event] = acc.Tensors("What mattered")
    text = event.tensor_proto.string_val[0].decode()
    assert text.startswith("Shares of 1.") and "| lr | 0.9 |" in text
    write_notes(tmp_path / "~sweep", "")
    assert not list((tmp_path / "~sweep").glob("events.out.tfevents.*"))
