"""The model summary printed as training starts: the parameters, and no FLOPs."""

from __future__ import annotations

from seqlab.training import train
from tests.conftest import SMALL_SUM, compose_train


def test_the_model_summary_shows_the_parameters_and_no_flops(tmp_path, capsys):
    cfg = compose_train([*SMALL_SUM, "trainer.max_epochs=1"], tmp_path)
    cfg.callbacks.model_summary = {
        "_target_": "seqlab.callbacks.summary.ModelSummary",
        "max_depth": 2,
    }  # QUIET switches it off in tests
    train(cfg)
    out = capsys.readouterr().out
    assert "net.lstm" in out and "Total params" in out, out
    assert "FLOPs" not in out, out  # Lightning's count cannot see the LSTM's kernels
