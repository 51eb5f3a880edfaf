"""The ``regrade`` verb: an audit of nbgrader's gradebook against ``grade``, out of process.

``nbgrader autograde`` grades through the same code path as ``python -m autograder grade``
(``nbgrader/grade_cells.py``), so on a clean run the gradebook holds exactly ``grade``'s scores.
``python -m autograder regrade`` checks that it still does: it grades every
``submitted/<student>/<assignment>/`` notebook again with ``grade_submission`` and compares, per
student, each test cell's score with the function's, and the final score (after nbgrader's late
penalty) with ``grade``'s final score (after course.yml's).  It reports every difference,
whichever way it goes (a gradebook edited by hand, an autograde run with another configuration,
an older gradebook, changed hidden checks); ``--write`` stores ``grade``'s score in exactly the
gradebook cells (and late penalties) that differ.

It reads ``submitted/``, never ``autograded/``, and finds submissions as ``grade`` finds them: only
regular files are graded; a symlinked notebook (or student or assignment folder) is refused and
scores 0, since it could point at the solutions or at a classmate's work.
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

#: gradebook and trusted scores closer than this are the same (rounding of shares)
TOLERANCE = 1e-3
#: the ``function`` of the comparison of a submission's final score (no function has a space)
FINAL = "final score"


@dataclass
class Comparison:
    student: str
    assignment: str
    function: str  # a graded function, or FINAL
    gradebook: float | None
    trusted: float
    max_score: float
    note: str = ""  # why the trusted score is what it is, when it is not a grade (a refused notebook)

    @property
    def flag(self) -> str:
        """``higher`` or ``lower`` (the gradebook's score against the trusted one), ``missing``
        (nbgrader has no score for this cell), or ``""`` when they agree."""
        if self.gradebook is None:
            return "missing"
        if self.gradebook > self.trusted + TOLERANCE:
            return "higher"
        if self.gradebook < self.trusted - TOLERANCE:
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
    """Compare the gradebook's scores with trusted ones for every submitted notebook (each
    function's, and the final score); with ``write``, replace the gradebook's by the trusted
    one where (and only where) they differ."""
    comparisons = []
    with Gradebook(db_url, course.id) as gb:
        for submission in submitted_notebooks(course, assignment_id):
            graded = grade_submission(submission, course)
            notebook_id = course.assignment(submission.assignment_id).notebook.removesuffix(".ipynb")
            student, assignment = submission.student, submission.assignment_id
            raw = 0.0
            for function, (trusted, max_score) in graded.functions().items():
                try:
                    grade = gb.find_grade(f"test_{function}", notebook_id, assignment, student)
                    in_gradebook = grade.auto_score
                except MissingEntry:
                    grade, in_gradebook = None, None
                comparison = Comparison(
                    student, assignment, function, in_gradebook, trusted, max_score, submission.refused
                )
                comparisons.append(comparison)
                if write and grade is not None and comparison.differs:
                    grade.auto_score = trusted
                raw += in_gradebook or 0.0
            comparisons.append(_final(gb, graded, notebook_id, raw, write))
            if write:
                gb.db.commit()
    return comparisons


def _final(gb: Gradebook, graded, notebook_id: str, raw: float, write: bool) -> Comparison:
    """The final score's comparison: the gradebook's autograded points less its late penalty,
    against ``grade``'s final score (with ``write``, the penalty is set to ``grade``'s when they differ)."""
    try:
        notebook = gb.find_submission_notebook(notebook_id, graded.assignment, graded.student)
        penalty = notebook.late_submission_penalty or 0.0
        final = round(raw - penalty, 4)
    except MissingEntry:
        notebook, final = None, None
    comparison = Comparison(graded.student, graded.assignment, FINAL, final, graded.final_score, graded.max_score)
    if write and notebook is not None and comparison.differs:
        notebook.late_submission_penalty = round(graded.score - graded.final_score, 4) or None
    return comparison


def report_csv(comparisons: list[Comparison]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["student", "assignment", "function", "gradebook", "trusted", "max_score", "flag", "note"])
    for c in comparisons:
        writer.writerow(
            [
                c.student,
                c.assignment,
                c.function,
                "" if c.gradebook is None else f"{c.gradebook:g}",
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
    table = Table(title="gradebook scores that differ from grade's (out of process)", title_justify="left")
    for column in ("student", "assignment", "function", "gradebook", "trusted", "flag", "note"):
        table.add_column(column)
    for c in flagged:
        in_gradebook = "-" if c.gradebook is None else f"{c.gradebook:g}"
        table.add_row(
            c.student, c.assignment, c.function, in_gradebook, f"{c.trusted:g}/{c.max_score:g}", c.flag, c.note
        )
    Console(file=sys.stdout, width=160).print(table)
    path = write_report(comparisons, Path(args.report))
    higher = sum(c.flag == "higher" for c in comparisons)
    lower = sum(c.flag == "lower" for c in comparisons)
    print(
        f"{len(comparisons)} scores compared (per function, and final): {higher} higher in the gradebook, {lower} lower, "
        f"{len(flagged) - higher - lower} not scored by nbgrader; report: {path}"
    )
    if args.write:
        print(f"trusted scores written to the gradebook for the {higher + lower} that differ")
    return 0
