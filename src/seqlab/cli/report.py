"""seqlab-report: summarise a multirun (summary.csv, summary.md, plots), compare two
(`--compare A B`), or print any set of runs as a table (`--table runs|groups|curves`,
the tables of seqlab.load(...)). No torch; pandas only for --table."""

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
    parser.add_argument(
        "paths",
        type=Path,
        nargs="*",
        metavar="DIR",
        help="the multirun directory; with --table, run and sweep directories or roots",
    )
    parser.add_argument(
        "--table",
        choices=TABLES,
        help="print the runs under DIR... as a table: one row per run, seeds averaged per "
        "setting, or learning curves (long format)",
    )
    parser.add_argument(
        "--format",
        choices=("csv", "markdown", "latex"),
        default="csv",
        help="--table's format (latex: --table groups only, as a paper table; default: csv)",
    )
    parser.add_argument(
        "--by", help="--table groups: the settings' config keys, comma-separated (default: swept)"
    )
    parser.add_argument(
        "--compare",
        nargs=2,
        type=Path,
        metavar=("A", "B"),
        help="compare sweep B with sweep A: one row per setting both ran",
    )
    parser.add_argument(
        "--out",
        type=Path,
        help="where --compare writes its table (default: B/compare_<A>.md), or --table its "
        "table (default: standard output)",
    )
    parser.add_argument(
        "--watch",
        action="store_true",
        help="follow the sweep DIR while it runs (from any terminal or machine that sees its "
        "directory): a status line at each change, failed jobs as they end; exits when it ends",
    )
    parser.add_argument(
        "--every",
        type=float,
        default=5.0,
        metavar="S",
        help="--watch: at most one status line every S seconds (default: %(default)s)",
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
    if args.watch:
        return _watch(parser, args)
    if args.table is not None:
        return _table(parser, args)
    if (len(args.paths) != 1) == (args.compare is None) or (args.compare and args.paths):
        parser.error("give one sweep directory, or --compare A B")
    args.sweep_dir = args.paths[0] if args.paths else None
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


TABLES = ("runs", "groups", "curves")


def _watch(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    """--watch: follow one sweep until no process drives it; exit status 1 if some of its
    jobs did not finish, as the sweep's own (a failed job is an ended one)."""
    from seqlab.sweeps.status import StatusReporter

    if len(args.paths) != 1 or args.table or args.compare:
        parser.error("--watch follows one sweep directory")
    sweep_dir = args.paths[0]
    if not sweep_dir.is_dir():
        print(f"seqlab-report: error: {sweep_dir}: not a directory", file=sys.stderr)
        return 2
    if not any((sweep_dir / name).is_file() for name in ("plan.json", "multirun.yaml")):
        print(
            f"seqlab-report: error: {sweep_dir}: not a sweep directory (no plan.json or "
            "multirun.yaml); --watch follows outputs/multiruns/<date>/<time>_<id>",
            file=sys.stderr,
        )
        return 2
    try:
        status = StatusReporter(sweep_dir, driving=False, every_s=args.every).follow()
    except KeyboardInterrupt:
        return 130
    return 1 if status.finished < status.total else 0


def _table(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    """--table: the runs under the paths as CSV, Markdown or (groups) a LaTeX paper table,
    to standard output or --out."""
    if args.compare:
        parser.error("--table goes without --compare")
    if args.format == "latex" and args.table != "groups":
        parser.error("--format latex is for --table groups (a paper table)")
    for directory in args.paths or [Path("outputs")]:
        if not directory.is_dir():
            print(f"seqlab-report: error: {directory}: not a directory", file=sys.stderr)
            return 2
    from seqlab.results import load

    runs = load(*(args.paths or [Path("outputs")]))
    by = [key for key in args.by.split(",") if key] if args.by else None
    replicates = [key for key in args.replicates.split(",") if key]
    try:
        if args.table == "groups" and args.format == "latex":
            text = runs.paper_table("latex", by=by, metric=args.metric)
        else:
            frame = {
                "runs": runs.table,
                "curves": runs.curves,
                "groups": lambda: runs.groups(by, args.metric, replicates),
            }[args.table]()
            text = frame.to_csv(index=False) if args.format == "csv" else _markdown(frame)
    except ConfigError as e:
        print(f"seqlab-report: error: {e}", file=sys.stderr)
        return 2
    if args.out:
        from seqlab.files import write_text_atomic

        write_text_atomic(args.out, text)
        print(f"{args.table} table ({len(runs)} runs): {args.out}")
    else:
        sys.stdout.write(text)
    return 0


def _markdown(frame: object) -> str:
    from seqlab.render.tables import markdown_table

    rows = frame.to_dict("records")  # type: ignore[attr-defined]
    return markdown_table(rows, list(frame.columns)) + "\n"  # type: ignore[attr-defined]


def _compare(a: Path, b: Path, out: Path | None, metric: str | None, replicates: list) -> int:
    from seqlab.report.compare import write_comparison

    path, answer = write_comparison(a, b, out, metric, replicates)
    print(f"A: {a}\nB: {b}\nComparison: {path}\n{answer}")
    return 0
