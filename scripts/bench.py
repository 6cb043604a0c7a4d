"""make bench: seqlab against hand-written baselines, measured side by side in one run.

    .venv/bin/python scripts/bench.py [--repeats 3] [--quick]

Prints a table (medians of repeats; absolute numbers only as context) and writes it to
outputs/bench/bench.md. "seqlab's advantage" is how many times faster than the baseline
seqlab is (for steps/s: its rate over the baseline's); a line that misses its target says
so. Everything but item 8 runs on the CPU with the stated number of threads; item 8 (GPU
slots) runs on the machine's GPUs and is skipped without CUDA.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import lightning as L
import torch
from hydra import compose, initialize_config_dir
from omegaconf import open_dict

from seqlab.config import CONFIG_DIR, register_resolvers
from seqlab.data.random_sum import generate_sums, split_generator
from seqlab.models.tagger_module import spelling, token_mask
from seqlab.nets import LSTMRegressor

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
QUIET = [
    "callbacks.progress_bar=null",
    "trainer.enable_progress_bar=false",
    "callbacks.model_summary=null",
]


def compose_cfg(overrides: list[str], out: Path):
    register_resolvers()
    with initialize_config_dir(config_dir=CONFIG_DIR, version_base="1.3"):
        cfg = compose(config_name="train", overrides=[*QUIET, *overrides])
    with open_dict(cfg):
        cfg.paths.output_dir = str(out)
    return cfg


def seqlab_history(overrides: list[str]) -> list[dict]:
    """Train in this process with seqlab.training.train; return metrics.json's history."""
    from seqlab.training import train

    with tempfile.TemporaryDirectory() as out:
        return train(compose_cfg(overrides, Path(out)))["history"]


# --------------------------------------------------------------------------------------
# 1. The notebook's per-sample loop against seqlab, on tutorial_sum.


def notebook_epoch_seconds(epochs: int) -> list[float]:
    """The notebook's `train_model`: one sample at a time, loss summed, one step per epoch."""
    torch.manual_seed(1)
    model = LSTMRegressor(1, 64, 1)
    opt = torch.optim.Adam(model.parameters(), lr=0.1)
    mse = torch.nn.MSELoss()
    gen = split_generator(1, "train")
    x, y = generate_sums(1000, 2, generator=gen)  # (n, L, 1), (n, 1)
    X = x.transpose(0, 1).contiguous()  # the notebook's (L, n, 1) layout
    times = []
    for _ in range(epochs):
        start = time.perf_counter()
        model.zero_grad()
        epoch_loss = 0
        for i in range(X.shape[1]):
            out, _ = model.lstm(X[:, i, :])  # unbatched (L, 1), as the notebook
            epoch_loss += mse(model.linear(out[-1, :]), y[i])
        epoch_loss.backward()
        opt.step()
        times.append(time.perf_counter() - start)
    return times


# --------------------------------------------------------------------------------------
# 2. A plain PyTorch loop over pre-made tensors against seqlab's Trainer, minibatches.

STEPS_PER_EPOCH, BATCH, LENGTH = 100, 256, 16


class PlainLoop:
    """The baseline: the same model trained by a plain PyTorch loop over pre-made tensors."""

    def __init__(self) -> None:
        torch.manual_seed(0)
        self.model = LSTMRegressor(1, 64, 1)
        self.opt = torch.optim.Adam(self.model.parameters(), lr=3e-3)
        n = STEPS_PER_EPOCH * BATCH
        x, y = generate_sums(n, LENGTH, generator=split_generator(0, "train"))
        self.x, self.y = x * 0.01, y * 0.01
        self.epoch = 0

    def epoch_steps_per_s(self) -> float:
        order = torch.randperm(len(self.x), generator=torch.Generator().manual_seed(self.epoch))
        self.epoch += 1
        start = time.perf_counter()
        for step in range(STEPS_PER_EPOCH):
            idx = order[step * BATCH : (step + 1) * BATCH]
            self.opt.zero_grad(set_to_none=True)
            loss = torch.nn.functional.mse_loss(self.model(self.x[idx]), self.y[idx])
            loss.backward()
            self.opt.step()
        return STEPS_PER_EPOCH / (time.perf_counter() - start)


