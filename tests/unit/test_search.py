"""The study's journal: a torn last record is cut off before a resumed study writes."""

from __future__ import annotations

import pytest

from seqlab.config import ConfigError
from seqlab.journal import repair_journal

RECORDS = b'{"op_code": 0, "worker_id": "a"}\n{"op_code": 4, "worker_id": "a"}\n'


def test_a_whole_journal_is_left_alone(tmp_path):
    path = tmp_path / "optuna.journal"
    path.write_bytes(RECORDS)
    assert not repair_journal(path) and path.read_bytes() == RECORDS
    assert list(tmp_path.iterdir()) == [path]


@pytest.mark.parametrize("torn", [b'{"op_code": 5, "work', b'{"op_code": 5}garbage\n'])
def test_a_torn_last_record_is_cut_off_and_the_whole_file_kept(tmp_path, torn):
    path = tmp_path / "optuna.journal"
    path.write_bytes(RECORDS + torn)
    assert repair_journal(path)
    assert path.read_bytes() == RECORDS
    [backup] = tmp_path.glob("optuna.journal.torn-*")
    assert backup.read_bytes() == RECORDS + torn


def test_damage_before_the_last_record_is_not_cut(tmp_path):
    path = tmp_path / "optuna.journal"
    path.write_bytes(b'{"op_code": 0}\n{"op_co\n{"op_code": 4, "wor')
    with pytest.raises(ConfigError, match="damaged before its last record"):
        repair_journal(path)


def _confirm_settings(**confirm):
    from omegaconf import OmegaConf

    from hydra_plugins.seqlab_sweepers.config import SeqlabOptunaSweeperConf
    from seqlab.search import SearchSettings

    sweeper = OmegaConf.merge(OmegaConf.structured(SeqlabOptunaSweeperConf), {"confirm": confirm})
    monitor = OmegaConf.create({"metric": "val/mse", "mode": "min"})
    return SearchSettings.from_config(sweeper, monitor)


def test_the_confirmation_stage_takes_both_its_settings_or_neither():
    from seqlab.config import ConfigError

    assert _confirm_settings().confirm_top_k == 0  # off unless asked for
    on = _confirm_settings(top_k=3, seeds=5)
    assert (on.confirm_top_k, on.confirm_seeds) == (3, 5)
    for confirm, says in [
        ({"top_k": 3}, "give both"),
        ({"seeds": 3}, "give both"),
        ({"top_k": 2, "seeds": 1}, "seeds >= 2 each, for an interval"),
        ({"top_k": -1, "seeds": 3}, "hydra.sweeper.confirm.top_k=-1: allowed"),
    ]:
        with pytest.raises(ConfigError, match=says):
            _confirm_settings(**confirm)
