"""Time one 4-job sweep with the sequential launcher and with hydra/launcher=local_parallel.

    .venv/bin/python scripts/compare_launchers.py [--repeats 2] [extra overrides ...]

Runs the two side by side (alternating, `--repeats` times each) in temporary output
directories and prints wall times and the ratio parallel / sequential (median).
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SWEEP = [
    "experiment=sum",
    "trainer.max_epochs=4",
    "model.hidden_dim=32,64",
    "model.lr=1e-3,3e-3",
    "callbacks.progress_bar=null",
    "trainer.enable_progress_bar=false",
    "callbacks.model_summary=null",
]


def run_sweep(launcher: str | None, extra: list[str]) -> float:
    train = Path(sys.executable).parent / "seqlab-train"
    with tempfile.TemporaryDirectory() as out:
        args = [str(train), "-m", *SWEEP, *extra, f"paths.root={out}"]
        if launcher:
            args.append(f"hydra/launcher={launcher}")
        start = time.perf_counter()
        subprocess.run(args, check=True, capture_output=True)
        return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("overrides", nargs="*")
    args = parser.parse_args()
    times: dict[str, list[float]] = {"sequential": [], "local_parallel": []}
    for _ in range(args.repeats):
        times["sequential"].append(run_sweep(None, args.overrides))
        times["local_parallel"].append(run_sweep("local_parallel", args.overrides))
    for name, values in times.items():
        print(f"{name:15s} " + "  ".join(f"{t:6.1f}s" for t in values))
    ratio = statistics.median(times["local_parallel"]) / statistics.median(times["sequential"])
    print(f"parallel / sequential wall time (median): {ratio:.2f}")


if __name__ == "__main__":
    main()
