"""The class report: per assignment, what the class got wrong, for the instructor's next lecture.

Per graded function: the distribution of its scores, and how many students made each mistake the
checks diagnosed (``TestResult.cause``, the id a check gives its ``Fail``), in the words their
feedback used, with one student's code as an example (anonymised: no name, no comments, no
docstrings; ``answers.tidy``), sorted by how many students it cost points.  A failure no check
diagnosed is grouped by the check it failed.  Each student counts once per mistake and function,
however many checks the mistake broke (the checks that only echo another's failure are left out).

Written by ``grade`` and ``collect`` beside grades.csv (``submission.write_class_files``):
``<assignment>_report.md`` (its plots are the PNGs beside it) and ``<assignment>_report.html``
(self-contained: the plots are embedded as data URIs).  The words are the feedback's own, which
never give the hidden inputs; the students' own error messages are not repeated.
"""

from __future__ import annotations

import base64
import html
import re
import statistics
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from .figures import Margins, fitting_size, png, subplots, text_width
from .results import GradedSubmission, TestResult, markdown_text, write_atomic
from .verdicts import Verdict

#: at most this many mistakes are drawn in a function's plot (all are listed)
PLOTTED = 8

#: causes for which the student's code shows nothing worth an example
_NO_EXAMPLE = {"not_implemented", "missing"}


@dataclass
class MistakeRow:
    """One diagnosed mistake (or one check failed without a diagnosis) in one function."""

    key: str  # the cause id, or "check: <description>" when no check named a cause
    students: set[str] = field(default_factory=set)
    points_lost: float = 0.0  # in this function, by those students
    example: str = ""  # one student's code of the function, anonymised
    wordings: Counter = field(default_factory=Counter)  # what the feedback said about it: students per wording

    @property
    def diagnosed(self) -> bool:
        return not self.key.startswith("check: ")

    @property
    def words(self) -> str:
        """What the feedback said to most of these students."""
        return self.said()[0]

    def said(self) -> list[str]:
        """Every wording the feedback used for it, the most used first."""
        return [w for w, _ in sorted(self.wordings.items(), key=lambda wc: (-wc[1], wc[0]))]


@dataclass
class FunctionReport:
    function: str
    max_score: float
    scores: list[float]  # one per student who was graded on it
    mistakes: list[MistakeRow]

    @property
    def full_marks(self) -> int:
        return sum(s >= self.max_score for s in self.scores)

    @property
    def zero(self) -> int:
        return sum(s == 0 for s in self.scores)


@dataclass
class ClassReport:
    assignment: str
    finals: list[float]
    max_score: float
    pending: int  # submissions whose written answers are not graded yet
    functions: list[FunctionReport]


# ----------------------------------------------------------------------------------- build


def build(assignment: str, graded: list[GradedSubmission]) -> ClassReport:
    """The report of ``graded`` (one assignment's submissions)."""
    functions: dict[str, FunctionReport] = {}
    for g in sorted(graded, key=lambda g: g.student):
        for function, (score, out_of) in g.functions().items():
            report = functions.setdefault(function, FunctionReport(function, out_of, [], []))
            report.scores.append(score)
            _count(report, g, function, out_of - score)
    for report in functions.values():
        report.mistakes.sort(key=lambda m: (-len(m.students), -m.points_lost, m.key))
    finals = [g.grade.score for g in graded]
    max_score = max((g.grade.max_score for g in graded), default=0.0)
    pending = sum(bool(g.grade.pending) for g in graded)
    return ClassReport(assignment, finals, max_score, pending, list(functions.values()))


