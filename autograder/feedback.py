"""Feedback reports for students: per function, the verdict and the message; and plots.

The plots are the assignment's: its suite module's plotters (``@suite.plot``; ``suites/plotting.py``
says what a plot is) draw the student's own code at work next to the reference.  Every report
has all of them: the reference is always drawn, and when the student's function fails, or its
data makes the picture degenerate, the caption says so in a sentence.

The heading shows the final grade (``GradedSubmission.grade``: auto + manual - late penalty), the
same number as grades.csv and every export, and what it is made of.  ``write_reports`` keeps the
plots' titles and captions beside their PNGs (``feedback_plots.json``), so that
``rewrite_reports`` can write the report again when hand-graded scores change its grade (and
``collect`` can give the report of an earlier grading that still counts).
"""

from __future__ import annotations

import base64
import dataclasses
import html
import json
from pathlib import Path

import numpy as np

from .results import GradedSubmission, markdown_text, write_atomic
from .suites import SUITES
from .suites.framework import course_seed
from .suites.plotting import Plot
from .verdicts import Verdict


def draw_plots(sub, assignment_id: str) -> tuple[list[Plot], list[str]]:
    """The assignment's plots of the student's code, and a note for each that could not be drawn.

    Plotters draw the reference whatever the student's code does and explain a missing or
    degenerate curve in the caption, so a note here means the grader itself failed to draw.
    Their problems are the same in every course (seed 0), whatever the course seed.
    """
    plots, notes = [], []
    suite = SUITES.get(assignment_id)
    for plotter in suite.plotters if suite else []:
        try:
            with np.errstate(all="ignore"), course_seed(0):
                drawn = _Calls(sub)
                plots.append(dataclasses.replace(plotter(drawn), functions=tuple(drawn.called)))
        except Exception as exc:  # noqa: BLE001 - a plot must never stop the report
            note = f"A plot could not be drawn ({type(exc).__name__}); your scores are not affected."
            if note not in notes:
                notes.append(note)
    return plots, notes


class _Calls:
    """The student's code as a plotter sees it, noting which functions the plot calls (the
    functions it draws: nbgrader's route shows the plot under the last one's test cell)."""

    def __init__(self, sub):
        self.sub = sub
        self.called: list[str] = []

    def call(self, fn, *args, **kwargs):
        if fn not in self.called:
            self.called.append(fn)
        return self.sub.call(fn, *args, **kwargs)

    def __getattr__(self, name):
        return getattr(self.sub, name)


# -------------------------------------------------------------------------------- reports

_MARK = {"passed": "✓", "failed": "✗"}
#: beside the report's PNGs: each plot's name, title and caption, and the plot notes
PLOTS_INDEX = "feedback_plots.json"


def score_lines(graded: GradedSubmission) -> tuple[str, str, str]:
    """The heading's words: the final grade ("Score: 9.5 / 17"), what kind of grade it is ("auto
    only, manual pending" while written answers are not graded), and what it is made of."""
    grade = graded.grade
    score = f"Score: {grade.score:g} / {grade.max_score:g}"
    if not grade.manual_max and not grade.penalty_percent:
        return score, "(autograded functions)", ""
    parts = grade.parts()
    return score, "(auto only, manual pending)" if grade.pending else "", f"{parts[0].upper()}{parts[1:]}."


def _sections(graded: GradedSubmission):
    for function, (score, out_of) in graded.functions().items():
        tests = [t for t in graded.tests if t.function == function]
        yield function, score, out_of, tests


def _markdown_heading(score: str, kind: str, parts: str) -> str:
    return " ".join(filter(None, [f"**{score}**", kind])) + (f"  \n{parts}" if parts else "")


def _html_heading(score: str, kind: str, parts: str) -> str:
    e = html.escape
    return f'<p class="score"><strong>{e(score)}</strong> {e(kind)}' + (f"<br>{e(parts)}" if parts else "") + "</p>"


def markdown_report(graded: GradedSubmission, plots: list[Plot], notes: list[str]) -> str:
    lines = [
        f"# Feedback: {graded.assignment}, {markdown_text(graded.student)}",
        "",
        _markdown_heading(*score_lines(graded)),
        "",
        "| function | score | checks passed |",
        "|---|---|---|",
    ]
    for function, score, out_of, tests in _sections(graded):
        passed = sum(t.status == "passed" for t in tests)
        lines.append(f"| `{function}` | {score:g} / {out_of:g} | {passed} of {len(tests)} |")
    for note in graded.notes + notes:
        lines += ["", f"> {markdown_text(note)}"]
    for function, score, out_of, tests in _sections(graded):
        lines += ["", *function_markdown(function, score, out_of, tests)]
    if plots:
        lines += ["", "## Your code at work", ""]
        for p in plots:
            title = markdown_text(p.title)
            lines += [f"### {title}", "", f"![{title}](feedback_{p.name}.png)", "", markdown_text(p.caption), ""]
    return "\n".join(lines).rstrip() + "\n"


