"""The end-of-sweep notice (`notify.url`, `notify.command`): the sweep's summary as JSON,
POSTed to a URL or given on stdin to a command, when a multirun ends.

A notice is told, never relied on: whatever goes wrong with it (a dead port, a command that
fails or hangs) is one warning line, and the sweep's exit status stays what it was.

A light module: the standard library's urllib and subprocess only.
"""

from __future__ import annotations

import json
import os
import subprocess
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from seqlab.sweeps.status import BAD, cause, read_status


def sweep_summary(sweep_dir: str | Path, report: str | Path | None) -> dict[str, Any]:
    """What a notice says: the counts, the best job and its settings, the failed jobs with
    their causes, and where the report is."""
    status = read_status(sweep_dir, driving=True, queue=False)
    best = None
    if status.best is not None:
        metric, value, name = status.best
        job = next(j for j in status.jobs if j.name == name)
        best = {"job": name, "metric": metric, "value": value, "overrides": job.overrides}
    return {
        "sweep_dir": str(Path(sweep_dir).resolve()),
        "report": str(report) if report else None,
        "total": status.total,
        "counts": {k: v for k, v in sorted(status.counts.items()) if v},
        "elapsed_s": round(status.elapsed_s, 3) if status.elapsed_s is not None else None,
        "best": best,
        "failed": [
            {
                "job": j.name,
                "status": j.status,
                "cause": cause(j),
                "dir": str(Path(sweep_dir).resolve() / j.name),
            }  # fmt: skip
            for j in status.jobs
            if j.status in BAD
        ],
    }


def send_notice(notify: Any, summary: dict[str, Any]) -> list[str]:
    """Send `summary` as `notify` asks (url, command, timeout_s); the lines to warn with,
    one per notice that failed."""
    if not notify:
        return []
    body = json.dumps(summary).encode()
    timeout = float(notify.get("timeout_s") or 10)
    problems = []
    if url := notify.get("url"):
        request = urllib.request.Request(
            str(url), data=body, method="POST", headers={"Content-Type": "application/json"}
        )
        try:
            with urllib.request.urlopen(request, timeout=timeout) as answer:  # noqa: S310
                answer.read()
        except (urllib.error.URLError, OSError, ValueError) as e:
            why = getattr(e, "reason", None) or e
            problems.append(f"notify.url={url}: the notice was not sent ({why})")
    if command := notify.get("command"):
        env = {**os.environ, "SEQLAB_SWEEP_DIR": summary["sweep_dir"]}
        try:
            done = subprocess.run(
                str(command), shell=True, input=body, env=env, timeout=timeout,  # noqa: S602
                capture_output=True, check=False,
            )  # fmt: skip
            if done.returncode != 0:
                tail = (done.stderr.decode(errors="replace").strip().splitlines() or [""])[-1]
                problems.append(f"notify.command: exit status {done.returncode} {tail}".rstrip())
        except (OSError, subprocess.SubprocessError) as e:
            problems.append(f"notify.command: {e}")
    return problems
