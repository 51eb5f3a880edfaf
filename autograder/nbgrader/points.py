"""course.yml is the one points table: what each notebook's nbgrader points must say, and the one
line that says where they do not.

nbgrader keeps points in three more places: each graded cell's metadata in ``solutions/`` (the
source), in ``assignments/`` (the release) and in the gradebook (``max_score``, which ``nbgrader
autograde`` restores into every submission).  ``python -m autograder assign`` writes course.yml's
points into all three (``sync_notebook`` here, the gradebook through nbgrader); every nbgrader
command (``nbgrader_config.py``) and ``python -m autograder grade`` refuse to run while one of them
disagrees (``disagreement``), with one line naming the notebook, the cell and the fix.

The cells: ``test_<function>`` (a code cell graded by the hidden checks of ``<function>``) for each
function of ``points``, and ``<grade_id>`` (a written answer, graded by hand) for each of
``manual``.  Standard library and course.yml only: this runs on every nbgrader command.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

from ..config import Assignment, Course

#: what ends every refusal
FIX = "run `python -m autograder assign`"
#: the two folders of notebooks that carry points (nbgrader's source and release)
FOLDERS = ("solutions", "assignments")


def test_cell(function: str) -> str:
    """The grade_id of the test cell that carries ``function``'s points."""
    return f"test_{function}"


def expected(assignment: Assignment) -> dict[str, float]:
    """{grade_id: points} that the assignment's notebook must carry, from course.yml."""
    return {test_cell(f): p for f, p in assignment.points.items()} | dict(assignment.manual)


def _grade_cells(notebook: dict) -> Iterator[dict]:
    """The nbgrader metadata of every graded cell."""
    for cell in notebook.get("cells", []):
        meta = cell.get("metadata", {}).get("nbgrader")
        if isinstance(meta, dict) and meta.get("grade"):
            yield meta


def notebook_points(notebook: dict) -> dict[str, object]:
    """{grade_id: points} of a notebook's graded cells (as nbformat's JSON)."""
    return {str(meta.get("grade_id", "")): meta.get("points") for meta in _grade_cells(notebook)}


def points_problem(found: dict[str, object], assignment: Assignment, where: str) -> str | None:
    """The first way the graded cells ``found`` ({grade_id: points}) of ``where`` disagree with
    course.yml, as one line; None when they agree."""
    want = expected(assignment)
    for grade_id, points in found.items():
        if grade_id not in want:
            return f"{where}: cell {grade_id} carries points that course.yml does not list; list it there, then {FIX}"
        if not _same(points, want[grade_id]):
            return f"{where}: cell {grade_id} has {points} points, course.yml says {want[grade_id]:g}; {FIX}"
    for grade_id in want:
        if grade_id not in found:
            return (
                f"{where}: no graded cell {grade_id} for course.yml's points; add it to the source notebook, then {FIX}"
            )
    return None


def _same(points, wanted: float) -> bool:
    try:
        return float(points) == float(wanted)
    except (TypeError, ValueError):
        return False


def disagreement(course: Course, folders: tuple[str, ...] = FOLDERS) -> str | None:
    """The first notebook of ``folders`` (under the course's root) whose points disagree with
    course.yml, as one line; None when all agree.  A missing notebook is not checked here (nbgrader
    and ``grade`` say so themselves)."""
    for folder in folders:
        for assignment in course.assignments:
            path = course.root / folder / assignment.id / assignment.notebook
            try:
                notebook = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                continue
            problem = points_problem(notebook_points(notebook), assignment, str(path.relative_to(course.root)))
            if problem:
                return problem
    return None


def _gradebook_cells(gb, course: Course) -> Iterator[tuple[Assignment, str, list]]:
    """(assignment, notebook id, its grade cells) for each assignment the gradebook ``gb`` holds."""
    from nbgrader.api import MissingEntry

    for assignment in course.assignments:
        notebook_id = assignment.notebook.removesuffix(".ipynb")
        try:
            yield assignment, notebook_id, gb.find_notebook(notebook_id, assignment.id).grade_cells
        except MissingEntry:
            continue


def gradebook_disagreement(course: Course, db_url: str) -> str | None:
    """The first grade cell of the gradebook at ``db_url`` whose points disagree with course.yml
    (assignments the gradebook does not hold yet are skipped), as one line; None when all agree."""
    from nbgrader.api import Gradebook

    with Gradebook(db_url, course.id) as gb:
        for assignment, notebook_id, cells in _gradebook_cells(gb, course):
            found = {c.name: c.max_score for c in cells}
            problem = points_problem(found, assignment, f"the gradebook's {assignment.id}/{notebook_id}")
            if problem:
                return problem
    return None


def sync_gradebook(course: Course, db_url: str) -> list[str]:
    """Write course.yml's points into the grade cells of the gradebook at ``db_url``; return
    the cells changed."""
    from nbgrader.api import Gradebook

    changed = []
    with Gradebook(db_url, course.id) as gb:
        for assignment, notebook_id, cells in _gradebook_cells(gb, course):
            want = expected(assignment)
            for cell in cells:
                if cell.name in want and cell.max_score != want[cell.name]:
                    cell.max_score = want[cell.name]
                    changed.append(f"gradebook {assignment.id}/{notebook_id}/{cell.name}")
        gb.db.commit()
    return changed


def sync_notebook(path: Path, assignment: Assignment) -> bool:
    """Write course.yml's points into the notebook's graded cells (only where they differ);
    return whether the file changed.  Cells course.yml does not list are left for
    ``disagreement`` to report."""
    import nbformat

    notebook = nbformat.read(str(path), as_version=nbformat.NO_CONVERT)
    want = expected(assignment)
    changed = False
    for meta in _grade_cells(notebook):
        points = want.get(str(meta.get("grade_id", "")))
        if points is not None and not _same(meta.get("points"), points):
            meta["points"] = int(points) if float(points).is_integer() else points
            changed = True
    if changed:
        nbformat.write(notebook, str(path))
    return changed
