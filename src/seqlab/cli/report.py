"""seqlab-report: summarise a multirun (summary.csv, summary.md, plots), or compare two
(`--compare A B`). No torch."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from seqlab.config import ConfigError
from seqlab.files import unwritable
from seqlab.report.summary import write_report
from seqlab.sweeps.jobs import REPLICATE_KEYS


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="seqlab-report",
        description="Summarise a seqlab multirun: summary.csv, summary.md and plots; or "
        "compare two sweeps setting by setting (--compare A B).",
    )
    parser.add_argument("sweep_dir", type=Path, nargs="?", help="the multirun directory")
    parser.add_argument(
        "--compare",
        nargs=2,
        type=Path,
        metavar=("A", "B"),
        help="compare sweep B with sweep A: one row per setting both ran",
    )
    parser.add_argument(
        "--out", type=Path, help="where --compare writes its table (default: B/compare_<A>.md)"
    )
    parser.add_argument("--metric", help="metric to rank by (default: the runs' monitor)")
    parser.add_argument("--no-plots", action="store_true", help="write only the tables")
    parser.add_argument(
        "--replicates",
        default=",".join(REPLICATE_KEYS),
        help="swept keys whose jobs replicate one setting, comma-separated (default: "
        "%(default)s; '' for none)",
    )
    args = parser.parse_args(argv)
    if (args.sweep_dir is None) == (args.compare is None):
        parser.error("give one sweep directory, or --compare A B")
    for directory in args.compare or [args.sweep_dir]:
        if not directory.is_dir():
            print(f"seqlab-report: error: {directory}: not a directory", file=sys.stderr)
            return 2
    replicates = [key for key in args.replicates.split(",") if key]
    try:
        if args.compare:
            return _compare(*args.compare, args.out, args.metric, replicates)
        path = write_report(args.sweep_dir, args.metric, not args.no_plots, replicates)
    except (FileNotFoundError, ConfigError) as e:
        print(f"seqlab-report: error: {e}", file=sys.stderr)
        return 2
    except OSError as e:  # a full disk, a quota, a read-only sweep directory
        print(f"seqlab-report: error: {unwritable(e) or e}", file=sys.stderr)
        return 1
    print(path.read_text())
    return 0


def _compare(a: Path, b: Path, out: Path | None, metric: str | None, replicates: list) -> int:
    from seqlab.report.compare import write_comparison

    path, answer = write_comparison(a, b, out, metric, replicates)
    print(f"A: {a}\nB: {b}\nComparison: {path}\n{answer}")
    return 0
