"""The ``export`` verb: publish final grades, for an LMS and for the instructor.

``python -m autograder export [RESULTS] [--manual CSV]... [--gradebook URL] [--roster CSV]``

``RESULTS`` is a folder of results (``grade``'s ``--out`` or ``collect``'s).  The written answers'
scores (``--manual``: a CSV with a column per written question; ``--gradebook``: nbgrader's
formgrader scores) are merged into every results.json there first, and the class files are
written again (grades.csv, histograms, class reports, feedback headings), so that everything
shows the same final grade.  Then, beside grades.csv:

- ``canvas.csv``: Canvas's gradebook import (Student, ID, SIS User ID, SIS Login ID, Section,
  then one column per assignment, "Title (Canvas assignment id)" when course.yml gives
  ``lms_id``, and a "Points Possible" row);
- ``lms.csv``: the same grades in a plain layout for other LMSs (Moodle's CSV grade import maps
  its "ID number", "Username" or "Email address" column to its users; Blackboard's upload reads
  "Username");
- ``functions.csv``: one row per student and graded function: score, points, and the mistakes
  the checks diagnosed there.

The roster (``--roster``) maps each ``student`` (the name results are filed under) to the LMS:
columns ``name``, ``lms_id`` (Canvas's user ID), ``sis_id``, ``sis_login_id``, ``section``,
``email``, each optional (``collect``'s ``student,repo`` roster may carry them).  A grade whose
written answers are not graded yet is left out of the LMS files (an empty cell: the LMS keeps
what it has), and named on the terminal: nothing pending is published as if it were final.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from .config import Course
from .results import GradedSubmission, hand_over, safe, write_atomic
from .tables import spreadsheet_cell

if TYPE_CHECKING:
    from .manual import ManualBook

ROSTER_COLUMNS = ("name", "lms_id", "sis_id", "sis_login_id", "section", "email")


class ExportError(Exception):
    """A roster or folder that cannot be used (exit status 2)."""


@dataclass(frozen=True)
class LmsStudent:
    """One student as the LMS knows them (roster columns; "" when not given)."""

    student: str
    name: str = ""
    lms_id: str = ""
    sis_id: str = ""
    sis_login_id: str = ""
    section: str = ""
    email: str = ""


def read_lms_roster(path: Path) -> dict[str, LmsStudent]:
    """{student: LmsStudent} from a roster CSV with a ``student`` column (any case; a
    spreadsheet's byte-order mark is fine) and any of ``ROSTER_COLUMNS``."""
    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            rows = list(csv.reader(handle))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise ExportError(f"{path}: {getattr(exc, 'strerror', None) or exc}") from None
    rows = [r for r in rows if any(c.strip() for c in r)]
    header = [c.strip().lower() for c in rows[0]] if rows else []
    if "student" not in header:
        raise ExportError(f"{path}: the header needs a 'student' column")
    roster = {}
    for row in rows[1:]:
        cells = dict(zip(header, (c.strip() for c in row)))
        if cells.get("student"):
            roster[cells["student"]] = LmsStudent(cells["student"], **{k: cells.get(k, "") for k in ROSTER_COLUMNS})
    return roster


# ------------------------------------------------------------------------------- the files


def _grades(graded: list[GradedSubmission]) -> dict[str, dict[str, GradedSubmission]]:
    """{student: {assignment: grade}}."""
    by_student: dict[str, dict[str, GradedSubmission]] = {}
    for g in graded:
        by_student.setdefault(g.student, {})[g.assignment] = g
    return by_student


def _final(g: GradedSubmission | None) -> str:
    """The cell an LMS gets: the final score, or empty while written answers are pending."""
    return "" if g is None or g.grade.pending else f"{g.grade.score:g}"


def _csv(rows: list[list[str]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerows([[spreadsheet_cell(safe(c, 300)) for c in row] for row in rows])
    return buffer.getvalue()


def canvas_csv(course: Course, graded: list[GradedSubmission], roster: dict[str, LmsStudent]) -> str:
    """Canvas's gradebook import: one row per student, one column per assignment of the course."""
    assignments = course.assignments
    header = ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"]
    header += [f"{a.title} ({a.lms_id})" if a.lms_id else a.title for a in assignments]
    points = ["Points Possible", "", "", "", ""] + [f"{a.max_score + sum(a.manual.values()):g}" for a in assignments]
    rows = [header, points]
    by_student = _grades(graded)
    for student in sorted(set(by_student) | set(roster)):
        who = roster.get(student, LmsStudent(student))
        grades = by_student.get(student, {})
        rows.append(
            [who.name or student, who.lms_id, who.sis_id, who.sis_login_id, who.section]
            + [_final(grades.get(a.id)) for a in assignments]
        )
    return _csv(rows)


def lms_csv(course: Course, graded: list[GradedSubmission], roster: dict[str, LmsStudent]) -> str:
    """The plain layout: identifiers, then one column per assignment id (final scores)."""
    rows = [["student", "Name", "ID number", "Username", "Email address", *(a.id for a in course.assignments)]]
    by_student = _grades(graded)
    for student in sorted(set(by_student) | set(roster)):
        who = roster.get(student, LmsStudent(student))
        grades = by_student.get(student, {})
        rows.append(
            [student, who.name, who.sis_id, who.sis_login_id, who.email]
            + [_final(grades.get(a.id)) for a in course.assignments]
        )
    return _csv(rows)


def functions_csv(graded: list[GradedSubmission]) -> str:
    """One row per student and graded function: its score, its points and the diagnosed mistakes."""
    rows = [["student", "assignment", "function", "score", "max_score", "mistakes"]]
    for g in sorted(graded, key=lambda g: (g.assignment, g.student)):
        for function, (score, out_of) in g.functions().items():
            causes = dict.fromkeys(
                t.cause for t in g.tests if t.function == function and t.cause and t.score < t.max_score
            )
            rows.append([g.student, g.assignment, function, f"{score:g}", f"{out_of:g}", ";".join(causes)])
    return _csv(rows)


def write_exports(
    out_dir: Path, course: Course, graded: list[GradedSubmission], roster: dict[str, LmsStudent]
) -> list[Path]:
    files = {
        "canvas.csv": canvas_csv(course, graded, roster),
        "lms.csv": lms_csv(course, graded, roster),
        "functions.csv": functions_csv(graded),
    }
    for name, text in files.items():
        write_atomic(out_dir / name, text)
    return [out_dir / name for name in files]


# --------------------------------------------------------------------------------- the verb


def run(args, course: Course) -> int:
    """``python -m autograder export``: 0 when the files were written, 2 for unusable input."""
    import sys

    from .manual import ManualScoresError, read_books

    out_dir = Path(args.results)
    try:
        if not out_dir.is_dir():
            raise ExportError(f"{out_dir}: no such folder of results")
        book = read_books(args.manual, args.gradebook, course)
        roster = read_lms_roster(Path(args.roster)) if args.roster else {}
    except (ExportError, ManualScoresError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    try:  # run as root through sudo: what it writes goes to the user who called it
        return _write_all(out_dir, course, book, roster)
    finally:
        hand_over(out_dir)


def _write_all(out_dir: Path, course: Course, book: ManualBook, roster: dict[str, LmsStudent]) -> int:
    """The class files and the exports, from every results.json under ``out_dir``; the exit status."""
    import sys

    from .manual import warn_unmatched
    from .submission import load_all_results, write_class_files

    write_class_files(out_dir, book)
    graded = load_all_results(out_dir)
    if not graded:
        print(f"error: {out_dir}: no results.json found", file=sys.stderr)
        return 2
    written = write_exports(out_dir, course, graded, roster)
    pending = sorted(f"{g.student} ({g.assignment})" for g in graded if g.grade.pending)
    warn_unmatched(book, graded)
    unknown = sorted({g.student for g in graded} - set(roster)) if roster else []
    print("wrote " + ", ".join(str(p) for p in written))
    if pending:
        print(f"written answers not graded yet, left out of the LMS files: {', '.join(pending)}")
    if unknown:
        print(f"not in the roster (no LMS ids): {', '.join(unknown)}")
    return 0
