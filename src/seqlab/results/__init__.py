"""Runs as Python objects and every result as a pandas DataFrame (docs/python.md).

`load(*paths)` opens run directories, sweep directories or whole roots such as `outputs/`,
at any depth, as a `Runs` collection; `seqlab.train` returns a `Run` and `seqlab.sweep` a
`Sweep`, and all three share one interface:

    runs.table()        one row per run: status, config by dotted key, best/final/test values
    runs.curves()       learning curves, long format: run, epoch, metric, value
    runs.groups()       seeds averaged: mean, std, 95% interval, n, ranks (as the report)
    runs.importance()   what mattered: each swept key's share, by Optuna's PED-ANOVA
    runs.where(model__hidden_dim=64, status="completed")    a filtered Runs
    runs.paper_table(format="latex")                        mean ± interval, best in bold
    runs.plot()         a matplotlib Figure of the learning curves

Runs that are still running, were killed, failed or cannot be read are there with their
status (and `error`), never skipped. Only this package's frames module imports pandas, when
a table is first asked for.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from seqlab.results.display import curve_figure, status_counts, summary_html
from seqlab.results.paper import paper_table
from seqlab.results.records import RunEntry, find_runs, read_run, read_sweep
from seqlab.sweeps.jobs import REPLICATE_KEYS, best_column

__all__ = ["Run", "Runs", "Sweep", "load", "paper_table"]

SUMMARY_LINES = 5  # the best runs or settings a notebook's summary draws


def load(*paths: str | Path) -> Runs:
    """Every run under `paths` (default: `outputs/`): run directories, sweep directories,
    or roots holding them at any depth. A missing path raises FileNotFoundError."""
    return Runs(find_runs([Path(p) for p in paths or ("outputs",)]))


class Runs:
    """A collection of runs, read from their directories when it was made."""

    def __init__(self, entries: Sequence[RunEntry]) -> None:
        self._entries = list(entries)

    # -- a collection ----------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self._entries)

    def __iter__(self) -> Iterator[Run]:
        return (Run._of(entry) for entry in self._entries)

    def __getitem__(self, index: int) -> Run:
        return Run._of(self._entries[index])

    def __add__(self, other: Runs) -> Runs:
        seen = {e.path for e in self._entries}
        return Runs([*self._entries, *(e for e in other._entries if e.path not in seen)])

    @property
    def paths(self) -> list[Path]:
        return [entry.path for entry in self._entries]

    def where(self, predicate: Callable[[Run], bool] | None = None, **conditions: Any) -> Runs:
        """The runs that meet every condition: a config key with `__` for its dots
        (`model__hidden_dim=64`), or `status`, `sweep`, `job`. A list, tuple or set means
        any of its values; a function is asked about the value. `predicate` is asked about
        each Run. `runs.table().query(...)` filters the table instead."""
        keys = {key.replace("__", "."): wanted for key, wanted in conditions.items()}
        unknown = [k for k in keys if not self._knows(k)]
        if unknown and self._entries:
            from seqlab.config import ConfigError

            raise ConfigError(
                f"{unknown[0]}: no run here has this key (give a config key with __ for its "
                "dots, e.g. model__hidden_dim, or status, sweep, job)"
            )
        kept = [
            e
            for e in self._entries
            if all(_matches(_value(e, k), wanted) for k, wanted in keys.items())
            and (predicate is None or predicate(Run._of(e)))
        ]
        return Runs(kept)

    def _knows(self, key: str) -> bool:
        return key in ("status", "sweep", "job") or any(key in e.config for e in self._entries)

    # -- tables ----------------------------------------------------------------------------

    def table(self) -> Any:
        """One row per run (a DataFrame): `run`, `sweep`, `job`, `status`, every config
        value by its dotted key, the best monitored value (`best val/mse`) and its epoch,
        the final and test values, epochs, wall time, start and end, the error of a run
        that failed, and the code provenance (`provenance.git.commit`, ...)."""
        from seqlab.results.frames import table

        return table(self._entries)

    def curves(self, metrics: Sequence[str] | str | None = None) -> Any:
        """Every run's learning curves in long format (a DataFrame with `run`, `sweep`,
        `job`, `epoch`, `metric`, `value`), for seaborn or `DataFrame.pivot`; `metrics`
        keeps some (`"val/mse"` or a list). Join the settings from `table()` on `run`."""
        from seqlab.results.frames import curves

        if isinstance(metrics, str):
            metrics = [metrics]
        return curves(self._entries, metrics)

    def groups(
        self,
        by: Sequence[str] | str | None = None,
        metric: str | None = None,
        replicate_keys: Sequence[str] = REPLICATE_KEYS,
    ) -> Any:
        """Seeds averaged (a DataFrame): one row per setting, best first, with n, the
        mean, std and 95% interval of the best, final and test values, and `rank` (`best`,
        `tied` where the intervals overlap the best's). The report's own code makes it, so
        for a sweep it equals the report's groups.csv. The settings are the swept keys, or
        the config keys `by` names (dots, as in the table)."""
        from seqlab.results.frames import groups

        if isinstance(by, str):
            by = [by]
        return groups(self._entries, by, metric, replicate_keys)

    def importance(
        self,
        by: Sequence[str] | str | None = None,
        metric: str | None = None,
        replicate_keys: Sequence[str] = REPLICATE_KEYS,
    ) -> Any:
        """What mattered (a DataFrame): how much of the monitored value each swept key (or
        each key of `by`) explains over the completed runs, as shares of 1, most important
        first; the report's own table (Optuna's PED-ANOVA importance)."""
        from seqlab.results.frames import importance

        if isinstance(by, str):
            by = [by]
        return importance(self._entries, by, metric, replicate_keys)

    def paper_table(
        self,
        format: str = "markdown",
        by: Sequence[str] | str | None = None,
        metric: str | None = None,
        metrics: Sequence[str] | None = None,
        digits: int = 4,
    ) -> str:
        """`groups(by, metric)` as a table for a paper, LaTeX or Markdown (see
        seqlab.results.paper.paper_table)."""
        return paper_table(self.groups(by, metric), format, metrics, digits)

    # -- figures and notebooks -------------------------------------------------------------

    def plot(
        self, metric: str | None = None, by: Sequence[str] | str | None = None, lines: int = 12
    ) -> Any:
        """A matplotlib Figure of `metric` (default: the monitored one) by epoch: a line
        per run, or with `by` (or seeds in the runs) each setting's mean and interval; the
        best `lines` of them."""
        return curve_figure(self._entries, metric, self._setting_groups(by), lines=lines)

    def _setting_groups(self, by: Sequence[str] | str | None) -> list | None:
        """(label, runs) per setting, best first, where the runs replicate settings: the
        groups the report makes, labelled as its mean runs are."""
        if by is None and not any(k in e.overrides for e in self._entries for k in REPLICATE_KEYS):
            return None
        from seqlab.report.tensorboard_view import setting_label
        from seqlab.results.frames import ranked_groups

        ranked, *_ = ranked_groups(self._entries, [by] if isinstance(by, str) else by, None)
        if not ranked or (by is None and max(len(g.jobs) for g in ranked) < 2):
            return None
        runs = {str(entry.path): entry for entry in self._entries}
        return [(setting_label(g), [runs[job.name] for job in g.jobs]) for g in ranked]

    def _heading(self) -> tuple[str, str]:
        """A summary's title, and what it counts."""
        return "seqlab runs", "runs"

    def _repr_html_(self) -> str:
        title, counted = self._heading()
        facts = {counted: len(self), "status": status_counts(self._entries)}
        figure = self.plot(lines=SUMMARY_LINES) if self else None
        return summary_html(title, facts, self._top_rows(), figure)

    def _top_rows(self, count: int = 5) -> list[dict[str, Any]]:
        """The best few settings (with replicates) or runs, for a summary."""
        if not self._entries:
            return []
        frame = self.groups()
        label = frame.attrs["best"]
        if len(frame) and frame["jobs"].max() > 1:
            settings = list(frame.columns[: list(frame.columns).index("n")])
            keep = [*settings, "n", f"{label} mean", f"{label} 95% CI", "rank"]
            return frame[keep].head(count).to_dict("records")
        table = self.table()
        keep = [c for c in ["job", "status", label, "epochs", "wall_s"] if c in table]
        table = table.sort_values(label, ascending=frame.attrs["mode"] == "min", na_position="last")
        return table[keep].head(count).to_dict("records")

    def __repr__(self) -> str:
        return f"<Runs: {len(self)} ({status_counts(self._entries)})>"


