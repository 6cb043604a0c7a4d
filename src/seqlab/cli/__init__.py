"""seqlab's commands. Each is a console script and also `seqlab <command>`:

    seqlab train ...    = seqlab-train ...    train a model, or sweep many with -m
    seqlab eval ...     = seqlab-eval ...     test a trained checkpoint
    seqlab report ...   = seqlab-report ...   summarise a sweep
    seqlab tag ...      = seqlab-tag ...      tag sentences with a trained tagger

COMMANDS is the one table of them (pyproject.toml's scripts point at the same functions).
Importing a command's module is light: torch and lightning load only once a run starts.
"""

from __future__ import annotations

import importlib
import sys

# name -> (module:function, what it does)
COMMANDS: dict[str, tuple[str, str]] = {
    "train": ("seqlab.cli.train:main", "train a model, or sweep many with -m"),
    "eval": ("seqlab.cli.evaluate:main", "test a trained checkpoint"),
    "report": ("seqlab.cli.report:main", "summarise a sweep: summary.csv, summary.md, plots"),
    "tag": ("seqlab.cli.tag:main", "tag sentences with a trained tagger"),
}


def usage() -> str:
    lines = [f"  {name:<8}{what}" for name, (_, what) in COMMANDS.items()]
    return (
        "usage: seqlab <command> [arguments]\n\ncommands:\n"
        + "\n".join(lines)
        + "\n\nA command's own options: seqlab <command> --help"
    )


def main() -> None:
    """seqlab <command> [arguments]: run one of COMMANDS."""
    args = sys.argv[1:]
    if not args or args[0] in ("-h", "--help"):
        print(usage())
        sys.exit(0 if args else 2)
    if args[0] not in COMMANDS:
        print(f"seqlab: error: {args[0]}: no such command ({', '.join(COMMANDS)})", file=sys.stderr)
        sys.exit(2)
    name = sys.argv.pop(1)
    module, _, function = COMMANDS[name][0].partition(":")
    sys.argv[0] = f"seqlab-{name}"
    sys.exit(getattr(importlib.import_module(module), function)())