class PlainLoopBetweenEpochs(L.Callback):
    """Runs one epoch of the plain loop before each of seqlab's epochs (outside the epoch's
    timed window), so the two alternate epoch by epoch and meet the same machine load:
    this machine's speed drifts by 10-20% over seconds, more than the gap measured."""

    rates: list[float] = []
    loop: PlainLoop | None = None

    def on_train_epoch_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        cls = PlainLoopBetweenEpochs
        cls.loop = cls.loop or PlainLoop()
        cls.rates.append(cls.loop.epoch_steps_per_s())


def minibatch_ratios(epochs: int) -> tuple[list[float], list[float], list[float]]:
    """Per-epoch steps/s of seqlab and of the plain loop, alternating, and their ratios."""
    PlainLoopBetweenEpochs.rates, PlainLoopBetweenEpochs.loop = [], None
    history = seqlab_history(
        [
            "experiment=sum",
            f"data.n={STEPS_PER_EPOCH * BATCH}",
            f"data.length={LENGTH}",
            f"data.batch_size={BATCH}",
            f"trainer.max_epochs={epochs}",
            "+trainer.limit_val_batches=0",
            "test_after_fit=false",
            "callbacks.early_stopping=null",
            "callbacks.prediction_plot=null",
            f"+callbacks.plain_loop._target_={__name__}.PlainLoopBetweenEpochs",
            "threads=1",
            "seed=0",
        ]
    )
    ours = [STEPS_PER_EPOCH / row["epoch_s"] for row in history][1:]  # the first epoch warms up
    raw = PlainLoopBetweenEpochs.rates[1:]
    return ours, raw, [a / b for a, b in zip(ours, raw, strict=True)]


# --------------------------------------------------------------------------------------
# 3. The tagger on a real treebank: a plain PyTorch loop against seqlab, same batches.

TAG_STEPS = 40  # batches per timed epoch (of 32 sentences)


def ud_pos_overrides(ud_dir: Path) -> list[str]:
    return [
        "experiment=ud_pos",
        f"data.train_path={ud_dir / 'en_ewt-ud-train.conllu'}",
        f"data.val_path={ud_dir / 'en_ewt-ud-dev.conllu'}",
    ]


class TaggerPlainLoop(L.Callback):
    """Before each of seqlab's epochs, trains a copy of the tagger by hand on exactly the
    batches that epoch will see (same data module settings, seed and epoch)."""

    rates: list[float] = []
    tokens: list[int] = []
    ud_dir: Path = Path()

    def setup(self, trainer: L.Trainer, pl_module: L.LightningModule, stage: str) -> None:
        from seqlab.build import build

        cfg = compose_cfg(ud_pos_overrides(self.ud_dir), Path(tempfile.gettempdir()))
        self.data = build(cfg.data)
        self.data.setup("fit")
        self.model = build(cfg.model, **self.data.model_kwargs())
        self.model.train()
        self.opt = torch.optim.Adam(self.model.parameters(), lr=cfg.model.lr)

    def on_train_epoch_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        batches = self.data.batches("train", shuffle=True)
        batches.sampler.set_epoch(trainer.current_epoch)
        tokens, start = 0, time.perf_counter()
        for _, batch in zip(range(TAG_STEPS), batches, strict=False):
            self.opt.zero_grad(set_to_none=True)
            words, tags, lengths = batch["words"], batch["tags"], batch["lengths"]
            mask = token_mask(lengths, words.shape[1])
            emissions = self.model.net.emissions(words, lengths, spelling(batch))
            loss = self.model.crf.nll(emissions, tags, mask)
            loss.backward()
            self.opt.step()
            tokens += int(lengths.sum())
        TaggerPlainLoop.rates.append(tokens / (time.perf_counter() - start))
        TaggerPlainLoop.tokens.append(tokens)


