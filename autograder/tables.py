"""The score table: one row per submission, one column per graded function; built once, rendered
for the terminal (``print_tables``, rich), a CI job summary (``reports.markdown_summary``) and the
class CSV (``class_csv``).

Every rendering reads the same ``ScoreTable``: which functions are columns, in which order, what a
row holds, and what lateness adds.  Student text is cleaned by each renderer for its medium.
"""

from __future__ import annotations

import csv
import io
import sys
from collections.abc import Iterator
from dataclasses import dataclass

from .results import GradedSubmission, safe


@dataclass(frozen=True)
class ScoreTable:
    """``rows`` (submissions) by ``functions``; ``assignment`` names the table when it has one."""

    assignment: str
    functions: list[str]
    rows: list[GradedSubmission]

    @property
    def timed(self) -> bool:
        """Whether some submission's time is known (then lateness gets columns of its own)."""
        return any(g.lateness for g in self.rows)

    def scores(self, g: GradedSubmission) -> Iterator[tuple[float, float] | None]:
        """``(score, max_score)`` of each function column, ``None`` where ``g`` has no such function."""
        scores = g.functions()
        return (scores.get(f) for f in self.functions)

    def fractions(self, g: GradedSubmission) -> list[str]:
        """Each function column as ``score/max``."""
        return [f"{s[0]:g}/{s[1]:g}" if s else "" for s in self.scores(g)]


def score_table(graded: list[GradedSubmission], assignment: str = "") -> ScoreTable:
    """The table of ``graded``, in that order; its columns are every function that occurs, in order."""
    functions: list[str] = []
    for g in graded:
        functions += [f for f in g.functions() if f not in functions]
    return ScoreTable(assignment, functions, list(graded))


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
    """The tables on the terminal (rich); lateness, when known, adds the days late and the final score."""
    from rich.console import Console
    from rich.table import Table

    console = Console(file=sys.stdout, soft_wrap=True, width=None if sys.stdout.isatty() else 160)
    for t in score_tables(graded):
        table = Table(title=f"{t.assignment}: score per function", title_justify="left")
        table.add_column("student")
        for f in t.functions:
            table.add_column(f, justify="right")
        table.add_column("total", justify="right", style="bold")
        if t.timed:  # the submission time is known: show what lateness costs
            table.add_column("late", justify="right")
            table.add_column("final", justify="right", style="bold")
        for g in t.rows:
            late = []
            if t.timed:
                days = g.lateness.days_late if g.lateness else 0
                late = [
                    f"{days}d -{g.lateness.penalty_percent:g}%" if days else "",
                    f"{g.final_score:g}/{g.max_score:g}",
                ]
            table.add_row(g.student, *t.fractions(g), f"{g.score:g}/{g.max_score:g}", *late)
        console.print(table)


def class_csv(all_graded: list[GradedSubmission]) -> str:
    """One row per submission: student, assignment, per-function scores, total.

    When some submission's time is known, three columns come before the total (``score``, then
    the score after the penalty): ``raw_score``, ``days_late`` and ``penalty_percent``.
    """
    t = score_table(by_student(all_graded))
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    late_columns = ["raw_score", "days_late", "penalty_percent"] if t.timed else []
    writer.writerow(["student", "assignment", *t.functions, *late_columns, "score", "max_score"])
    for g in t.rows:
        writer.writerow(
            [
                _cell(safe(g.student, 200)),
                _cell(safe(g.assignment, 200)),
                *[f"{s[0]:g}" if s else "" for s in t.scores(g)],
                *(_late_cells(g) if t.timed else []),
                f"{g.final_score:g}",
                f"{g.max_score:g}",
            ]
        )
    return buffer.getvalue()


def _cell(text: str) -> str:
    """A CSV cell a spreadsheet shows as text: one starting like a formula gets a leading quote."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def _late_cells(g: GradedSubmission) -> list[str]:
    if not g.lateness:
        return [f"{g.score:g}", "", ""]
    return [f"{g.score:g}", str(g.lateness.days_late), f"{g.lateness.penalty_percent:g}"]
