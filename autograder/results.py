"""Writing what the grader found: Gradescope's results.json, the class CSV, the terminal table.

Everything written is a pure function of the verdicts (no times, no dates), so grading the
same submission twice gives byte-identical files.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import os
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from .lateness import Lateness
from .runner import TestResult, function_scores
from .wire import clean_text

#: longest text of one test or note in a results file (student-influenced text is cut earlier)
MAX_OUTPUT = 4000


def safe(text: object, limit: int = MAX_OUTPUT) -> str:
    """Text fit for results.json, CSV and XML: no control characters or lone surrogates, bounded."""
    return clean_text(text, limit)


def markdown_text(text: object) -> str:
    """``text`` as one line of Markdown that shows exactly that text: no heading, link, image or
    HTML can come from a student's exception message.  Code spans (in backticks) render literally
    already; outside them the characters that start markup are escaped and line breaks joined."""

    def escape(part: str) -> str:
        return re.sub(r"([\\`\[\]<>#!|*_])", r"\\\1", part)

    parts = " ".join(str(text).split()).split("`")
    tail = ""
    if len(parts) % 2 == 0:  # an unmatched backtick opens no span: show it, and escape what follows
        tail = "\\`" + escape(parts.pop())
    return "`".join(escape(p) if i % 2 == 0 else p for i, p in enumerate(parts)) + tail


@dataclass
class GradedSubmission:
    student: str
    assignment: str
    notebook: str
    tests: list[TestResult]
    notes: list[str] = field(default_factory=list)  # notebook-level problems, for the student
    plots: list = field(default_factory=list)  # feedback.Plot, when feedback reports are asked for
    plot_notes: list[str] = field(default_factory=list)
    lateness: Lateness | None = None  # when the submission time is known

    @property
    def score(self) -> float:
        """The raw score: what the hidden checks gave, before any late penalty."""
        return round(sum(t.score for t in self.tests), 4)

    @property
    def final_score(self) -> float:
        """The score after the late penalty (the raw score when lateness is unknown)."""
        return self.lateness.final_score(self.score) if self.lateness else self.score

    @property
    def max_score(self) -> float:
        return round(sum(t.max_score for t in self.tests), 4)

    def functions(self) -> dict[str, tuple[float, float]]:
        return function_scores(self.tests)

    def for_report(self) -> GradedSubmission:
        """This submission with its lateness (raw score, penalty, final score) as the first note,
        for the feedback report, which shows notes to the student."""
        if not self.lateness:
            return self
        return dataclasses.replace(self, notes=[self.lateness.sentence(self.score, self.max_score), *self.notes])


def results_json(graded: GradedSubmission) -> dict:
    """Gradescope's autograder results format (score, tests, output), plus extra_data for us."""
    functions = graded.functions()
    summary = [f"{graded.assignment}: {graded.score:g} / {graded.max_score:g} points."]
    if graded.lateness:
        summary.append(graded.lateness.sentence(graded.score, graded.max_score))
    summary += [safe(n) for n in graded.notes]
    data = {
        "score": graded.final_score,
        "output": "\n".join(summary),
        "visibility": "visible",
        "stdout_visibility": "hidden",
        "tests": [
            {
                "name": safe(t.name, 300),
                "score": round(t.score, 4),
                "max_score": round(t.max_score, 4),
                "status": t.status,
                "output": safe(t.output),
                "extra_data": {"function": t.function, "verdict": t.verdict},
            }
            for t in graded.tests
        ],
        "extra_data": {
            "student": safe(graded.student, 200),
            "assignment": safe(graded.assignment, 200),
            "notebook": safe(graded.notebook, 200),
            "max_score": graded.max_score,
            "functions": {k: {"score": v[0], "max_score": v[1]} for k, v in functions.items()},
        },
    }
    if graded.lateness:
        data["extra_data"]["raw_score"] = graded.score
        data["extra_data"]["lateness"] = graded.lateness.to_json()
    return data


def write_atomic(path: Path, text: str) -> None:
    """Write ``text`` so that readers see the old file or the new one, never half of it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_results(graded: GradedSubmission, out_dir: Path) -> Path:
    path = out_dir / graded.student / graded.assignment / "results.json"
    write_atomic(path, json.dumps(results_json(graded), indent=2, ensure_ascii=True) + "\n")
    return path


def class_csv(all_graded: list[GradedSubmission]) -> str:
    """One row per submission: student, assignment, per-function scores, total.

    When some submission's time is known, three columns come before the total (``score``, then
    the score after the penalty): ``raw_score``, ``days_late`` and ``penalty_percent``.
    """
    functions: list[str] = []
    for g in all_graded:
        functions += [f for f in g.functions() if f not in functions]
    timed = any(g.lateness for g in all_graded)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    late_columns = ["raw_score", "days_late", "penalty_percent"] if timed else []
    writer.writerow(["student", "assignment", *functions, *late_columns, "score", "max_score"])
    for g in sorted(all_graded, key=lambda g: (g.assignment, g.student)):
        scores = g.functions()
        writer.writerow(
            [
                _cell(safe(g.student, 200)),
                _cell(safe(g.assignment, 200)),
                *[f"{scores[f][0]:g}" if f in scores else "" for f in functions],
                *(_late_cells(g) if timed else []),
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
