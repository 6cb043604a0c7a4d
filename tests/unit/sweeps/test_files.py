"""Sweep files: each form gives exactly the settings it describes; W&B's files map onto
seqlab's sweepers; whatever cannot be honoured is one line naming the field."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from seqlab.config import CONFIG_DIR, ConfigError
from seqlab.sweeps.files import (
    combined_jobs,
    override_text,
    read_sweep_file,
    seqlab_sweep,
    wandb_sweep,
)


def settings_of(text: str) -> list[dict[str, str]]:
    found = seqlab_sweep(yaml.safe_load(text), "test.yaml")
    assert found.settings is not None
    return found.settings


def as_set(settings: list[dict[str, str]]) -> set[frozenset]:
    return {frozenset(s.items()) for s in settings}


def test_a_grid_is_the_product_of_its_axes_in_hydras_order():
    settings = settings_of("grid: {model.hidden_dim: [8, 32], model.lr: [0.1, 0.5]}")
    assert settings == [
        {"model.hidden_dim": "8", "model.lr": "0.1"},
        {"model.hidden_dim": "8", "model.lr": "0.5"},
        {"model.hidden_dim": "32", "model.lr": "0.1"},
        {"model.hidden_dim": "32", "model.lr": "0.5"},
    ]


def test_zipped_keys_move_together_and_multiply_the_grid():
    settings = settings_of(
        "zip: {data.length: [2, 4, 8], data.n: [1000, 2000, 4000]}\ngrid: {model.lr: [0.1, 0.5]}"
    )
    assert len(settings) == 6
    assert {(s["data.length"], s["data.n"]) for s in settings} == {
        ("2", "1000"), ("4", "2000"), ("8", "4000")
    }  # fmt: skip


def test_zipped_keys_of_different_lengths_are_refused_naming_them():
    with pytest.raises(ConfigError, match=r"test.yaml: zip: .*data.length has 2, data.n has 3"):
        settings_of("zip: {data.length: [2, 4], data.n: [1, 2, 3]}")


def test_listed_settings_run_as_written():
    settings = settings_of(
        "settings:\n  - {model.hidden_dim: 8, model.lr: 1.0}\n  - {model.hidden_dim: 64}\n"
    )
    assert settings == [{"model.hidden_dim": "8", "model.lr": "1.0"}, {"model.hidden_dim": "64"}]


def test_a_union_joins_sub_sweeps_each_with_its_own_fixed_values():
    settings = settings_of(
        """
fixed: {trainer.max_epochs: 100, data.n: 1000}
union:
  - grid: {model.hidden_dim: [8, 16]}
  - fixed: {trainer.max_epochs: 20}   # the inner value wins
    settings: [{model.hidden_dim: 64, data.n: 10000}]
"""
    )
    assert as_set(settings) == as_set(
        [
            {"trainer.max_epochs": "100", "data.n": "1000", "model.hidden_dim": "8"},
            {"trainer.max_epochs": "100", "data.n": "1000", "model.hidden_dim": "16"},
            {"trainer.max_epochs": "20", "data.n": "10000", "model.hidden_dim": "64"},
        ]
    )


def test_a_conditional_key_is_swept_only_where_its_condition_holds():
    # Character features' filters matter only for a tagger with characters (char_dim > 0).
    settings = settings_of(
        """
grid: {model.char_dim: [0, 25]}
when:
  - if: {model.char_dim: 25}
    grid: {model.char_filters: [30, 50]}
"""
    )
    assert as_set(settings) == as_set(
        [
            {"model.char_dim": "0"},
            {"model.char_dim": "25", "model.char_filters": "30"},
            {"model.char_dim": "25", "model.char_filters": "50"},
        ]
    )


def test_a_condition_in_a_union_member_sees_the_keys_it_inherits():
    settings = settings_of(
        """
grid: {data.length: [2, 16]}
union:
  - when:
      - if: {data.length: 16}
        fixed: {trainer.max_epochs: 40}
