"""Helpers shared by the tiers (tests/unit, tests/integration, tests/perf): compose configs as
the CLI would, shrink runs, run the commands, check run directories, read TensorBoard, and
write CoNLL-U files and sweep directories by hand."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from hydra import compose, initialize_config_dir
from omegaconf import DictConfig, open_dict

from seqlab.config import CONFIG_DIR, register_resolvers

REPO = Path(__file__).resolve().parents[1]
# Keep test runs quiet and independent of the machine: no progress bars, one thread each.
QUIET = [
    "callbacks.progress_bar=null",
    "trainer.enable_progress_bar=false",
    "callbacks.model_summary=null",
    "threads=1",
]
# A search without its confirmation stage (conf/hparams_search/sum_optuna.yaml has one).
NO_CONFIRM = ["hydra.sweeper.confirm.top_k=0", "hydra.sweeper.confirm.seeds=0"]
# A sum regressor small enough to train in a second or two.
SMALL_SUM = [
    "experiment=sum",
    "data.n=256",
    "data.n_val=64",
    "data.n_test=64",
    "data.length=4",
    "trainer.max_epochs=2",
    "trainer.log_every_n_steps=1",
]

# The same with a larger training set and a test set of 200, for measuring by length.
LONGER_TEST_SUM = [
    "experiment=sum",
    "data.n=512",
    "data.n_val=64",
    "data.n_test=200",
    "data.length=4",
    "trainer.max_epochs=2",
]


def compose_train(overrides: list[str], output_dir: Path, config_name: str = "train") -> DictConfig:
    """The config `seqlab-train <overrides>` would run, writing into `output_dir`."""
    register_resolvers()
    with initialize_config_dir(config_dir=CONFIG_DIR, version_base="1.3"):
        cfg = compose(config_name=config_name, overrides=[*QUIET, *overrides])
    with open_dict(cfg):
        cfg.paths.output_dir = str(output_dir)
    return cfg


def _cli(args: list[str], cwd: Path, env: dict[str, str]) -> tuple[list[str], dict[str, str]]:
    """A seqlab console script's command line, and its environment: outputs under `cwd`."""
    script = Path(sys.executable).parent / args[0]
    full_env = dict(os.environ)
    # A tracking server or W&B's online mode of the machine's user is not the tests' to use.
    for name in ("HYDRA_FULL_ERROR", "MLFLOW_TRACKING_URI", "WANDB_MODE"):
        full_env.pop(name, None)
    full_env.update({"SEQLAB_OUTPUT_ROOT": str(cwd / "outputs"), **env})
    return [str(script), *args[1:]], full_env


def run_cli(args: list[str], cwd: Path, timeout: float = 300, **env: str):
    """Run a seqlab console script in a subprocess; outputs go under `cwd`."""
    command, full_env = _cli(args, cwd, env)
    return subprocess.run(
        command, cwd=cwd, env=full_env, capture_output=True, text=True, timeout=timeout
    )


def start_cli(args: list[str], cwd: Path, stderr: Path | None = None, **env: str):
    """Start a seqlab console script in its own session (to kill it with its children);
    its standard error goes to the file `stderr`, if given."""
    command, full_env = _cli(args, cwd, env)
    with open(stderr or os.devnull, "w") as err:
        return subprocess.Popen(
            command,
            cwd=cwd,
            env=full_env,
            stdout=subprocess.DEVNULL,
            stderr=err,
            start_new_session=True,
        )


COMMANDS = ("seqlab-train", "seqlab-eval", "seqlab-tag", "seqlab-report")


def assert_clear_failure(result, expected: str, cwd: Path) -> None:
    """A command refused: non-zero exit, one line on stderr naming the problem, no
    traceback, and no run under `cwd` recorded as completed."""
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.returncode != 0, result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    assert len(lines) == 1, f"not one line:\n{result.stderr}"
    assert lines[0].split(": error: ", 1)[0] in COMMANDS, lines[0]
    assert expected in lines[0], f"{expected!r} not in {lines[0]!r}"
    for path in cwd.glob("**/metrics.json"):
        assert json.loads(path.read_text())["status"] != "completed", path


