"""nbgrader's autograde chain fails closed: a test cell our grader did not score scores 0 with the
reason, never full marks; a disabled piece still runs; a chain that would execute the notebook in
a kernel runs nothing.

nbgrader scores a code grade cell with no output as full marks.  So a chain that lost
``GradeCells`` (or one where it was disabled, as every nbconvert preprocessor is by default)
would give every student full marks, silently: the control case below shows it with nbgrader's
own ``SaveAutoGrades`` and nbgrader's own exporter; with ours, a chain that saves with
``SaveAutoGrades`` is refused, and ``SaveGrades`` turns an unscored chain's cells into 0.
"""

from __future__ import annotations

import contextlib
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbgrader.api import Gradebook

from autograder.assign import tool_env

from helpers import COURSE, copy_repo, write_notebook

GD = "02_gradient_descent"
NOTEBOOK = COURSE.assignment(GD).notebook
UPHILL = "def gd_step(w, grad, lr):\n    return w + lr * grad\n"
FULL = {f"test_{f}": p for f, p in COURSE.assignment(GD).points.items()}


def nbgrader(root: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "nbgrader", *args],
        cwd=root,
        env={**tool_env(), "PYTHONPATH": str(root), "GD_COURSE_CONFIG": str(root / "course.yml")},
        capture_output=True,
        text=True,
    )


@pytest.fixture(scope="module")
def course(tmp_path_factory) -> Path:
    """A copy of the course with one student whose gd_step steps uphill (2 of gd_step's 2 points
    would be wrong) and whose notebook leaves a file behind wherever a kernel runs it."""
    root = copy_repo(tmp_path_factory.mktemp("chain"))
    assert nbgrader(root, "generate_assignment", GD, "--force").returncode == 0
    canary = root / "ran-in-a-kernel"
    write_notebook(GD, root / "submitted" / "uphill" / GD, {"gd_step": UPHILL}, [f"open({str(canary)!r}, 'w').close()"])
    return root


@contextlib.contextmanager
def configured(root: Path, lines: str):
    """nbgrader_config.py with ``lines`` appended, for one command."""
    config = root / "nbgrader_config.py"
    original = config.read_text()
    config.write_text(original + "\n" + lines + "\n")
    try:
        yield
    finally:
        config.write_text(original)


def autograde(root: Path, lines: str = "") -> subprocess.CompletedProcess:
    with configured(root, lines):
        return nbgrader(root, "autograde", GD, "--force")


def scores(root: Path) -> dict[str, float]:
    with Gradebook(f"sqlite:///{root / 'gradebook.db'}") as gb:
        nb = gb.find_submission_notebook(NOTEBOOK.removesuffix(".ipynb"), GD, "uphill")
        return {g.name: g.auto_score for g in nb.grades if g.cell.cell_type == "code"}


def test_a_chain_without_our_grader_would_give_full_marks_with_nbgrader_saver(course):
    """The trap, shown (nbgrader's own exporter, none of our guards): nbgrader's SaveAutoGrades
    scores every unexecuted test cell full marks."""
    done = autograde(
        course,
        'c.Autograde.exporter_class = "nbconvert.exporters.NotebookExporter"\n'
        'c.Autograde.autograde_preprocessors = ["nbgrader.preprocessors.SaveAutoGrades"]',
    )
    assert done.returncode == 0, done.stderr
    assert scores(course) == FULL


def test_a_chain_that_saves_with_nbgraders_saver_scores_nothing(course):
    """Our exporter refuses the trap's chain (nbgrader's SaveAutoGrades, even after our grader)
    before any cell is graded or scored."""
    done = autograde(
        course,
        'c.Autograde.autograde_preprocessors = ["autograder.nbgrader.grade_cells.GradeCells", '
        '"nbgrader.preprocessors.SaveAutoGrades"]',
    )
    assert done.returncode != 0
    assert "saves grades with SaveAutoGrades" in done.stdout + done.stderr
    assert not (course / "autograded" / "uphill" / GD / NOTEBOOK).exists()


def test_a_chain_without_our_grader_scores_zero_with_the_reason(course):
    done = autograde(course, 'c.Autograde.autograde_preprocessors = ["autograder.nbgrader.save_grades.SaveGrades"]')
    assert done.returncode == 0, done.stderr
    assert scores(course) == dict.fromkeys(FULL, 0.0)
    nb = nbformat.read(str(course / "autograded" / "uphill" / GD / NOTEBOOK), as_version=4)
    tests = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") in FULL]
    assert len(tests) == len(FULL)
    for cell in tests:
        (error,) = [o for o in cell.outputs if o.output_type == "error"]
        assert "gave this cell no result" in error.evalue


def test_disabling_our_pieces_disables_nothing(course):
    done = autograde(course, "c.GradeCells.enabled = False\nc.SaveGrades.enabled = False")
    assert done.returncode == 0, done.stderr
    got = scores(course)
    assert 0 < got["test_gd_step"] < FULL["test_gd_step"]  # graded: the uphill step costs points
    assert {k: v for k, v in got.items() if k != "test_gd_step"} == {
        k: v for k, v in FULL.items() if k != "test_gd_step"
    }


def test_a_chain_that_executes_the_notebook_runs_nothing(course):
    """nbgrader's Execute put back before our grader: refused before any cell runs."""
    done = autograde(
        course,
        'c.Autograde.autograde_preprocessors = ["nbgrader.preprocessors.Execute", '
        '"autograder.nbgrader.grade_cells.GradeCells", "autograder.nbgrader.save_grades.SaveGrades"]',
    )
    assert done.returncode != 0
    assert "would run student code in a kernel (Execute)" in done.stdout + done.stderr
    assert not (course / "ran-in-a-kernel").exists()
    assert not (course / "autograded" / "uphill" / GD / NOTEBOOK).exists()