def _count(report: FunctionReport, g: GradedSubmission, function: str, lost: float) -> None:
    """Count ``g``'s mistakes in ``function`` (each once), with the points it lost there."""
    rows = {m.key: m for m in report.mistakes}
    for key, tests in _mistakes(g, function).items():
        row = rows.get(key)
        if row is None:
            row = MistakeRow(key)
            report.mistakes.append(row)
            rows[key] = row
        row.students.add(g.student)
        row.wordings[_words(key, tests)] += 1
        row.points_lost = round(row.points_lost + lost, 4)
        code = g.code.get(function, "")
        if code and key not in _NO_EXAMPLE and (not row.example or (len(code), code) < (len(row.example), row.example)):
            row.example = code  # the shortest: the mistake with least around it


def _mistakes(g: GradedSubmission, function: str) -> dict[str, list[TestResult]]:
    """``g``'s failures in ``function`` by mistake: each cause once (a check that only echoes
    another's failure is left out), an undiagnosed failure under its check."""
    found: dict[str, list[TestResult]] = {}
    for t in g.tests:
        if t.function != function or t.verdict in (Verdict.PASSED, Verdict.GATED):
            continue
        key = t.cause or f"check: {t.name.split(': ', 1)[-1]}"
        found.setdefault(key, []).append(t)
    return found


_STANDIN_NOTE = re.compile(r" \(Checked with our own [^)]*\)$")


def _words(key: str, tests: list[TestResult]) -> str:
    """What the feedback said: the message of the first check that found it (without our note on
    stand-ins); for an error, its kind only (the student's own message is theirs)."""
    t = tests[0]
    if key.startswith("raised_"):
        return f"`{t.function}` raised {key.removeprefix('raised_')} (the students' messages are not shown)."
    return _STANDIN_NOTE.sub("", t.output)


# ---------------------------------------------------------------------------------- render


def write_class_report(out_dir: Path, assignment: str, graded: list[GradedSubmission]) -> Path:
    """``<assignment>_report.md`` with its PNGs, and the self-contained ``<assignment>_report.html``."""
    report = build(assignment, graded)
    pngs = {f.function: _plot(f) for f in report.functions}
    for function, image in pngs.items():
        path = out_dir / f"{assignment}_report_{function}.png"
        tmp = path.with_suffix(".tmp")
        tmp.write_bytes(image)
        tmp.replace(path)
    write_atomic(out_dir / f"{assignment}_report.md", markdown(report))
    path = out_dir / f"{assignment}_report.html"
    write_atomic(path, to_html(report, pngs))
    return path


def _summary(report: ClassReport) -> str:
    finals = report.finals
    text = (
        f"{len(finals)} submissions; final scores: mean {statistics.fmean(finals):.2f}, median "
        f"{statistics.median(finals):g} (out of {report.max_score:g})"
        if finals
        else "no submissions"
    )
    if report.pending:
        text += f"; written answers not graded yet for {report.pending} (auto only, manual pending)"
    return text + "."


def _function_line(f: FunctionReport) -> str:
    n = len(f.scores)
    mean = statistics.fmean(f.scores) if f.scores else 0.0
    return (
        f"mean {mean:.2f} / {f.max_score:g}; {f.full_marks} of {n} full marks, {f.zero} no points; "
        f"{len(f.mistakes)} mistake{'s' if len(f.mistakes) != 1 else ''} found"
    )


def markdown(report: ClassReport) -> str:
    """The report as Markdown; each function's plot is the PNG beside it."""
    a = report.assignment
    lines = [f"# {a}: what the class got wrong", "", _summary(report), ""]
    lines += ["| function | mean | full marks | no points | most common mistake (students) |", "|---|---|---|---|---|"]
    for f in report.functions:
        top = f.mistakes[0] if f.mistakes else None
        most = f"{_key(top)} ({len(top.students)})" if top else ""
        mean = statistics.fmean(f.scores) if f.scores else 0.0
        lines.append(f"| `{f.function}` | {mean:.2f} / {f.max_score:g} | {f.full_marks} | {f.zero} | {most} |")
    for f in report.functions:
        lines += [
            "",
            f"## `{f.function}`",
            "",
            _function_line(f) + ".",
            "",
            f"![{f.function}]({a}_report_{f.function}.png)",
            "",
        ]
        if not f.mistakes:
            lines.append("Nobody lost points here.")
            continue
        lines += ["| students | points lost | mistake | what the feedback says |", "|---|---|---|---|"]
        for m in f.mistakes:
            lines.append(f"| {len(m.students)} | {m.points_lost:g} | {_key(m)} | {_cell(m.words)} |")
        for m in f.mistakes:
            lines += ["", f"**{_key(m)}**: {_how_many(m)}."]
            if len(m.wordings) > 1:
                lines += ["", "The feedback said, in these words:", ""] + [f"- {_cell(w)}" for w in m.said()]
            if m.example:
                lines += ["", f"One student's `{f.function}` (anonymised):", "", _code_block(m.example)]
    return "\n".join(lines).rstrip() + "\n"


