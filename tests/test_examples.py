"""The sample student of README's main command is a student of the current release: their notebook
is the released one with answers filled in, every other cell exactly as released."""

from __future__ import annotations

import nbformat
import pytest

from helpers import COURSE, REPO, notebook_path

IDS = [a.id for a in COURSE.assignments]


def _sample(assignment_id: str) -> nbformat.NotebookNode:
    path = REPO / "examples" / "sample_student" / assignment_id / COURSE.assignment(assignment_id).notebook
    return nbformat.read(str(path), as_version=4)


def _is_answer(cell) -> bool:
    return bool(cell.metadata.get("nbgrader", {}).get("solution"))


@pytest.mark.parametrize("assignment", IDS)
def test_sample_student_keeps_every_released_cell_as_released(assignment):
    release = nbformat.read(str(notebook_path("assignments", assignment)), as_version=4)
    sample = _sample(assignment)
    assert [c.id for c in sample.cells] == [c.id for c in release.cells], "the release's cells, in its order"
    for mine, released in zip(sample.cells, release.cells):
        assert mine.cell_type == released.cell_type and mine.metadata == released.metadata, mine.id
        if not _is_answer(released):
            assert mine.source == released.source, f"{assignment} {mine.id} differs from the release"


@pytest.mark.parametrize("assignment", IDS)
def test_sample_student_answered_everything_as_a_student(assignment):
    answers = [c for c in _sample(assignment).cells if _is_answer(c)]
    names = COURSE.assignment(assignment)
    assert {c.metadata["nbgrader"]["grade_id"] for c in answers} == set(names.points) | set(names.manual)
    for cell in answers:
        assert "YOUR CODE HERE" not in cell.source and "YOUR ANSWER HERE" not in cell.source, cell.id
        assert "NotImplementedError" not in cell.source and "BEGIN SOLUTION" not in cell.source, cell.id
