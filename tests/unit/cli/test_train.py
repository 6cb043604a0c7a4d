"""seqlab.cli.train: the objective a sweeper is given."""

import math

from omegaconf import OmegaConf

from seqlab.cli.train import objective as _objective


def test_objective_for_sweepers():
    cfg = OmegaConf.create({"monitor": {"metric": "val/loss_epoch", "mode": "min"}})
    assert _objective({"status": "completed", "best": {"val/loss": 2.0}}, cfg) == 2.0
    assert _objective({"status": "diverged", "best": {"val/loss": 2.0}}, cfg) == math.inf
    assert _objective({"status": "failed"}, cfg) == math.inf
    cfg.monitor.mode = "max"
    assert _objective({"status": "failed"}, cfg) == -math.inf
