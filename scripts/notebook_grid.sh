#!/usr/bin/env bash
# The notebook's hand-run grid search as one Hydra multirun: 3 x 2 x 4 x 2 = 48 jobs of the
# faithful tutorial_sum preset. Extra arguments are passed on (e.g. trainer.max_epochs=20);
# LRS=0.1 runs the half of the grid with that learning rate (make bench does).
set -euo pipefail
cd "$(dirname "$0")/.."
exec .venv/bin/seqlab-train -m experiment=tutorial_sum \
    model.hidden_dim=8,32,64 model.lr="${LRS:-0.1,0.5}" data.length=2,4,8,16 data.n=1000,10000 \
    callbacks.progress_bar=null callbacks.model_summary=null "$@"
