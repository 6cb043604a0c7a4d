"""The progress bar for where a run is watched: Rich's in a terminal, tqdm's notebook
widget inside a Jupyter kernel.

Rich draws into a notebook too (through an ipywidgets Output), but it renders its whole
display again at every update, which makes a notebook's epochs of a small model several
times slower; tqdm's widget updates one bar. Chosen when the callback is built, so a run's
config is the same wherever it runs.
"""

from __future__ import annotations

import sys
from typing import Any


def in_notebook() -> bool:
    """Whether this process is a Jupyter kernel (IPython's ZMQ shell)."""
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None else None
    return type(shell).__name__ == "ZMQInteractiveShell"


def ProgressBar(refresh_rate: int = 10, leave: bool = False) -> Any:
    """Lightning's RichProgressBar, or in a notebook its TQDMProgressBar (a widget where
    ipywidgets is installed: `pip install seqlab[notebook]`)."""
    from lightning.pytorch.callbacks import RichProgressBar, TQDMProgressBar

    if in_notebook():
        return TQDMProgressBar(refresh_rate=refresh_rate, leave=leave)
    return RichProgressBar(refresh_rate=refresh_rate, leave=leave)
