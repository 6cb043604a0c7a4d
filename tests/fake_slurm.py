"""A stand-in for SLURM's commands, so tests can drive the submitit launcher on one machine.

Invoked as `fake_slurm.py <command> [args]` by small wrappers named sbatch, srun, sacct,
squeue, scancel and scontrol that a test puts first on PATH. State lives in $FAKE_SLURM_DIR:
one JSON file per job task. `sbatch` runs every task of the submitted script in the
background, with the environment variables a real allocation sets; `sacct` and `squeue`
report their states as SLURM prints them; `scancel` signals them; `scontrol requeue` kills a
task and starts its script again under the same job id, as SLURM does after a preemption.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

STATE = Path(os.environ.get("FAKE_SLURM_DIR", "/tmp/fake_slurm"))
FINISHED = {"COMPLETED", "FAILED", "CANCELLED", "TIMEOUT"}


def _task_file(job: str, task: int | None) -> Path:
    return STATE / "jobs" / (f"{job}_{task}.json" if task is not None else f"{job}.json")


def _read(path: Path) -> dict:
    return json.loads(path.read_text())


def _write(path: Path, data: dict) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data))
    tmp.replace(path)


def _sbatch_options(script: str) -> dict[str, str]:
    options = {}
    for line in Path(script).read_text().splitlines():
        match = re.match(r"#SBATCH\s+--([\w-]+)(?:[= ](.*))?", line)
        if match:
            options[match.group(1)] = (match.group(2) or "").strip()
    return options


def _start(record: Path) -> None:
    """Run one task's script in the background, detached from the caller."""
    proc = subprocess.Popen(
        [sys.executable, __file__, "_run", str(record)],
        start_new_session=True,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    data = _read(record)
    data.update(state="RUNNING", pid=proc.pid)
    _write(record, data)


def sbatch(args: list[str]) -> int:
    script = args[-1]
    options = _sbatch_options(script)
    (STATE / "jobs").mkdir(parents=True, exist_ok=True)
    counter = STATE / "next_id"
    job_id = int(counter.read_text()) if counter.exists() else 1000
    counter.write_text(str(job_id + 1))
    tasks: list[int | None] = [None]
    if "array" in options:
        low, high = options["array"].split("%")[0].split("-")
        tasks = list(range(int(low), int(high) + 1))
    for task in tasks:
        record = _task_file(str(job_id), task)
        env = {
            "SLURM_JOB_ID": str(job_id if task is None else job_id + 1 + task),
            "SLURM_JOB_NAME": options.get("job-name", "job"),
            "SLURM_NNODES": options.get("nodes", "1"),
            "SLURM_JOB_NUM_NODES": options.get("nodes", "1"),
            "SLURM_NTASKS_PER_NODE": options.get("ntasks-per-node", "1"),
            "SLURM_NTASKS": str(int(options.get("ntasks-per-node", "1"))),
            "SLURM_CPUS_PER_TASK": options.get("cpus-per-task", "1"),
            "SLURM_JOB_NODELIST": "localhost",
            "SLURMD_NODENAME": "localhost",
            "SLURM_NODEID": "0",
            "SLURM_SUBMIT_DIR": os.getcwd(),
        }
        if task is not None:
            env.update(SLURM_ARRAY_JOB_ID=str(job_id), SLURM_ARRAY_TASK_ID=str(task))
        _write(record, {"script": script, "cwd": os.getcwd(), "env": env, "state": "PENDING"})
        _start(record)
    print(f"Submitted batch job {job_id}")
    return 0


def _run(record_path: str) -> int:
    record = Path(record_path)
    data = _read(record)
    env = {**os.environ, **data["env"]}
    code = subprocess.call(["bash", data["script"]], cwd=data["cwd"], env=env)
    latest = _read(record)
    if latest.get("pid") == os.getpid() and latest["state"] == "RUNNING":
        latest["state"] = "COMPLETED" if code == 0 else "FAILED"
        latest["exit_code"] = code
        _write(record, latest)
    return code


def srun(args: list[str]) -> int:
    """Start SLURM_NTASKS copies of the command, each with its rank; wait for all."""
    outputs = {"--output": None, "--error": None}
    i = 0
    while i < len(args) and args[i].startswith("-"):
        name, _, value = args[i].partition("=")
        if name in outputs:
            if not value:
                i += 1
                value = args[i]
            outputs[name] = value
        i += 1
    command = args[i:]
    job = os.environ.get("SLURM_ARRAY_JOB_ID") or os.environ["SLURM_JOB_ID"]
    task = os.environ.get("SLURM_ARRAY_TASK_ID", "")
    procs = []
    for rank in range(int(os.environ.get("SLURM_NTASKS", "1"))):

        def expand(pattern: str | None, rank: int = rank) -> str | None:
            if pattern is None:
                return None
            for key, value in (("%A", job), ("%a", task), ("%j", job), ("%t", str(rank))):
                pattern = pattern.replace(key, value)
            return pattern

        env = {**os.environ, "SLURM_PROCID": str(rank), "SLURM_LOCALID": str(rank)}
        out = expand(outputs["--output"])
        err = expand(outputs["--error"]) or out
        stdout = open(out, "a") if out else None  # noqa: SIM115 (closed below)
        stderr = open(err, "a") if err else None  # noqa: SIM115
        procs.append((subprocess.Popen(command, env=env, stdout=stdout, stderr=stderr), stdout))
    _note_steps(job, task, [proc.pid for proc, _ in procs])
    codes = [proc.wait() for proc, _ in procs]
    for _, stream in procs:
        if stream:
            stream.close()
    return max(codes, key=abs)


def _note_steps(job: str, task: str, pids: list[int]) -> None:
    """Record the job step's processes: `scancel --signal` signals them, as SLURM does."""
    record = _task_file(job, int(task) if task else None)
    data = _read(record)
    data["step_pids"] = pids
    _write(record, data)


def _records(ids: list[str]) -> list[tuple[str, Path]]:
    """(job id as SLURM prints it, record) for ids like 1000, 1000_1."""
    found = []
    for job_id in ids:
        base, _, task = job_id.partition("_")
        pattern = f"{base}_{task}.json" if task else f"{base}*.json"
        for path in sorted((STATE / "jobs").glob(pattern)):
            found.append((path.stem, path))
    return found


def sacct(args: list[str]) -> int:
    ids = [args[i + 1] for i, a in enumerate(args) if a == "-j"]
    print("JobID|State|NodeList")
    for name, path in _records(ids):
        print(f"{name}|{_read(path)['state']}|localhost")
    return 0


def squeue(args: list[str]) -> int:
    print("JOBID STATE")
    for path in sorted((STATE / "jobs").glob("*.json")):
        state = _read(path)["state"]
        if state not in FINISHED:
            print(f"{path.stem} {state}")
    return 0


def _kill(data: dict, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError, KeyError, TypeError):
        os.killpg(data["pid"], sig)


def scancel(args: list[str]) -> int:
    sig = signal.SIGTERM
    ids = []
    i = 0
    while i < len(args):
        if args[i].startswith("--signal="):
            sig = getattr(signal, "SIG" + args[i].split("=", 1)[1].removeprefix("SIG"))
        elif args[i] in ("--signal", "-s"):
            sig = getattr(signal, "SIG" + args[i + 1].removeprefix("SIG"))
            i += 1
        elif not args[i].startswith("-"):
            ids.append(args[i])
        i += 1
    for _, path in _records(ids):
        data = _read(path)
        if sig in (signal.SIGTERM, signal.SIGKILL):
            _kill(data, sig)
            data["state"] = "CANCELLED"
            _write(path, data)
        else:  # like `scancel --signal`: to the job's steps, not to its batch script
            for pid in data.get("step_pids", []):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, sig)
    return 0


