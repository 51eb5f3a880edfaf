"""Reports for CI: JUnit XML (what CI systems display) and a Markdown score table (job summary)."""

from __future__ import annotations

import xml.etree.ElementTree as ET

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


def markdown_summary(all_graded: list[GradedSubmission]) -> str:
    """A Markdown table per assignment: one row per student, one column per function."""
    lines = ["## Grades", ""]
    for t in score_tables(by_student(all_graded)):
        lines += [
            f"### {t.assignment}",
            "",
            "| student | " + " | ".join(f"`{f}`" for f in t.functions) + " | total |",
            "|---|" + "---|" * (len(t.functions) + 1),
        ]
        for g in t.rows:
            # a folder name cannot forge cells, links or HTML (no code spans: a | would split them)
            name = markdown_text(safe(g.student, 200).replace("`", "'"))
            lines.append(f"| {name} | " + " | ".join(t.fractions(g)) + f" | **{g.score:g}/{g.max_score:g}** |")
        mean = sum(g.score for g in t.rows) / len(t.rows)
        lines += ["", f"{len(t.rows)} submissions, mean {mean:.2f} / {t.rows[0].max_score:g}.", ""]
    return "\n".join(lines)
