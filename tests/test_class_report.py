"""The class report on a class built from the bug zoo: each planted mistake counted once per student
who made it, named in the words their feedback used, never for a correct answer, no name shown."""

from __future__ import annotations

import json

import pytest

from autograder.classreport import build
from autograder.grade import grade_all
from autograder.submission import discover, load_all_results

from helpers import COURSE
from zoo_class import write_zoo_class

A2 = "02_gradient_descent"


@pytest.fixture(scope="module")
def zoo(tmp_path_factory):
    root = tmp_path_factory.mktemp("zoo")
    planted = write_zoo_class(root / "submitted", A2)
    out = root / "graded"
    grade_all(discover([str(root / "submitted")], COURSE), COURSE, out, jobs=2)
    return {"planted": planted, "out": out, "report": build(A2, load_all_results(out))}


def feedback(out, student: str) -> str:
    """Every message the student read about their functions (their results.json's tests)."""
    return "\n".join(t["output"] for t in json.loads((out / student / A2 / "results.json").read_text())["tests"])


def mistakes_in_results(out, student: str, function: str) -> set[str]:
    """What the student's results.json says went wrong in ``function`` (read here, not by the
    report's code): each failure's cause, or its check where none was named; echoes left out."""
    data = json.loads((out / student / A2 / "results.json").read_text())
    return {
        t["extra_data"].get("cause") or "check: " + t["name"].split(": ", 1)[1]
        for t in data["tests"]
        if t["extra_data"]["function"] == function and t["extra_data"]["verdict"] not in ("passed", "gated")
    }


def test_each_planted_mistake_is_counted_once_per_student_who_made_it(zoo):
    planted, out = zoo["planted"], zoo["out"]
    report = {f.function: f for f in zoo["report"].functions}
    assert set(report) == set(COURSE.assignment(A2).points)
    for function, f in report.items():
        makers = {s for s, bugs in planted.items() if function in bugs}
        counted = {s for m in f.mistakes for s in m.students}
        assert counted == makers, function  # every planted mistake found; correct work (solved, valid) never
        for m in f.mistakes:  # each row counts the students whose results show that mistake, each once
            assert m.students == {s for s in makers if m.key in mistakes_in_results(out, s, function)}, m.key
        assert [len(m.students) for m in f.mistakes] == sorted((len(m.students) for m in f.mistakes), reverse=True)
        # zoo_again repeats zoo_0's mistakes: every row of one holds the other
        assert all(("zoo_0" in m.students) == ("zoo_again" in m.students) for m in f.mistakes)
    diagnosed = [m for f in report.values() for m in f.mistakes if m.diagnosed]
    assert len(diagnosed) >= 20 and all(m.key.replace("_", "").isalnum() for m in diagnosed)


def test_each_mistake_is_named_in_the_words_its_students_read(zoo):
    planted, out = zoo["planted"], zoo["out"]
    for f in zoo["report"].functions:
        for m in f.mistakes:
            for student in m.students:
                assert any(words in feedback(out, student) for words in m.said()), (m.key, student)
        for student, bugs in planted.items():  # and the words the zoo expects name it
            if f.function in bugs:
                said = " ".join(w for m in f.mistakes if student in m.students for w in m.said())
                assert bugs[f.function].says.lower() in (said + feedback(out, student)).lower()


def test_the_report_is_written_beside_grades_csv_and_names_nobody(zoo):
    out = zoo["out"]
    markdown = (out / f"{A2}_report.md").read_text()
    page = (out / f"{A2}_report.html").read_text()
    assert (out / "grades.csv").is_file()
    for f in zoo["report"].functions:
        assert (out / f"{A2}_report_{f.function}.png").read_bytes()[:4] == b"\x89PNG"
        for m in f.mistakes:
            assert f"| {len(m.students)} | {m.points_lost:g} | `{m.key}` |" in markdown or not m.diagnosed
    assert page.count('src="data:image/png;base64,') == len(zoo["report"].functions)  # self-contained
    assert "<script" not in page and 'src="http' not in page
    for student in zoo["planted"]:  # anonymised: no name, in either
        assert student not in markdown and student.replace("_", "\\_") not in markdown and student not in page
