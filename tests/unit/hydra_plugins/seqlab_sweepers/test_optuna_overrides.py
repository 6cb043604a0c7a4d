"""A trial's params become overrides that Hydra reads back as the values the study
sampled."""

from hydra.core.override_parser.overrides_parser import OverridesParser

from hydra_plugins.seqlab_sweepers.optuna_sweeper import _overrides


def test_a_trials_params_come_back_from_hydras_parser_as_sampled():
    params = {"a": "001", "b": "true", "c": r"C:\data", "d": "adam", "e": "a b", "f": 0.5, "g": 8}
    parser = OverridesParser.create()
    parsed = [parser.parse_override(text) for text in _overrides(params)]
    assert {o.key_or_group: o.value() for o in parsed} == params
