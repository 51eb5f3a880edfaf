"""Reports for CI: JUnit XML (what CI systems display) and a Markdown score table (job summary)."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from .results import GradedSubmission, markdown_text, safe
from .tables import by_student, score_tables


def junit_xml(all_graded: list[GradedSubmission]) -> str:
    """One <testsuite> per submission, one <testcase> per hidden check; no times, so it is stable."""
    suites = ET.Element("testsuites", name="gd-course")
    total = failures = 0
    for g in sorted(all_graded, key=lambda g: (g.assignment, g.student)):
        failed = [t for t in g.tests if t.status == "failed"]
        suite = ET.SubElement(
            suites,
            "testsuite",
            name=safe(f"{g.student}/{g.assignment}", 400),
            tests=str(len(g.tests)),
            failures=str(len(failed)),
            errors="0",
            skipped="0",
        )
        for t in g.tests:
            case = ET.SubElement(
                suite,
                "testcase",
                classname=safe(f"{g.assignment}.{g.student}.{t.function}", 400),
                name=safe(t.name.split(": ", 1)[-1], 300),
            )
            ET.SubElement(case, "properties")
            props = case.find("properties")
            ET.SubElement(props, "property", name="score", value=f"{t.score:g}")
            ET.SubElement(props, "property", name="max_score", value=f"{t.max_score:g}")
            if t.status == "failed":
                failure = ET.SubElement(case, "failure", message=safe(t.output, 200), type=safe(str(t.verdict), 40))
                failure.text = safe(t.output)
        total += len(g.tests)
        failures += len(failed)
    suites.set("tests", str(total))
    suites.set("failures", str(failures))
    ET.indent(suites)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(suites, encoding="unicode") + "\n"


def markdown_summary(all_graded: list[GradedSubmission], out_dir: Path | None = None) -> str:
    """A Markdown table per assignment: one row per student, one column per function, then the
    autograded score and the final grade (``tables.ScoreTable``); with ``out_dir``, each
    assignment's class report there is named, with its most common mistakes."""
    lines = ["## Grades", ""]
    for t in score_tables(by_student(all_graded)):
        headers = t.headers()
        lines += [
            f"### {t.assignment}",
            "",
            "| student | " + " | ".join(f"`{f}`" for f in t.functions) + " | " + " | ".join(headers) + " |",
            "|---|" + "---|" * (len(t.functions) + len(headers)),
        ]
        for g in t.rows:
            # a folder name cannot forge cells, links or HTML (no code spans: a | would split them)
            name = markdown_text(safe(g.student, 200).replace("`", "'"))
            cells = t.cells(g)
            cells[-1] = f"**{cells[-1]}**"
            lines.append(f"| {name} | " + " | ".join(t.fractions(g)) + " | " + " | ".join(cells) + " |")
        finals = t.finals()
        max_score = max(g.grade.max_score for g in t.rows)
        pending = sum(bool(g.grade.pending) for g in t.rows)
        mean = f"{len(t.rows)} submissions, mean final score {sum(finals) / len(finals):.2f} / {max_score:g}"
        lines += ["", mean + (f" ({pending} with written answers pending)." if pending else "."), ""]
        lines += _report_lines(t.assignment, t.rows, out_dir)
    return "\n".join(lines)


def _report_lines(assignment: str, rows: list[GradedSubmission], out_dir: Path | None) -> list[str]:
    """Where the class report is, and the mistakes most students made."""
    if out_dir is None or not (out_dir / f"{assignment}_report.html").is_file():
        return []
    from .classreport import top_mistakes

    where = f"`{out_dir.name}/{assignment}_report.html` (and `.md`)"
    lines = [f"Class report: {where}, in this run's artifact. Most common mistakes:", ""]
    for function, m in top_mistakes(rows):
        lines.append(f"- `{function}`: `{m.key}`, {len(m.students)} of {len(rows)} students")
    return [*lines, ""]
