"""Shared helpers for the repository's tests: build submissions from the solution notebooks."""

from __future__ import annotations

import re
import shutil
import tempfile
from pathlib import Path

import nbformat

from autograder.config import load_course
from autograder.notebook import read_cells
from autograder.results import function_scores
from autograder.runner import run_assignment
from autograder.sandbox.client import Sandbox
from autograder.standins import StandinRule

from testcourse import REPO, copy_repo  # noqa: F401 - re-exported for the tests

#: the tests' own course (conftest.py points GD_COURSE_CONFIG at it), never the shipped course.yml
COURSE = load_course()
SUPPORT = REPO / "support"


def notebook_path(folder: str, assignment_id: str) -> Path:
    return REPO / folder / assignment_id / COURSE.assignment(assignment_id).notebook


def solution_cells(assignment_id: str) -> list[dict]:
    return read_cells(notebook_path("solutions", assignment_id))


def replace_function(cells: list[dict], function: str, source: str) -> list[dict]:
    """The cells with the student cell that defines ``function`` replaced by ``source``."""
    pattern = re.compile(rf"^def {function}\(", re.M)
    out, replaced = [], False
    for cell in cells:
        if cell["mode"] == "full" and pattern.search(cell["source"]):
            cell = {**cell, "source": source}
            replaced = True
        out.append(cell)
    assert replaced, f"no cell defines {function}"
    return out


def grade_sandboxed(assignment_id: str, cells: list[dict], functions: list[str] | None = None, limits=None):
    assignment = COURSE.assignment(assignment_id)
    with tempfile.TemporaryDirectory() as scratch:
        limits = limits or assignment.limits
        rule = StandinRule(tuple(assignment.functions))
        with Sandbox(cells, Path(scratch), [str(SUPPORT)], limits, rule) as sandbox:
            return run_assignment(sandbox, assignment, functions)


def scores(results) -> dict[str, tuple[float, float]]:
    return function_scores(results)


def write_notebook(
    assignment_id: str, into: Path, replace: dict[str, str] | None = None, extra: list[str] = ()
) -> Path:
    """A good submission of ``assignment_id`` (the release with the solutions pasted in), with the
    answer cells of ``replace`` swapped for other code and ``extra`` cells added after the imports."""
    path = filled_release(assignment_id, into)
    nb = nbformat.read(str(path), as_version=4)
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if cell.cell_type == "code" and meta.get("solution"):
            for function, source in (replace or {}).items():
                if re.search(rf"^def {function}\(", cell.source, re.M):
                    cell.source = source
    first_code = next(i for i, c in enumerate(nb.cells) if c.cell_type == "code")
    for offset, source in enumerate(extra, start=1):
        nb.cells.insert(first_code + offset, nbformat.v4.new_code_cell(source))
    nbformat.write(nb, str(path))
    return path


def filled_release(assignment_id: str, into: Path) -> Path:
    """The released notebook with the solution code pasted into every answer cell: what a
    good student submits (locked cells and checksums as released)."""
    solved = nbformat.read(str(notebook_path("solutions", assignment_id)), as_version=4)
    answers = {
        c.metadata["nbgrader"]["grade_id"]: c.source
        for c in solved.cells
        if c.metadata.get("nbgrader", {}).get("solution") and c.cell_type == "code"
    }
    nb = nbformat.read(str(notebook_path("assignments", assignment_id)), as_version=4)
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("solution") and cell.cell_type == "code":
            cell.source = answers[meta["grade_id"]]
    into.mkdir(parents=True, exist_ok=True)
    path = into / notebook_path("assignments", assignment_id).name
    nbformat.write(nb, str(path))
    shutil.copy(SUPPORT / "gd_support.py", into / "gd_support.py")
    return path