class Run(Runs):
    """One run directory: `seqlab.train` returns it, `Run(path)` opens one."""

    def __init__(self, path: str | Path) -> None:
        path = Path(path).absolute()
        if (
            not (path / ".hydra" / "overrides.yaml").is_file()
            and not (path / "metrics.json").is_file()
        ):
            raise FileNotFoundError(f"{path}: not a run directory (no .hydra/ or metrics.json)")
        (entry,) = find_runs([path]) if (path / ".hydra").is_dir() else [read_run(path)]
        super().__init__([entry])

    @classmethod
    def _of(cls, entry: RunEntry) -> Run:
        run = cls.__new__(cls)
        Runs.__init__(run, [entry])
        return run

    @property
    def _entry(self) -> RunEntry:
        return self._entries[0]

    @property
    def path(self) -> Path:
        return self._entry.path

    @property
    def status(self) -> str:
        return self._entry.status

    @property
    def config(self) -> dict[str, Any]:
        """The resolved config, by dotted keys."""
        return dict(self._entry.config)

    @property
    def overrides(self) -> dict[str, str]:
        return dict(self._entry.overrides)

    @property
    def metrics(self) -> dict[str, Any]:
        """metrics.json, with its history."""
        return {**self._entry.metrics, "history": self._entry.history()}

    @property
    def history(self) -> list[dict[str, Any]]:
        return list(self._entry.history())

    @property
    def monitor(self) -> str | None:
        return self._entry.metrics.get("monitor")

    @property
    def best(self) -> float | None:
        """The best value of the monitored metric."""
        monitor = self.monitor
        value = (self._entry.metrics.get("best") or {}).get(monitor) if monitor else None
        return float(value) if isinstance(value, (int, float)) else None

    @property
    def final(self) -> dict[str, float]:
        return dict(self._entry.metrics.get("final") or {})

    def checkpoint(self, which: str = "best") -> Path:
        """The path of the run's `best` or `last` checkpoint (for `seqlab-eval`, `seqlab-tag`)."""
        relative = (self._entry.metrics.get("checkpoints") or {}).get(which)
        path = self.path / (relative or f"checkpoints/{which}.ckpt")
        if not path.is_file():
            raise FileNotFoundError(f"{path}: this run has no {which} checkpoint")
        return path

    def tag(self, *sentences: str, checkpoint: str = "best") -> list[list[str]]:
        """The tags a tagger run gives each sentence (split on whitespace), as `seqlab-tag
        <run>/checkpoints/best.ckpt "..."` prints them; read without running code."""
        from seqlab.tagging import load_tagger

        model = load_tagger(str(self.checkpoint(checkpoint)))
        return [list(tags) for tags in model.tag([s.split() for s in sentences])]

    def _repr_html_(self) -> str:
        metrics = self._entry.metrics
        facts: dict[str, Any] = {"status": self.status}
        if self.monitor:
            facts[best_column(self.monitor)] = self.best
        # Test metrics, without per-tag ones (`test/acc_by_tag/NOUN`: dozens on a treebank).
        facts.update(
            {k: v for k, v in self.final.items() if k.startswith("test/") and k.count("/") == 1}
        )
        facts.update(epochs=metrics.get("epochs"), wall_s=metrics.get("wall_s"))
        if "error" in metrics:
            facts["error"] = metrics["error"]
        return summary_html(f"Run {self.path}", facts, [], self.plot())

    def __repr__(self) -> str:
        best = f", best {self.monitor} {self.best:.6g}" if self.best is not None else ""
        return f"<Run {self.path}: {self.status}{best}>"


