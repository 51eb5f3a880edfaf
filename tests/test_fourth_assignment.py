"""An assignment is one unit: a fourth one needs its notebook, its entry in course.yml and one
suite module (its checks, its feedback plots and its hints), and nothing else of the grader.

The suite module below is written to a temporary folder and registered at test time, as a file
dropped into ``autograder/suites/`` would be at import; the course and the notebook are built
here too.  Then ``grade`` grades the notebook exactly as it grades the course's own.
"""

from __future__ import annotations

import csv
import importlib.util
import json
import textwrap

import nbformat
import pytest

from autograder.config import load_course
from autograder.grade import grade_all
from autograder.submission import discover
from autograder.suites import SUITES

SUITE = '''
"""Hidden checks for 04_scaling: a throw-away fourth assignment."""

import numpy as np

from autograder.suites.framework import Fail, Suite, as_float, call, register, seeded
from autograder.suites.plotting import Plot, png, subplots, with_notes, yours

suite = register(Suite("04_scaling"))
check = suite.check


@check("double", "doubles an array of any length", weight=2)
def test_double(sub):
    for n in (1, 6):
        x = seeded("double", n).normal(size=n)
        got = np.asarray(call(sub, "double", x), dtype=float)
        if got.shape != x.shape or not np.allclose(got, 2 * x):
            raise Fail("`double` does not double every entry.")


@check("norm", "returns the Euclidean norm")
def test_norm(sub):
    x = seeded("norm").normal(size=4)
    if abs(as_float("norm", call(sub, "norm", x)) - np.linalg.norm(x)) > 1e-9:
        raise Fail("`norm` gives the wrong value.")


suite.one_number_hints["norm"] = "Square the entries, add them up, then take one square root."


@suite.plot
def doubling_plot(sub) -> Plot:
    x = np.linspace(-1.0, 1.0, 5)
    got, why = yours("double", lambda: np.asarray(call(sub, "double", x), dtype=float))
    fig, ax = subplots(figsize=(3, 2))
    ax.plot(x, 2 * x, color="#999999")
    if got is not None:
        ax.plot(x, got, color="#4C72B0")
    return Plot("doubling", "Your double next to 2x", with_notes("Grey: 2x; blue: yours.", [why]), png(fig))
'''

COURSE = """
course: {id: scaling-course, title: Scaling}
time_limits: {call_seconds: 5, cell_seconds: 10, notebook_seconds: 30}
assignments:
  - id: 04_scaling
    notebook: scaling.ipynb
    title: Scaling vectors
    due: 2030-01-01T00:00:00+00:00
    seed: 7
    points: {double: 2, norm: 1}
"""

STUDENT = """
import numpy as np

def double(x):
    return 2 * x

def norm(x):
    return np.sqrt(x ** 2)  # forgot to sum: one number per entry
"""


@pytest.fixture
def fourth(tmp_path):
    """The course, the registered suite and a student's notebook; the suite is unregistered after."""
    path = tmp_path / "suite_04_scaling.py"
    path.write_text(SUITE)
    spec = importlib.util.spec_from_file_location("suite_04_scaling", path)
    spec.loader.exec_module(importlib.util.module_from_spec(spec))  # registers itself
    (tmp_path / "course.yml").write_text(COURSE)
    notebook = tmp_path / "submitted" / "ada" / "04_scaling" / "scaling.ipynb"
    notebook.parent.mkdir(parents=True)
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(textwrap.dedent(STUDENT))])
    nbformat.write(nb, str(notebook))
    try:
        yield load_course(tmp_path / "course.yml"), tmp_path
    finally:
        SUITES.pop("04_scaling", None)


def test_a_fourth_assignment_needs_only_its_notebook_course_entry_and_suite(fourth):
    course, root = fourth
    out = root / "graded"
    graded = grade_all(discover([str(root / "submitted")], course), course, out, feedback=True)
    assert [(g.student, g.assignment, g.score, g.max_score) for g in graded] == [("ada", "04_scaling", 2.0, 3.0)]
    results = json.loads((out / "ada" / "04_scaling" / "results.json").read_text())
    norm = next(t for t in results["tests"] if t["extra_data"]["function"] == "norm")
    assert norm["status"] == "failed" and "then take one square root" in norm["output"]  # the suite's hint
    report = (out / "ada" / "04_scaling" / "feedback.md").read_text()
    assert "### Your double next to 2x" in report and (out / "ada" / "04_scaling" / "feedback_doubling.png").is_file()
    (row,) = csv.DictReader((out / "grades.csv").open())
    assert row["double"] == "2" and row["norm"] == "0" and row["score"] == "2"


def test_a_course_without_the_suite_is_refused(fourth, tmp_path):
    SUITES.pop("04_scaling")
    with pytest.raises(Exception, match="no hidden suite for '04_scaling'"):
        load_course(tmp_path / "course.yml")
