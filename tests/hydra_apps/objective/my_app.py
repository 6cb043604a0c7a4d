"""A Hydra app that is not seqlab-train, for hydra/sweeper=seqlab_optuna as Hydra users run
it: the task returns its objective, (x - 2)^2 + y, raises for a negative x, and returns
two values when `two` is set. `conditional_space` is a `custom_search_space` function:
it suggests `+y` only where x is positive."""

from typing import Any

from omegaconf import DictConfig

import hydra


@hydra.main(version_base=None, config_path=None, config_name=None)
def my_app(cfg: DictConfig) -> Any:
    if cfg.x < 0:
        raise ValueError(f"x={cfg.x} is negative")
    value = (cfg.x - 2) ** 2 + cfg.get("y", 0)
    return (value, cfg.x) if cfg.get("two") else value


def conditional_space(cfg: DictConfig, trial: Any) -> None:
    if trial.params["+x"] > 0:
        trial.suggest_int("+y", 0, 3)


if __name__ == "__main__":
    my_app()
