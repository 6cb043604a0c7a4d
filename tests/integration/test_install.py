"""An install that works however it is made: a wheel, and a plain `pip install -e .`.

Each test installs seqlab into a fresh venv and runs its commands from a directory outside
the checkout: a single run, a sweep through seqlab's sweeper, an Optuna search, and the
plugins (the SLURM launcher among them) as Hydra sees them. The venv takes seqlab from the
install alone; its dependencies (torch, lightning, ...) come from the test's own environment
through a .pth file, so the tests need no downloads.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from seqlab import names
from tests.conftest import NO_CONFIRM, QUIET, REPO, SMALL_SUM

PLUGINS = {
    "hydra_plugins.seqlab_sweepers.basic.SeqlabBasicSweeper",
    "hydra_plugins.seqlab_sweepers.optuna_sweeper.SeqlabOptunaSweeper",
    "hydra_plugins.seqlab_launchers.local.LocalParallelLauncher",
    "hydra_plugins.seqlab_launchers.slurm.SlurmLauncher",
    "sweeper/seqlab_basic.yaml",
    "sweeper/seqlab_optuna.yaml",
    "launcher/local_parallel.yaml",
    "launcher/slurm.yaml",
}
# What Hydra's own discovery finds, in any Hydra app: the plugins and their configs.
LIST_PLUGINS = """
from hydra.core.config_store import ConfigStore
from hydra.core.plugins import Plugins
plugins = Plugins.instance()  # the scan, which imports the plugins and so their configs
repo = ConfigStore.instance().repo["hydra"]
configs = [f"{g}/{n}" for g in ("sweeper", "launcher") for n in repo[g]]
print(" ".join([*plugins.class_name_to_class, *configs]))
"""


def _purelib(python: str | Path) -> Path:
    code = "import sysconfig; print(sysconfig.get_paths()['purelib'])"
    out = subprocess.run([str(python), "-c", code], capture_output=True, text=True, check=True)
    return Path(out.stdout.strip())


class Venv:
    """A fresh venv with the test environment's packages but not seqlab; commands run in
    `elsewhere`, outside the checkout, and write their outputs there."""

    def __init__(self, tmp_path: Path) -> None:
        self.root = tmp_path / "venv"
        subprocess.run([sys.executable, "-m", "venv", str(self.root)], check=True, timeout=120)
        self.python = self.root / "bin" / "python"
        # Its own old setuptools goes, so a build uses the test environment's (which meets
        # pyproject.toml's build requirement, as a user's build isolation would).
        pip = [str(self.python), "-m", "pip"]
        subprocess.run([*pip, "uninstall", "-q", "-y", "setuptools"], check=True, timeout=120)
        self.site = _purelib(self.python)
        (self.site / "seqlab_test_deps.pth").write_text(f"{_purelib(sys.executable)}\n")
        self.elsewhere = tmp_path / "elsewhere"
        self.elsewhere.mkdir()
        self.env = {
            k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "HYDRA_FULL_ERROR")
        }
        self.env["SEQLAB_OUTPUT_ROOT"] = str(self.elsewhere / "outputs")

    def pip_install(self, *args: str) -> None:
        install = [str(self.python), "-m", "pip", "install", "-q", "--no-deps"]
        subprocess.run([*install, *args], check=True, timeout=300, cwd=self.elsewhere)

    def run(self, program: str, *args: str) -> subprocess.CompletedProcess:
        command = [str(self.root / "bin" / program), *args]
        return subprocess.run(
            command, cwd=self.elsewhere, env=self.env, capture_output=True, text=True, timeout=300
        )


def check_commands(venv: Venv) -> None:
    """A run, a 2-job sweep and a 2-trial search complete; Hydra knows seqlab's plugins."""
    job = venv.run("seqlab-train", "--cfg", "job", "experiment=tutorial_sum")
    assert job.returncode == 0 and "mode: tutorial" in job.stdout, job.stderr[-3000:]
    small = [*QUIET, *SMALL_SUM, "trainer.max_epochs=1"]
    run = venv.run("seqlab-train", *small)
    assert run.returncode == 0, run.stderr[-3000:]
    sweep = venv.run("seqlab-train", "-m", *small, "model.hidden_dim=4,8")
    assert sweep.returncode == 0, sweep.stderr[-3000:]
    search = venv.run(
        "seqlab-train", "hparams_search=sum_optuna", *small, "hydra.sweeper.n_trials=2", *NO_CONFIRM
    )
    assert search.returncode == 0, search.stderr[-3000:]
    outputs = venv.elsewhere / "outputs"
    (single,) = outputs.glob("runs/*/*/metrics.json")
    assert json.loads(single.read_text())["status"] == names.COMPLETED
    sweeps = sorted(outputs.glob("multiruns/*/*"))
    assert len(sweeps) == 2 and (sweeps[1] / "optuna.journal").is_file()
    for sweep_dir in sweeps:
        statuses = [json.loads(p.read_text())["status"] for p in sweep_dir.glob("*/metrics.json")]
        assert statuses == [names.COMPLETED] * 2, sweep_dir
        assert (sweep_dir / "summary.md").is_file()
    plugins = subprocess.run(
        [str(venv.python), "-c", LIST_PLUGINS],
        cwd=venv.elsewhere,
        env=venv.env,
        capture_output=True,
        text=True,
    )
    assert plugins.returncode == 0, plugins.stderr[-3000:]
    assert set(plugins.stdout.split()) >= PLUGINS


@pytest.mark.slow
def test_a_built_wheel_runs_outside_the_checkout(tmp_path):
    wheels = tmp_path / "wheels"
    build = [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation"]
    subprocess.run([*build, str(REPO), "-w", str(wheels)], check=True, timeout=300)
    (wheel,) = wheels.glob("seqlab-*.whl")
    venv = Venv(tmp_path)
    venv.pip_install("--no-index", str(wheel))
    where = venv.run("python", "-c", "import seqlab.config as c; print(c.__file__, c.CONFIG_DIR)")
    assert all(path.startswith(str(venv.site)) for path in where.stdout.split()), where.stdout
    check_commands(venv)


@pytest.mark.slow
def test_a_plain_editable_install_runs_outside_the_checkout(tmp_path):
    """`pip install -e .` as pip makes it by default: with every package under src/, a plain
    .pth that puts src/ on the path (no import hook, which Hydra's scan of the
    `hydra_plugins` namespace could not see into)."""
    venv = Venv(tmp_path)
    venv.pip_install("--no-build-isolation", "-e", str(REPO))
    assert not list(venv.site.glob("__editable___seqlab_*_finder.py")), "an import hook"
    [pth] = venv.site.glob("__editable__.seqlab-*.pth")
    assert pth.read_text().strip() == str(REPO / "src")
    where = venv.run("python", "-c", "import seqlab.config as c; print(c.__file__, c.CONFIG_DIR)")
    module, configs = where.stdout.split()
    assert module == str(REPO / "src" / "seqlab" / "config.py"), where.stdout + where.stderr
    assert Path(configs).resolve() == REPO / "conf"  # through the link src/seqlab/conf
    check_commands(venv)
