"""The ``regrade`` verb: grade nbgrader's submissions again out of process, compare, fix.

``nbgrader autograde`` runs the hidden checks inside the student's own kernel.  Even in the
sandboxed kernel (``gd-sandbox``, see ``kernelspec.py``) student code shares that interpreter
with the checks, so it can tamper with them (``np.allclose = lambda *a, **k: True`` before a
wrong answer).  After it, ``python -m autograder regrade`` grades every
``submitted/<student>/<assignment>/`` notebook again with ``grade_target`` (the student's
code in a sandboxed child, the checks in this process), compares each test cell's in-kernel
score with that trusted one, and reports every difference, whichever way it goes.  With
``--write`` it stores the trusted score in exactly the gradebook cells that differ.

It reads ``submitted/``, never ``autograded/``: the autograded copies are the files a kernel
had in its working folder.  Only regular files are graded; a symlinked notebook (or student
or assignment folder) is refused and scores 0, since it could point at the solutions or at a
classmate's work.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path

from nbgrader.api import Gradebook, MissingEntry

from .config import Course
from .grade import Target, Unreadable, grade_target
from .results import GradedSubmission, write_atomic
from .runner import run_assignment

#: in-kernel and trusted scores closer than this are the same (rounding of shares)
TOLERANCE = 1e-3


@dataclass
class Comparison:
    student: str
    assignment: str
    function: str
    in_kernel: float | None
    trusted: float
    max_score: float
    note: str = ""  # why the trusted score is what it is, when it is not a grade (a refused notebook)

    @property
    def flag(self) -> str:
        """``higher`` or ``lower`` (the in-kernel score against the trusted one), ``missing``
        (nbgrader has no score for this cell), or ``""`` when they agree."""
        if self.in_kernel is None:
            return "missing"
        if self.in_kernel > self.trusted + TOLERANCE:
            return "higher"
        if self.in_kernel < self.trusted - TOLERANCE:
            return "lower"
        return ""

    @property
    def differs(self) -> bool:
        return self.flag in ("higher", "lower")


def refusal(notebook: Path, submitted: Path) -> str:
    """Why ``notebook`` must not be graded, or ``""``: it, or a folder between it and
    ``submitted/``, is a symlink, or it is not a regular file."""
    for part in (notebook, notebook.parent, notebook.parent.parent):
        if part.is_symlink():
            where = "your notebook" if part == notebook else f"the folder {part.relative_to(submitted)}"
            return f"{where} is a symbolic link, not your own file; submit the notebook itself"
    if not notebook.is_file():
        return "your notebook is not a regular file"
    return ""


def submitted_notebooks(course: Course, assignment_id: str | None = None) -> list[Target]:
    """Every ``submitted/<student>/<assignment>/<notebook>`` of the course, symlinks included
    (they are refused when graded, so that the refusal shows in the report)."""
    submitted = course.root / "submitted"
    targets = []
    for assignment in course.assignments:
        if assignment_id and assignment.id != assignment_id:
            continue
        for nb in sorted(submitted.glob(f"*/{assignment.id}/{assignment.notebook}")):
            targets.append(Target(nb, nb.parent.parent.name, assignment.id))
    return targets


def trusted_grade(target: Target, course: Course) -> tuple[GradedSubmission, str]:
    """The out-of-process grade of one submitted notebook, and the reason when it was refused."""
    reason = refusal(target.notebook, course.root / "submitted")
    if reason:
        assignment = course.assignment(target.assignment_id)
        tests = run_assignment(Unreadable(reason), assignment)
        return GradedSubmission(target.student, assignment.id, target.notebook.name, tests, [reason]), reason
    return grade_target(target, course), ""


def regrade(course: Course, db_url: str, assignment_id: str | None = None, write: bool = False) -> list[Comparison]:
    """Compare in-kernel and trusted scores for every submitted notebook; with ``write``,
    replace the in-kernel score by the trusted one where (and only where) they differ."""
    comparisons = []
    with Gradebook(db_url, course.id) as gb:
        for target in submitted_notebooks(course, assignment_id):
            graded, reason = trusted_grade(target, course)
            notebook_id = course.assignment(target.assignment_id).notebook.removesuffix(".ipynb")
            for function, (trusted, max_score) in graded.functions().items():
                try:
                    grade = gb.find_grade(f"test_{function}", notebook_id, target.assignment_id, target.student)
                    in_kernel = grade.auto_score
                except MissingEntry:
                    grade, in_kernel = None, None
                comparison = Comparison(
                    target.student, target.assignment_id, function, in_kernel, trusted, max_score, reason
                )
                comparisons.append(comparison)
                if write and grade is not None and comparison.differs:
                    grade.auto_score = trusted
            if write:
                gb.db.commit()
    return comparisons


def report_csv(comparisons: list[Comparison]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["student", "assignment", "function", "in_kernel", "trusted", "max_score", "flag", "note"])
    for c in comparisons:
        writer.writerow(
            [
                c.student,
                c.assignment,
                c.function,
                "" if c.in_kernel is None else f"{c.in_kernel:g}",
                f"{c.trusted:g}",
                f"{c.max_score:g}",
                c.flag,
                c.note,
            ]
        )
    return buffer.getvalue()


def write_report(comparisons: list[Comparison], path: Path) -> Path:
    write_atomic(path, report_csv(comparisons))
    return path
