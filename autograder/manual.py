"""Manual points: the written answers' scores, given by hand, joined to the autograded grade.

course.yml's ``manual:`` names each assignment's written questions (``grade_id: points``).  Every
grade starts with them *pending* (``results.ManualScore`` without a score); their scores come back
from one of two sources, read into a ``ManualBook``:

- **a CSV** (``read_manual_csv``), one row per student and assignment: a ``student`` column, an
  ``assignment`` column (it may be left out when the question names tell), and one column per
  written question named by its grade id.  An empty cell (or ``pending``) is pending.  Each
  assignment's ``<assignment>_manual.csv`` written beside grades.csv is such a file, ready to fill;
  ``<assignment>_written.md`` beside it holds every student's written answers to grade from.
- **nbgrader's gradebook** (``read_gradebook``): the scores graders gave in formgrader.

``apply`` puts a book's scores on one grade; ``merge`` on every results.json of a results folder
(rewriting the feedback of those that changed), so that grades.csv, the tables, the histogram,
the feedback heading and every export read one final grade.
"""

from __future__ import annotations

import csv
import dataclasses
import io
from pathlib import Path

from .config import Course
from .results import GradedSubmission, ManualScore, read_results, results_json, safe, write_atomic, write_results
from .tables import spreadsheet_cell

#: (student, assignment) -> {grade id: score, or None while pending}
ManualBook = dict[tuple[str, str], dict[str, float | None]]

PENDING_WORDS = {"", "pending", "-"}


class ManualScoresError(Exception):
    """A manual-scores file that cannot be used.  ``str(exc)`` is one line naming the place."""


# ------------------------------------------------------------------------------------ read


def read_manual_csv(path: Path, course: Course) -> ManualBook:
    """The scores of a manual-scores CSV (module docstring), checked against course.yml: every
    question column must be a written question of the course, every score a number from 0 to its
    points."""
    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            rows = [row for row in csv.DictReader(handle)]
            header = [(name or "").strip() for name in (rows[0].keys() if rows else [])]
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise ManualScoresError(f"{path}: {getattr(exc, 'strerror', None) or exc}") from None
    owners = _question_owners(course)
    if rows and "student" not in header:
        raise ManualScoresError(f"{path}: the header needs a 'student' column")
    questions = [h for h in header if h not in ("student", "assignment") and h]
    for q in questions:
        if q not in owners:
            raise ManualScoresError(f"{path}: column '{q}' is not a written question of course.yml (manual:)")
    book: ManualBook = {}
    for line, row in enumerate(rows, start=2):
        row = {(k or "").strip(): (v or "").strip() for k, v in row.items()}
        for assignment in _row_assignments(path, line, row, questions, owners, course):
            scores = book.setdefault((row["student"], assignment), {})
            for q in (q for q in questions if assignment in owners[q]):
                scores[q] = _score(path, line, q, row.get(q, ""), course.assignment(assignment).manual[q])
    return book


def _question_owners(course: Course) -> dict[str, list[str]]:
    """{grade id: the assignments that have a written question of that id}."""
    owners: dict[str, list[str]] = {}
    for a in course.assignments:
        for q in a.manual:
            owners.setdefault(q, []).append(a.id)
    return owners


def _row_assignments(path, line, row, questions, owners, course) -> list[str]:
    if not row.get("student"):
        raise ManualScoresError(f"{path}:{line}: no student")
    if row.get("assignment"):
        course.assignment(row["assignment"])  # a CourseConfigError names the known ids
        return [row["assignment"]]
    filled = {a for q in questions if row.get(q, "").lower() not in PENDING_WORDS for a in owners[q]}
    if any(len(owners[q]) > 1 for q in questions if row.get(q, "").lower() not in PENDING_WORDS):
        raise ManualScoresError(f"{path}:{line}: a question of several assignments: add an 'assignment' column")
    return sorted(filled)


def _score(path, line, question: str, cell: str, points: float) -> float | None:
    if cell.lower() in PENDING_WORDS:
        return None
    try:
        score = float(cell)
    except ValueError:
        raise ManualScoresError(f"{path}:{line}: {question}: '{cell[:40]}' is not a number") from None
    if not 0 <= score <= points:
        raise ManualScoresError(f"{path}:{line}: {question}: {cell} is not between 0 and {points:g}")
    return score


def read_gradebook(url: str, course: Course) -> ManualBook:
    """The written answers' scores graders gave in nbgrader's formgrader (``url``: the gradebook,
    e.g. ``sqlite:///gradebook.db``); a question not graded yet is pending.  An answer left as the
    release had it is scored 0 by ``nbgrader autograde`` itself, which then asks no grader for it
    (``needs_manual_grade`` false): that 0 is its score, as in ``nbgrader export``."""
    from nbgrader.api import Gradebook, MissingEntry

    book: ManualBook = {}
    with Gradebook(url) as gradebook:
        for a in course.assignments:
            if not a.manual:
                continue
            notebook = Path(a.notebook).stem
            try:
                submissions = gradebook.assignment_submissions(a.id)
            except MissingEntry:
                continue
            for submission in submissions:
                scores = book.setdefault((submission.student.id, a.id), {})
                for question in a.manual:
                    try:
                        grade = gradebook.find_grade(question, notebook, a.id, submission.student.id)
                    except MissingEntry:
                        scores[question] = None
                        continue
                    scores[question] = _written_score(grade)
    return book


