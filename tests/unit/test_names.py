"""seqlab.names: metric names in configs come from one place."""

from __future__ import annotations

from seqlab import names
from tests.conftest import compose_train


def test_metric_names_in_configs_come_from_one_place(tmp_path):
    cfg = compose_train(["experiment=tutorial_sum"], tmp_path)
    assert cfg.callbacks.early_stopping.monitor == names.logged_key(names.TRAIN_LOSS)
    assert names.recorded_name(names.logged_key(names.TRAIN_LOSS)) == names.TRAIN_LOSS
    assert names.logged_key(names.VAL_LOSS) == names.VAL_LOSS  # evaluation keys are as recorded
    tagger = compose_train(["experiment=tagger"], tmp_path)
    assert tagger.monitor.metric == names.DEFAULT_MONITOR
    assert compose_train([], tmp_path).monitor.metric == names.metric(names.VAL, names.MSE)
