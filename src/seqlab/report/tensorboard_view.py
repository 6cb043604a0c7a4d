"""A sweep as TensorBoard should show it: `<sweep>/tensorboard/`, one run per job named by
its swept values; with replicates (seeds), one more run per setting holding the mean of its
jobs' learning curves and their 95% interval; a Custom Scalars layout with one chart per
metric, each setting's mean as a line in its shaded interval; and an HParams experiment
whose columns are the swept keys, then the metrics in the data's units.

    <sweep>/tensorboard/hidden_dim=64,lr=0.1,seed=2 -> ../4/tensorboard   (a symlink)
    <sweep>/tensorboard/hidden_dim=64,lr=0.1 (mean of 3)/events.out...    (the mean run)

`tensorboard --logdir <sweep>/tensorboard` then lists the runs, and the HParams tab the
trials, under those names. The jobs' own event files stay in their run directories, so a
single job still opens on its own. The HParams experiment goes into the first job's run
(a file of its own there): at the view's top it would be a run of its own, named `.`.
Written by the sweep report (at the end of a sweep, and by every `seqlab-report`); no torch
and no TensorFlow, only TensorBoard's protobufs.
"""

from __future__ import annotations

import math
import os
import re
import shutil
import socket
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from seqlab.files import write_atomic
from seqlab.names import INTERVAL, final_name, interval_tags, logged_key, result_tag
from seqlab.sweeps.curves import Curve, averaged_jobs, mean_curves
from seqlab.sweeps.jobs import LEVEL, Job, best_column, override_value, value_order
from seqlab.sweeps.replicates import Group, stage_metrics

VIEW_DIR = "tensorboard"  # in the sweep directory
EXPERIMENT_SUFFIX = ".seqlab-hparams"
MEAN_SUFFIX = ".seqlab-mean"
NOTES_SUFFIX = ".seqlab-notes"
NOTES_RUN = "~sweep"  # the view's run that holds the report's notes (Text tab)
MEAN_RUN = re.compile(r" \(mean of \d+\)$")  # a mean run's name ends so


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
    # A key the job did not set (a search's trials have no seed, its confirmation has) is
    # left out of its name.
    parts = [f"{names[a]}={_shown(job.overrides[a], digits)}" for a in axes if a in job.overrides]
    return (",".join(parts) or f"job {job.name}").replace("/", "_")


def _shown(value: str, digits: int | None) -> str:
    number = override_value(value)
    if digits is None or not isinstance(number, float) or len(value) <= digits + 3:
        return value
    return f"{number:.{digits}g}"


def write_view(
    sweep_dir: Path,
    jobs: list[Job],
    axes: list[str],
    metric: str,
    groups: Sequence[Group] | None = None,
    notes: str = "",
) -> None:
    """`<sweep>/tensorboard/`: the jobs' TensorBoard runs named by their swept values; for
    `groups` (settings with replicates), their mean runs and the Custom Scalars layout; the
    HParams columns: swept keys, then best, final and test values (`write_experiment`);
    and `notes` (Markdown: what mattered) in the Text tab, as the run `~sweep`."""
    with_logs = [job for job in jobs if (sweep_dir / job.name / VIEW_DIR).is_dir()]
    if not with_logs:
        return  # no job logged to TensorBoard (e.g. logger=csv)
    directory = link_runs(sweep_dir, run_labels(jobs, axes))
    write_means(directory, groups or [], metric)
    val_metric, test_metric = stage_metrics(metric)
    # The columns' tags are the ones train() logs its results under (seqlab.names).
    shown = [best_column(metric), final_name(val_metric), final_name(test_metric)]
    metrics = [(result_tag(name), name) for name in shown]
    home = sweep_dir / with_logs[0].name / VIEW_DIR
    write_experiment(home, jobs, axes, metrics)
    write_notes(directory / NOTES_RUN, notes)
    # An older report's experiment elsewhere (the view's top, another job) would compete.
    for other in [directory, *(sweep_dir / job.name / VIEW_DIR for job in with_logs[1:])]:
        for file in other.glob(f"events.out.tfevents.*{EXPERIMENT_SUFFIX}"):
            file.unlink(missing_ok=True)


def setting_label(group: Group) -> str:
    """`hidden_dim=64,lr=0.1`: a setting by its swept values, short names as the runs'."""
    names = short_names(list(group.settings))
    shown = (f"{names[k]}={_shown(v, 4)}" for k, v in group.settings.items())
    return ",".join(shown) or "all jobs"


def mean_run_name(group: Group, averaged: int) -> str:
    """`hidden_dim=64,lr=0.1 (mean of 3)`: the setting, and how many jobs its mean has."""
    return f"{setting_label(group)} (mean of {averaged})".replace("/", "_")


def write_means(view: Path, groups: Sequence[Group], monitor: str) -> list[Path]:
    """A run per setting with two or more finished replicates, `<setting> (mean of n)`:
    at each epoch, for every epoch metric, the mean over the jobs that reached it (under
    the jobs' own tag, so it shares their charts), its interval's bounds (seqlab.names.
    interval_tags) and how many jobs it averages. The first also holds the Custom Scalars
    layout. Mean runs of settings no longer there are removed."""
    curves = {}
    for group in groups:
        averaged = averaged_jobs(group.jobs)
        if len(averaged) >= 2:
            curves[mean_run_name(group, len(averaged))] = mean_curves(averaged, LEVEL)
    for entry in view.iterdir():
        if MEAN_RUN.search(entry.name) and entry.name not in curves and not entry.is_symlink():
            shutil.rmtree(entry, ignore_errors=True)
    written = []
    tags = sorted(
        {logged_key(m) for run in curves.values() for m in run}, key=_chart_order(monitor)
    )
    for i, (name, run) in enumerate(curves.items()):
        events = _mean_events(run)
        if i == 0:
            events.append(_layout_event(tags))
        written.append(_write_events(view / name, events, MEAN_SUFFIX))
    return written