def _how_many(m: MistakeRow) -> str:
    students = f"{len(m.students)} student{'s' if len(m.students) != 1 else ''}"
    return f"{students}, {m.points_lost:g} points lost in this function"


def _key(m: MistakeRow) -> str:
    return f"`{m.key}`" if m.diagnosed else "not diagnosed: " + markdown_text(m.key.removeprefix("check: "))


def _cell(text: str) -> str:
    return markdown_text(text).replace("|", "\\|")


def _code_block(code: str) -> str:
    fence = "`" * max(3, 1 + max((len(r) for r in re.findall(r"`+", code)), default=0))
    return f"{fence}python\n{code}\n{fence}"


def to_html(report: ClassReport, pngs: dict[str, bytes]) -> str:
    """The report as one self-contained HTML page (the plots embedded)."""
    e = html.escape
    a = report.assignment
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{e(a)}: what the class got wrong</title>",
        "<style>body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;line-height:1.45}"
        "table{border-collapse:collapse;margin:.5rem 0}td,th{border:1px solid #ccc;padding:.25rem .6rem;vertical-align:top}"
        "td.n{text-align:right}img{max-width:100%;border:1px solid #ddd}pre{background:#f6f6f6;padding:.6rem;"
        "overflow-x:auto}.undiagnosed{color:#666}</style></head><body>",
        f"<h1>{e(a)}: what the class got wrong</h1>",
        f"<p>{e(_summary(report))}</p>",
        "<table><tr><th>function</th><th>mean</th><th>full marks</th><th>no points</th>"
        "<th>most common mistake (students)</th></tr>",
    ]
    for f in report.functions:
        top = f.mistakes[0] if f.mistakes else None
        mean = statistics.fmean(f.scores) if f.scores else 0.0
        most = f"{_html_key(top)} ({len(top.students)})" if top else ""
        parts.append(
            f'<tr><td><a href="#{e(f.function)}"><code>{e(f.function)}</code></a></td><td class="n">{mean:.2f} / '
            f'{f.max_score:g}</td><td class="n">{f.full_marks}</td><td class="n">{f.zero}</td><td>{most}</td></tr>'
        )
    parts.append("</table>")
    for f in report.functions:
        data = base64.b64encode(pngs[f.function]).decode("ascii") if f.function in pngs else ""
        parts.append(f'<h2 id="{e(f.function)}"><code>{e(f.function)}</code></h2><p>{e(_function_line(f))}.</p>')
        if data:
            parts.append(f'<img alt="{e(f.function)}: scores and mistakes" src="data:image/png;base64,{data}">')
        if not f.mistakes:
            parts.append("<p>Nobody lost points here.</p>")
            continue
        parts.append(
            "<table><tr><th>students</th><th>points lost</th><th>mistake</th><th>what the feedback says</th></tr>"
        )
        for m in f.mistakes:
            parts.append(
                f'<tr><td class="n">{len(m.students)}</td><td class="n">{m.points_lost:g}</td><td>{_html_key(m)}</td>'
                f"<td>{_html_words(m.words)}</td></tr>"
            )
        parts.append("</table>")
        for m in f.mistakes:
            parts.append(f"<h3>{_html_key(m)}: {e(_how_many(m))}</h3>")
            if len(m.wordings) > 1:
                parts.append("<p>The feedback said, in these words:</p><ul>")
                parts += [f"<li>{_html_words(w)}</li>" for w in m.said()]
                parts.append("</ul>")
            if m.example:
                parts.append(
                    f"<p>One student's <code>{e(f.function)}</code> (anonymised):</p><pre><code>{e(m.example)}</code></pre>"
                )
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def _html_words(text: str) -> str:
    """The feedback's words as HTML: escaped, its `code spans` as code."""
    return re.sub(r"`([^`]+)`", r"<code>\1</code>", html.escape(text))


