"""The result of grading: one check's (``TestResult``), one submission's (``GradedSubmission``), its
final grade (``FinalGrade``, made by ``final_grade`` and nowhere else), and their one file format,
Gradescope's results.json (``results_json``, ``read_results``, ``write_results``).

The final grade is auto + manual - late penalty: the autograded points, plus the written answers'
points once graded by hand (``ManualScore``; until then they are *pending*, never 0), minus the
late penalty, a share of the autograded points (``lateness.penalty_points``).  Every output
(grades.csv, the score tables, the histogram, the feedback heading, every export) shows
``GradedSubmission.grade``, so one student's final score is one number everywhere.

Everything written is a pure function of the verdicts (no times, no dates), so grading the
same submission twice gives byte-identical files, and results are written ASCII-safe.  Files are
written private (0600); a verb run as root through ``sudo`` (the workflow's grade and collect)
gives what it wrote to the user who called it (``hand_over``), whose later steps upload it.  A
leaf of the house: it imports only the other leaves (verdicts, lateness, the codec's text
cleaning), never the runner or the sandbox.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from .lateness import Lateness, penalty_points
from .verdicts import Verdict

#: longest text of one test or note in a results file (student-influenced text is cut earlier)
MAX_OUTPUT = 4000
#: longest source of one function kept in a results file (the class report's examples)
MAX_CODE = 3000


def safe(text: object, limit: int = MAX_OUTPUT) -> str:
    """Text fit for results.json, CSV and XML: no control characters or lone surrogates, bounded."""
    from .wire import clean_text  # the codec's rule; imported here, as it brings numpy

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


@dataclass(frozen=True)
class ManualScore:
    """One written answer's points: its maximum (course.yml ``manual``) and, once graded by hand,
    its score (``None`` until then: pending)."""

    max_score: float
    score: float | None = None


@dataclass(frozen=True)
class FinalGrade:
    """The one grade every output shows: auto + manual - late penalty.

    ``manual`` holds the points of the written answers graded so far; ``pending`` names those not
    graded yet (``pending_max`` their points), which are not counted: the grade is then "auto only,
    manual pending", never a silent 0.
    """

    auto: float
    auto_max: float
    penalty: float  # points off the autograded score
    penalty_percent: float
    manual: float
    manual_max: float
    pending: tuple[str, ...] = ()
    pending_max: float = 0.0

    @property
    def score(self) -> float:
        return round(self.auto - self.penalty + self.manual, 4)

    @property
    def max_score(self) -> float:
        return round(self.auto_max + self.manual_max, 4)

    @property
    def status(self) -> str:
        """``final``, or ``manual pending`` while some written answer is not graded yet."""
        return "manual pending" if self.pending else "final"

    def words(self) -> str:
        """The grade as a student or an instructor reads it, e.g. "9.5 / 17 (auto only, manual pending)"."""
        return f"{self.score:g} / {self.max_score:g}" + (" (auto only, manual pending)" if self.pending else "")

    def parts(self) -> str:
        """What it is made of, e.g. "autograded 13 / 15, late penalty -2.6 (20% of the autograded
        points), written answers 1.5 / 2"."""
        parts = [f"autograded {self.auto:g} / {self.auto_max:g}"]
        if self.penalty_percent:
            parts.append(f"late penalty -{self.penalty:g} ({self.penalty_percent:g}% of the autograded points)")
        if self.manual_max:
            graded_max = round(self.manual_max - self.pending_max, 4)
            graded = [f"{self.manual:g} / {graded_max:g}"] if graded_max else []
            pending = [f"{self.pending_max:g} points pending (graded by hand)"] if self.pending else []
            parts.append("written answers " + ", ".join(graded + pending))
        return ", ".join(parts)

    def to_json(self) -> dict:
        return {
            "auto": self.auto,
            "auto_max": self.auto_max,
            "penalty": self.penalty,
            "penalty_percent": self.penalty_percent,
            "manual": self.manual,
            "manual_max": self.manual_max,
            "pending": list(self.pending),
            "score": self.score,
            "max_score": self.max_score,
            "status": self.status,
        }