def tagger_ratios(ud_dir: Path, epochs: int) -> tuple[list[float], list[float], list[float]]:
    """Per-epoch tokens/s of seqlab and of the plain loop, alternating, and their ratios."""
    TaggerPlainLoop.rates, TaggerPlainLoop.tokens, TaggerPlainLoop.ud_dir = [], [], ud_dir
    history = seqlab_history(
        [
            *ud_pos_overrides(ud_dir),
            f"trainer.max_epochs={epochs}",
            f"+trainer.limit_train_batches={TAG_STEPS}",
            "+trainer.limit_val_batches=0",
            "test_after_fit=false",
            "callbacks.early_stopping=null",
            f"+callbacks.plain_loop._target_={__name__}.TaggerPlainLoop",
            "threads=1",
        ]
    )
    # Both trained on the same batches each epoch, so they processed the same tokens.
    ours = [n / row["epoch_s"] for n, row in zip(TaggerPlainLoop.tokens, history, strict=True)]
    ours, raw = ours[1:], TaggerPlainLoop.rates[1:]  # the first epoch warms up
    return ours, raw, [a / b for a, b in zip(ours, raw, strict=True)]


# --------------------------------------------------------------------------------------
# 4.-6. Whole processes.


def wall(args: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(args, check=True, capture_output=True, cwd=tempfile.gettempdir())
    return time.perf_counter() - start


def peak_rss_mb(args: list[str]) -> float:
    """Max RSS of a command, measured in a fresh parent so no other child counts."""
    probe = (
        "import resource, subprocess, sys; subprocess.run(sys.argv[1:], check=True, "
        "capture_output=True); print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe, *args],
        check=True,
        capture_output=True,
        text=True,
        cwd=tempfile.gettempdir(),
    )
    return int(out.stdout.strip()) / 1024  # kB -> MB


def median(values: list[float]) -> float:
    return statistics.median(values)


def row(name: str, ours: float, base: float, unit: str, target: float, faster: str) -> str:
    """A table row. `faster` says which way is better: "lower" for times, "higher" for rates;
    the comparison column is always "how many times better seqlab is" (> 1: seqlab wins)."""
    gain = base / ours if faster == "lower" else ours / base
    mark = "" if gain >= target else " (missed)"
    return f"| {name} | {ours:.4g} {unit} | {base:.4g} {unit} | {gain:.3g}x | >= {target}x{mark} |"


def paired_row(
    name: str, unit: str, ours: list[float], raw: list[float], ratios: list[float]
) -> str:
    """A row for a throughput measured in paired epochs: the median of the paired ratios."""
    ratio = median(ratios)
    return (
        f"| {name}: {unit} (baseline: a plain PyTorch loop; median of {len(ratios)} paired "
        f"epochs) | {median(ours):.4g} {unit} | {median(raw):.4g} {unit} | {ratio:.3g}x | "
        f">= 0.9x{'' if ratio >= 0.9 else ' (missed)'} |"
    )


def item_epoch_time(quick: bool) -> tuple[str, float]:
    """1. Per-epoch time, tutorial_sum: the notebook's loop against seqlab (1 thread both).
    The notebook's epochs run before and after seqlab's, so both meet the same machine
    load. Returns the row and the notebook's median epoch time (item 5 uses it)."""
    nb_epochs = 2 if quick else 3
    nb = notebook_epoch_seconds(nb_epochs)
    overrides = [
        "experiment=tutorial_sum",
        f"trainer.max_epochs={10 if quick else 30}",
        "test_after_fit=false",
        "callbacks.early_stopping=null",
        "callbacks.prediction_plot=null",
        "+trainer.limit_val_batches=0",  # the notebook's epochs only train
        "threads=1",
    ]
    ours = median([r["epoch_s"] for r in seqlab_history(overrides)[1:]])
    nb = median(nb + notebook_epoch_seconds(nb_epochs))
    name = "1. tutorial_sum: seconds per training epoch (baseline: the notebook's loop)"
    return row(name, ours, nb, "s", 50, "lower"), nb


def item_minibatches(repeats: int, quick: bool) -> str:
    """2. Minibatch steps/s: a plain loop against seqlab, alternating epochs (1 thread)."""
    ours, raw, ratios = [], [], []
    for _ in range(repeats):
        o, b, q = minibatch_ratios(4 if quick else 10)
        ours, raw, ratios = ours + o, raw + b, ratios + q
    return paired_row("2. sum, batch 256, length 16", "steps/s", ours, raw, ratios)


def item_tagger(ud_dir: Path | None, quick: bool) -> str:
    """3. The tagger on a real treebank (given with --ud-dir), alternating epochs, 1 thread."""
    if ud_dir is None:
        return "| 3. tagger on real data: tokens/s | - | - | - | skipped: give --ud-dir |"
    ours, raw, ratios = tagger_ratios(ud_dir, 3 if quick else 6)
    name = "3. ud_pos tagger (BiLSTM-CNN-CRF), EWT train: tokens/s (baseline: a plain PyTorch loop"
    return paired_row(name, ours, raw, ratios)


def item_startup(repeats: int) -> list[str]:
    """4. Start-up of commands that train nothing, against `import lightning`."""
    train = str(BIN / "seqlab-train")
    imp = median([wall([sys.executable, "-c", "import lightning"]) for _ in range(repeats)])
    rows = []
    for label, cmd in (("--help", [train, "--help"]), ("--cfg job", [train, "--cfg", "job"])):
        t = median([wall(cmd) for _ in range(repeats)])
        name = f"4. seqlab-train {label}: seconds (baseline: `import lightning`)"
        rows.append(row(name, t, imp, "s", round(1 / 0.3, 2), "lower"))
    return rows


def item_whole_process(repeats: int, notebook_epoch: float) -> str:
    """5. Whole process: seqlab-train experiment=tutorial_sum against the notebook's run."""
    train = str(BIN / "seqlab-train")
    whole = median([wall([train, "experiment=tutorial_sum", *QUIET]) for _ in range(repeats)])
    notebook_run = 100 * notebook_epoch  # its 100 epochs, from its measured epoch time
    name = "5. tutorial_sum whole process: seconds (baseline: 100 x the notebook's epoch)"
    return row(name, whole, notebook_run, "s", 10, "lower")


def item_memory() -> str:
    """6. Peak memory of the default training process (3 epochs: memory does not grow)."""
    rss = peak_rss_mb([str(BIN / "seqlab-train"), "trainer.max_epochs=3", *QUIET])
    mark = "" if rss <= 1536 else " (missed)"
    return f"| 6. default experiment: peak RSS | {rss:.0f} MB | - | - | <= 1536 MB{mark} |"


def item_grid(quick: bool) -> list[str]:
    """7. The notebook's 48-job grid (scripts/notebook_grid.sh) through the default launcher
    and through hydra/launcher=local_parallel, against a plain PyTorch script doing the same
    48 trainings one after another in one process (scripts/notebook_grid_plain.py); all with
    the machine's threads (local_parallel gives each of its jobs cores / jobs of them). The
    plain script runs twice: as written by hand (glibc's allocator as it comes: the
    baseline of the targets) and with seqlab's allocator setting (`--allocator reuse`), so
    that what seqlab's guarantees cost shows apart from what that setting saves. This
    machine's speed drifts over minutes, so the grid runs in two halves (one learning rate
    each) in the order plain, plain with reuse, default, parallel for the first and the
    reverse for the second: a steady drift then weighs on all alike. seqlab pays its
    start-up and report once per half. The ratios are the throughputs': plain wall time
    over seqlab's."""
    epochs = ["trainer.max_epochs=10"] if quick else []
    plain_script = [sys.executable, str(REPO / "scripts" / "notebook_grid_plain.py")]

    def plain(lr: str, allocator: str) -> float:
        quick_args = ["--epochs", "10"] if quick else []
        return wall([*plain_script, "--lr", lr, "--allocator", allocator, *quick_args])

    def ours(lr: str, launcher: list[str]) -> float:
        with tempfile.TemporaryDirectory() as out:
            env = {**os.environ, "SEQLAB_OUTPUT_ROOT": out, "LRS": lr}
            start = time.perf_counter()
            grid = [str(REPO / "scripts" / "notebook_grid.sh"), *epochs, *launcher]
            subprocess.run(grid, check=True, capture_output=True, env=env)
            return time.perf_counter() - start

    parallel = ["hydra/launcher=local_parallel"]
    plain_s, reuse_s = plain("0.1", "system"), plain("0.1", "reuse")
    default_s, parallel_s = ours("0.1", []), ours("0.1", parallel)
    parallel_s += ours("0.5", parallel)
    default_s += ours("0.5", [])
    reuse_s += plain("0.5", "reuse")
    plain_s += plain("0.5", "system")
    order = "halves in the order plain, plain with reuse, default, parallel, and back"
    rows = []
    for name, ours_s, target in (("default launcher", default_s, 0.95),
                                 ("local_parallel", parallel_s, 1.0)):  # fmt: skip
        ratio = plain_s / ours_s
        mark = "" if ratio >= target else " (missed)"
        rows.append(
            f"| 7. the notebook's 48-job grid, {name}: seconds (baseline: a plain PyTorch "
            f"script, the same 48 trainings in one process; {order}) | {ours_s:.4g} s | "
            f"{plain_s:.4g} s | {ratio:.3g}x | >= {target}x{mark} |"
        )
    for name, ours_s in (("default launcher", default_s), ("local_parallel", parallel_s)):
        rows.append(
            f"| 7. the same grid, {name} (baseline: the plain script with seqlab's allocator "
            f"setting, --allocator reuse; same run) | {ours_s:.4g} s | {reuse_s:.4g} s | "
            f"{reuse_s / ours_s:.3g}x | - |"
        )
    return rows


def item_trackers(quick: bool) -> list[str]:
    """9. What MLflow costs: the notebook's 48-job grid (scripts/notebook_grid.sh, default
    launcher) with `logger=mlflow` (a local SQLite store; the sweep's parent run, 48
    children, the settings' runs, the report as artifacts) against `logger=tensorboard` (the
    default) in the same run. In halves (one learning rate each), TensorBoard first in the
    first half and MLflow first in the second, so a steady drift weighs on both alike. The
    ratio is TensorBoard's wall time over MLflow's (below 1: MLflow costs that much).

    A new SQLite store costs MLflow's schema migrations once, whatever the sweep: the
    halves share one store made beforehand, as every sweep after a user's first does, and
    the making of a store is timed on its own (a process that only opens a new store)."""
    epochs = ["trainer.max_epochs=10"] if quick else []
    with tempfile.TemporaryDirectory() as stores:
        make_store = [sys.executable, "-c", "import mlflow, sys; "
                      "mlflow.MlflowClient(sys.argv[1]).search_experiments()"]  # fmt: skip
        open_only = wall([*make_store, f"sqlite:///{stores}/warm.db"])  # exists now
        new_store = wall([*make_store, f"sqlite:///{stores}/new.db"]) - open_only
        store = f"sqlite:///{stores}/warm.db"

        def grid(lr: str, logger: str) -> float:
            with tempfile.TemporaryDirectory() as out:
                env = {**os.environ, "SEQLAB_OUTPUT_ROOT": out, "LRS": lr}
                env.pop("MLFLOW_TRACKING_URI", None)
                args = [f"logger={logger}"]
                if logger == "mlflow":
                    args.append(f"logger.mlflow.tracking_uri={store}")
                start = time.perf_counter()
                command = [str(REPO / "scripts" / "notebook_grid.sh"), *epochs, *args]
                subprocess.run(command, check=True, capture_output=True, env=env)
                return time.perf_counter() - start

        tensorboard_s = grid("0.1", "tensorboard")
        mlflow_s = grid("0.1", "mlflow")
        mlflow_s += grid("0.5", "mlflow")
        tensorboard_s += grid("0.5", "tensorboard")
    return [
        f"| 9. the notebook's 48-job grid with logger=mlflow (local SQLite store, made "
        f"beforehand): seconds (baseline: logger=tensorboard, the default; halves, "
        f"TensorBoard first and then MLflow first) | {mlflow_s:.4g} s | {tensorboard_s:.4g} s "
        f"| {tensorboard_s / mlflow_s:.3g}x | - |",
        f"| 9. making a new MLflow SQLite store, once per store (MLflow's schema migrations; "
        f"baseline: opening an existing one) | {new_store + open_only:.3g} s | "
        f"{open_only:.3g} s | - | - |",
    ]


def item_gpu_slots(quick: bool) -> list[str]:
    """8. The same 16-job experiment=sum sweep through hydra/launcher=local_parallel on
    every visible GPU at jobs_per_gpu 1, 2, 4 and 8: jobs per minute (the sweep's wall
    time, start-ups included), the speedup over K=1 measured in the same run, and the
    median peak GPU memory of a job (torch's allocated / reserved). Skipped without CUDA."""
    name = "8. GPU slots, 16-job sum sweep: jobs/min"
    if not torch.cuda.is_available():
        return [f"| {name} | - | - | - | skipped: no CUDA device |"]
    sweep = ["model.hidden_dim=32,64", "model.lr=1e-3,3e-3", "seed=0,1,2,3"]
    epochs = ["trainer.max_epochs=3"] if quick else []

    def run(k: int) -> tuple[float, float, float]:
        with tempfile.TemporaryDirectory() as out:
            args = [str(BIN / "seqlab-train"), "-m", "experiment=sum", "trainer=gpu", *QUIET]
            args += ["hydra/launcher=local_parallel", f"hydra.launcher.jobs_per_gpu={k}"]
            args += [*epochs, *sweep, f"hydra.sweep.dir={out}/sweep"]
            seconds = wall(args)
            gpus = [
                json.loads(p.read_text()).get("gpu", {})
                for p in Path(out, "sweep").glob("*/metrics.json")
            ]
            allocated = median([g.get("peak_memory_mb", float("nan")) for g in gpus])
            reserved = median([g.get("peak_reserved_mb", float("nan")) for g in gpus])
            return 16 * 60 / seconds, allocated, reserved

    base, base_alloc, base_reserved = run(1)
    rows = [
        f"| {name}, jobs_per_gpu=1 (peak GPU memory per job {base_alloc:.0f} / "
        f"{base_reserved:.0f} MB) | {base:.3g} jobs/min | - | 1x | - |"
    ]
    for k in (2, 4, 8):
        rate, alloc, reserved = run(k)
        mark = "" if rate >= base else " (missed)"
        rows.append(
            f"| {name}, jobs_per_gpu={k} (peak GPU memory per job {alloc:.0f} / {reserved:.0f} "
            f"MB; baseline: jobs_per_gpu=1 in the same run) | {rate:.3g} jobs/min | "
            f"{base:.3g} jobs/min | {rate / base:.3g}x | >= 1x{mark} |"
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="fewer epochs, for a smoke test")
    parser.add_argument(
        "--ud-dir",
        type=Path,
        default=os.environ.get("SEQLAB_UD_DIR"),
        help="a UD English EWT directory (en_ewt-ud-{train,dev}.conllu) for item 3",
    )
    parser.add_argument("--no-grid", action="store_true", help="skip items 7 and 9 (minutes long)")
    parser.add_argument("--grid-only", action="store_true", help="item 7 alone")
    parser.add_argument("--trackers-only", action="store_true", help="item 9 alone")
    args = parser.parse_args()
    torch.set_num_threads(1)
    lines = [
        "| measurement | seqlab | baseline | seqlab's advantage | target |",
        "|---|---|---|---|---|",
    ]
    print("\n".join(lines), flush=True)

    def say(*rows: str) -> None:
        lines.extend(rows)
        print("\n".join(rows), flush=True)

    if args.trackers_only:
        say(*item_trackers(args.quick))
        write_table(lines, args)
        return
    if args.grid_only:
        say(*item_grid(args.quick))
        write_table(lines, args)
        return
    first, notebook_epoch = item_epoch_time(args.quick)
    say(first)
    say(item_minibatches(args.repeats, args.quick))
    say(item_tagger(args.ud_dir, args.quick))
    say(*item_startup(args.repeats))
    say(item_whole_process(args.repeats, notebook_epoch))
    say(item_memory())
    if not args.no_grid:
        say(*item_grid(args.quick))
    say(*item_gpu_slots(args.quick))
    if not args.no_grid:
        say(*item_trackers(args.quick))
    write_table(lines, args)


def write_table(lines: list[str], args: argparse.Namespace) -> None:
    out_dir = REPO / "outputs" / "bench"
    out_dir.mkdir(parents=True, exist_ok=True)
    header = [
        f"# seqlab benchmark ({time.strftime('%Y-%m-%d %H:%M')})",
        "",
        f"`python scripts/bench.py --repeats {args.repeats}{' --quick' if args.quick else ''}`; "
        f"torch {torch.__version__}, {torch.get_num_threads()} thread(s) in-process, "
        "medians of repeats.",
        "",
    ]
    (out_dir / "bench.md").write_text("\n".join(header + lines) + "\n")
    print(f"\nwritten: {out_dir / 'bench.md'}")


if __name__ == "__main__":
    main()
