"""The ``regrade`` verb: grade nbgrader's submissions again out of process, compare, fix.

``nbgrader autograde`` runs the hidden checks inside the student's own kernel.  Even in the
sandboxed kernel (``gd-sandbox``, see ``kernelspec.py``) student code shares that interpreter
with the checks, so it can tamper with them (``np.allclose = lambda *a, **k: True`` before a
wrong answer).  After it, ``python -m autograder regrade`` grades every
``submitted/<student>/<assignment>/`` notebook again with ``grade_submission`` (the student's
code in a sandboxed child, the checks in this process), compares each test cell's in-kernel
score with that trusted one, and reports every difference, whichever way it goes.  With
``--write`` it stores the trusted score in exactly the gradebook cells that differ.

It reads ``submitted/``, never ``autograded/``: the autograded copies are the files a kernel
had in its working folder.  They are found as ``grade`` finds them: only regular files are
graded; a symlinked notebook (or student or assignment folder) is refused and scores 0, since it
could point at the solutions or at a classmate's work.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path

from nbgrader.api import Gradebook, MissingEntry

from .config import Course
from .results import write_atomic
from .submission import Submission, UsageError, discover, grade_submission

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


def submitted_notebooks(course: Course, assignment_id: str | None = None) -> list[Submission]:
    """Every ``submitted/<student>/<assignment>/<notebook>`` of the course, found as ``grade`` finds
    them (a symlinked notebook or folder, or a copy nested deeper, is refused: it scores 0 and the
    refusal shows in the report)."""
    try:
        return discover([str(course.root / "submitted")], course, assignment_id)
    except UsageError:  # no submitted/ folder, or nothing of this course in it
        return []


def regrade(course: Course, db_url: str, assignment_id: str | None = None, write: bool = False) -> list[Comparison]:
    """Compare in-kernel and trusted scores for every submitted notebook; with ``write``,
    replace the in-kernel score by the trusted one where (and only where) they differ."""
    comparisons = []
    with Gradebook(db_url, course.id) as gb:
        for submission in submitted_notebooks(course, assignment_id):
            graded = grade_submission(submission, course)
            notebook_id = course.assignment(submission.assignment_id).notebook.removesuffix(".ipynb")
            student, assignment = submission.student, submission.assignment_id
            for function, (trusted, max_score) in graded.functions().items():
                try:
                    grade = gb.find_grade(f"test_{function}", notebook_id, assignment, student)
                    in_kernel = grade.auto_score
                except MissingEntry:
                    grade, in_kernel = None, None
                comparison = Comparison(
                    student, assignment, function, in_kernel, trusted, max_score, submission.refused
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


def run(args, course: Course) -> int:
    """``python -m autograder regrade``: compare, report (and with ``--write`` fix); 2 when there is
    nothing submitted."""
    import sys

    from rich.console import Console
    from rich.table import Table

    db = args.db or f"sqlite:///{course.root / 'gradebook.db'}"
    comparisons = regrade(course, db, args.assignment, write=args.write)
    if not comparisons:
        print(f"error: no submitted notebooks under {course.root / 'submitted'}/", file=sys.stderr)
        return 2
    flagged = [c for c in comparisons if c.flag]
    table = Table(title="in-kernel scores that differ from the trusted (out-of-process) score", title_justify="left")
    for column in ("student", "assignment", "function", "in kernel", "trusted", "flag", "note"):
        table.add_column(column)
    for c in flagged:
        in_kernel = "-" if c.in_kernel is None else f"{c.in_kernel:g}"
        table.add_row(c.student, c.assignment, c.function, in_kernel, f"{c.trusted:g}/{c.max_score:g}", c.flag, c.note)
    Console(file=sys.stdout, width=160).print(table)
    path = write_report(comparisons, Path(args.report))
    higher = sum(c.flag == "higher" for c in comparisons)
    lower = sum(c.flag == "lower" for c in comparisons)
    print(
        f"{len(comparisons)} function scores compared: {higher} higher in the kernel, {lower} lower, "
        f"{len(flagged) - higher - lower} not scored by nbgrader; report: {path}"
    )
    if args.write:
        print(f"trusted scores written to the gradebook for the {higher + lower} that differ")
    return 0
