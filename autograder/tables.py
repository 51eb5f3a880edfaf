"""The score table: one row per submission, one column per graded function; built once, rendered
for the terminal (``print_tables``, rich), a CI job summary (``reports.markdown_summary``) and the
class CSV (``class_csv``).

Every rendering reads the same ``ScoreTable``: which functions are columns, in which order, what a
row holds, and the final grade (``results.FinalGrade``: auto + manual - late penalty) beside the
autograded score.  The terminal and the job summary show lateness and written answers only when
some row has them; grades.csv always has every column.  Student text is cleaned by each renderer
for its medium.
"""

from __future__ import annotations

import csv
import io
import sys
from collections.abc import Iterator
from dataclasses import dataclass

from .results import FinalGrade, GradedSubmission, safe


@dataclass(frozen=True)
class ScoreTable:
    """``rows`` (submissions) by ``functions``; ``assignment`` names the table when it has one;
    ``questions`` are the written questions (course.yml ``manual``) of its rows."""

    assignment: str
    functions: list[str]
    rows: list[GradedSubmission]
    questions: list[str]

    @property
    def timed(self) -> bool:
        """Whether some submission's time is known (then lateness gets columns of its own)."""
        return any(g.lateness for g in self.rows)

    @property
    def plain(self) -> bool:
        """Whether every final grade is the autograded score (no lateness, no written answers):
        then one total column says it all."""
        return not self.timed and not self.questions

    def scores(self, g: GradedSubmission) -> Iterator[tuple[float, float] | None]:
        """``(score, max_score)`` of each function column, ``None`` where ``g`` has no such function."""
        scores = g.functions()
        return (scores.get(f) for f in self.functions)

    def fractions(self, g: GradedSubmission) -> list[str]:
        """Each function column as ``score/max``."""
        return [f"{s[0]:g}/{s[1]:g}" if s else "" for s in self.scores(g)]

    def headers(self) -> list[str]:
        """The columns after the functions, for the terminal and the job summary."""
        if self.plain:
            return ["total"]
        return ["auto", *(["late"] if self.timed else []), *(["written"] if self.questions else []), "final"]

    def cells(self, g: GradedSubmission) -> list[str]:
        """``headers``' cells of one row: the autograded score, what lateness cost, the written
        answers (``pending`` while not graded), and the final grade."""
        grade = g.grade
        auto = f"{grade.auto:g}/{grade.auto_max:g}"
        if self.plain:
            return [auto]
        late = [_late(g)] if self.timed else []
        written = [_written(grade)] if self.questions else []
        final = f"{grade.score:g}/{grade.max_score:g}" + (" (manual pending)" if grade.pending else "")
        return [auto, *late, *written, final]

    def finals(self) -> list[float]:
        """Every row's final score, in row order (what the histogram draws)."""
        return [g.grade.score for g in self.rows]


def _late(g: GradedSubmission) -> str:
    days = g.lateness.days_late if g.lateness else 0
    return f"{days}d -{g.lateness.penalty_percent:g}%" if days else ""


def _written(grade: FinalGrade) -> str:
    if not grade.manual_max:
        return ""
    if grade.pending_max == grade.manual_max:
        return "pending"
    graded = f"{grade.manual:g}/{grade.manual_max - grade.pending_max:g}"
    return graded + (f" +{grade.pending_max:g} pending" if grade.pending else "")


def score_table(graded: list[GradedSubmission], assignment: str = "") -> ScoreTable:
    """The table of ``graded``, in that order; its columns are every function that occurs, in order."""
    functions: list[str] = []
    questions: list[str] = []
    for g in graded:
        functions += [f for f in g.functions() if f not in functions]
        questions += [q for q in g.manual if q not in questions]
    return ScoreTable(assignment, functions, list(graded), questions)


def score_tables(graded: list[GradedSubmission]) -> list[ScoreTable]:
    """One table per assignment, in the order the assignments first occur."""
    by_assignment: dict[str, list[GradedSubmission]] = {}
    for g in graded:
        by_assignment.setdefault(g.assignment, []).append(g)
    return [score_table(group, assignment) for assignment, group in by_assignment.items()]


def by_student(graded: list[GradedSubmission]) -> list[GradedSubmission]:
    """``graded`` ordered by assignment, then student."""
    return sorted(graded, key=lambda g: (g.assignment, g.student))


def print_tables(graded: list[GradedSubmission]) -> None:
    """The tables on the terminal (rich), the final grade in bold."""
    from rich.console import Console
    from rich.table import Table

    console = Console(file=sys.stdout, soft_wrap=True, width=None if sys.stdout.isatty() else 160)
    for t in score_tables(graded):
        table = Table(title=f"{t.assignment}: score per function", title_justify="left")
        table.add_column("student")
        for f in t.functions:
            table.add_column(f, justify="right")
        headers = t.headers()
        for h in headers:
            table.add_column(h, justify="right", style="bold" if h in ("total", "final") else None)
        for g in t.rows:
            table.add_row(g.student, *t.fractions(g), *t.cells(g))
        console.print(table)


#: grades.csv's columns after the functions and before the written questions
_GRADE_COLUMNS = ["auto_score", "auto_max", "days_late", "penalty_percent", "penalty"]


def class_csv(all_graded: list[GradedSubmission]) -> str:
    """One row per submission: student, assignment, the score of each function, then the final
    grade's parts: ``auto_score`` (before any penalty) and ``auto_max``, ``days_late``,
    ``penalty_percent`` and ``penalty`` (points), one column per written question (its score, or
    ``pending``), ``manual_score`` (the written answers graded so far), ``manual_max``, ``status``
    (``final`` or ``manual pending``), and the final ``score`` out of ``max_score``.
    """
    t = score_table(by_student(all_graded))
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(
        ["student", "assignment", *t.functions, *_GRADE_COLUMNS, *t.questions]
        + ["manual_score", "manual_max", "status", "score", "max_score"]
    )
    for g in t.rows:
        grade = g.grade
        late = g.lateness
        writer.writerow(
            [
                spreadsheet_cell(safe(g.student, 200)),
                spreadsheet_cell(safe(g.assignment, 200)),
                *[f"{s[0]:g}" if s else "" for s in t.scores(g)],
                f"{grade.auto:g}",
                f"{grade.auto_max:g}",
                str(late.days_late) if late else "",
                f"{late.penalty_percent:g}" if late else "",
                f"{grade.penalty:g}",
                *[_question_cell(g, q) for q in t.questions],
                f"{grade.manual:g}",
                f"{grade.manual_max:g}",
                grade.status,
                f"{grade.score:g}",
                f"{grade.max_score:g}",
            ]
        )
    return buffer.getvalue()


def _question_cell(g: GradedSubmission, question: str) -> str:
    if question not in g.manual:
        return ""
    score = g.manual[question].score
    return "pending" if score is None else f"{score:g}"


def spreadsheet_cell(text: str) -> str:
    """A CSV cell a spreadsheet shows as text: one starting like a formula gets a leading quote."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text