def _chart_order(monitor: str) -> Any:
    """Charts with the monitored metric first, then validation, then training metrics."""

    def key(tag: str) -> tuple:
        return (tag != monitor, not tag.startswith("val/"), tag)

    return key


def _mean_events(curves: dict[str, Curve]) -> list[Any]:
    from tensorboard.compat.proto.event_pb2 import Event
    from tensorboard.compat.proto.summary_pb2 import Summary

    now = time.time()
    by_epoch: dict[int, list[Any]] = {}
    for name, curve in curves.items():
        tag = logged_key(name)
        low_tag, high_tag = interval_tags(tag)
        for epoch, summary in curve:
            values = by_epoch.setdefault(epoch, [])
            if summary.n == 0:
                continue
            values.append(Summary.Value(tag=tag, simple_value=summary.mean))
            if not math.isnan(summary.low):
                values.append(Summary.Value(tag=low_tag, simple_value=summary.low))
                values.append(Summary.Value(tag=high_tag, simple_value=summary.high))
            values.append(Summary.Value(tag=f"{INTERVAL}/{tag}/jobs", simple_value=summary.n))
    return [
        Event(wall_time=now, step=epoch, summary=Summary(value=values))
        for epoch, values in sorted(by_epoch.items())
        if values
    ]


def _layout_event(tags: Sequence[str]) -> Any:
    """TensorBoard's Custom Scalars layout: one margin chart per metric, which draws every
    mean run's mean as a line inside its interval."""
    from tensorboard.compat.proto import tensor_pb2, tensor_shape_pb2, types_pb2
    from tensorboard.compat.proto.event_pb2 import Event
    from tensorboard.compat.proto.summary_pb2 import Summary
    from tensorboard.plugins.custom_scalar import layout_pb2, metadata

    charts = []
    for tag in tags:
        low, high = interval_tags(tag)
        series = layout_pb2.MarginChartContent.Series(value=tag, lower=low, upper=high)
        charts.append(
            layout_pb2.Chart(title=tag, margin=layout_pb2.MarginChartContent(series=[series]))
        )
    title = f"mean of the seeds, {LEVEL:.0%} interval"
    layout = layout_pb2.Layout(category=[layout_pb2.Category(title=title, chart=charts)])
    tensor = tensor_pb2.TensorProto(
        dtype=types_pb2.DT_STRING,
        tensor_shape=tensor_shape_pb2.TensorShapeProto(),
        string_val=[layout.SerializeToString()],
    )
    value = Summary.Value(
        tag=metadata.CONFIG_SUMMARY_TAG, metadata=metadata.create_summary_metadata(), tensor=tensor
    )
    return Event(wall_time=time.time(), step=0, summary=Summary(value=[value]))


def write_notes(run: Path, markdown: str) -> None:
    """The report's notes as a text summary (TensorBoard's Text tab renders Markdown
    tables) in the run directory `run`; no notes, no run."""
    from tensorboard.compat.proto import tensor_pb2, tensor_shape_pb2, types_pb2
    from tensorboard.compat.proto.event_pb2 import Event
    from tensorboard.compat.proto.summary_pb2 import Summary
    from tensorboard.plugins.text import metadata

    if not markdown.strip():
        for file in run.glob(f"events.out.tfevents.*{NOTES_SUFFIX}"):
            file.unlink(missing_ok=True)
        return
    title, _, body = markdown.strip().removeprefix("## ").partition("\n")
    tensor = tensor_pb2.TensorProto(
        dtype=types_pb2.DT_STRING,
        tensor_shape=tensor_shape_pb2.TensorShapeProto(),
        string_val=[body.strip().encode()],
    )
    value = Summary.Value(
        tag=title, metadata=metadata.create_summary_metadata(title, ""), tensor=tensor
    )
    event = Event(wall_time=time.time(), step=0, summary=Summary(value=[value]))
    _write_events(run, [event], NOTES_SUFFIX)


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
    _write_events(
        view, [Event(wall_time=time.time(), summary=Summary(value=[value]))], EXPERIMENT_SUFFIX
    )


def _write_events(directory: Path, events: Sequence[Any], suffix: str) -> Path:
    """`events` in a new event file `*<suffix>` of `directory`, which replaces the ones
    with that suffix there. A new file name, since TensorBoard's server reads each event
    file once, to its end; filled atomically; the old file goes only once the new one is
    in place."""
    from tensorboard.compat.proto.event_pb2 import Event
    from tensorboard.summary.writer.record_writer import RecordWriter

    directory.mkdir(parents=True, exist_ok=True)
    old = list(directory.glob(f"events.out.tfevents.*{suffix}"))
    now = time.time()
    name = f"events.out.tfevents.{int(now):010d}.{socket.gethostname()}.{os.getpid()}"
    path = directory / f"{name}{suffix}"
    if path.exists():  # a second report within the same second, by this process
        path = directory / f"{name}.{time.monotonic_ns()}{suffix}"
    head = Event(wall_time=now, file_version="brain.Event:2")

    def write(f: Any) -> None:
        records = RecordWriter(f)
        for event in [head, *events]:
            records.write(event.SerializeToString())

    write_atomic(path, write)
    for file in old:
        if file != path:
            file.unlink(missing_ok=True)
    return path


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
