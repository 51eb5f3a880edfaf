"""Real nbgrader on a copy of the repository: the release, autograde, feedback, export, regrade.

One class, graded once by ``nbgrader autograde`` + ``generate_feedback`` + ``export`` and once by
``python -m autograder grade submitted``, in a copy of the course with a course.yml of its own (a
late policy with a grace period, one extension).  The class: good and untouched work in every
assignment, partly right work, a correct answer that warns or logs, a late student, one inside an
extension and one inside the grace period, and hostile students who try to read, import, print,
patch or overwrite anything of ours (the suites, reference.py, course.yml, the gradebook, a
classmate's notebook) or link to it.  The copy runs its own grader (PYTHONPATH is the copy).
"""

from __future__ import annotations

import csv
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
import yaml
from nbgrader.api import Gradebook

from autograder.assign import tool_env
from autograder.nbgrader.cell_results import is_test_cell
from autograder.suites import SUITES

from helpers import COURSE, REPO, copy_repo, filled_release, write_notebook

IDS = [a.id for a in COURSE.assignments]
GD = "02_gradient_descent"
NOTEBOOK = COURSE.assignment(GD).notebook
DUE = "2027-02-19 23:59:00"
#: submission times (nbgrader's timestamp.txt) against DUE: 34 h late (2 started days: 20%), 40 h late
#: with a 48 h extension (on time), 20 minutes late inside the 30-minute grace period (on time)
TIMES = {"late": "2027-02-21 09:59:00.000000 UTC", "extended": "2027-02-21 15:59:00.000000 UTC",
         "grace": "2027-02-20 00:19:00.000000 UTC"}  # fmt: skip

PLAIN_SIGMOID = """
def logistic_gradient(w, X, y, l2=0.0):
    p = 1 / (1 + np.exp(-(X @ w)))   # overflows (with a RuntimeWarning) for large -X @ w
    return X.T @ (p - y) / X.shape[0] + l2 * w
"""
#: a correct answer that logs to stderr (in a kernel, nbgrader scored such a cell 0)
LOGGING = "import logging\nlogging.basicConfig(level=logging.INFO)\nlog = logging.getLogger('gd')\n"
LOGGED_LR = """
def max_stable_lr(H):
    largest = np.linalg.eigvalsh(H).max()
    log.info("largest eigenvalue: %s", largest)
    return 2.0 / largest
"""
UPHILL = "def gd_step(w, grad, lr):\n    return w + lr * grad\n"
TAMPER = "import numpy as np\nnp.allclose = lambda *a, **k: True\nnp.array_equal = lambda *a, **k: True\n"
MARK = "# rewritten by a student"
#: reads, imports and prints everything of ours it can find, then raises with it: what a cell
#: raises reaches the student's own feedback, so anything it found would show there
SNOOP = """
import importlib, os, sys
found = []
for name in ("autograder", "autograder.reference", "autograder.suites", "reference", "suites", "runner"):
    try:
        importlib.import_module(name)
        found.append("imported " + name)
    except Exception:
        pass
ours = ("gd-course", "course_seed", "register(Suite(", "def max_stable_lr", "written_learning_rate")
# the allowed packages, the interpreter, and the worker and codec (ours, copied in by design: README)
skipped = ("/opt/gd/site", sys.base_prefix, "/proc", "/sys", "/dev", "/opt/gd/worker.py", "/opt/gd/wire.py")
for here, dirs, files in os.walk({top!r}):
    dirs[:] = [d for d in dirs if os.path.join(here, d) not in skipped]
    for name in files:
        path = os.path.join(here, name)
        if path not in skipped and name.endswith((".py", ".yml", ".yaml", ".db", ".ipynb", ".json", ".csv")):
            try:
                with open(path, errors="replace") as f:
                    text = f.read(1 << 20)
            except OSError:
                continue
            if any(marker in text for marker in ours):
                found.append(path + ": " + text[:3000])
for path in {targets}:
    try:
        with open(path, errors="replace") as f:
            found.append(path + ": " + f.read(3000))
    except OSError:
        pass
print("\\n".join(found))
raise RuntimeError("LEAK:" + (" | ".join(found) or "nothing"))
"""
#: tries to rewrite ours on disk: the grader, the course, the gradebook, a classmate's notebooks
WRITE = """
rewrote = []
for path in {targets}:
    try:
        with open(path, "a") as f:
            f.write("\\n{mark}\\n")
        rewrote.append(path)
    except OSError:
        pass
with open("planted.py", "w") as f:
    f.write("{mark}")
"""


