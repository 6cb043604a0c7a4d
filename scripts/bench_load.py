"""How long seqlab.load takes on many runs, against a hand-written walker side by side.

    .venv/bin/python scripts/bench_load.py [--runs 1000 10000] [--epochs 100]

Generates the runs (tests/conftest.py's fake_outputs: 100-job sweeps, `--epochs` epochs of
history each) in a temporary directory, then times, each in a fresh process with a cold
Python (imports included):
- the baseline: glob every metrics.json, json.load it, a DataFrame of their fields;
- `seqlab.load(root).table()` with no index yet (it writes one beside each sweep);
- the same again, through the indexes;
- `seqlab.load(root).curves()` (every history read).
Prints a Markdown table; docs/benchmarks.md keeps the results with the date and machine.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

BASELINE = """
import json, sys
from pathlib import Path
import pandas as pd
rows = []
for path in Path(sys.argv[1]).rglob("metrics.json"):
    m = json.loads(path.read_bytes())
    rows.append({"run": str(path.parent), "status": m["status"], **m["config"],
                 **{"best " + k: v for k, v in m["best"].items()}, "epochs": m["epochs"]})
print(len(pd.DataFrame(rows)))
"""
TABLE = "import sys, seqlab; print(len(seqlab.load(sys.argv[1]).table()))"
CURVES = "import sys, seqlab; print(len(seqlab.load(sys.argv[1]).curves()))"


def timed(code: str, root: Path) -> tuple[float, str]:
    start = time.perf_counter()
    out = subprocess.run(
        [sys.executable, "-c", code, str(root)], capture_output=True, text=True, check=True
    ).stdout.strip()
    return time.perf_counter() - start, out


def main() -> None:
    from tests.conftest import fake_outputs

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--epochs", type=int, default=100)
    args = parser.parse_args()
    print("| runs | baseline walker | load().table(), no index | with index | curves() |")
    print("|---:|---:|---:|---:|---:|")
    for runs in args.runs:
        with tempfile.TemporaryDirectory() as tmp:
            root = fake_outputs(Path(tmp), runs, args.epochs)
            base, n_base = timed(BASELINE, root)
            cold, n_cold = timed(TABLE, root)
            warm, n_warm = timed(TABLE, root)
            curves, n_rows = timed(CURVES, root)
            assert n_base == n_cold == n_warm == str(runs), (n_base, n_cold, n_warm)
            print(
                f"| {runs:,} | {base:.2f} s | {cold:.2f} s ({cold / base:.2f}×) | "
                f"{warm:.2f} s ({warm / base:.2f}×) | {curves:.2f} s ({int(n_rows):,} rows) |"
            )


if __name__ == "__main__":
    main()
