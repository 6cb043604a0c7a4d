"""Population-based training against random search, with the same total epochs, on the sum
regressor, over several seeds (docs/search.md, "PBT against random search").

Each method runs once per seed as a sweep of seqlab-train:
- PBT (`hparams_search=sum_pbt`): P members of E epochs, the learning rate explored every
  `interval` epochs, no scheduler (the schedule is PBT's to find);
- random search (`hparams_search=sum_optuna`, random sampler, no pruning, no confirmation):
  P trials of E epochs over the same learning-rate range, with the experiment's own
  cosine schedule.
Both spend P x E epochs. The result of a sweep is its winner's test MSE (the best
checkpoint of the best member or trial, tested as every run is) and its best val/mse; the
table gives each method's mean over the seeds with its interval (seqlab.sweeps.stats).

    python scripts/pbt_vs_random.py --seeds 1 2 3 --out outputs/pbt_vs_random
"""

from __future__ import annotations

import argparse
import json
import math
import subprocess
import sys
import time
from pathlib import Path

from seqlab.names import metric_range
from seqlab.sweeps.stats import summarise

LR = {"low": 3.0e-4, "high": 3.0e-2}


def run(args: list[str], cwd: Path) -> Path:
    cwd.mkdir(parents=True, exist_ok=True)
    command = [str(Path(sys.executable).parent / "seqlab-train"), *args]
    subprocess.run(command, cwd=cwd, check=True, capture_output=True, text=True)
    [sweep] = [p.parent for p in cwd.glob("outputs/multiruns/*/*/multirun.yaml")]
    return sweep


def winner(sweep: Path) -> dict[str, float]:
    """The sweep's best job by best val/mse: that value and its test/mse."""
    best = None
    for path in sweep.glob("*/metrics.json"):
        metrics = json.loads(path.read_text())
        value = metrics.get("best", {}).get("val/mse")
        done = metrics.get("status") == "completed" and value is not None
        if done and (best is None or value < best["val"]):
            best = {"val": value, "test": metrics["final"].get("test/mse", math.nan)}
    assert best is not None, f"{sweep}: no job completed"
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--population", type=int, default=6)
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--interval", type=int, default=4)
    parser.add_argument("--out", type=Path, default=Path("outputs/pbt_vs_random"))
    parser.add_argument("--jobs", type=int, default=2, help="jobs side by side")
    given = parser.parse_args()
    common = [
        "experiment=sum",
        "data.n=2000",
        f"trainer.max_epochs={given.epochs}",
        "hydra/launcher=local_parallel",
        f"hydra.launcher.n_jobs={given.jobs}",
        "callbacks.progress_bar=null",
        "logger=csv",
    ]
    lr = "{" + f"low:{LR['low']},high:{LR['high']},log:true" + "}"
    methods = {
        "PBT": [
            "hparams_search=sum_pbt",
            f"hydra.sweeper.population={given.population}",
            f"hydra.sweeper.interval={given.interval}",
            f"hydra.sweeper.hyperparams={{model.lr:{{init:{lr},factors:[0.8,1.2],resample_probability:0.25}}}}",
        ],
        "random search": [
            "hparams_search=sum_optuna",
            "hydra.sweeper.sampler=random",
            "hydra.sweeper.pruner=none",
            f"hydra.sweeper.n_trials={given.population}",
            f"hydra.sweeper.n_jobs={given.jobs}",
            "hydra.sweeper.confirm.top_k=0",
            "hydra.sweeper.confirm.seeds=0",
            f"hydra.sweeper.params={{model.lr:'tag(log, interval({LR['low']}, {LR['high']}))'}}",
        ],
    }
    rows = []
    for name, args in methods.items():
        results, start = [], time.perf_counter()
        for seed in given.seeds:
            sweep = run(
                [*args, *common, f"seed={seed}"], given.out / name.replace(" ", "_") / str(seed)
            )
            results.append(winner(sweep))
            print(f"{name} seed {seed}: {results[-1]} ({sweep})", flush=True)
        for key, metric in (("test", "test/mse"), ("val", "val/mse")):
            s = summarise([r[key] for r in results], 0.95, metric_range(metric))
            rows.append(
                f"| {name} | {metric} | {s.n} | {s.mean:.4g} | [{s.low:.4g}, {s.high:.4g}] | "
                + ", ".join(f"{r[key]:.4g}" for r in results)
                + " |"
            )
        print(f"{name}: {time.perf_counter() - start:.0f} s", flush=True)
    epochs = given.population * given.epochs
    print(
        f"\n{epochs} epochs per sweep ({given.population} x {given.epochs}); seeds {given.seeds}\n"
    )
    print("| method | winner's | seeds | mean | 95% interval | per seed |")
    print("|---|---|---|---|---|---|")
    print("\n".join(rows))


if __name__ == "__main__":
    main()
