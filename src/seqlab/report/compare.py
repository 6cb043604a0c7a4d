"""Two sweeps side by side (`seqlab-report --compare A B`): for every setting both ran, the
best monitored value in each (the mean over its seeds with its 95% interval, or the single
value), the difference, whether the intervals overlap, and what changed; the code each
sweep ran; the settings only one of them has.

A setting is a job's values of the keys either sweep varied, less the replicate keys
(seed): the grid before and after a code change has the same settings. No torch.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from seqlab.config import ConfigError
from seqlab.files import write_text_atomic
from seqlab.names import COMPLETED, TRIAL_PREFIX, metric_range
from seqlab.provenance import code_label
from seqlab.render.tables import markdown_table
from seqlab.sweeps.jobs import LEVEL, REPLICATE_KEYS, Job, monitor_of, read_jobs, swept_axes
from seqlab.sweeps.stats import Summary, summarise

BETTER, WORSE, TIED = "better", "worse", "tied"

Setting = tuple[tuple[str, str], ...]  # ((key, value), ...) in the axes' order


@dataclass
class Comparison:
    metric: str
    mode: str
    axes: list[str]
    rows: list[dict[str, object]]
    only_a: list[Setting]
    only_b: list[Setting]
    code_a: str
    code_b: str

    def counts(self) -> Counter:
        return Counter(str(row["change"]).split(" ")[0] for row in self.rows)

    def answer(self, a: str, b: str) -> str:
        """The one-line answer: how many settings got better, worse, or stayed tied."""
        counts = self.counts()
        elsewhere = ""
        if self.only_a or self.only_b:
            elsewhere = f"; {len(self.only_a)} only in {a}, {len(self.only_b)} only in {b}"
        return (
            f"{b} against {a}, best {self.metric}: {counts[BETTER]} better, {counts[WORSE]} "
            f"worse, {counts[TIED]} tied, of {len(self.rows)} settings in both{elsewhere}"
        )


def compare(
    sweep_a: Path,
    sweep_b: Path,
    metric: str | None = None,
    replicate_keys: Sequence[str] = REPLICATE_KEYS,
) -> Comparison:
    jobs_a, jobs_b = read_jobs(sweep_a), read_jobs(sweep_b)
    for sweep, jobs in ((sweep_a, jobs_a), (sweep_b, jobs_b)):
        if not jobs:
            raise FileNotFoundError(f"{sweep}: no job directories (*/.hydra/overrides.yaml)")
    metric_a, mode = monitor_of(jobs_a, metric)
    metric_b, mode_b = monitor_of(jobs_b, metric)
    if (metric_a, mode) != (metric_b, mode_b):
        raise ConfigError(
            f"{sweep_a} monitors {metric_a} ({mode}) and {sweep_b} {metric_b} ({mode_b}): "
            "give the metric to compare with --metric"
        )
    axes = [
        a
        for a in dict.fromkeys([*swept_axes(jobs_a), *swept_axes(jobs_b)])
        if a not in replicate_keys and not a.startswith(TRIAL_PREFIX)
    ]
    by_a, by_b = _by_setting(jobs_a, axes, metric_a), _by_setting(jobs_b, axes, metric_a)
    rows = [_row(s, by_a[s], by_b[s], mode) for s in by_a if s in by_b]
    return Comparison(
        metric=metric_a,
        mode=mode,
        axes=axes,
        rows=rows,
        only_a=[s for s in by_a if s not in by_b],
        only_b=[s for s in by_b if s not in by_a],
        code_a=_code(jobs_a),
        code_b=_code(jobs_b),
    )


def _by_setting(jobs: list[Job], axes: list[str], metric: str) -> dict[Setting, Summary]:
    values: dict[Setting, list[float]] = {}
    for job in jobs:
        setting = tuple((a, job.overrides.get(a, "")) for a in axes)
        values.setdefault(setting, [])
        if job.status == COMPLETED:
            values[setting].append(job.best(metric))
    return {setting: summarise(v, LEVEL, metric_range(metric)) for setting, v in values.items()}


def _row(setting: Setting, a: Summary, b: Summary, mode: str) -> dict[str, object]:
    difference = b.mean - a.mean
    if math.isnan(difference):
        change, overlap = "-", "-"
    elif not (math.isnan(a.low) or math.isnan(b.low)):
        overlap = "yes" if a.overlaps(b) else "no"
        change = TIED if a.overlaps(b) else _direction(difference, mode)
    else:  # a single run on one side: no interval to test the difference against
        overlap = "-"
        change = f"{_direction(difference, mode)} (no interval)" if difference else TIED
    return {
        **dict(setting),
        "A": _shown(a),
        "A n": a.n,
        "B": _shown(b),
        "B n": b.n,
        "B - A": difference,
        f"{LEVEL:.0%} intervals overlap": overlap,
        "change": change,
    }


def _direction(difference: float, mode: str) -> str:
    return BETTER if (difference < 0) == (mode == "min") else WORSE


def _shown(summary: Summary) -> str:
    if summary.n == 0:
        return "-"
    if math.isnan(summary.low):
        return f"{summary.mean:.4g}"
    return f"{summary.mean:.4g} [{summary.low:.4g}, {summary.high:.4g}]"


def _code(jobs: list[Job]) -> str:
    labels = Counter(code_label(j.metrics.get("provenance")) for j in jobs if j.metrics)
    return ", ".join(f"`{label}` ({n} jobs)" for label, n in labels.most_common()) or "unknown"


def comparison_markdown(result: Comparison, a: Path, b: Path) -> str:
    columns = [*result.axes, "A", "A n", "B", "B n", "B - A"]
    columns += [f"{LEVEL:.0%} intervals overlap", "change"]
    headers = [*result.axes, f"A: best {result.metric}", "n", f"B: best {result.metric}", "n"]
    headers += ["B - A", f"{LEVEL:.0%} intervals overlap", "change"]
    lines = [
        "# Two sweeps compared",
        "",
        f"- A: `{a}`, ran {result.code_a}",
        f"- B: `{b}`, ran {result.code_b}",
        "",
        f"Best `{result.metric}` ({result.mode}imised) of every setting in both: the mean "
        f"over its seeds with its {LEVEL:.0%} interval, or a single run's value. A change "
        "is `tied` where the intervals overlap.",
        "",
        markdown_table(result.rows, columns, headers) if result.rows else "No setting is in both.",
        "",
    ]
    for name, settings in (("A", result.only_a), ("B", result.only_b)):
        if settings:
            shown = "; ".join(",".join(f"{k}={v}" for k, v in s) or "(none)" for s in settings)
            lines.append(f"Only in {name}: {shown}.")
    return "\n".join(lines).rstrip() + "\n"


def write_comparison(
    sweep_a: Path,
    sweep_b: Path,
    out: Path | None = None,
    metric: str | None = None,
    replicate_keys: Sequence[str] = REPLICATE_KEYS,
) -> tuple[Path, str]:
    """Write the comparison (by default `<B>/compare_<A's name>.md`); return its path and
    the one-line answer."""
    result = compare(sweep_a, sweep_b, metric, replicate_keys)
    path = out or sweep_b / f"compare_{sweep_a.resolve().name}.md"
    write_text_atomic(path, comparison_markdown(result, sweep_a, sweep_b))
    return path, result.answer("A", "B")