def assert_run_contract(run_dir: Path, status: str = "completed", by_hydra: bool = True) -> dict:
    """Check that a run directory holds what the README promises; return its metrics.

    `by_hydra=False` for runs made by calling train() directly: Hydra writes .hydra/ and
    the log file, so only CLI runs have them.
    """
    run_dir = Path(run_dir)
    if by_hydra:
        for name in ("config.yaml", "overrides.yaml"):
            assert (run_dir / ".hydra" / name).is_file(), f"{run_dir}: .hydra/{name} missing"
        assert (run_dir / "train.log").stat().st_size > 0
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["status"] == status, metrics.get("error")
    assert metrics["epochs"] >= 1 and metrics["wall_s"] > 0
    assert metrics["final"] and metrics["best"]
    assert metrics["monitor"] in metrics["best"]
    for name in ("last.ckpt", "best.ckpt"):
        assert (run_dir / "checkpoints" / name).is_file(), f"{run_dir}: checkpoints/{name}"
    assert list((run_dir / "tensorboard").glob("events.out.tfevents.*"))
    return metrics


def read_tensorboard(log_dir: Path):
    """All event files of a directory, loaded (scalars, text, images, hparams)."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    acc = EventAccumulator(str(log_dir), size_guidance={"scalars": 0, "tensors": 0, "images": 0})
    acc.Reload()
    return acc


def tensorboard_hparams(acc) -> dict:
    """The hyperparameters a run registered with TensorBoard's HParams plugin."""
    from tensorboard.plugins.hparams import plugin_data_pb2

    content = acc.PluginTagToContent("hparams")["_hparams_/session_start_info"]
    info = plugin_data_pb2.HParamsPluginData.FromString(content).session_start_info
    out = {}
    for name, value in info.hparams.items():
        kind = value.WhichOneof("kind")
        out[name] = getattr(value, kind) if kind else None
    return out


# --------------------------------------------------------------------------------------------
# CoNLL-U files written by hand.

CONLLU_TOKEN = "{id}\t{form}\t{form}\t{upos}\t{xpos}\t_\t0\troot\t_\t_"

# A toy treebank, as 'word/TAG word/TAG' strings (make_treebank writes it out).
TREEBANK = [
    "The/DET dog/NOUN barks/VERB ./PUNCT",
    "A/DET cat/NOUN sleeps/VERB ./PUNCT",
    "the/DET dog/NOUN sleeps/VERB",
    "Dogs/NOUN bark/VERB",
    "The/DET old/ADJ cat/NOUN saw/VERB the/DET dog/NOUN ./PUNCT",
]


def write_conllu(tmp_path: Path, text: str, name: str = "data.conllu") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def make_treebank(tmp_path: Path, name: str, sentences: list[str]) -> Path:
    """A CoNLL-U file from 'word/TAG word/TAG' strings."""
    lines = []
    for n, sentence in enumerate(sentences, 1):
        lines.append(f"# sent_id = {n}")
        for i, token in enumerate(sentence.split(), 1):
            word, tag = token.rsplit("/", 1)
            lines.append(CONLLU_TOKEN.format(id=i, form=word, upos=tag, xpos="_"))
        lines.append("")
    return write_conllu(tmp_path, "\n".join(lines) + "\n", name)


# --------------------------------------------------------------------------------------------
# Sweep directories made by hand, for seqlab-report (no training needed).


def make_job(sweep: Path, num: int, overrides: dict, metrics: dict | None) -> None:
    job = sweep / str(num)
    (job / ".hydra").mkdir(parents=True)
    items = [f"{k}={v}" for k, v in overrides.items()]
    (job / ".hydra" / "overrides.yaml").write_text(yaml.safe_dump(items))
    if metrics is not None:
        (job / "metrics.json").write_text(json.dumps(metrics))


def done(value: float, status: str = "completed", epochs: int = 5) -> dict:
    """The metrics.json of a finished job whose best val/loss is `value`."""
    return {
        "status": status,
        "monitor": "val/loss",
        "mode": "min",
        "epochs": epochs,
        "wall_s": 1.5,
        "best": {"val/loss": value, "epoch": epochs},
        "final": {"val/loss": value + 1},
        # Falling to the best value at the last epoch.
        "history": [
            {"epoch": e, "val/loss": value + epochs - e, "train/loss": value + 2 * (epochs - e)}
            for e in range(1, epochs + 1)
        ],
    }