def scontrol(args: list[str]) -> int:
    if args[:1] != ["requeue"]:
        print(f"fake scontrol: unsupported: {args}", file=sys.stderr)
        return 1
    # The job itself may be asking (Lightning does): leave its process group before killing
    # it, or this process dies with the job and never starts it again.
    with contextlib.suppress(PermissionError):
        os.setsid()
    for _, path in _records(args[1].split(",")):
        data = _read(path)
        _kill(data, signal.SIGKILL)
        data.update(state="REQUEUED", requeued=data.get("requeued", 0) + 1, pid=None)
        _write(path, data)
        time.sleep(0.2)
        _start(path)
    return 0


COMMANDS = {
    "sbatch": sbatch,
    "srun": srun,
    "sacct": sacct,
    "squeue": squeue,
    "scancel": scancel,
    "scontrol": scontrol,
}


def install(bin_dir: Path) -> None:
    """Write the wrappers into bin_dir (put it first on PATH, set FAKE_SLURM_DIR)."""
    bin_dir.mkdir(parents=True, exist_ok=True)
    for name in COMMANDS:
        wrapper = bin_dir / name
        wrapper.write_text(f'#!/bin/sh\nexec "{sys.executable}" "{__file__}" {name} "$@"\n')
        wrapper.chmod(0o755)


if __name__ == "__main__":
    if sys.argv[1] == "_run":
        sys.exit(_run(sys.argv[2]))
    sys.exit(COMMANDS[sys.argv[1]](sys.argv[2:]))