def _html_key(m: MistakeRow) -> str:
    if m.diagnosed:
        return f"<code>{html.escape(m.key)}</code>"
    return f'<span class="undiagnosed">not diagnosed: {html.escape(m.key.removeprefix("check: "))}</span>'


#: the class report's picture, in inches: its height, the histogram's width, the bars' least width
#: and the figure's least width (the bars widen it when their labels are long)
PLOT_HEIGHT, HISTOGRAM_WIDTH, BARS_WIDTH, PLOT_WIDTH = 2.8, 2.9, 3.0, 9.0
LABEL_SIZE = 8


def _plot(f: FunctionReport) -> bytes:
    """One function's picture: its score distribution, and the students per mistake (named on the
    left of their bars, with room made for the longest name)."""
    from matplotlib.ticker import MaxNLocator, NullLocator

    shown = f.mistakes[:PLOTTED][::-1]
    labels = [m.key if m.diagnosed else "(not diagnosed) " + m.key.removeprefix("check: ")[:40] for m in shown]
    margins = Margins(between=Margins.between + text_width(labels, LABEL_SIZE))
    fixed = margins.left + HISTOGRAM_WIDTH + margins.between + margins.right
    bars_width = max(BARS_WIDTH, PLOT_WIDTH - fixed)
    fig, (scores_ax, mistakes_ax) = subplots(
        1,
        2,
        figsize=(fixed + bars_width, PLOT_HEIGHT),
        margins=margins,
        gridspec_kw={"width_ratios": [HISTOGRAM_WIDTH, bars_width]},
    )
    bins = max(4, min(12, int(2 * f.max_score) + 1))
    scores_ax.hist(f.scores, bins=bins, range=(0, f.max_score), color="#4C72B0", edgecolor="white")
    scores_ax.set_xlabel(f"score (out of {f.max_score:g})")
    scores_ax.set_ylabel("students")
    scores_ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    scores_ax.set_title(f"{f.function}: scores", fontsize=fitting_size(f"{f.function}: scores", HISTOGRAM_WIDTH, 10))
    mistakes_ax.barh(range(len(shown)), [len(m.students) for m in shown], color="#C44E52")
    mistakes_ax.set_yticks(range(len(shown)), labels, fontsize=LABEL_SIZE)
    mistakes_ax.xaxis.set_major_locator(MaxNLocator(integer=True) if shown else NullLocator())
    mistakes_ax.set_xlabel("students")
    title = "mistakes" if f.mistakes else "no mistakes"
    extra = len(f.mistakes) - len(shown)
    mistakes_ax.set_title(title + (f" ({extra} more in the table)" if extra > 0 else ""), fontsize=10)
    return png(fig)


def top_mistakes(graded: list[GradedSubmission], count: int = 3) -> list[tuple[str, MistakeRow]]:
    """The class's most common diagnosed mistakes, (function, mistake), for the job summary."""
    rows = [(f.function, m) for f in build("", graded).functions for m in f.mistakes if m.diagnosed]
    return sorted(rows, key=lambda fm: (-len(fm[1].students), -fm[1].points_lost, fm[0], fm[1].key))[:count]
