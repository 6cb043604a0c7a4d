"""A sweep as TensorBoard should show it: `<sweep>/tensorboard/`, one run per job named by
its swept values, and an HParams experiment whose columns are the swept keys, then the
metrics in the data's units.

    <sweep>/tensorboard/hidden_dim=64,lr=0.1,seed=2 -> ../4/tensorboard   (a symlink)
    <sweep>/tensorboard/events.out.tfevents.*.seqlab-hparams              (the experiment)

`tensorboard --logdir <sweep>/tensorboard` then lists the runs, and the HParams tab the
trials, under those names. The jobs' own event files stay in their run directories, so a
single job still opens on its own. Written by the sweep report (at the end of a sweep, and
by every `seqlab-report`); no torch and no TensorFlow, only TensorBoard's protobufs.
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from seqlab.files import write_atomic
from seqlab.sweep.jobs import Job, override_value, value_order
from seqlab.sweep.replicates import stage_metrics

VIEW_DIR = "tensorboard"  # in the sweep directory
EXPERIMENT_SUFFIX = ".seqlab-hparams"


def short_names(axes: Sequence[str]) -> dict[str, str]:
    """Each swept key by its last part (`model.lr` -> `lr`) where that is unambiguous."""
    last = [axis.rsplit(".", 1)[-1] for axis in axes]
    return {
        axis: short if last.count(short) == 1 else axis
        for axis, short in zip(axes, last, strict=True)
    }


def run_labels(jobs: Sequence[Job], axes: Sequence[str]) -> dict[str, str]:
    """{job name: `hidden_dim=64,lr=0.1,seed=2`}: the job's swept values, as a directory
    name (a `/` in a key or value becomes `_`). Long numbers (a search's sampled values)
    are cut to 4 significant digits, unless that would give two jobs the same name."""
    names = short_names(axes)
    for digits in (4, None):
        labels = {job.name: _label(job, axes, names, digits) for job in jobs}
        if len(set(labels.values())) == len(labels):
            break
    return labels


def _label(job: Job, axes: Sequence[str], names: dict[str, str], digits: int | None) -> str:
    parts = [f"{names[a]}={_shown(job.overrides.get(a, ''), digits)}" for a in axes]
    return (",".join(parts) or f"job {job.name}").replace("/", "_")


def _shown(value: str, digits: int | None) -> str:
    number = override_value(value)
    if digits is None or not isinstance(number, float) or len(value) <= digits + 3:
        return value
    return f"{number:.{digits}g}"


def write_view(sweep_dir: Path, jobs: list[Job], axes: list[str], metric: str) -> None:
    """`<sweep>/tensorboard/`: the jobs' TensorBoard runs named by their swept values, and
    the HParams columns: swept keys, then best, final and test values (`write_experiment`)."""
    if not any((sweep_dir / job.name / VIEW_DIR).is_dir() for job in jobs):
        return  # no job logged to TensorBoard (e.g. logger=csv)
    directory = link_runs(sweep_dir, run_labels(jobs, axes))
    val_metric, test_metric = stage_metrics(metric)
    metrics = [
        ("hp_metric", f"best {metric}"),
        (f"final/{val_metric}", f"final {val_metric}"),
        (f"final/{test_metric}", test_metric),
    ]
    write_experiment(directory, jobs, axes, metrics)


def link_runs(sweep_dir: Path, labels: dict[str, str]) -> Path:
    """(Re)make `<sweep>/tensorboard/<label>` -> `../<job>/tensorboard` for every job with
    TensorBoard logs; links of jobs that are gone are removed."""
    view = sweep_dir / VIEW_DIR
    view.mkdir(exist_ok=True)
    wanted = {
        label: Path("..") / job / VIEW_DIR
        for job, label in labels.items()
        if (sweep_dir / job / VIEW_DIR).is_dir()
    }
    for entry in view.iterdir():
        if entry.is_symlink() and wanted.get(entry.name) != Path(os.readlink(entry)):
            entry.unlink()
    for label, target in wanted.items():
        if not (view / label).is_symlink():
            (view / label).symlink_to(target, target_is_directory=True)
    return view


def write_experiment(
    view: Path, jobs: Sequence[Job], axes: Sequence[str], metrics: Sequence[tuple[str, str]]
) -> None:
    """The HParams experiment: the swept keys (each with the values it took), then
    `metrics` as (scalar tag, display name). Replaces the previous one."""
    from tensorboard.compat.proto.event_pb2 import Event
    from tensorboard.compat.proto.summary_pb2 import Summary
    from tensorboard.plugins.hparams import api_pb2, metadata, plugin_data_pb2
    from tensorboard.summary.writer.record_writer import RecordWriter

    names = short_names(axes)
    experiment = api_pb2.Experiment(
        hparam_infos=[_hparam_info(axis, names[axis], jobs) for axis in axes],
        metric_infos=[
            api_pb2.MetricInfo(
                name=api_pb2.MetricName(tag=tag),
                display_name=shown,
                dataset_type=api_pb2.DatasetType.Value(
                    "DATASET_VALIDATION" if "val/" in shown else "DATASET_UNKNOWN"
                ),
            )
            for tag, shown in metrics
        ],
    )
    content = plugin_data_pb2.HParamsPluginData(
        experiment=experiment, version=metadata.PLUGIN_DATA_VERSION
    )
    value = Summary.Value(
        tag=metadata.EXPERIMENT_TAG, metadata=metadata.create_summary_metadata(content)
    )
    old = list(view.glob(f"events.out.tfevents.*{EXPERIMENT_SUFFIX}"))
    # A new file name (TensorBoard's server reads each event file once, to its end), filled
    # atomically; the old experiment goes only once the new one is in place.
    now = time.time()
    name = f"events.out.tfevents.{int(now):010d}.{socket.gethostname()}.{os.getpid()}"
    path = view / f"{name}{EXPERIMENT_SUFFIX}"
    events = [
        Event(wall_time=now, file_version="brain.Event:2"),
        Event(wall_time=now, summary=Summary(value=[value])),
    ]

    def write(f: Any) -> None:
        records = RecordWriter(f)
        for event in events:
            records.write(event.SerializeToString())

    write_atomic(path, write)
    for file in old:
        if file != path:
            file.unlink(missing_ok=True)


def _hparam_info(axis: str, shown: str, jobs: Sequence[Job]) -> Any:
    """A swept key as HParams describes it: its type and the values the sweep gave it,
    typed as the jobs logged them (numbers, booleans or strings)."""
    from google.protobuf import struct_pb2
    from tensorboard.plugins.hparams import api_pb2

    raw = sorted({job.overrides[axis] for job in jobs if axis in job.overrides}, key=value_order)
    values = [_typed(v) for v in raw]
    if all(isinstance(v, bool) for v in values):
        kind, domain = "DATA_TYPE_BOOL", [struct_pb2.Value(bool_value=v) for v in values]
    elif all(isinstance(v, float) for v in values):
        kind, domain = "DATA_TYPE_FLOAT64", [struct_pb2.Value(number_value=v) for v in values]
    else:
        kind, domain = "DATA_TYPE_STRING", [struct_pb2.Value(string_value=v) for v in raw]
    return api_pb2.HParamInfo(
        name=axis,
        display_name=shown,
        type=api_pb2.DataType.Value(kind),
        domain_discrete=struct_pb2.ListValue(values=domain),
    )


def _typed(text: str) -> float | bool | str:
    if text.lower() in ("true", "false"):
        return text.lower() == "true"
    return override_value(text)
