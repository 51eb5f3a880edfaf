"""The result of grading: one check's (``TestResult``), one submission's (``GradedSubmission``), and
their one file format, Gradescope's results.json (``results_json``, ``read_results``,
``write_results``).

Everything written is a pure function of the verdicts (no times, no dates), so grading the
same submission twice gives byte-identical files, and results are written ASCII-safe.  A
leaf of the house: it imports only the other leaves (verdicts, lateness, the codec's text
cleaning), never the runner or the sandbox.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from .lateness import Lateness
from .verdicts import Verdict
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
class TestResult:
    """One hidden check's outcome, in the words of Gradescope's results format."""

    __test__ = False  # not a pytest test class, whatever its name

    name: str  # "<function>: <description>"
    function: str
    score: float
    max_score: float
    verdict: Verdict
    output: str
    cause: str = ""  # the diagnosed mistake's id (``suites.framework.Fail``), "" when none was named

    @property
    def status(self) -> str:
        return "passed" if self.verdict == Verdict.PASSED else "failed"


def function_scores(results: list[TestResult]) -> dict[str, tuple[float, float]]:
    """{function: (score, max_score)} in the order the results came."""
    scores: dict[str, tuple[float, float]] = {}
    for r in results:
        got, out_of = scores.get(r.function, (0.0, 0.0))
        scores[r.function] = (got + r.score, out_of + r.max_score)
    return {k: (round(v[0], 4), round(v[1], 4)) for k, v in scores.items()}


@dataclass
class GradedSubmission:
    """One submission's grade: its checks' results, notes for the student, plots for the report
    and, when the submission time is known, its lateness."""

    student: str
    assignment: str
    notebook: str
    tests: list[TestResult]
    notes: list[str] = field(default_factory=list)  # notebook-level problems, for the student
    plots: list = field(default_factory=list)  # suites.plotting.Plot, when feedback reports are asked for
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


def results_json(graded: GradedSubmission, report: str | None = None, execution_time: float | None = None) -> dict:
    """Gradescope's autograder results format (score, tests, output), plus extra_data for us.

    ``output`` is a plain summary (the score, the lateness, the notes), which ``read_results``
    reads back; Gradescope's bundle gives the feedback ``report`` (Markdown) instead, and the
    ``execution_time`` Gradescope shows.
    """
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
                "extra_data": _test_extra(t),
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
    if report is not None:
        data["output"] = report
        data["output_format"] = "md"
        for test in data["tests"]:
            test["output_format"] = "md"
    if execution_time is not None:
        data["execution_time"] = round(execution_time)
    return data


def _test_extra(t: TestResult) -> dict:
    extra = {"function": t.function, "verdict": Verdict(t.verdict).value}
    if t.cause:
        extra["cause"] = safe(t.cause, 80)
    return extra


def parse_results(data: dict) -> GradedSubmission:
    """The submission a ``results_json`` dict describes (its plots are not in it).

    The notes come back from a plain ``output``, one per line; a Markdown report (Gradescope's)
    gives none.
    Raises ``KeyError``, ``TypeError`` or ``ValueError`` for data that is not ours.
    """
    extra = data["extra_data"]
    tests = [
        TestResult(
            t["name"],
            t["extra_data"]["function"],
            t["score"],
            t["max_score"],
            Verdict(t["extra_data"]["verdict"]),
            t["output"],
            str(t["extra_data"].get("cause", "")),
        )
        for t in data["tests"]
    ]
    lateness = Lateness.from_json(extra.get("lateness"))
    notes = [] if "output_format" in data else data["output"].split("\n")[2 if lateness else 1 :]
    return GradedSubmission(extra["student"], extra["assignment"], extra["notebook"], tests, notes, lateness=lateness)


def read_results(path: Path) -> GradedSubmission:
    """The submission a results.json file describes; ``OSError``, ``ValueError``, ``KeyError`` or
    ``TypeError`` when it cannot be read or is not ours."""
    return parse_results(json.loads(path.read_text(encoding="utf-8")))


def write_results(path: Path, data: dict) -> Path:
    """The one writer of results.json: indented, ASCII-safe JSON, written atomically."""
    write_atomic(path, json.dumps(data, indent=2, ensure_ascii=True) + "\n")
    return path


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
