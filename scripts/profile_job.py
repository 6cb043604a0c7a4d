"""Where a job's epochs go: one job of the notebook's grid trained by seqlab in this process,
with a timer around every callback hook, logger call and the module's steps, next to the
same job in a plain loop (scripts/notebook_grid_plain.py's) run side by side.

    .venv/bin/python scripts/profile_job.py --hidden 8 --length 2 --n 1000     # the smallest
    .venv/bin/python scripts/profile_job.py --hidden 64 --length 16 --n 10000  # the largest

Prints ms per epoch for each part: the plain loop's training and validation, seqlab's
training and validation steps (the model's own work), each callback and logger, and the
rest of Lightning's loop (the epoch's wall time minus everything timed). The job runs
`--epochs` epochs without the notebook's stopping rule, so both sides train the same count.
"""

from __future__ import annotations

import argparse
import collections
import functools
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import torch

from seqlab.config import CONFIG_DIR, register_resolvers

sys.path.insert(0, str(Path(__file__).parent))
from notebook_grid_plain import one_job  # noqa: E402 (the baseline, beside this script)

TIMES: dict[str, float] = collections.defaultdict(float)


def timed(name: str, fn: Any) -> Any:
    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        start = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            TIMES[name] += time.perf_counter() - start

    return wrapper


# The hooks Lightning calls in every epoch; a checkpoint's save and load hooks run inside
# the checkpoint callback's own, and a logger's calls inside a callback's or the module's.
EPOCH_HOOKS = ("on_train_", "on_validation_", "on_before_", "on_after_")
NESTED = ("on_save_checkpoint", "on_load_checkpoint")


def instrument_files() -> None:
    """Timers inside the checkpoint callback and the records: torch.save, fsync, the
    rename that makes a write atomic, the link from last.ckpt to best.ckpt, metrics.json."""
    import os

    from seqlab.rundir import RunRecord

    torch.save = timed("nested|torch.save", torch.save)
    os.fsync = timed("nested|os.fsync", os.fsync)
    os.replace = timed("nested|os.replace (atomic renames)", os.replace)
    os.link = timed("nested|os.link", os.link)
    os.symlink = timed("nested|os.symlink", os.symlink)
    RunRecord.update = timed("nested|metrics.json (RunRecord.update)", RunRecord.update)


def instrument(trainer: Any, module: Any) -> None:
    """A timer around each callback's hooks, each logger's calls and the module's steps."""
    for callback in trainer.callbacks:
        for hook in dir(callback):
            if hook.startswith("on_") and callable(getattr(callback, hook)):
                where = "epoch" if hook.startswith(EPOCH_HOOKS) else "once"
                where = "nested" if hook in NESTED else where
                name = f"{where}|{type(callback).__name__}"
                setattr(callback, hook, timed(name, getattr(callback, hook)))
    for logger in trainer.loggers:
        for call in ("log_metrics", "log_hyperparams", "save", "finalize"):
            if hasattr(logger, call):
                name = f"nested|{type(logger).__name__}.{call}"
                setattr(logger, call, timed(name, getattr(logger, call)))
    # The model's own work; the optimiser's step and the rest of the loop are what is left.
    for step in ("training_step", "validation_step", "backward"):
        setattr(module, step, timed(f"epoch|module.{step}", getattr(module, step)))
    for hook in ("on_train_epoch_end", "on_validation_epoch_end"):
        if hasattr(module, hook):
            setattr(module, hook, timed(f"epoch|module.{hook}", getattr(module, hook)))


def seqlab_job(args: argparse.Namespace, out: Path) -> tuple[float, list[float]]:
    """Train the job through seqlab.training.train; its wall time and its epochs' times."""
    import lightning as L
    from hydra import compose, initialize_config_dir
    from omegaconf import open_dict

    from seqlab.training import train

    register_resolvers()
    overrides = [
        "experiment=tutorial_sum",
        f"model.hidden_dim={args.hidden}",
        f"model.lr={args.lr}",
        f"data.length={args.length}",
        f"data.n={args.n}",
        f"trainer.max_epochs={args.epochs}",
        "callbacks.early_stopping.stopping_threshold=null",  # every epoch, as the plain loop
        "callbacks.progress_bar=null",
        "trainer.enable_progress_bar=false",
        "callbacks.model_summary=null",
        f"threads={args.threads}",
    ]
    with initialize_config_dir(config_dir=CONFIG_DIR, version_base="1.3"):
        cfg = compose(config_name="train", overrides=overrides)
    with open_dict(cfg):
        cfg.paths.output_dir = str(out)
    fit = L.Trainer.fit

    def instrumented_fit(trainer: Any, *a: Any, **k: Any) -> Any:
        instrument(trainer, a[0] if a else k["model"])
        return fit(trainer, *a, **k)

    L.Trainer.fit = instrumented_fit
    instrument_files()
    try:
        start = time.perf_counter()
        metrics = train(cfg, parallel_jobs=1)
        wall = time.perf_counter() - start
    finally:
        L.Trainer.fit = fit
    return wall, [row["epoch_s"] for row in metrics["history"]]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hidden", type=int, default=8)
    parser.add_argument("--length", type=int, default=2)
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--lr", type=float, default=0.1)
    parser.add_argument("--epochs", type=int, default=100)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    point = dict(hidden_dim=args.hidden, lr=args.lr, length=args.length, n=args.n)
    one_job(**point, epochs=3)  # warm up: torch's first calls, the data generator
    start = time.perf_counter()
    one_job(**point, epochs=args.epochs, stop=False)
    plain = time.perf_counter() - start
    with tempfile.TemporaryDirectory() as tmp:
        wall, epochs = seqlab_job(args, Path(tmp) / "run")
    start = time.perf_counter()
    one_job(**point, epochs=args.epochs, stop=False)
    plain = min(plain, time.perf_counter() - start)  # before and after seqlab's
    count = len(epochs)
    epoch_ms = 1000 * sum(epochs) / count
    print(f"job: hidden {args.hidden}, length {args.length}, n {args.n}, {count} epochs, "
          f"{args.threads} thread(s)")  # fmt: skip
    print(f"plain loop: {1000 * plain / args.epochs:.3f} ms an epoch (training and validation)")
    print(f"seqlab: {epoch_ms:.3f} ms an epoch (median {1000 * statistics.median(epochs):.3f}); "
          f"whole run {wall:.2f} s, of which epochs {sum(epochs):.2f} s")  # fmt: skip
    in_epoch = 0.0
    for where, title in (("epoch", "in every epoch"), ("nested", "inside the above"),
                         ("once", "outside the epochs, per epoch of the run")):  # fmt: skip
        print(f" {title}:")
        parts = {k.split("|", 1)[1]: 1000 * v / count for k, v in TIMES.items()
                 if k.startswith(f"{where}|")}  # fmt: skip
        for name, ms in sorted(parts.items(), key=lambda kv: -kv[1]):
            print(f"  {name:<40} {ms:8.3f} ms")
        if where == "epoch":
            in_epoch = sum(parts.values())
    print(f" the rest of each epoch (Lightning's loop, the optimiser's step): "
          f"{epoch_ms - in_epoch:.3f} ms")  # fmt: skip


if __name__ == "__main__":
    main()
