"""The notebooks as students see them: solutions run top to bottom and draw their plots;
a fresh release runs to the end, failing only in graded cells (the stubs)."""

from __future__ import annotations

import nbformat
import pytest
from nbclient import NotebookClient

from helpers import COURSE, notebook_path

IDS = [a.id for a in COURSE.assignments]


def execute(path, allow_errors: bool):
    nb = nbformat.read(str(path), as_version=4)
    client = NotebookClient(
        nb,
        timeout=120,
        kernel_name="python3",
        allow_errors=allow_errors,
        resources={"metadata": {"path": str(path.parent)}},
    )
    client.execute()
    return nb


@pytest.mark.parametrize("assignment", IDS)
def test_solution_runs_and_draws(assignment):
    nb = execute(notebook_path("solutions", assignment), allow_errors=False)  # (how fast: benchmarks/grade_one.py)
    images = sum("image/png" in o.get("data", {}) for c in nb.cells if c.cell_type == "code" for o in c.outputs)
    assert images >= 2, "the lesson's plots should be drawn"
    checks = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade") and c.cell_type == "code"]
    for cell in checks:
        text = "".join(o.get("text", "") for o in cell.outputs)
        assert "the visible checks pass" in text, cell.source[:80]


@pytest.mark.parametrize("assignment", IDS)
def test_release_runs_to_the_end(assignment):
    nb = execute(notebook_path("assignments", assignment), allow_errors=True)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(c.execution_count for c in code), "every cell ran"
    for cell in code:
        errors = [o for o in cell.outputs if o.output_type == "error"]
        graded = cell.metadata.get("nbgrader", {}).get("grade", False)
        if errors:
            assert graded, f"a lesson cell failed: {cell.source[:80]}"
            assert errors[0].ename == "NotImplementedError"
    waiting = [c for c in code if "Implement the functions above" in "".join(o.get("text", "") for o in c.outputs)]
    assert waiting
    for cell in waiting:  # no empty axes: a figure begun before a stub raised is not shown
        assert not any("image/png" in o.get("data", {}) for o in cell.outputs), cell.source[:80]
