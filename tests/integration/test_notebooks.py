"""The notebooks of docs/notebooks/, run by a real Jupyter kernel (nbclient, ipykernel) as a
user's Jupyter runs them, from the committed files: they print what the tutorial and the
course notebook printed, and show runs, tables and figures as a notebook shows them."""

from __future__ import annotations

import os
from pathlib import Path

import nbformat
from nbclient import NotebookClient

from tests.conftest import REPO

NOTEBOOKS = REPO / "docs" / "notebooks"


def execute(name: str, cwd: Path) -> list[dict]:
    """Run a notebook in `cwd`; the outputs of its code cells, in order.

    The kernel gets one core, as every training in the tests gets one thread: its runs'
    `threads=auto` then means 1, and they do not crowd the other test workers' cores
    (torch's threads spin while they wait, and two workers already fill two cores)."""
    notebook = nbformat.read(NOTEBOOKS / name, as_version=4)
    client = NotebookClient(
        notebook, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(cwd)}}
    )
    cores = os.sched_getaffinity(0)
    worker = int(os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw") or 0)
    # Each test worker's kernel on a core of its own; the kernel, started from here, inherits it.
    os.sched_setaffinity(0, {sorted(cores)[worker % len(cores)]})
    try:
        client.execute()  # raises CellExecutionError, with the cell and its traceback
    finally:
        os.sched_setaffinity(0, cores)
    return [cell.outputs for cell in notebook.cells if cell.cell_type == "code"]


def text_of(outputs: list[dict]) -> str:
    parts = []
    for output in outputs:
        if output.output_type == "stream":
            parts.append(output.text)
        elif "data" in output:
            parts.append(output.data.get("text/plain", ""))
    return "".join(parts)


def kinds(outputs: list[dict]) -> set[str]:
    return {kind for output in outputs for kind in output.get("data", {})}


def test_the_tutorial_notebook(tmp_path):
    cells = execute("tutorial.ipynb", tmp_path)
    basics, trained, tags, curve_table, figure = cells
    assert "torch.Size([5, 1, 3]) torch.Size([1, 1, 3])" in text_of(basics)
    # The run as the cell's value: an HTML summary with its learning curve.
    result = [o for o in trained if o.output_type == "execute_result"][0]
    assert "completed" in result.data["text/html"] and "data:image/png" in result.data["text/html"]
    # Progress as a notebook widget, not terminal escape codes.
    assert "application/vnd.jupyter.widget-view+json" in kinds(trained)
    assert "\x1b[" not in "".join(o.text for o in trained if o.output_type == "stream")
    assert text_of(tags) == "DET NN V DET NN\n"
    assert "train/loss" in text_of(curve_table)
    assert "image/png" in kinds(figure)  # a matplotlib figure the user changed (its title)
    assert (tmp_path / "outputs" / "runs").is_dir()


def test_the_course_notebook(tmp_path):
    cells = execute("course.ipynb", tmp_path)
    run, epochs, lengths, grid, pivot, plot, handmade, seeds, latex, curriculum = cells
    assert "text/html" in kinds(run)
    printed = text_of(epochs).splitlines()
    assert printed[0] == "Epoch:   1  Loss:     7034.8"  # as the course notebook printed
    assert printed[1] == "Epoch:  10  Loss:     5015.2"
    assert "length" in text_of(lengths) and "mse" in text_of(lengths)
    assert "16 jobs (16 completed)" in text_of(grid)
    assert "data.length" in text_of(pivot) and "model.hidden_dim" in text_of(pivot)
    assert "image/png" in kinds(plot)
    # The notebook's hand-made runs as a sweep file, planned: 16 rows, nothing run.
    rows = text_of(handmade).strip().splitlines()
    assert "trainer.max_epochs" in rows[0] and len(rows) == 1 + 16
    assert "best" in text_of(seeds)
    assert r"\textbf{" in text_of(latex) and r"\toprule" in text_of(latex)
    assert "train_loss" in text_of(curriculum)
