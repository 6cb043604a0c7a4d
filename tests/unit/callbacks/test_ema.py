"""WeightEMA: the average is what validation, checkpoints and testing use."""

import pytest
import torch
from hydra import compose, initialize_config_dir
from omegaconf import open_dict

from seqlab.config import CONFIG_DIR, register_resolvers
from seqlab.training import train
from tests.conftest import SMALL_SUM, compose_train


def test_weight_ema_is_what_validation_checkpoints_and_testing_use(tmp_path):
    from seqlab.evaluate import evaluate

    cfg = compose_train(
        [
            *SMALL_SUM,
            "trainer.max_epochs=3",
            "callbacks=[default,weight_ema]",
            "callbacks.weight_ema.decay=0.9",
        ],
        tmp_path / "run",
    )
    metrics = train(cfg)
    ckpt = torch.load(tmp_path / "run" / "checkpoints" / "best.ckpt", weights_only=True)
    average, raw = ckpt["state_dict"], ckpt["current_model_state"]
    assert any(not torch.equal(average[k], raw[k]) for k in average)
    # The run's test used the best checkpoint's average, as evaluating that file does.
    best = tmp_path / "run" / "checkpoints" / "best.ckpt"
    register_resolvers()
    with initialize_config_dir(config_dir=CONFIG_DIR, version_base="1.3"):
        eval_cfg = compose("eval", [f"ckpt_path={best}", "trainer.enable_progress_bar=false"])
    with open_dict(eval_cfg):
        eval_cfg.paths.output_dir = str(tmp_path / "eval")
    evaluated = evaluate(eval_cfg)
    assert evaluated["test"]["test/mse"] == pytest.approx(metrics["final"]["test/mse"], rel=1e-6)
