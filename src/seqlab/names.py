"""Names that code, configs and reports share: metrics and run statuses.

A metric is `<stage>/<name>`: `train/loss`, `val/mse`, `test/acc`, `val/acc_by_tag/NOUN`.
`loss` is what the optimiser sees; `mse` (regressor) is the error in the data's original
units; `acc` (tagger) is token accuracy. Training values are logged twice, per step and per
epoch; Lightning (and so TensorBoard) calls them `train/<name>_step` and
`train/<name>_epoch`, while `metrics.json`, the report and this module call the epoch value
`train/<name>`. `logged_key` and `recorded_name` translate; nothing else spells a suffix.

Configs name metrics through the `${metric:...}` resolver (registered in seqlab.config),
so that `${metric:train/loss}` gives the key Lightning's callbacks must watch.
A light module (pyproject.toml's import-linter contracts): the CLI's fast paths and the
report import it.
"""

from __future__ import annotations

from typing import Any

# Stages and the metric names the models log.
TRAIN, VAL, TEST = "train", "val", "test"
LOSS, MSE, ACC, ACC_BY_TAG = "loss", "mse", "acc", "acc_by_tag"

STEP_SUFFIX, EPOCH_SUFFIX = "_step", "_epoch"


def metric(stage: str, name: str) -> str:
    """`stage/name`, as metrics.json and the report write it: metric("val", "loss")."""
    return f"{stage}/{name}"


def logged_key(name: str) -> str:
    """The key under which Lightning logs a recorded metric: `train/loss` -> `train/loss_epoch`.

    Training values are logged per step and per epoch; the recorded name means the epoch's.
    """
    is_train = name.startswith(f"{TRAIN}/")
    if is_train and not name.endswith((STEP_SUFFIX, EPOCH_SUFFIX)):
        return name + EPOCH_SUFFIX
    return name


def recorded_name(key: str) -> str:
    """The name metrics.json gives a logged key: `train/loss_epoch` -> `train/loss`."""
    return key.removesuffix(EPOCH_SUFFIX)


def is_epoch_metric(key: str) -> bool:
    """Whether a logged key is an epoch-level metric (not a per-step value, not `epoch`)."""
    return "/" in key and not key.endswith(STEP_SUFFIX)


def scalar_metrics(metrics: dict[str, Any]) -> dict[str, float]:
    """Epoch-level metrics as floats, named without Lightning's `_epoch` suffix.

    A value logged per step and per epoch appears as `x_step`, `x_epoch` and `x` (the epoch
    value); only the epoch value is kept, as `x`.
    """
    return {
        recorded_name(key): float(value)
        for key, value in sorted(metrics.items())
        if is_epoch_metric(key)
    }


TRAIN_LOSS, VAL_LOSS = metric(TRAIN, LOSS), metric(VAL, LOSS)

# The values a metric can take, by its name's last part, for intervals that stay inside
# them (seqlab.sweeps.stats): errors and losses are never negative, accuracies are shares.
POSITIVE = ("loss", "mse", "mae", "rmse", "nll", "perplexity", "wall_s", "parameters")
SHARES = ("acc", "accuracy", "f1", "precision", "recall")
UNBOUNDED = (-float("inf"), float("inf"))


def metric_range(name: str) -> tuple[float, float]:
    """(lowest, highest) value of a metric: `val/mse` and `best train/loss` (0, inf),
    `test/acc` and `val/acc_by_tag/NOUN` (0, 1); any other (-inf, inf)."""
    parts = name.split(" ")[-1].split("/")
    if ACC_BY_TAG in parts or parts[-1] in SHARES:
        return (0.0, 1.0)
    if parts[-1] in POSITIVE:
        return (0.0, float("inf"))
    return UNBOUNDED


# TensorBoard's tags. Its Time Series page groups cards by a tag's first part, orders the
# groups by name and opens the first two: the learning curves (`train/...`, `val/...`) must
# come first. A run's single values at its end (its best and final values, its test
# metrics, which HParams shows) go under RESULTS, and a mean run's interval bounds under
# INTERVAL: both sort after `val`.
RESULTS, INTERVAL = "~results", "~interval"


def result_tag(name: str) -> str:
    """The TensorBoard tag of a single value at a run's end: `test/mse` -> `~results/test/mse`,
    `best val/mse` -> `~results/best val/mse`."""
    return f"{RESULTS}/{name}"


def final_name(key: str) -> str:
    """How a run's final value is named among its results: `final val/mse`; a test
    metric, measured once at the end, keeps its name."""
    return key if key.startswith(f"{TEST}/") else f"final {key}"


def tensorboard_tag(key: str) -> str:
    """The tag under which a logged key goes to TensorBoard: test metrics are results."""
    return result_tag(key) if key.startswith(f"{TEST}/") else key


def interval_tags(tag: str) -> tuple[str, str]:
    """The tags of the lower and upper bound of a mean run's `tag`."""
    return f"{INTERVAL}/{tag}/low", f"{INTERVAL}/{tag}/high"


DEFAULT_MONITOR = VAL_LOSS

# The config node through which a search trial's job finds its trial (seqlab.search); its
# keys are the sweeper's bookkeeping, not settings a sweep varies.
TRIAL = "trial"
TRIAL_PREFIX = f"{TRIAL}."
# Likewise the node through which a PBT member's job finds its population (seqlab.tuning.pbt).
PBT = "pbt"
PBT_PREFIX = f"{PBT}."
# `resume=<dir>`: which directory a command carries on, not a setting of its runs.
RESUME = "resume"

# Run statuses, as metrics.json and the report give them.
RUNNING = "running"  # training now (or killed while it was)
COMPLETED = "completed"
FAILED = "failed"  # raised an error: metrics.json holds it under `error`
DIVERGED = "diverged"  # a loss became NaN or infinite; training stopped there
PRUNED = "pruned"  # a search trial stopped early by its study's pruner (`pruned_at`)
PENDING = "pending"  # a sweep job that has not started (no metrics.json yet; report only)
# A PBT member at the end of a generation (`paused_at`): its population's next step copies
# or keeps it, and its next generation resumes it from its last checkpoint.
PAUSED = "paused"
# Stopped from outside before it finished: a signal (SLURM's requeue, preemption, time limit
# or scancel; Ctrl-C) or an exit (submitit's, when it requeues a job before its time limit).
# Started again in its directory, it resumes from its last checkpoint.
INTERRUPTED = "interrupted"
# metrics.json cannot be read (torn, edited): the report names the file; `resume=` carries
# the run on from its last checkpoint.
UNREADABLE = "unreadable"
FINISHED = (COMPLETED, DIVERGED, PRUNED)  # a run in these states is not trained again
