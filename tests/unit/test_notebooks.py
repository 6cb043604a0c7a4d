"""The notebooks of docs/notebooks/ as committed: without outputs, and using seqlab's public
API only (tests/integration/test_notebooks.py runs them)."""

from __future__ import annotations

import json
import re

import pytest

import seqlab
from tests.conftest import REPO

NOTEBOOKS = sorted((REPO / "docs" / "notebooks").glob("*.ipynb"))


def test_both_notebooks_are_there():
    assert [p.name for p in NOTEBOOKS] == ["course.ipynb", "tutorial.ipynb"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_committed_without_outputs(path):
    notebook = json.loads(path.read_text())
    for number, cell in enumerate(notebook["cells"]):
        if cell["cell_type"] == "code":
            assert cell["outputs"] == [], f"{path.name}: cell {number} has outputs"
            assert cell["execution_count"] is None, f"{path.name}: cell {number} was run"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_only_the_public_api(path):
    notebook = json.loads(path.read_text())
    code = "\n".join(
        "".join(cell["source"]) for cell in notebook["cells"] if cell["cell_type"] == "code"
    )
    assert not re.search(r"^\s*(from seqlab\b|import seqlab\.)", code, re.MULTILINE)
    used = set(re.findall(r"\bseqlab\.(\w+)", code))
    assert used and used <= set(seqlab.__all__), used - set(seqlab.__all__)
