"""Tables for a paper from a grouped DataFrame (seqlab.results.frames.groups): each
setting's mean ± half its interval (or [low, high] where it is not symmetric) and n, the
best setting in bold, the settings tied with it marked, as LaTeX (booktabs) or Markdown.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

FORMATS = ("markdown", "latex")
TIE_MARK = "†"
_LATEX_SPECIAL = {
    "\\": r"\textbackslash{}",
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "{": r"\{",
    "}": r"\}",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
}


def paper_table(
    grouped: Any,
    format: str = "markdown",
    metrics: Sequence[str] | None = None,
    digits: int = 4,
) -> str:
    """`grouped` (Runs.groups()) as a table for a paper.

    One row per setting, in the grouped table's order (best first): its settings, n, and
    for each of `metrics` (labels of the grouped table: by default the monitored best,
    `best val/mse`) the mean ± half the interval: the half to two significant digits (whole
    units from 10 up), the mean to the same decimal place; or where the interval is not
    symmetric about the mean, the mean and the interval's ends. The best setting's value is in
    bold and the settings whose interval overlaps the best's are marked with a dagger: the
    data cannot tell them apart. A setting with one finished run has no interval and shows
    its mean alone, to `digits` significant digits.
    """
    if format not in FORMATS:
        from seqlab.config import ConfigError

        raise ConfigError(f"format={format!r} is not allowed: expected one of {FORMATS}")
    ranked = grouped.attrs.get("best") or _first_mean(grouped)
    metrics = list(metrics or [ranked])
    level = grouped.attrs.get("level", 0.95)
    settings = _setting_columns(grouped)
    rows = []
    for _, row in grouped.iterrows():
        cells = [_value_text(row[key]) for key in settings] + [str(int(row["n"]))]
        for label in metrics:
            text = _estimate(
                row[f"{label} mean"], row[f"{label} low"], row[f"{label} high"], digits
            )
            cells.append(_marked(text, row["rank"] if label == ranked else "", format))
        rows.append(cells)
    headers = [*settings, "n", *metrics]
    note = (
        f"Mean ± half the {level:.0%} interval over n seeds, or mean [low, high] where the "
        "interval is not symmetric (a positive metric's); bold: best; "
        f"{TIE_MARK}: tied with the best (intervals overlap)."
    )
    if format == "latex":
        return _latex(headers, rows, len(settings), note)
    return _markdown(headers, rows, len(settings), note)


def _first_mean(grouped: Any) -> str:
    for column in grouped.columns:
        if column.endswith(" mean"):
            return column.removesuffix(" mean")
    raise ValueError("not a grouped table: no '<metric> mean' column")


def _setting_columns(grouped: Any) -> list[str]:
    """The columns before `n`: the settings' keys."""
    columns = list(grouped.columns)
    return columns[: columns.index("n")]


def _estimate(mean: float, low: float, high: float, digits: int) -> str:
    """`0.601 ± 0.051`: the half-interval to two significant digits (whole units from 10
    up) and the mean to the same decimal place; `0.601 [0.560, 0.702]` where the interval is
    not symmetric about the mean (a positive metric's, seqlab.sweeps.stats), to the places
    of its shorter side; without an interval, the mean to `digits` significant digits."""
    if mean is None or not math.isfinite(mean):
        return "–"
    half = (high - low) / 2 if low is not None and math.isfinite(low) else math.nan
    if not math.isfinite(half):
        return f"{mean:.{digits}g}"
    below, above = mean - low, high - mean
    symmetric = abs(above - below) <= 0.01 * (high - low)
    shorter = half if symmetric else min(below, above)
    places = max(0, 1 - math.floor(math.log10(shorter))) if shorter > 0 else digits
    if symmetric:
        return f"{mean:.{places}f} ± {half:.{places}f}"
    return f"{mean:.{places}f} [{low:.{places}f}, {high:.{places}f}]"


def _value_text(value: Any) -> str:
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return f"{value:g}"
    return "" if value is None else str(value)


def _marked(text: str, rank: str, format: str) -> str:
    if rank == "best":
        return rf"\textbf{{{_latex_number(text)}}}" if format == "latex" else f"**{text}**"
    if rank == "tied":
        if format == "latex":
            return rf"{_latex_number(text)}$^\dagger$"
        return f"{text} {TIE_MARK}"
    return _latex_number(text) if format == "latex" else text


def _latex_number(text: str) -> str:
    return text.replace("±", r"$\pm$").replace("–", "--")


def _latex_text(text: str) -> str:
    return "".join(_LATEX_SPECIAL.get(c, c) for c in text)


def _latex(headers: list[str], rows: list[list[str]], settings: int, note: str) -> str:
    align = "l" * settings + "r" * (len(headers) - settings)
    lines = [
        rf"\begin{{tabular}}{{{align}}}",
        r"\toprule",
        " & ".join(_latex_text(h) for h in headers) + r" \\",
        r"\midrule",
    ]
    for row in rows:
        cells = [_latex_text(c) for c in row[:settings]] + row[settings:]
        lines.append(" & ".join(cells) + r" \\")
    lines += [r"\bottomrule", r"\end{tabular}", "% " + note.replace(TIE_MARK, "dagger")]
    return "\n".join(lines) + "\n"


def _markdown(headers: list[str], rows: list[list[str]], settings: int, note: str) -> str:
    def line(cells: list[str]) -> str:
        return "| " + " | ".join(c.replace("|", r"\|") for c in cells) + " |"

    rule = "|" + "|".join("---" if i < settings else "---:" for i in range(len(headers))) + "|"
    return "\n".join([line(headers), rule, *(line(r) for r in rows), "", note]) + "\n"
