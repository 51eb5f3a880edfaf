"""Real nbgrader on a copy of the repository: the release, autograde, feedback, export, regrade.

The copy runs its own grader (PYTHONPATH is the copy), so that the hostile student below,
were the gd-sandbox kernel to fail, would damage only the copy.
"""

from __future__ import annotations

import csv
import json
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbgrader.api import Gradebook

from autograder.assign import tool_env

from helpers import COURSE, REPO, copy_repo, filled_release, write_notebook

IDS = [a.id for a in COURSE.assignments]
PLAIN_SIGMOID = """
def logistic_gradient(w, X, y, l2=0.0):
    p = 1 / (1 + np.exp(-(X @ w)))   # overflows (with a RuntimeWarning) for large -X @ w
    return X.T @ (p - y) / X.shape[0] + l2 * w
"""


TAMPER = "import numpy as np\nnp.allclose = lambda *a, **k: True\nnp.array_equal = lambda *a, **k: True\n"
MARK = "# rewritten by a student"
#: what a kernel would rewrite if it could: the grader (found from the import), the course,
#: the gradebook, a classmate's submission and autograded copy (paths filled in per copy)
ATTACK = """
import os, autograder, autograder.kernel
targets = [autograder.kernel.__file__, {targets}]
rewrote = []
for path in targets:
    try:
        with open(path, "a") as f:
            f.write("\\n{mark}\\n")
        rewrote.append(path)
    except OSError:
        pass
print("rewrote:", rewrote, "| course visible:", os.path.exists({root!r}))
"""
#: a correct answer that logs: its stderr output makes nbgrader score the cell 0 in the kernel
LOGGING = "import logging\nlogging.basicConfig(level=logging.INFO)\nlog = logging.getLogger('gd')\n"
LOGGED_LR = """
def max_stable_lr(H):
    largest = np.linalg.eigvalsh(H).max()
    log.info("largest eigenvalue: %s", largest)
    return 2.0 / largest
"""


