"""course.yml is the one points table: notebooks and gradebook that disagree are refused with one
line; ``assign`` writes course.yml's points everywhere, and nbgrader then grades with them."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from nbgrader.api import Gradebook

from autograder.assign import tool_env
from autograder.config import load_course
from autograder.nbgrader import points

from helpers import REPO, copy_repo, filled_release, write_notebook

GD = "02_gradient_descent"
NOTEBOOK = "gradient_descent.ipynb"
UPHILL = "def gd_step(w, grad, lr):\n    return w + lr * grad\n"


def set_points(root: Path, function: str, value: float, kind: str = "points") -> None:
    """The course.yml of ``root`` with ``function``'s points (or a written answer's) changed."""
    data = yaml.safe_load((root / "course.yml").read_text())
    (assignment,) = [a for a in data["assignments"] if a["id"] == GD]
    assignment[kind][function] = value
    (root / "course.yml").write_text(yaml.safe_dump(data, sort_keys=False))


@pytest.fixture()
def notebooks(tmp_path) -> Path:
    """course.yml, solutions/ and assignments/ of the repository, in a folder of the test's own."""
    shutil.copy(REPO / "course.yml", tmp_path / "course.yml")
    for folder in points.FOLDERS:
        shutil.copytree(REPO / folder, tmp_path / folder, symlinks=True)
    return tmp_path


def test_the_repository_agrees_with_course_yml():
    assert points.disagreement(load_course(REPO / "course.yml")) is None


@pytest.mark.parametrize(
    "function, kind, cell",
    [("gd_step", "points", "test_gd_step"), ("written_learning_rate", "manual", "written_learning_rate")],
)
def test_a_changed_point_names_the_notebook_the_cell_and_the_fix(notebooks, function, kind, cell):
    set_points(notebooks, function, 5, kind)
    problem = points.disagreement(load_course(notebooks / "course.yml"))
    assert problem == (
        f"solutions/{GD}/{NOTEBOOK}: cell {cell} has {2 if kind == 'points' else 3} points, course.yml says 5; "
        "run `python -m autograder assign`"
    )


def test_a_function_without_a_test_cell_is_named(notebooks):
    path = notebooks / "solutions" / GD / NOTEBOOK
    nb = json.loads(path.read_text())
    nb["cells"] = [c for c in nb["cells"] if c["metadata"].get("nbgrader", {}).get("grade_id") != "test_gd_step"]
    path.write_text(json.dumps(nb))
    assert "no graded cell test_gd_step" in points.disagreement(load_course(notebooks / "course.yml"))


def test_sync_writes_course_yml_points_and_nothing_else(notebooks):
    set_points(notebooks, "gd_step", 3)
    course = load_course(notebooks / "course.yml")
    before = {f: (notebooks / f / GD / NOTEBOOK).read_text() for f in points.FOLDERS}
    for folder in points.FOLDERS:
        assert points.sync_notebook(notebooks / folder / GD / NOTEBOOK, course.assignment(GD))
        assert not points.sync_notebook(notebooks / folder / GD / NOTEBOOK, course.assignment(GD))  # idempotent
    assert points.disagreement(course) is None
    for folder, text in before.items():  # one number changed, in the one cell
        after = (notebooks / folder / GD / NOTEBOOK).read_text()
        changed = [(a, b) for a, b in zip(text.splitlines(), after.splitlines()) if a != b]
        assert len(text.splitlines()) == len(after.splitlines()) and len(changed) == 1, changed
        assert changed[0][0].strip() == '"points": 2,' and changed[0][1].strip() == '"points": 3,'


def run(root: Path, *argv: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", *argv],
        cwd=root,
        env={**tool_env(), "PYTHONPATH": str(root), "GD_COURSE_CONFIG": str(root / "course.yml")},
        capture_output=True,
        text=True,
    )


def gradebook_scores(root: Path, student: str) -> dict[str, tuple[float, float]]:
    with Gradebook(f"sqlite:///{root / 'gradebook.db'}") as gb:
        nb = gb.find_submission_notebook(NOTEBOOK.removesuffix(".ipynb"), GD, student)
        return {g.name: (g.auto_score, g.max_score) for g in nb.grades if g.cell.cell_type == "code"}


def test_new_points_reach_every_route_after_assign_and_every_command_refuses_before(tmp_path):
    """gd_step goes from 2 to 3 points in course.yml: until ``assign`` runs, grade and every
    nbgrader command stop with the one line; after it, the release, the source and the gradebook
    say 3, and nbgrader gives a correct student 3/3 and a buggy one grade's partial score."""
    root = copy_repo(tmp_path / "course")
    assert run(root, "nbgrader", "generate_assignment", GD, "--force").returncode == 0  # the course's gradebook
    filled_release(GD, root / "submitted" / "good" / GD)
    write_notebook(GD, root / "submitted" / "uphill" / GD, {"gd_step": UPHILL})
    set_points(root, "gd_step", 3)
    line = f"error: solutions/{GD}/{NOTEBOOK}: cell test_gd_step has 2 points, course.yml says 3; run `python -m autograder assign`"
    for argv in (
        ("autograder", "grade", "submitted", "--out", "graded"),
        ("nbgrader", "autograde", GD),
        ("nbgrader", "export"),
        ("nbgrader", "generate_assignment", GD, "--force"),
    ):
        done = run(root, *argv)
        assert done.returncode != 0 and done.stderr.strip() == line, (argv, done.stderr[-2000:])
    assert not (root / "autograded").exists() and not (root / "graded").exists()

    assert run(root, "autograder", "assign", GD).returncode == 0
    for folder in points.FOLDERS:
        nb = json.loads((root / folder / GD / NOTEBOOK).read_text())
        assert points.notebook_points(nb)["test_gd_step"] == 3
    assert (root / "assignments" / GD / NOTEBOOK).read_text() != (REPO / "assignments" / GD / NOTEBOOK).read_text()

    assert run(root, "nbgrader", "autograde", GD).returncode == 0
    assert run(root, "autograder", "grade", "submitted", "--out", "graded").returncode == 0
    assert gradebook_scores(root, "good")["test_gd_step"] == (3.0, 3.0)
    graded = json.loads((root / "graded" / "uphill" / GD / "results.json").read_text())
    partial = graded["extra_data"]["functions"]["gd_step"]
    assert partial["max_score"] == 3 and 0 < partial["score"] < 3
    assert gradebook_scores(root, "uphill")["test_gd_step"] == (pytest.approx(partial["score"]), 3.0)
