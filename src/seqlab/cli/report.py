"""seqlab-report: summarise a multirun (summary.csv, summary.md, plots). No torch."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from seqlab.files import unwritable
from seqlab.report.summary import write_report
from seqlab.sweep.jobs import REPLICATE_KEYS


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="seqlab-report",
        description="Summarise a seqlab multirun: summary.csv, summary.md and plots.",
    )
    parser.add_argument("sweep_dir", type=Path, help="the multirun directory")
    parser.add_argument("--metric", help="metric to rank by (default: the runs' monitor)")
    parser.add_argument("--no-plots", action="store_true", help="write only the tables")
    parser.add_argument(
        "--replicates",
        default=",".join(REPLICATE_KEYS),
        help="swept keys whose jobs replicate one setting, comma-separated (default: "
        "%(default)s; '' for none)",
    )
    args = parser.parse_args(argv)
    if not args.sweep_dir.is_dir():
        print(f"seqlab-report: error: {args.sweep_dir}: not a directory", file=sys.stderr)
        return 2
    try:
        replicates = [key for key in args.replicates.split(",") if key]
        path = write_report(args.sweep_dir, args.metric, not args.no_plots, replicates)
    except FileNotFoundError as e:
        print(f"seqlab-report: error: {e}", file=sys.stderr)
        return 2
    except OSError as e:  # a full disk, a quota, a read-only sweep directory
        print(f"seqlab-report: error: {unwritable(e) or e}", file=sys.stderr)
        return 1
    print(path.read_text())
    return 0