"""
    )
    assert settings == [{"data.length": "2"}, {"data.length": "16", "trainer.max_epochs": "40"}]
    with pytest.raises(ConfigError, match=r"when\[0\]: if: no setting has data.length=3"):
        settings_of("grid: {data.length: [2]}\nwhen: [{if: {data.length: 3}, fixed: {a: 1}}]")


def test_seeds_multiply_every_setting():
    assert settings_of("grid: {model.lr: [0.1, 0.5]}\nseeds: 2") == [
        {"model.lr": "0.1", "seed": "1"},
        {"model.lr": "0.1", "seed": "2"},
        {"model.lr": "0.5", "seed": "1"},
        {"model.lr": "0.5", "seed": "2"},
    ]
    assert [s["seed"] for s in settings_of("fixed: {model.lr: 0.1}\nseeds: [7, 9]")] == ["7", "9"]


def test_a_grid_string_in_hydras_sweep_syntax_gives_its_values():
    settings = settings_of("grid: {model.hidden_dim: 'range(8,11)'}")
    assert [s["model.hidden_dim"] for s in settings] == ["8", "9", "10"]
    # Not Hydra's syntax: one value, as written; glob() is for config groups.
    assert settings_of("grid: {trainer.logger: 'run (v2)'}") == [{"trainer.logger": "'run (v2)'"}]
    with pytest.raises(ConfigError, match=r"grid.model.x: glob\(\*\): glob\(\) picks config"):
        settings_of("grid: {model.x: 'glob(*)'}")
    # An interval has no grid points: such a file is a search space only.
    found = seqlab_sweep({"grid": {"model.lr": "interval(0.1, 1)"}}, "test.yaml")
    assert found.search_space() == ({"model.lr": "interval(0.1, 1)"}, {})
    with pytest.raises(ConfigError, match=r"grid.model.lr: interval\(0.1, 1\) has no grid points"):
        found.grid_settings()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("gird: {model.lr: [1]}", r"test.yaml: gird: no such key \(allowed: description, fixed"),
        ("union: [{seeds: 2}]", r"union\[0\]: seeds: no such key"),
        ("grid: {model.lr: []}", r"grid.model.lr: an empty list"),
        ("settings: [{seed: 1}]\nseeds: 2", r"seeds: a setting already sets seed"),
        ("seeds: 0", r"seeds: a count of replicates"),
        ("when: [{grid: {a: [1]}}]", r"when\[0\]: if: the \{key: value\}"),
        ("grid: {a: [1]}\nzip: {a: [2]}", r"a is given by two axes of one block"),
    ],
)
def test_a_bad_sweep_file_is_one_line_naming_the_field(text, message):
    with pytest.raises(ConfigError, match=message) as e:
        settings_of(text)
    assert "\n" not in str(e.value)


# The runs the course notebook made by hand, from its comments (seeds/, "Learning to sum"):
# (length, n, hidden_dim, lr, the last epoch it printed).
NOTEBOOK_RUNS = {
    (2, 1000, 8, 1.0, 200),
    (2, 1000, 8, 0.5, 200),
    (2, 1000, 8, 0.1, 100),
    (2, 1000, 8, 0.01, 100),
    (2, 1000, 32, 0.5, 200),
    (2, 1000, 64, 0.5, 200),
    (2, 1000, 64, 0.1, 200),
    (4, 1000, 64, 0.1, 200),
    (8, 1000, 64, 0.1, 200),
    (8, 10000, 64, 0.1, 20),
    (8, 10000, 64, 0.5, 40),
    (16, 1000, 64, 0.1, 40),
    (16, 1000, 64, 1.0, 40),
    (16, 2000, 64, 0.5, 40),
    (16, 10000, 64, 0.1, 100),
    (16, 10000, 64, 0.5, 100),
}


def test_the_notebook_sweep_file_holds_the_runs_the_notebook_made_by_hand():
    data = yaml.safe_load((Path(CONFIG_DIR) / "sweep" / "notebook.yaml").read_text())
    settings = seqlab_sweep(data["sweep"], "sweep=notebook").settings
    assert settings is not None
    keys = ("data.length", "data.n", "model.hidden_dim", "model.lr", "trainer.max_epochs")
    assert all(set(s) == set(keys) for s in settings)
    found = [tuple(float(s[k]) if k == "model.lr" else int(s[k]) for k in keys) for s in settings]
    assert len(found) == 16
    assert set(found) == NOTEBOOK_RUNS
    assert data["defaults"] == [{"override /experiment": "tutorial_sum"}]


@pytest.mark.parametrize(
    "text",
    ["001", "true", "null", "NaN", "1e-3", r"C:\data", "a{b}", "${a", "run (v2)", "it's",
     "a b,c", "adam", "torch.optim.SGD", "/abs/path.yaml", "x\\", "tab\there"],
)  # fmt: skip
def test_a_string_value_comes_back_from_hydras_parser_as_the_same_string(text):
    from hydra.core.override_parser.overrides_parser import OverridesParser

    override = OverridesParser.create().parse_override(f"key={override_text(text)}")
    assert override.value() == text


def test_values_are_written_as_hydra_reads_them():
    assert [override_text(v) for v in (0.1, 3, True, None, "adam", [2, 4])] == [
        "0.1", "3", "true", "null", "adam", "[2,4]"
    ]  # fmt: skip
    assert override_text("a b,c") == "'a b,c'"
    assert override_text("it's") == "'it\\'s'"
    assert override_text("${metric:val/mse}") == "${metric:val/mse}"


def test_the_command_line_multiplies_a_files_settings_and_wins_key_by_key():
    settings = [{"model.lr": "0.1", "trainer.max_epochs": "200"}, {"model.lr": "0.5"}]
    command = [["trainer.max_epochs=2", "seed=1"], ["trainer.max_epochs=2", "seed=2"]]
    jobs, pinned = combined_jobs(settings, command)
    assert jobs == [
        ["model.lr=0.1", "trainer.max_epochs=2", "seed=1"],
        ["model.lr=0.1", "trainer.max_epochs=2", "seed=2"],
        ["model.lr=0.5", "trainer.max_epochs=2", "seed=1"],
        ["model.lr=0.5", "trainer.max_epochs=2", "seed=2"],
    ]
    assert pinned == ["trainer.max_epochs"]


# --- W&B's form ---------------------------------------------------------------------------


def test_a_wandb_grid_is_a_list_of_settings_with_nested_parameters_as_dotted_keys():
    found = wandb_sweep(
        yaml.safe_load(
            """
