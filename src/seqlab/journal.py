"""An Optuna study's journal file after a kill: Optuna appends its records one JSON line at a
time, and a kill mid-write leaves a torn last line that the next record would fuse with.
The sweep's driver cuts it off before the study writes again (seqlab.search.create_study).
"""

from __future__ import annotations

from pathlib import Path

from seqlab.config import ConfigError


def _parses(line: bytes) -> bool:
    import json

    try:
        json.loads(line)
    except ValueError:
        return False
    return True


def repair_journal(path: Path) -> bool:
    """Cut a study's journal back to its last complete record, if a kill tore the last one.

    The journal is one JSON record per line. Optuna skips a torn last line when it reads,
    but appends the next record right after it, fusing the two into a line no reader can
    parse. So before a resumed study writes, an incomplete last record is cut off, after a
    copy of the whole file is kept beside it (`optuna.journal.torn-<time>`). Whether it
    cut anything. Run by the sweep's driver, which holds the sweep's lock.
    """
    import logging
    import shutil
    import time

    if not path.is_file():
        return False
    data = path.read_bytes()
    if not data or (data.endswith(b"\n") and _parses(data[data.rfind(b"\n", 0, -1) + 1 :])):
        return False
    end = data.rfind(b"\n", 0, len(data) - 1) + 1  # where the torn last line starts
    if end and not _parses(data[data.rfind(b"\n", 0, end - 1) + 1 : end]):
        raise ConfigError(
            f"{path}: damaged before its last record (not a kill's torn write); "
            "left as it is: repair or remove it by hand"
        )
    stamp = time.strftime("%Y%m%d-%H%M%S")
    backup = next(
        candidate
        for n in range(1000)
        if not (
            candidate := path.with_name(f"{path.name}.torn-{stamp}{f'-{n}' if n else ''}")
        ).exists()
    )
    shutil.copy2(path, backup)
    with path.open("r+b") as f:
        f.truncate(end)
    logging.getLogger(__name__).info(
        "%s: cut a torn last record (%d bytes) off; the whole file is kept as %s",
        path,
        len(data) - end,
        backup.name,
    )
    return True