def nbgrader(course: Path, *args: str) -> subprocess.CompletedProcess:
    done = subprocess.run(
        [sys.executable, "-m", "nbgrader", *args],
        cwd=course,
        env={**tool_env(), "PYTHONPATH": str(course), "GD_COURSE_CONFIG": str(course / "course.yml")},
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done


@pytest.fixture(scope="module")
def course(tmp_path_factory) -> Path:
    """A copy of the repository with its students' submissions, autograded by nbgrader: good,
    stub, warns, and in 02_gradient_descent a tamperer who also attacks the disk from the
    kernel, a linker whose notebook is a symlink to the solutions, and a logger."""
    root = copy_repo(tmp_path_factory.mktemp("course"))
    shutil.rmtree(root / "assignments")
    for a in IDS:
        nbgrader(root, "generate_assignment", a, "--force")
        filled_release(a, root / "submitted" / "good" / a)
        shutil.copytree(REPO / "assignments" / a, root / "submitted" / "stub" / a)
    write_notebook("01_gradients", root / "submitted" / "warns" / "01_gradients", {"logistic_gradient": PLAIN_SIGMOID})
    victim = f"{COURSE.assignment('02_gradient_descent').notebook}"
    targets = [
        root / "autograder" / "kernel.py",
        root / "course.yml",
        root / "gradebook.db",
        root / "submitted" / "good" / "02_gradient_descent" / victim,
        root / "autograded" / "good" / "02_gradient_descent" / victim,  # graded before the tamperer
        root / "planted.py",
    ]
    write_notebook(
        "02_gradient_descent",
        root / "submitted" / "tamperer" / "02_gradient_descent",
        {"gd_step": "def gd_step(w, grad, lr):\n    return w + lr * grad\n"},
        [TAMPER, ATTACK.format(targets=", ".join(repr(str(t)) for t in targets), mark=MARK, root=str(root))],
    )
    linked = root / "submitted" / "linker" / "02_gradient_descent"
    linked.mkdir(parents=True)
    (linked / victim).symlink_to(f"../../../solutions/02_gradient_descent/{victim}")
    write_notebook(
        "02_gradient_descent",
        root / "submitted" / "logger" / "02_gradient_descent",
        {"max_stable_lr": LOGGED_LR},
        [LOGGING],
    )
    for a in IDS:
        nbgrader(root, "autograde", a)
    return root


def test_generate_assignment_reproduces_the_release(course):
    for a in IDS:
        for made in sorted((course / "assignments" / a).iterdir()):
            committed = REPO / "assignments" / a / made.name
            assert committed.read_bytes() == made.read_bytes(), (
                f"assignments/{a}/{made.name} is out of date: run python -m autograder assign"
            )
        assert sorted(p.name for p in (REPO / "assignments" / a).iterdir()) == sorted(
            p.name for p in (course / "assignments" / a).iterdir()
        )


def test_release_has_no_solutions_or_hidden_tests():
    for a in IDS:
        text = (REPO / "assignments" / a / COURSE.assignment(a).notebook).read_text()
        assert "BEGIN SOLUTION" not in text and "BEGIN HIDDEN TESTS" not in text and "grade_function" not in text
        nb = nbformat.read(str(REPO / "assignments" / a / COURSE.assignment(a).notebook), as_version=4)
        assert all(not c.get("outputs") for c in nb.cells if c.cell_type == "code")


def grades(course: Path, student: str, assignment: str) -> dict[str, tuple[float, float]]:
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        nb = gb.find_submission_notebook(COURSE.assignment(assignment).notebook[:-6], assignment, student)
        return {g.name: (g.auto_score, g.max_score) for g in nb.grades if g.cell.cell_type == "code"}


def test_autograde_full_marks_for_solutions_zero_for_stubs(course):
    for a in IDS:
        good, stub = grades(course, "good", a), grades(course, "stub", a)
        assert good and set(good) == {f"test_{f}" for f in COURSE.assignment(a).points}
        for cell, (score, out_of) in good.items():
            assert score == out_of == COURSE.assignment(a).points[cell[len("test_") :]]
        assert all(score == 0 for score, _ in stub.values())


def test_correct_work_that_warns_keeps_full_marks(course):
    warns = grades(course, "warns", "01_gradients")
    assert warns["test_logistic_gradient"] == (3.0, 3.0)
    assert all(score == out_of for score, out_of in warns.values())


def test_partial_credit_matches_the_command_line(course):
    """A half-right answer gets the same partial score in nbgrader as from python -m autograder."""
    root = course / "submitted" / "partial" / "03_minibatch"
    write_notebook(
        "03_minibatch",
        root,
        {
            "minibatches": (
                "def minibatches(n, batch_size, rng):\n"
                "    order = np.random.permutation(n)\n"
                "    return [order[i:i + batch_size] for i in range(0, n, batch_size)]\n"
            )
        },
    )
    nbgrader(course, "autograde", "03_minibatch", "--student", "partial")
    in_kernel = grades(course, "partial", "03_minibatch")["test_minibatches"][0]
    out = course / "cli-graded"
    subprocess.run(
        [sys.executable, "-m", "autograder", "grade", str(root), "--out", str(out)],
        cwd=course,
        check=True,
        capture_output=True,
    )
    cli = json.loads((out / "partial" / "03_minibatch" / "results.json").read_text())
    assert 0 < in_kernel < 3
    assert in_kernel == pytest.approx(cli["extra_data"]["functions"]["minibatches"]["score"], abs=1e-3)


def test_feedback_hides_the_hidden_tests(course):
    for a in IDS:
        nbgrader(course, "generate_feedback", a)
        for student in ("good", "stub"):
            html = (
                course / "feedback" / student / a / COURSE.assignment(a).notebook.replace(".ipynb", ".html")
            ).read_text()
            assert "BEGIN HIDDEN TESTS" not in html and "grade_function" not in html and "autograder" not in html
            assert "MARK SCHEME" not in html and "Model answer" not in html
            assert "visible_checks" in html  # the visible checks are still shown


def test_graders_see_the_mark_schemes(course):
    """formgrader shows the autograded notebook: its written questions carry their mark schemes."""
    for a in IDS:
        nb = nbformat.read(str(course / "autograded" / "good" / a / COURSE.assignment(a).notebook), as_version=4)
        schemes = [c for c in nb.cells if "=== BEGIN MARK SCHEME ===" in c.source]
        assert len(schemes) == len(COURSE.assignment(a).manual)
        assert all("Model answer" in c.source and "Rubric" in c.source for c in schemes)
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        graded = {g.name for g in gb.find_submission_notebook("gradients", "01_gradients", "good").grades}
    assert graded == {f"test_{f}" for f in COURSE.assignment("01_gradients").points} | {"written_gradient_sign"}


def test_export_writes_the_csv(course):
    nbgrader(course, "export")
    rows = list(csv.DictReader((course / "grades.csv").open()))
    good = {r["assignment"]: float(r["score"]) for r in rows if r["student_id"] == "good"}
    assert good == {a.id: a.max_score for a in COURSE.assignments}  # written answers not yet graded by hand


def cell_output(notebook: Path, marker: str) -> str:
    nb = nbformat.read(str(notebook), as_version=4)
    cell = next(c for c in nb.cells if c.cell_type == "code" and marker in c.source)
    return "".join(o.get("text", "") for o in cell.outputs)


def test_kernel_cannot_touch_the_grader_the_course_or_classmates(course):
    """The tamperer's kernel tried to append to the grader, course.yml, the gradebook and the good
    student's notebooks, and to plant a file: in the gd-sandbox kernel it sees none of them."""
    said = cell_output(course / "autograded" / "tamperer" / "02_gradient_descent" / "gradient_descent.ipynb", "rewrote")
    assert "rewrote: [] | course visible: False" in said, said
    touched = [
        p
        for p in course.rglob("*")
        if p.is_file()
        and not p.is_symlink()
        and not {"tamperer", "tests"} & set(p.relative_to(course).parts)  # the attack's own source
        and MARK.encode() in p.read_bytes()
    ]
    assert touched == [] and not (course / "planted.py").exists()


def test_regrade_trusts_submitted_notebooks_and_writes_only_what_differs(course):
    """regrade grades submitted/ out of process: the tamperer's in-kernel score (fooled by a patched
    np.allclose) and the linker's (a symlink to the solutions, followed by nbgrader) come down, the
    logger's (a correct answer whose log line nbgrader counts as an error) goes up, and nothing
    else in the gradebook changes: the good student, graded in the same run as the tamperer's
    attack, is neither flagged nor touched."""
    assignment = COURSE.assignment("02_gradient_descent")
    before = {s: grades(course, s, assignment.id) for s in ("good", "stub", "tamperer", "linker", "logger")}
    assert before["linker"]["test_gd_step"][0] == 2  # nbgrader followed the symlink to the solutions
    assert before["logger"]["test_max_stable_lr"][0] == 0  # ... and scored a log line as an error
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "autograder",
            "regrade",
            "--assignment",
            assignment.id,
            "--report",
            str(course / "regrade.csv"),
            "--write",
        ],
        cwd=course,
        capture_output=True,
        text=True,
        env={**tool_env(), "PYTHONPATH": str(course), "GD_COURSE_CONFIG": str(course / "course.yml")},
    )
    assert run.returncode == 0, run.stderr
    rows = list(csv.DictReader((course / "regrade.csv").open()))
    flags = {(r["student"], r["function"]): r["flag"] for r in rows if r["flag"]}
    expected = {
        ("tamperer", "gd_step"): "higher",  # the patched np.allclose hides the sign flip...
        ("tamperer", "gradient_descent"): "lower",  # ... and fails a check that compares with w0
        ("logger", "max_stable_lr"): "lower",  # its log lines are on stderr
    }
    expected.update({("linker", f): "higher" for f, points in assignment.points.items() if points})
    assert flags == expected
    linker_rows = [r for r in rows if r["student"] == "linker"]
    assert all(float(r["trusted"]) == 0 and "symbolic link" in r["note"] for r in linker_rows)
    trusted = {(r["student"], r["function"]): float(r["trusted"]) for r in rows}
    after = {s: grades(course, s, assignment.id) for s in before}
    for student, cells in before.items():
        for cell, (score, out_of) in cells.items():
            function = cell[len("test_") :]
            if (student, function) in flags:
                assert after[student][cell] == (trusted[(student, function)], out_of)  # written back
            else:
                assert after[student][cell] == (score, out_of)  # untouched
    assert trusted[("tamperer", "gd_step")] < before["tamperer"]["test_gd_step"][0]
    assert trusted[("logger", "max_stable_lr")] == 2
    assert after["good"] == before["good"] and all(s == o for s, o in after["good"].values() if o)
