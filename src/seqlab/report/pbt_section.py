"""Population-based training (seqlab.tuning.pbt, pbt.json) in a sweep's report: the winner
and its schedule of values over the epochs, every copy the population made, and two plots:
`pbt_schedule.png` (the winner's values by epoch, through its lineage) and
`pbt_population.png` (every member's score at each generation's end, the copies marked)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from seqlab.render.plots import new_figure, publish
from seqlab.render.tables import markdown_table

SCHEDULE_PNG, POPULATION_PNG = "pbt_schedule.png", "pbt_population.png"


def pbt_markdown(pbt: dict[str, Any], sweep_dir: Path, plots: bool = True) -> str:
    """The section, after drawing its plots; "" for a sweep that was no PBT."""
    if not pbt or not pbt.get("generations"):
        return ""
    settings, metric = pbt["settings"], pbt["metric"]
    generations, winner = pbt["generations"], pbt.get("winner")
    copies = [e for g in generations for e in g["exploits"]]
    last = generations[-1]
    score = last["scores"].get(str(winner)) if winner is not None else None
    head = (
        f"member {winner} best, {metric} {score:.6g} at epoch {last['epoch']}"
        if winner is not None and score is not None
        else "no member finished"
    )
    text = [
        "",
        f"## Population-based training: {head}",
        "",
        f"{settings['population']} members, {len(generations)} of {len(pbt['stops'])} "
        f"generation(s) of {settings['interval']} epochs, exploring "
        + ", ".join(f"`{k}`" for k in settings["hyperparams"])
        + f". After each generation the worst {settings['quantile']:.0%} of the members "
        f"copied the checkpoint of one of the best {settings['quantile']:.0%} and explored "
        f"its values: {len(copies)} copies in all (pbt.json; each member's metrics.json "
        "gives its own lineage).",
    ]
    schedule = [
        {
            "epochs": f"{s['from_epoch'] + 1}-{s['to_epoch']}",
            "member": s["member"],
            **{k: f"{v:.4g}" if isinstance(v, float) else v for k, v in s["values"].items()},
        }
        for s in pbt.get("winner_schedule", [])
    ]
    if schedule:
        text += ["", "The winner's schedule, through the members it copied:", ""]
        text.append(markdown_table(schedule, list(schedule[0])))
    if copies:
        rows = [
            {
                "epoch": e["epoch"],
                "member": e["member"],
                "copied": e["donor"],
                f"its {metric}": e["score"],
                f"donor's {metric}": e["donor_score"],
                **{k: f"{_short(e['before'][k])} -> {_short(v)}" for k, v in e["after"].items()},
            }
            for e in copies
        ]
        text += ["", "<details><summary>Every copy</summary>", ""]
        text += [markdown_table(rows, list(rows[0])), "", "</details>"]
    if plots:
        drawn = [p for p in (_schedule_plot(pbt, sweep_dir), _population_plot(pbt, sweep_dir)) if p]
        if drawn:
            links = ", ".join(f"[{p.name}]({p.name})" for p in drawn)
            text += ["", f"The winner's values by epoch and the population's scores: {links}."]
    return "\n".join([*text, ""])


def _short(value: Any) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def _schedule_plot(pbt: dict[str, Any], sweep_dir: Path) -> Path | None:
    """Each explored number of the winner by epoch, as steps; a log axis where it spans
    more than a decade."""
    schedule = pbt.get("winner_schedule") or []
    keys = [k for k in pbt["settings"]["hyperparams"] if schedule and _numeric(schedule, k)]
    if not keys:
        return None
    fig, _ = new_figure((6.5, 2.2 + 1.6 * len(keys)))
    fig.clear()
    for i, key in enumerate(keys, 1):
        ax = fig.add_subplot(len(keys), 1, i)
        xs = [s["from_epoch"] for s in schedule] + [schedule[-1]["to_epoch"]]
        ys = [s["values"][key] for s in schedule]
        ax.step(xs, [*ys, ys[-1]], where="post")
        for s in schedule:
            ax.annotate(f"m{s['member']}", (s["from_epoch"], s["values"][key]), fontsize=7)
        if min(ys) > 0 and max(ys) / min(ys) > 10:
            ax.set_yscale("log")
        ax.set(ylabel=key, xlabel="epoch" if i == len(keys) else "")
        ax.grid(alpha=0.3)
    fig.suptitle(f"the winner's values by epoch (member {pbt.get('winner')})", fontsize=9)
    fig.tight_layout()
    path = sweep_dir / SCHEDULE_PNG
    publish(fig, path)
    return path


def _population_plot(pbt: dict[str, Any], sweep_dir: Path) -> Path | None:
    """Every member's score at each generation's end; a cross where a member copied
    another (its score then restarts from the donor's)."""
    generations = pbt["generations"]
    fig, ax = new_figure((6.5, 4.2))
    values = []
    for m in range(pbt["settings"]["population"]):
        points = [
            (g["epoch"], g["scores"].get(str(m)))
            for g in generations
            if isinstance(g["scores"].get(str(m)), (int, float))
            and math.isfinite(g["scores"][str(m)])
        ]
        if not points:
            continue
        (line,) = ax.plot(*zip(*points, strict=True), marker=".", label=f"member {m}")
        values += [v for _, v in points]
        copied = [(e["epoch"], e["score"]) for g in generations for e in g["exploits"]]
        mine = [
            (e["epoch"], e["score"])
            for g in generations
            for e in g["exploits"]
            if e["member"] == m and isinstance(e["score"], (int, float))
        ]
        if mine and copied:
            ax.plot(*zip(*mine, strict=True), "x", color=line.get_color(), markersize=8)
    if not values:
        return None
    if min(values) > 0 and max(values) / min(values) > 10:
        ax.set_yscale("log")
    ax.set(
        xlabel="epoch", ylabel=pbt["metric"], title="the population's scores (x: copied another)"
    )
    ax.title.set_fontsize(9)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    fig.tight_layout()
    path = sweep_dir / POPULATION_PNG
    publish(fig, path)
    return path


def _numeric(schedule: list[dict[str, Any]], key: str) -> bool:
    return all(isinstance(s["values"].get(key), (int, float)) for s in schedule)