def nbgrader(course: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    done = subprocess.run(
        [sys.executable, "-m", "nbgrader", *args],
        cwd=course,
        env={**tool_env(), "PYTHONPATH": str(course), "GD_COURSE_CONFIG": str(course / "course.yml")},
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0 or not check, done.stdout + done.stderr
    return done


def autograder(course: Path, *args: str) -> subprocess.CompletedProcess:
    done = subprocess.run(
        [sys.executable, "-m", "autograder", *args],
        cwd=course,
        env={**tool_env(), "PYTHONPATH": str(course), "GD_COURSE_CONFIG": str(course / "course.yml")},
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done


def write_course_yml(root: Path) -> None:
    """The test's own course.yml: the repository's assignments, this late policy and extension."""
    data = yaml.safe_load((REPO / "course.yml").read_text())
    data["late_policy"] = {"penalty_per_day": 10, "max_penalty": 50, "grace_minutes": 30}
    data["extensions"] = [{"student": "extended", "assignment": GD, "hours": 48}]
    for assignment in data["assignments"]:
        assignment["due"] = f"{DUE.replace(' ', 'T')}+00:00" if assignment["id"] == GD else assignment["due"]
    (root / "course.yml").write_text(yaml.safe_dump(data, sort_keys=False))


def hostile_targets(root: Path) -> list[str]:
    return [
        str(p)
        for p in (
            root / "autograder" / "reference.py",
            root / "autograder" / "suites" / "gradient_descent.py",
            root / "course.yml",
            root / "gradebook.db",
            root / "submitted" / "good" / GD / NOTEBOOK,
            root / "autograded" / "good" / GD / NOTEBOOK,
        )
    ]


@pytest.fixture(scope="module")
def course(tmp_path_factory) -> Path:
    """The class, graded by nbgrader (autograde, generate_feedback, export) and by grade."""
    root = copy_repo(tmp_path_factory.mktemp("course"))
    write_course_yml(root)
    shutil.rmtree(root / "assignments")
    sub = root / "submitted"
    for a in IDS:
        nbgrader(root, "generate_assignment", a, "--force")
        filled_release(a, sub / "good" / a)
        shutil.copytree(REPO / "assignments" / a, sub / "stub" / a)
    write_notebook("01_gradients", sub / "warns" / "01_gradients", {"logistic_gradient": PLAIN_SIGMOID})
    partial = "def minibatches(n, batch_size, rng):\n    order = np.random.permutation(n)\n    return [order[i:i + batch_size] for i in range(0, n, batch_size)]\n"
    write_notebook("03_minibatch", sub / "partial" / "03_minibatch", {"minibatches": partial})
    write_notebook(GD, sub / "logger" / GD, {"max_stable_lr": LOGGED_LR}, [LOGGING])
    for student, when in TIMES.items():
        write_notebook(GD, sub / student / GD, {"gd_step": UPHILL} if student == "late" else {})
        (sub / student / GD / "timestamp.txt").write_text(when)
    targets = hostile_targets(root)
    write_notebook(GD, sub / "snoop" / GD, {}, [SNOOP.format(targets=targets, top="/")])
    write_notebook(GD, sub / "tamperer" / GD, {"gd_step": UPHILL}, [TAMPER, WRITE.format(targets=targets, mark=MARK)])
    (sub / "linker" / GD).mkdir(parents=True)
    (sub / "linker" / GD / NOTEBOOK).symlink_to(f"../../../solutions/{GD}/{NOTEBOOK}")
    (sub / "mirror").symlink_to("good")
    write_notebook(GD, sub / "neighbour" / GD)
    (sub / "neighbour" / GD / "notes.py").symlink_to(root / "autograder" / "reference.py")
    (sub / "neighbour" / GD / "course.yml").symlink_to("../../../course.yml")
    nbgrader(root, "autograde", "*")
    nbgrader(root, "generate_feedback", "*")
    nbgrader(root, "export")
    autograder(root, "grade", "submitted", "--out", "graded")
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
        assert "BEGIN SOLUTION" not in text and "BEGIN HIDDEN TESTS" not in text and "autograder" not in text
        nb = nbformat.read(str(REPO / "assignments" / a / COURSE.assignment(a).notebook), as_version=4)
        assert all(not c.get("outputs") for c in nb.cells if c.cell_type == "code")


def gradebook_scores(course: Path, student: str, assignment: str) -> dict[str, float]:
    """{function: score} of the student's test cells in nbgrader's gradebook."""
    notebook_id = COURSE.assignment(assignment).notebook.removesuffix(".ipynb")
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        nb = gb.find_submission_notebook(notebook_id, assignment, student)
        return {g.name.removeprefix("test_"): g.auto_score for g in nb.grades if g.cell.cell_type == "code"}


def grade_results(course: Path) -> dict[tuple[str, str], dict]:
    """{(student, assignment): results.json} of ``grade submitted`` on the same class."""
    return {
        (path.parent.parent.name, path.parent.name): json.loads(path.read_text())
        for path in (course / "graded").glob("*/*/results.json")
    }


def test_the_gradebook_holds_grades_scores_per_function(course):
    """Every student's every function: nbgrader's gradebook == grade's results.json, hostile ones included."""
    results = grade_results(course)
    assert ("snoop", GD) in results and ("linker", GD) in results and ("mirror", GD) in results
    for (student, assignment), data in results.items():
        ours = {f: v["score"] for f, v in data["extra_data"]["functions"].items()}
        assert gradebook_scores(course, student, assignment) == pytest.approx(ours, abs=1e-9), (student, assignment)


def test_scores_are_what_the_code_deserves(course):
    results = grade_results(course)

    def functions(student, assignment=GD):
        return {f: v["score"] for f, v in results[(student, assignment)]["extra_data"]["functions"].items()}

    for a in IDS:
        assert functions("good", a) == COURSE.assignment(a).points
        assert not any(functions("stub", a).values())
    assert all(
        score == COURSE.assignment("01_gradients").points[f] for f, score in functions("warns", "01_gradients").items()
    )
    assert 0 < functions("partial", "03_minibatch")["minibatches"] < 3
    assert functions("logger")["max_stable_lr"] == 2  # its log lines on stderr cost nothing
    for student in ("snoop", "neighbour", "extended", "grace"):  # correct code, whatever else it tried
        assert functions(student) == COURSE.assignment(GD).points, student
    assert 0 < functions("tamperer")["gd_step"] < 2  # a patched np.allclose does not hide the uphill step
    for student in ("linker", "mirror"):  # a link to the solutions, or to a classmate's folder: refused
        assert not any(functions(student).values())
        assert "symbolic link" in results[(student, GD)]["output"]


def test_nbgrader_export_equals_grades_final_scores(course):
    """nbgrader export's score (after its late penalty) == grade submitted's final score (after course.yml's)."""
    rows = list(csv.DictReader((course / "grades.csv").open()))
    exported = {(r["student_id"], r["assignment"]): float(r["score"]) for r in rows}
    results = grade_results(course)
    for key, data in results.items():
        assert exported[key] == pytest.approx(data["score"], abs=1e-3), key
    assert results[("late", GD)]["extra_data"]["lateness"]["penalty_percent"] == 20
    assert exported[("late", GD)] == pytest.approx(0.8 * results[("late", GD)]["extra_data"]["raw_score"], abs=1e-3)
    assert exported[("extended", GD)] == exported[("grace", GD)] == COURSE.assignment(GD).max_score
    duedates = {r["duedate"] for r in rows if r["assignment"] == GD}
    assert duedates == {DUE}  # course.yml's due date reached the gradebook


def test_regrade_finds_no_difference(course):
    autograder(course, "regrade", "--report", str(course / "regrade.csv"))
    rows = list(csv.DictReader((course / "regrade.csv").open()))
    assert [r for r in rows if r["flag"]] == []
    finals = {(r["student"], r["assignment"]): float(r["gradebook"]) for r in rows if r["function"] == "final score"}
    assert finals[("late", GD)] < finals[("good", GD)] == COURSE.assignment(GD).max_score


def secret_lines(course: Path) -> set[str]:
    """Lines of the hidden suites, reference.py and course.yml's seeds that no student wrote or
    was given (the good students submit the solutions' answers, which reference.py shares)."""
    ours = [*(course / "autograder" / "suites").glob("*.py"), course / "autograder" / "reference.py"]
    lines = {line.strip() for path in ours for line in path.read_text().splitlines() if len(line.strip()) >= 20}
    lines |= {f"seed: {a.seed}" for a in COURSE.assignments}
    given = [*(course / "submitted").rglob("*.ipynb"), *(course / "support").glob("*.py")]
    public = "\n".join(p.read_text() for p in given if not p.is_symlink())
    return {line for line in lines if line not in public}


def outputs_of(course: Path) -> list[Path]:
    return [p for folder in ("autograded", "feedback") for p in (course / folder).rglob("*") if p.is_file()]


def test_nothing_of_ours_reaches_autograded_or_feedback(course):
    secret = secret_lines(course)
    assert len(secret) > 500  # the suites and reference.py are long: the check has something to find
    for path in outputs_of(course):
        text = path.read_text(errors="replace")
        leaked = [line for line in secret if line in text]
        assert not leaked, (path, leaked[:3])


def test_what_the_snoop_found_was_nothing(course):
    """Its cell raised with everything it could read or import: the feedback shows that was nothing
    (and the note is there, so a leak would have shown)."""
    html = (course / "feedback" / "snoop" / GD / NOTEBOOK.replace(".ipynb", ".html")).read_text()
    assert "LEAK:nothing" in html
    assert "LEAK:nothing" in (course / "graded" / "snoop" / GD / "results.json").read_text()


def test_the_snoop_finds_ours_where_it_can_see_it(course):
    """The snoop's search works: run outside the jail, over the course's folder, it finds ours."""
    snoop = SNOOP.format(targets=hostile_targets(course), top=str(course / "autograder"))
    done = subprocess.run([sys.executable, "-c", snoop], cwd=course, capture_output=True, text=True)
    assert "LEAK:nothing" not in done.stderr and "reference.py: " in done.stderr
    assert "course.yml: course:" in done.stderr and "def mse_gradient" in done.stderr


def test_no_link_is_followed_into_autograded_or_feedback(course):
    """The neighbour's links (to reference.py, course.yml) are not copied; the linker's and the
    mirror's notebooks (links to the solutions and to a classmate) are not shown back to them."""
    for folder in ("autograded", "feedback"):
        names = {p.name for p in (course / folder / "neighbour" / GD).iterdir()}
        assert names and not names & {"notes.py", "course.yml"}, names
    release = (REPO / "assignments" / GD / NOTEBOOK).read_text()
    answers = [
        line.strip()
        for c in nbformat.read(str(REPO / "solutions" / GD / NOTEBOOK), as_version=4).cells
        if c.metadata.get("nbgrader", {}).get("solution") and c.cell_type == "code"
        for line in c.source.splitlines()
        if len(line.strip()) >= 12 and "SOLUTION" not in line and json.dumps(line.strip())[1:-1] not in release
    ]
    assert len(answers) >= 4, answers  # the answers: what the release does not have
    for student in ("linker", "mirror"):
        for path in [
            *(course / "autograded" / student).rglob("*.ipynb"),
            *(course / "feedback" / student).rglob("*.html"),
        ]:
            text = path.read_text()
            assert not [a for a in answers if a in text], path
            assert "symbolic link" in text  # and each says why it scored 0


def test_the_tamperer_touched_nothing(course):
    touched = [
        p
        for p in course.rglob("*")
        if p.is_file()
        and not p.is_symlink()
        and not {"tamperer", "tests"} & set(p.relative_to(course).parts)  # the attack's own source
        and MARK.encode() in p.read_bytes()
    ]
    assert touched == [] and not list(course.rglob("planted.py"))


def test_feedback_shows_what_feedback_html_shows(course):
    """Under each test cell: the function's score, every check's words (as results.json has them)
    and the report's plots; no hidden-test region, no mark scheme."""
    results = grade_results(course)
    for a in IDS:
        for student in ("good", "stub"):
            html = (
                course / "feedback" / student / a / COURSE.assignment(a).notebook.replace(".ipynb", ".html")
            ).read_text()
            assert "BEGIN HIDDEN TESTS" not in html and "autograder" not in html
            assert "MARK SCHEME" not in html and "Model answer" not in html
            assert "visible_checks" in html  # the visible checks (the student's own view) are shown
            for test in results[(student, a)]["tests"]:
                assert test["name"].split(": ", 1)[1] in html.replace("&amp;", "&"), test["name"]
    late = (course / "feedback" / "late" / GD / NOTEBOOK.replace(".ipynb", ".html")).read_text()
    assert "moves uphill" in late and "a penalty of 20%" in late
    assert late.count("data:image/png") == len(SUITES[GD].plotters)


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


def test_test_cells_in_autograded_hold_no_hidden_code(course):
    """A test cell in autograded/ (what formgrader and generate_feedback read) is the visible checks
    the student had, and our result: no hidden-test region."""
    for path in (course / "autograded").rglob("*.ipynb"):
        for cell in filter(is_test_cell, nbformat.read(str(path), as_version=4).cells):
            assert "BEGIN HIDDEN TESTS" not in cell.source and not re.search(r"\bautograder\b", cell.source), path