def function_markdown(function: str, score: float, out_of: float, tests: list) -> list[str]:
    """One function's section of the report (its heading, then each check's outcome), as lines
    of Markdown: also what nbgrader's route writes under the function's test cell."""
    lines = [f"## `{function}`: {score:g} / {out_of:g}", ""]
    for t in tests:
        description = t.name.split(": ", 1)[1]
        if t.status == "passed":
            lines.append(f"- {_MARK['passed']} {description}")
        else:
            lines.append(
                f"- {_MARK['failed']} {description} ({Verdict(t.verdict).words})  \n  {markdown_text(t.output)}"
            )
    return lines


def html_report(graded: GradedSubmission, plots: list[Plot], notes: list[str]) -> str:
    e = html.escape
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>Feedback: {e(graded.assignment)}, {e(graded.student)}</title>",
        "<style>body{font-family:system-ui,sans-serif;max-width:52rem;margin:2rem auto;padding:0 1rem;line-height:1.45}"
        "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.25rem .6rem}"
        ".failed{color:#a40000}.note{background:#fff6d5;padding:.4rem .8rem;border-left:4px solid #e0b000}"
        "img{max-width:100%;border:1px solid #ddd}li{margin:.3rem 0}</style></head><body>",
        f"<h1>Feedback: {e(graded.assignment)}, {e(graded.student)}</h1>",
        _html_heading(*score_lines(graded)),
        "<table><tr><th>function</th><th>score</th><th>checks passed</th></tr>",
    ]
    for function, score, out_of, tests in _sections(graded):
        passed = sum(t.status == "passed" for t in tests)
        parts.append(
            f"<tr><td><code>{e(function)}</code></td><td>{score:g} / {out_of:g}</td><td>{passed} of {len(tests)}</td></tr>"
        )
    parts.append("</table>")
    for note in graded.notes + notes:
        parts.append(f'<p class="note">{e(note)}</p>')
    for function, score, out_of, tests in _sections(graded):
        parts.append(f"<h2><code>{e(function)}</code>: {score:g} / {out_of:g}</h2><ul>")
        for t in tests:
            description = e(t.name.split(": ", 1)[1])
            if t.status == "passed":
                parts.append(f"<li>{_MARK['passed']} {description}</li>")
            else:
                verdict = e(Verdict(t.verdict).words)
                parts.append(
                    f'<li class="failed">{_MARK["failed"]} {description} <em>({verdict})</em><br>{e(t.output)}</li>'
                )
        parts.append("</ul>")
    if plots:
        parts.append("<h2>Your code at work</h2>")
        for p in plots:
            data = base64.b64encode(p.png).decode("ascii")
            parts.append(
                f'<h3>{e(p.title)}</h3><img alt="{e(p.title)}" src="data:image/png;base64,{data}"><p>{e(p.caption)}</p>'
            )
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def write_reports(graded: GradedSubmission, out_dir: Path) -> Path:
    """feedback.md (with PNG files beside it) and feedback.html (PNGs embedded)."""
    folder = out_dir / graded.student / graded.assignment
    folder.mkdir(parents=True, exist_ok=True)
    plots, notes = graded.plots, graded.plot_notes
    for p in plots:
        path = folder / f"feedback_{p.name}.png"
        tmp = path.with_suffix(".tmp")
        tmp.write_bytes(p.png)
        tmp.replace(path)
    index = {"plots": [{"name": p.name, "title": p.title, "caption": p.caption} for p in plots], "notes": notes}
    write_atomic(folder / PLOTS_INDEX, json.dumps(index, indent=1, ensure_ascii=True) + "\n")
    write_atomic(folder / "feedback.md", markdown_report(graded, plots, notes))
    write_atomic(folder / "feedback.html", html_report(graded, plots, notes))
    return folder / "feedback.html"


def rewrite_reports(graded: GradedSubmission, out_dir: Path) -> bool:
    """Write ``graded``'s report again where one was written (its grade changed: hand-graded
    scores came in), with the plots kept beside it; False when it has no report there."""
    kept = with_kept_plots(graded, out_dir)
    if kept is not None:
        write_reports(kept.for_report(), out_dir)
    return kept is not None


def with_kept_plots(graded: GradedSubmission, out_dir: Path) -> GradedSubmission | None:
    """``graded`` with the plots of the report ``write_reports`` wrote for it under ``out_dir``;
    ``None`` when there is no such report."""
    folder = out_dir / graded.student / graded.assignment
    try:
        index = json.loads((folder / PLOTS_INDEX).read_text(encoding="utf-8"))
        plots = [
            Plot(p["name"], p["title"], p["caption"], (folder / f"feedback_{p['name']}.png").read_bytes())
            for p in index["plots"]
        ]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return dataclasses.replace(graded, plots=plots, plot_notes=list(index["notes"]))