def final_grade(
    auto: float, auto_max: float, manual: Mapping[str, ManualScore] | None = None, penalty_percent: float = 0.0
) -> FinalGrade:
    """auto + manual - late penalty, the one place a final grade is computed (every route, every output).

    ``auto`` is the autograded score (``auto_max`` its maximum), ``manual`` the written answers by
    grade id (course.yml ``manual``; a score of ``None`` is pending), ``penalty_percent`` the
    lateness's (``Lateness.penalty_percent``, 0 on time).  The penalty is taken off the autograded
    points only (``lateness.penalty_points``).
    """
    manual = manual or {}
    graded = {k: m for k, m in manual.items() if m.score is not None}
    pending = tuple(k for k, m in manual.items() if m.score is None)
    return FinalGrade(
        auto=round(auto, 4),
        auto_max=round(auto_max, 4),
        penalty=penalty_points(auto, penalty_percent),
        penalty_percent=penalty_percent,
        manual=round(sum(m.score for m in graded.values()), 4),
        manual_max=round(sum(m.max_score for m in manual.values()), 4),
        pending=pending,
        pending_max=round(sum(manual[k].max_score for k in pending), 4),
    )


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
    manual: dict[str, ManualScore] = field(default_factory=dict)  # written answers' points, by grade id
    code: dict[str, str] = field(default_factory=dict)  # each graded function's code (``answers.py``)
    written: dict[str, str] = field(default_factory=dict)  # each written answer's text, by grade id

    @property
    def score(self) -> float:
        """The autograded score: what the hidden checks gave, before any late penalty."""
        return round(sum(t.score for t in self.tests), 4)

    @property
    def max_score(self) -> float:
        """The autograded points there are (the written answers' are in ``grade``)."""
        return round(sum(t.max_score for t in self.tests), 4)

    @property
    def grade(self) -> FinalGrade:
        """The final grade: auto + manual - late penalty (``final_grade``)."""
        percent = self.lateness.penalty_percent if self.lateness else 0.0
        return final_grade(self.score, self.max_score, self.manual, percent)

    @property
    def final_score(self) -> float:
        return self.grade.score

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
    summary = _summary_lines(graded) + [safe(n) for n in graded.notes]
    data = {
        "score": graded.grade.score,
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
            "grade": graded.grade.to_json(),
        },
    }
    extra = data["extra_data"]
    if graded.lateness:
        extra["raw_score"] = graded.score
        extra["lateness"] = graded.lateness.to_json()
    if graded.manual:
        extra["manual"] = {k: {"score": m.score, "max_score": m.max_score} for k, m in graded.manual.items()}
    if graded.code:
        extra["code"] = {safe(k, 100): safe(v, MAX_CODE) for k, v in graded.code.items()}
    if graded.written:
        extra["written"] = {safe(k, 100): safe(v, MAX_OUTPUT + 10) for k, v in graded.written.items()}
    if report is not None:
        data["output"] = report
        data["output_format"] = "md"
        for test in data["tests"]:
            test["output_format"] = "md"
    if execution_time is not None:
        data["execution_time"] = round(execution_time)
    return data


def _summary_lines(graded: GradedSubmission) -> list[str]:
    """The plain ``output``'s first lines (the notes follow them): the autograded score, the
    lateness when known, the final grade when written answers count."""
    lines = [f"{graded.assignment}: {graded.score:g} / {graded.max_score:g} points."]
    if graded.lateness:
        lines.append(graded.lateness.sentence(graded.score, graded.max_score))
    if graded.manual:
        lines.append(f"Final grade: {graded.grade.words()}: {graded.grade.parts()}.")
    return lines


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
    graded = GradedSubmission(extra["student"], extra["assignment"], extra["notebook"], tests)
    graded.lateness = Lateness.from_json(extra.get("lateness"))
    graded.manual = {
        str(k): ManualScore(float(m["max_score"]), None if m["score"] is None else float(m["score"]))
        for k, m in (extra.get("manual") or {}).items()
    }
    graded.code = {str(k): str(v) for k, v in (extra.get("code") or {}).items()}
    graded.written = {str(k): str(v) for k, v in (extra.get("written") or {}).items()}
    if "output_format" not in data:
        graded.notes = data["output"].split("\n")[len(_summary_lines(graded)) :]
    return graded


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


def hand_over(path: Path) -> None:
    """Give ``path`` (a file, or a folder and everything in it) to the user who ran us through
    sudo (``SUDO_UID``), so that the workflow's later steps, run as that user (artifact, cache,
    state branch), can read what root wrote.  Links are changed themselves, never followed."""
    uid, gid = os.environ.get("SUDO_UID", ""), os.environ.get("SUDO_GID", "")
    if os.geteuid() != 0 or not uid.isdigit() or not gid.isdigit() or not os.path.lexists(path):
        return
    os.lchown(path, int(uid), int(gid))
    for folder, dirs, files in os.walk(path) if path.is_dir() else ():
        for name in dirs + files:
            os.lchown(os.path.join(folder, name), int(uid), int(gid))
