"""The pytest front end is the grader: the same sandbox with the stand-in rule, the course seed from
course.yml, and a clear refusal for a notebook that belongs to no assignment."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from helpers import COURSE, REPO, filled_release, write_notebook

A2 = "02_gradient_descent"
UPHILL = "def gd_step(w, grad, lr):\n    return w + lr * grad\n"


def pytest_on(notebook: Path, *targets: str, options: tuple[str, ...] = ()) -> subprocess.CompletedProcess:
    """``pytest -p autograder.pytest_plugin TARGETS --submission NOTEBOOK``, from the repository."""
    command = [sys.executable, "-m", "pytest", "-p", "autograder.pytest_plugin", "-p", "no:cacheprovider", "-rA"]
    command += [*targets, "--submission", str(notebook), *options]
    return subprocess.run(command, cwd=REPO, capture_output=True, text=True)


def outcomes(done: subprocess.CompletedProcess) -> dict[str, str]:
    """{test function: PASSED or FAILED} from pytest's -rA summary."""
    found = {}
    for line in done.stdout.splitlines():
        word, _, node = line.partition(" ")
        if word in ("PASSED", "FAILED"):
            found[node.split("::")[-1].split(" ")[0]] = word
    return found


def test_a_buggy_callee_costs_only_itself_as_in_the_grader(tmp_path):
    """With the stand-in rule, gradient_descent's checks use our gd_step: an uphill gd_step fails
    its own checks only (without the rule every gradient_descent check failed too)."""
    notebook = write_notebook(A2, tmp_path / "s", {"gd_step": UPHILL})
    done = pytest_on(notebook, "autograder/suites/gradient_descent.py")
    got = outcomes(done)
    assert got["test_gd_step_values"] == "FAILED", done.stdout
    assert {got[t] for t in got if t.startswith("test_gradient_descent")} == {"PASSED"}, done.stdout


def test_the_checks_see_the_course_seed(tmp_path):
    probe = tmp_path / "test_probe.py"
    probe.write_text(
        "from autograder.suites.framework import COURSE_SEED\n\n"
        f"def test_seed(sub):\n    assert COURSE_SEED.get() == {COURSE.assignment(A2).seed}\n"
    )
    notebook = filled_release(A2, tmp_path / "s")
    done = pytest_on(notebook, str(probe), options=("--rootdir", str(tmp_path)))
    assert outcomes(done) == {"test_seed": "PASSED"}, done.stdout + done.stderr


def test_a_notebook_of_no_assignment_is_refused(tmp_path):
    notebook = filled_release(A2, tmp_path / "s").rename(tmp_path / "s" / "my work.ipynb")
    done = pytest_on(notebook, "autograder/suites/gradient_descent.py")
    assert done.returncode == 4 and "my work.ipynb belongs to no assignment" in done.stdout + done.stderr
    assert not outcomes(done)
    named = pytest_on(notebook, "autograder/suites/gradient_descent.py", options=("--assignment", A2))
    assert named.returncode == 0 and set(outcomes(named).values()) == {"PASSED"}, named.stdout
