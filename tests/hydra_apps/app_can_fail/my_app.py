# Copyright (c) Facebook, Inc. and its affiliates. All Rights Reserved
# From Hydra's repository, tests/test_apps/app_can_fail/my_app.py (tests/hydra_apps/README.md).
from omegaconf import DictConfig

import hydra


@hydra.main()
def my_app(cfg: DictConfig) -> None:
    val = 1 / cfg.divisor
    print(f"val={val}")


if __name__ == "__main__":
    my_app()
