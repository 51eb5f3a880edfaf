"""The ``regrade`` verb: re-grade nbgrader's autograded notebooks out of process.

``nbgrader autograde`` runs the hidden checks inside the student's own kernel, where student
code can tamper with them (``np.allclose = lambda *a, **k: True`` before a wrong answer).
After it, ``python -m autograder regrade`` grades every ``autograded/<student>/<assignment>/``
notebook again in the sandbox, compares each test cell's in-kernel score with the trusted
one, reports where the in-kernel score is higher, and with ``--write`` stores the trusted
scores in the gradebook (as the cells' auto scores).
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path

from nbgrader.api import Gradebook, MissingEntry

from .config import Course
from .grade import Target, grade_target
from .results import write_atomic

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

    @property
    def inflated(self) -> bool:
        return self.in_kernel is not None and self.in_kernel > self.trusted + TOLERANCE


def autograded_notebooks(course: Course, assignment_id: str | None = None) -> list[Target]:
    targets = []
    for assignment in course.assignments:
        if assignment_id and assignment.id != assignment_id:
            continue
        for nb in sorted((course.root / "autograded").glob(f"*/{assignment.id}/{assignment.notebook}")):
            targets.append(Target(nb, nb.parent.parent.name, assignment.id))
    return targets


def regrade(course: Course, db_url: str, assignment_id: str | None = None, write: bool = False) -> list[Comparison]:
    """Compare in-kernel and trusted scores for every autograded notebook; optionally fix the gradebook."""
    comparisons = []
    with Gradebook(db_url, course.id) as gb:
        for target in autograded_notebooks(course, assignment_id):
            graded = grade_target(target, course)
            notebook_id = course.assignment(target.assignment_id).notebook.removesuffix(".ipynb")
            for function, (trusted, max_score) in graded.functions().items():
                try:
                    grade = gb.find_grade(f"test_{function}", notebook_id, target.assignment_id, target.student)
                    in_kernel = grade.auto_score
                except MissingEntry:
                    grade, in_kernel = None, None
                comparisons.append(
                    Comparison(target.student, target.assignment_id, function, in_kernel, trusted, max_score)
                )
                if write and grade is not None:
                    grade.auto_score = trusted
            if write:
                gb.db.commit()
    return comparisons


def report_csv(comparisons: list[Comparison]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["student", "assignment", "function", "in_kernel", "trusted", "max_score", "in_kernel_higher"])
    for c in comparisons:
        writer.writerow(
            [
                c.student,
                c.assignment,
                c.function,
                "" if c.in_kernel is None else f"{c.in_kernel:g}",
                f"{c.trusted:g}",
                f"{c.max_score:g}",
                "yes" if c.inflated else "",
            ]
        )
    return buffer.getvalue()


def write_report(comparisons: list[Comparison], path: Path) -> Path:
    write_atomic(path, report_csv(comparisons))
    return path
