#!/usr/bin/env bash
# On a machine with a CUDA GPU: train both experiments for a few epochs on the GPU and on
# the CPU, and print training steps/s side by side (from each run's metrics.json).
#
#   scripts/gpu_smoke.sh [extra overrides, e.g. trainer.precision=bf16-mixed]
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-.venv/bin/python}
TRAIN=${SEQLAB_TRAIN:-.venv/bin/seqlab-train}
"$PY" -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 'no CUDA device visible: nothing to compare')"

out=$(mktemp -d "${TMPDIR:-/tmp}/seqlab-gpu-smoke.XXXXXX")
QUIET=(callbacks.progress_bar=null trainer.enable_progress_bar=false callbacks.model_summary=null)
declare -A ARGS=(
  [sum]="experiment=sum trainer.max_epochs=3"
  [tagger]="experiment=tagger trainer.max_epochs=20 callbacks.early_stopping=null"
)
for experiment in sum tagger; do
  for trainer in gpu cpu; do
    # shellcheck disable=SC2086  # ARGS values are word lists on purpose
    "$TRAIN" ${ARGS[$experiment]} trainer=$trainer "${QUIET[@]}" "$@" \
      hydra.run.dir="$out/$experiment-$trainer" > "$out/$experiment-$trainer.out" 2>&1 \
      || { echo "failed: $experiment on $trainer (log: $out/$experiment-$trainer.out)"; exit 1; }
  done
done

"$PY" - "$out" <<'PYEOF'
import json, statistics, sys
from pathlib import Path

out = Path(sys.argv[1])
print(f"{'experiment':<10} {'GPU steps/s':>12} {'CPU steps/s':>12} {'GPU/CPU':>8}")
for experiment in ("sum", "tagger"):
    rates = {}
    for trainer in ("gpu", "cpu"):
        m = json.loads((out / f"{experiment}-{trainer}" / "metrics.json").read_text())
        steps_per_epoch = m["global_step"] / m["epochs"]
        # The first epoch includes CUDA start-up; the median of the rest is the steady rate.
        times = [row["epoch_s"] for row in m["history"]][1:] or [m["history"][0]["epoch_s"]]
        rates[trainer] = steps_per_epoch / statistics.median(times)
    print(f"{experiment:<10} {rates['gpu']:>12.1f} {rates['cpu']:>12.1f} "
          f"{rates['gpu'] / rates['cpu']:>8.2f}")
print(f"runs in {out}")
PYEOF
