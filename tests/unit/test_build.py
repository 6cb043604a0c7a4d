"""build_trainer: the progress bar shows only when configured."""

import pytest
from omegaconf import OmegaConf, open_dict

from seqlab.build import build_all
from tests.conftest import compose_train


@pytest.mark.parametrize(
    ("overrides", "shown"),
    [
        (["trainer.enable_progress_bar=true", "callbacks.progress_bar.refresh_rate=10"], True),
        (["trainer.enable_progress_bar=true", "callbacks.progress_bar=null"], False),
        (["trainer.enable_progress_bar=false", "callbacks.progress_bar.refresh_rate=10"], False),
    ],
)
def test_progress_bar_shows_only_when_configured(tmp_path, overrides, shown):
    """callbacks.progress_bar=null alone turns the bar off: Lightning adds no default bar of
    its own (its redraw thread slowed small jobs by a tenth), and enable_progress_bar=false
    with the callback still set is no error."""
    from lightning.pytorch.callbacks import ProgressBar

    from seqlab.build import build_trainer

    cfg = compose_train(["experiment=sum"], tmp_path)
    with open_dict(cfg):  # QUIET turns the bar off; put back what the test sets
        cfg.callbacks.progress_bar = {
            "_target_": "lightning.pytorch.callbacks.RichProgressBar",
            "refresh_rate": 1,
        }
    cfg = OmegaConf.merge(cfg, OmegaConf.from_dotlist(overrides))
    trainer = build_trainer(cfg, build_all(cfg.callbacks), [])
    bars = [c for c in trainer.callbacks if isinstance(c, ProgressBar)]
    assert (trainer.progress_bar_callback is not None) == shown
    assert len(bars) == int(shown)
    if shown:
        assert bars[0].refresh_rate == 10
