"""Tables as CSV and Markdown: one writer for every table seqlab puts in a directory."""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from seqlab.files import write_text_atomic


def cell(value: Any, digits: int | None = 6) -> str:
    """A value as a table shows it: floats with `digits` significant digits (None: all of
    them), NaN and None empty."""
    if isinstance(value, float):
        if math.isnan(value):
            return ""
        return repr(value) if digits is None else f"{value:.{digits}g}"
    return "" if value is None else str(value)


def columns_of(rows: Sequence[dict[str, Any]]) -> list[str]:
    """Every key of the rows, in the order they first appear."""
    return list(dict.fromkeys(k for row in rows for k in row))


def write_csv(
    path: Path,
    rows: Sequence[dict[str, Any]],
    columns: Sequence[str] | None = None,
    digits: int | None = None,
) -> None:
    """Rows as CSV, a header first (by default every key of the rows), written atomically."""
    columns = list(columns or columns_of(rows))
    text = io.StringIO(newline="")
    writer = csv.DictWriter(text, fieldnames=columns, extrasaction="ignore")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: cell(row.get(k), digits) for k in columns})
    write_text_atomic(path, text.getvalue())


def markdown_table(
    rows: Sequence[dict[str, Any]],
    columns: Sequence[str],
    headers: Sequence[str] | None = None,
    digits: int = 6,
    numeric_right: bool = False,
) -> str:
    """Rows as a Markdown table; `headers` relabel the columns."""
    headers = list(headers or columns)
    align = "---:|" if numeric_right else "---|"
    lines = ["| " + " | ".join(headers) + " |", "|" + align * len(columns)]
    for row in rows:
        cells = [_escape(cell(row.get(c), digits)) for c in columns]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def write_tables(
    out_dir: Path,
    stem: str,
    rows: Sequence[dict[str, Any]],
    columns: Sequence[str],
    headers: Sequence[str] | None = None,
    digits: int = 4,
) -> None:
    """`<stem>.csv` and `<stem>.md` of the same rows into `out_dir`."""
    write_csv(out_dir / f"{stem}.csv", rows, columns)
    table = markdown_table(rows, columns, headers, digits, numeric_right=True)
    write_text_atomic(out_dir / f"{stem}.md", table + "\n")


def _escape(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")