def _written_score(grade) -> float | None:
    """A gradebook grade's score: a grader's, else nbgrader's own where it needs no grader (a blank
    answer: 0), else pending (``None``)."""
    if grade.manual_score is not None:
        return float(grade.manual_score)
    if grade.auto_score is not None and not grade.needs_manual_grade:
        return float(grade.auto_score)
    return None


def read_books(csv_paths: list[str], gradebook: str | None, course: Course) -> ManualBook:
    """Every given source in one book (a later source wins where both give a score)."""
    book: ManualBook = {}
    sources = [read_gradebook(gradebook, course)] if gradebook else []
    sources += [read_manual_csv(Path(p), course) for p in csv_paths]
    for source in sources:
        for key, scores in source.items():
            merged = book.setdefault(key, {})
            merged.update({q: s for q, s in scores.items() if s is not None or q not in merged})
    return book


# ----------------------------------------------------------------------------------- apply


def apply(graded: GradedSubmission, book: ManualBook | None) -> GradedSubmission:
    """``graded`` with the book's scores for its written questions (the others stay as they are)."""
    scores = (book or {}).get((graded.student, graded.assignment))
    if not scores or not graded.manual:
        return graded
    manual = {q: ManualScore(m.max_score, scores[q] if q in scores else m.score) for q, m in graded.manual.items()}
    return graded if manual == graded.manual else dataclasses.replace(graded, manual=manual)


def merge(out_dir: Path, book: ManualBook | None) -> list[GradedSubmission]:
    """Put the book's scores on every results.json under ``out_dir``, rewriting those that change
    and, where there is one, their feedback report (whose heading shows the final grade).
    Returns the grades that changed."""
    from .feedback import rewrite_reports

    if not book:
        return []
    changed = []
    for path in sorted(out_dir.glob("*/*/results.json")):
        try:
            graded = read_results(path)
        except (OSError, ValueError, KeyError, TypeError):
            continue
        merged = apply(graded, book)
        if merged is graded:
            continue
        write_results(path, results_json(merged))
        rewrite_reports(merged, out_dir)
        changed.append(merged)
    return changed


def warn_unmatched(book: ManualBook | None, graded: list[GradedSubmission]) -> None:
    """Say (on stderr) which of the book's entries match no graded submission (``zed
    (02_gradient_descent)``): a misspelt name or id in a scores file, else ignored without a word."""
    import sys

    known = {(g.student, g.assignment) for g in graded}
    lost = sorted(f"{student} ({assignment})" for student, assignment in (book or {}) if (student, assignment) not in known)
    if lost:
        print(f"warning: written answers' scores for {', '.join(lost)} match no graded submission", file=sys.stderr)


# ---------------------------------------------------------------- for the grader of written answers


def write_sheets(out_dir: Path, assignment_id: str, graded: list[GradedSubmission]) -> None:
    """``<assignment>_written.md``: every student's written answers, question by question; and
    ``<assignment>_manual.csv``: the scores so far, pending cells empty, to fill and give back."""
    questions = list(dict.fromkeys(q for g in graded for q in g.manual))
    if not questions:
        return
    lines = [f"# {assignment_id}: written answers", ""]
    lines += [f"Grade them in `{assignment_id}_manual.csv` (one score per cell; an empty cell is pending).", ""]
    for q in questions:
        lines += [f"## {q}", ""]
        for g in graded:
            answer = g.written.get(q)
            lines += [f"### {_plain(g.student)}", "", _fenced(answer) if answer else "(no answer found)", ""]
    write_atomic(out_dir / f"{assignment_id}_written.md", "\n".join(lines).rstrip() + "\n")
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["student", "assignment", *questions])
    for g in graded:
        scores = [g.manual[q].score if q in g.manual else None for q in questions]
        writer.writerow(
            [spreadsheet_cell(safe(g.student, 200)), assignment_id, *("" if s is None else f"{s:g}" for s in scores)]
        )
    write_atomic(out_dir / f"{assignment_id}_manual.csv", buffer.getvalue())


def _plain(text: str) -> str:
    """A student's name as a Markdown heading shows it: no markup."""
    return "".join(ch if ch.isalnum() or ch in "_.@+-" else "_" for ch in safe(text, 100))


def _fenced(text: str) -> str:
    """``text`` in a fenced block that no line inside it closes: shown exactly, never rendered."""
    tildes = [len(line.strip()) for line in text.splitlines() if line.strip() and set(line.strip()) == {"~"}]
    fence = "~" * max(3, max(tildes, default=0) + 1)
    return f"{fence}text\n{safe(text)}\n{fence}"