class Sweep(Runs):
    """One sweep directory: `seqlab.sweep` returns it, `Sweep(path)` opens one."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path).absolute()
        if not self.path.is_dir():
            raise FileNotFoundError(f"{self.path}: no such sweep directory")
        super().__init__(read_sweep(self.path))

    @property
    def report(self) -> Path:
        """The sweep's summary.md (written when it ended, or by seqlab-report)."""
        return self.path / "summary.md"

    def _heading(self) -> tuple[str, str]:
        return f"Sweep {self.path}", "jobs"

    def __repr__(self) -> str:
        return f"<Sweep {self.path}: {len(self)} jobs ({status_counts(self._entries)})>"


def _value(entry: RunEntry, key: str) -> Any:
    if key == "status":
        return entry.status
    if key == "sweep":
        return str(entry.sweep) if entry.sweep else None
    if key == "job":
        return entry.job
    return entry.config.get(key)


def _matches(value: Any, wanted: Any) -> bool:
    if callable(wanted):
        return bool(wanted(value))
    if isinstance(wanted, (list, tuple, set, frozenset)):
        return any(_matches(value, w) for w in wanted)
    if isinstance(wanted, Path) or isinstance(value, str) and isinstance(wanted, Path):
        return str(value) == str(wanted)
    return value == wanted