@pytest.fixture
def sweep(tmp_path: Path) -> Path:
    """Six jobs over model.hidden_dim and model.lr: three completed, one diverged, one failed,
    one not started."""
    fixed = {"experiment": "tutorial_sum"}
    make_job(tmp_path, 0, {**fixed, "model.hidden_dim": 8, "model.lr": 0.1}, done(30.0))
    make_job(tmp_path, 1, {**fixed, "model.hidden_dim": 8, "model.lr": 0.5}, done(10.0))
    make_job(tmp_path, 2, {**fixed, "model.hidden_dim": 32, "model.lr": 0.1}, done(20.0))
    make_job(
        tmp_path,
        3,
        {**fixed, "model.hidden_dim": 32, "model.lr": 0.5},
        done(5.0, status="diverged", epochs=2),
    )
    failed = {"status": "failed", "error": "RuntimeError: boom", "monitor": "val/loss"}
    make_job(tmp_path, 4, {**fixed, "model.hidden_dim": 64, "model.lr": 0.1}, failed)
    make_job(tmp_path, 10, {**fixed, "model.hidden_dim": 64, "model.lr": 0.5}, None)  # running
    return tmp_path


def big_sweep(root: Path, seeds: int = 1) -> Path:
    """The notebook's 48-job grid, with made-up results and (empty) TensorBoard logs; with
    `seeds` > 1, each point run with that many seeds (48 x seeds jobs)."""
    num = 0
    for h, seed in ((h, s) for h in (8, 32, 64) for s in range(1, seeds + 1)):
        for lr in (0.1, 0.5):
            for length in (2, 4, 8, 16):
                for n in (1000, 10000):
                    over = {
                        "model.hidden_dim": h,
                        "model.lr": lr,
                        "data.length": length,
                        "data.n": n,
                        **({"seed": seed} if seeds > 1 else {}),
                    }
                    make_job(root, num, over, done(float(length * 100 / h + lr + seed / 10)))
                    (root / str(num) / "tensorboard").mkdir()  # so the report builds its view
                    num += 1
    return root


def replicated(root: Path, values: dict[str, list[float]], failed: str | None = None) -> Path:
    """Settings of model.hidden_dim, each run with seeds 1, 2, ...: best val/loss values as
    given; the job of setting `failed` with the last seed failed instead."""
    num = 0
    for hidden, bests in values.items():
        for seed, value in enumerate(bests, 1):
            over = {"model.hidden_dim": hidden, "seed": seed}
            metrics = done(value)
            metrics["final"] = {"val/loss": value + 1, "test/loss": value + 2}
            if hidden == failed and seed == len(bests):
                metrics = {"status": "failed", "error": "RuntimeError: boom"}
            make_job(root, num, over, metrics)
            num += 1
    return root


def fake_outputs(root: Path, runs: int, epochs: int = 100, per_sweep: int = 100) -> Path:
    """An outputs root of `runs` finished runs of `epochs` epochs each, as train() writes
    them (config, choices, provenance, best, final, the history), in sweeps of `per_sweep`
    jobs: for timing seqlab.load on many runs without training them."""
    config = {f"model.key{i}": i for i in range(20)} | {f"data.key{i}": 0.5 for i in range(20)}
    config |= {f"trainer.key{i}": "value" for i in range(40)} | {"seed": 1}
    provenance = {"seqlab": "0.1.0", "git": {"commit": "0" * 40, "dirty": False}}
    for start in range(0, runs, per_sweep):
        sweep = root / "multiruns" / "2026-12-06" / f"00-00-{start // per_sweep:05d}_000000"
        sweep.mkdir(parents=True)
        (sweep / "multirun.yaml").write_text("hydra: {}\n")
        for job in range(min(per_sweep, runs - start)):
            hidden, seed = 8 * (1 + job % 8), 1 + job // 8
            history = [
                {
                    "epoch": e,
                    "train/loss": 1000.0 / e + hidden,
                    "train/mse": 1000.0 / e + hidden,
                    "val/loss": 1100.0 / e + hidden,
                    "val/mse": 1100.0 / e + hidden,
                    "epoch_s": 0.0123,
                }
                for e in range(1, epochs + 1)
            ]
            metrics = {
                "status": "completed",
                "monitor": "val/mse",
                "mode": "min",
                "seed": seed,
                "config": {**config, "model.hidden_dim": hidden, "seed": seed},
                "choices": {"experiment": "sum", "model": "regressor"},
                "provenance": provenance,
                "best": history[-1],
                "final": {k: v for k, v in history[-1].items() if "/" in k},
                "epochs": epochs,
                "wall_s": 12.5,
                "history": history,
            }
            job_dir = sweep / str(job)
            (job_dir / ".hydra").mkdir(parents=True)
            overrides = [f"model.hidden_dim={hidden}", f"seed={seed}"]
            (job_dir / ".hydra" / "overrides.yaml").write_text(yaml.safe_dump(overrides))
            (job_dir / ".hydra" / "config.yaml").write_text("model:\n  hidden_dim: 8\n")
            (job_dir / "metrics.json").write_text(json.dumps(metrics))
    return root
