"""How a sum regressor's error grows with sequence length: the notebook's table, batched.

For each length, a test set drawn from the data's test stream (so at the training length
it is the run's own test set) is summed by the model; the table gives the mean and
standard deviation of the squared error in the data's original units, and the MSE of
always predicting 0, the error of a model that learnt nothing, for scale.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch

from seqlab.data.random_sum import generate_sums, split_generator
from seqlab.plots import length_axis, new_figure, publish

CSV_FILE, MD_FILE, PNG_FILE = (
    "length_generalization.csv",
    "length_generalization.md",
    "length_generalization.png",
)


@torch.no_grad()
def measure(
    model: torch.nn.Module,
    data: dict[str, Any],
    lengths: Sequence[int],
    n: int,
    chunk: int = 4096,
) -> list[dict[str, float]]:
    """Rows of {length, mse, std, mse_zero} for `model` on `n` sequences of each length.

    `data` is the random-sum data config the model was trained with (seed, value range,
    num_prob and scales); `model(x)` takes scaled inputs and returns scaled predictions.
    """
    device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    rows = []
    for length in lengths:
        gen = split_generator(data["seed"], "test", device)
        x, y = generate_sums(
            n, int(length), data["num_prob"], data["low"], data["high"], gen, device
        )  # (n, L, 1), (n, 1)
        pred = torch.cat([model(xb * data["input_scale"]) for xb in x.split(chunk)])
        pred = pred / data["target_scale"]  # (n, 1), original units
        squared = (pred - y).double().square()
        rows.append(
            {
                "length": int(length),
                "mse": squared.mean().item(),
                "std": squared.std(unbiased=False).item(),
                "mse_zero": y.double().square().mean().item(),
            }
        )
    model.train(was_training)
    return rows


def write_tables(rows: list[dict[str, float]], out_dir: Path) -> None:
    with (out_dir / CSV_FILE).open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=["length", "mse", "std", "mse_zero"])
        writer.writeheader()
        writer.writerows(rows)
    lines = [
        "| length | MSE | std of squared error | MSE of predicting 0 |",
        "|---:|---:|---:|---:|",
        *(
            f"| {r['length']} | {r['mse']:.4g} | {r['std']:.4g} | {r['mse_zero']:.4g} |"
            for r in rows
        ),
    ]
    (out_dir / MD_FILE).write_text("\n".join(lines) + "\n")


def figure(rows: list[dict[str, float]], trained_length: int | None = None) -> Any:
    """Log-log plot of MSE against length, with the predict-0 baseline."""
    lengths = [r["length"] for r in rows]
    fig, ax = new_figure()
    ax.loglog(lengths, [max(r["mse"], 1e-12) for r in rows], marker="o", label="model")
    ax.loglog(
        lengths,
        [r["mse_zero"] for r in rows],
        linestyle="--",
        color="gray",
        label="always predict 0",
    )
    if trained_length:
        ax.axvline(trained_length, color="black", linewidth=0.8, label="trained length")
    length_axis(ax, lengths)
    ax.set(xlabel="sequence length", ylabel="MSE (original units)", title="length generalisation")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def report(
    model: torch.nn.Module,
    data: dict[str, Any],
    lengths: Sequence[int],
    n: int,
    out_dir: Path,
    writers: Sequence[Any] = (),
    step: int = 0,
) -> list[dict[str, float]]:
    """Measure, write the CSV/Markdown tables and the PNG into `out_dir`, log to TensorBoard."""
    rows = measure(model, data, lengths, n)
    write_tables(rows, out_dir)
    for writer in writers:
        for r in rows:
            writer.add_scalar("length_generalization/mse_by_length", r["mse"], r["length"])
    fig = figure(rows, data.get("length"))
    publish(fig, out_dir / PNG_FILE, writers, "length_generalization/mse", step)
    return rows


def run_if_asked(
    eval_cfg: Any, model: Any, data: dict[str, Any], out_dir: Path, trainer: Any
) -> list[dict[str, float]] | None:
    """The `eval.lengths` step of training and evaluation; None when no lengths are set."""
    from seqlab.callbacks import tensorboard_writers
    from seqlab.config import ConfigError

    lengths = (eval_cfg or {}).get("lengths")
    if not lengths:
        return None
    if "target_scale" not in model.hparams or "num_prob" not in data:
        raise ConfigError(
            "eval.lengths: length generalisation needs a sum regressor "
            f"(model {type(model).__name__}, data {data.get('_target_')})"
        )
    if not trainer.is_global_zero:
        return None
    return report(
        model,
        data,
        list(lengths),
        int(eval_cfg.get("n", 1000)),
        out_dir,
        tensorboard_writers(trainer),
        trainer.global_step,
    )
