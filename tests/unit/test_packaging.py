"""pyproject.toml lists every package and config group for the wheel."""

from __future__ import annotations

import os

import pytest

from tests.conftest import REPO

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    tomllib = pytest.importorskip("tomli")


def test_every_package_and_config_group_is_in_the_wheel_list():
    setuptools = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]
    listed = set(setuptools["packages"])
    src = REPO / "src"
    packages = {
        str(p.parent.relative_to(src)).replace(os.sep, ".")
        for pattern in ("seqlab/**/__init__.py", "hydra_plugins/*/__init__.py")
        for p in src.glob(pattern)
    }
    groups = {
        "seqlab.conf." + str(d.relative_to(REPO / "conf")).replace(os.sep, ".")
        for d in (REPO / "conf").glob("**/")
        if d != REPO / "conf" and d.name != "local" and list(d.glob("*.yaml"))
    }
    assert listed == packages | groups | {"seqlab.conf"}