program: train.py
method: grid
metric: {name: val/mse, goal: minimize}
run_cap: 3
parameters:
  experiment: {value: tutorial_sum}
  model:
    parameters:
      hidden_dim: {values: [8, 32]}
      lr: {values: [0.1, 0.5]}
"""
        ),
        "w.yaml",
    )
    assert found.search is None
    assert found.settings == [
        {**fixed, "model.hidden_dim": h, "model.lr": lr}
        for fixed in [
            {
                "monitor.metric": "${metric:val/mse}",
                "monitor.mode": "min",
                "experiment": "tutorial_sum",
            }  # fmt: skip
        ]
        for h, lr in [("8", "0.1"), ("8", "0.5"), ("32", "0.1")]
    ]
    assert any("program: train.py ignored" in n for n in found.notes)
    assert any("run_cap: 3 of the grid's 4 settings run" in n for n in found.notes)


def test_a_wandb_random_search_maps_each_distribution_onto_optunas():
    found = wandb_sweep(
        yaml.safe_load(
            """
method: random
metric: {name: val/acc, goal: maximize}
run_cap: 12
parameters:
  model.hidden_dim: {values: [16, 32]}
  model.num_layers: {distribution: int_uniform, min: 1, max: 3}
  model.dropout: {distribution: uniform, min: 0.0, max: 0.5}
  data.batch_size: {distribution: q_uniform, min: 16, max: 64, q: 16}
  model.lr: {distribution: log_uniform_values, min: 0.001, max: 0.1}
  model.word_dropout: {min: 0.0, max: 0.2}
  model.char_dim: {distribution: constant, value: 0}
