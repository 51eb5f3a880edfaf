"""Writing what the grader found: Gradescope's results.json, the class CSV, the terminal table.

Everything written is a pure function of the verdicts (no times, no dates), so grading the
same submission twice gives byte-identical files.
"""

from __future__ import annotations

import csv
import io
import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from .runner import TestResult, function_scores
from .wire import clean_text

#: longest text of one test or note in a results file (student-influenced text is cut earlier)
MAX_OUTPUT = 4000


def safe(text: object, limit: int = MAX_OUTPUT) -> str:
    """Text fit for results.json, CSV and XML: no control characters or lone surrogates, bounded."""
    return clean_text(text, limit)


@dataclass
class GradedSubmission:
    student: str
    assignment: str
    notebook: str
    tests: list[TestResult]
    notes: list[str] = field(default_factory=list)  # notebook-level problems, for the student
    plots: list = field(default_factory=list)  # feedback.Plot, when feedback reports are asked for
    plot_notes: list[str] = field(default_factory=list)

    @property
    def score(self) -> float:
        return round(sum(t.score for t in self.tests), 4)

    @property
    def max_score(self) -> float:
        return round(sum(t.max_score for t in self.tests), 4)

    def functions(self) -> dict[str, tuple[float, float]]:
        return function_scores(self.tests)


def results_json(graded: GradedSubmission) -> dict:
    """Gradescope's autograder results format (score, tests, output), plus extra_data for us."""
    functions = graded.functions()
    summary = [f"{graded.assignment}: {graded.score:g} / {graded.max_score:g} points."]
    summary += [safe(n) for n in graded.notes]
    return {
        "score": graded.score,
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
    """One row per submission: student, assignment, per-function scores, total."""
    functions: list[str] = []
    for g in all_graded:
        functions += [f for f in g.functions() if f not in functions]
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["student", "assignment", *functions, "score", "max_score"])
    for g in sorted(all_graded, key=lambda g: (g.assignment, g.student)):
        scores = g.functions()
        writer.writerow(
            [
                safe(g.student, 200),
                safe(g.assignment, 200),
                *[f"{scores[f][0]:g}" if f in scores else "" for f in functions],
                f"{g.score:g}",
                f"{g.max_score:g}",
            ]
        )
    return buffer.getvalue()