early_terminate: {type: hyperband, max_iter: 27, s: 2, eta: 3}
"""
        ),
        "w.yaml",
    )
    assert found.search is not None
    assert found.search.sampler == "random" and found.search.n_trials == 12
    assert found.search.params == {
        "model.hidden_dim": "choice(16,32)",
        "model.num_layers": "int(interval(1, 3))",
        "model.dropout": "interval(0.0, 0.5)",
        "data.batch_size": "range(16, 80, 16)",
        "model.lr": "tag(log, interval(0.001, 0.1))",
        "model.word_dropout": "interval(0.0, 0.2)",
    }
    assert found.fixed == {
        "monitor.metric": "${metric:val/acc}", "monitor.mode": "max", "model.char_dim": "0"
    }  # fmt: skip
    assert found.search.pruner == "hyperband"
    # W&B's brackets: max_iter / eta^s = 27 / 9 = 3 epochs before the first cut.
    assert found.search.pruner_options == {
        "reduction_factor": 3,
        "min_resource": 3,
        "max_resource": 27,
    }


@pytest.mark.parametrize(
    ("low", "high", "q", "space"),
    [
        (1, 11, 3, "range(0, 15, 3)"),  # W&B's round(X / 3) * 3: 0, 3, 6, 9, 12
        (16, 64, 16, "range(16, 80, 16)"),
        (0.05, 1.0, 0.1, "range(0.0, 1.1, 0.1)"),  # 0.0, 0.1, ..., 1.0
    ],
)
def test_q_uniform_gives_the_multiples_of_q_that_wandb_draws(low, high, q, space):
    found = wandb_sweep(
        {
            "method": "random",
            "parameters": {"a": {"distribution": "q_uniform", "min": low, "max": high, "q": q}},
        },  # fmt: skip
        "w.yaml",
    )
    assert found.search is not None and found.search.params == {"a": space}


def test_log_uniform_bounds_are_natural_logarithms_as_in_wandb():
    found = wandb_sweep(
        {
            "method": "bayes",
            "parameters": {"model.lr": {"distribution": "log_uniform", "min": -2.0, "max": 0.0}},
        },  # fmt: skip
        "w.yaml",
    )
    assert found.search is not None and found.search.sampler == "tpe"
    low, high = (
        found.search.params["model.lr"].removeprefix("tag(log, interval(").rstrip(")").split(", ")
    )
    assert float(low) == pytest.approx(0.1353352832) and float(high) == 1.0


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"method": "grid", "command": ["${program}"], "parameters": {"a": {"value": 1}}},
         r"w.yaml: command: seqlab runs each job itself"),
        ({"method": "hyper", "parameters": {"a": {"value": 1}}}, r"method: 'hyper'; allowed"),
        ({"method": "random", "parameters": {"model.lr": {"distribution": "normal", "mu": 0,
                                                          "sigma": 1}}},
         r"parameters.model.lr.distribution: normal has no Optuna sampler"),
        ({"method": "random", "parameters": {"a": {"values": [1, 2], "probabilities": [.9, .1]}}},
         r"parameters.a.probabilities: Optuna's samplers draw a choice uniformly"),
        ({"method": "grid", "parameters": {"a": {"min": 1, "max": 2}}},
         r"parameters.a: method: grid needs values"),
        ({"method": "grid", "early_terminate": {"type": "hyperband", "min_iter": 1},
          "parameters": {"a": {"values": [1]}}}, r"early_terminate: stops trials of a search"),
        ({"method": "random", "early_terminate": {"type": "envelope"},
          "parameters": {"a": {"values": [1]}}}, r"early_terminate.type: allowed: hyperband"),
        ({"method": "random", "parameters": {"a": {"valuez": [1]}}},
         r"parameters.a.valuez: not a parameter field seqlab knows"),
        ({"method": "random", "metric": {"name": "val/mse", "target": 0.1},
          "parameters": {"a": {"values": [1]}}}, r"metric.target: not allowed"),
        ({"method": "grid", "parameters": {"a": {"values": [1]}}, "controller": {}},
         r"w.yaml: controller: not a W&B sweep key seqlab knows"),
        ({"method": "random", "early_terminate": {"type": "hyperband", "min_iter": "three"},
          "parameters": {"a": {"values": [1]}}}, r"early_terminate.min_iter: an integer >= 1"),
        ({"method": "random", "early_terminate": {"type": "hyperband", "max_iter": 9, "s": -1},
          "parameters": {"a": {"values": [1]}}}, r"early_terminate.s: an integer >= 0"),
        ({"method": "random", "early_terminate": {"type": "hyperband", "min_iter": 3, "s": 1},
          "parameters": {"a": {"values": [1]}}}, r"early_terminate.s: goes with max_iter"),
        ({"method": "random", "parameters": {"a": {"distribution": "uniform", "min": 0, "max": 1,
                                                   "q": 0.1}}},
         r"parameters.a.q: goes with distribution: q_uniform"),
    ],
)  # fmt: skip
def test_what_seqlab_cannot_honour_in_a_wandb_file_is_one_line_naming_the_field(data, message):
    with pytest.raises(ConfigError, match=message) as e:
        wandb_sweep(data, "w.yaml")
    assert "\n" not in str(e.value)


def test_a_wandb_grid_may_name_its_values_categorical():
    found = wandb_sweep(
        {"method": "grid", "parameters": {"a": {"distribution": "categorical", "values": [1, 2]}}},
        "w.yaml",
    )
    assert found.settings == [{"a": "1"}, {"a": "2"}]
    assert found.search_space() == ({"a": "choice(1,2)"}, {})


def test_a_file_is_read_in_either_form_and_a_bad_one_is_one_line(tmp_path):
    (tmp_path / "s.yaml").write_text("grid: {model.lr: [1e-3]}\n")
    (tmp_path / "w.yaml").write_text("method: grid\nparameters: {model.lr: {values: [0.1]}}\n")
    (tmp_path / "bad.yaml").write_text("grid: {model.lr: [0.1}\n")
    # 1e-3 is a number, as Hydra reads its own config files (YAML 1.2), not a string.
    assert read_sweep_file(tmp_path / "s.yaml").settings == [{"model.lr": "0.001"}]
    assert read_sweep_file(tmp_path / "w.yaml").form == "wandb"
    with pytest.raises(ConfigError, match=r"bad.yaml: not valid YAML at line 1"):
        read_sweep_file(tmp_path / "bad.yaml")
    with pytest.raises(ConfigError, match=r"sweep_file=.*missing.yaml: cannot be read"):
        read_sweep_file(tmp_path / "missing.yaml")


def test_only_a_grid_with_fixed_values_is_a_search_space():
    found = seqlab_sweep(
        yaml.safe_load(
            "fixed: {data.n: 100}\ngrid: {model.lr: [0.1, 0.5], model.hidden_dim: 'range(8,64,8)'}"
        ),
        "s.yaml",
    )
    assert found.search_space() == (
        {"model.lr": "choice(0.1,0.5)", "model.hidden_dim": "range(8,64,8)"},
        {"data.n": "100"},
    )
    zipped = seqlab_sweep({"zip": {"a": [1, 2], "b": [3, 4]}}, "s.yaml")
    with pytest.raises(ConfigError, match=r"s.yaml: zip: the Optuna sweeper searches a space"):
        zipped.search_space()
