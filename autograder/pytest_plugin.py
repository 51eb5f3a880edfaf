"""Run a hidden suite under pytest, against one notebook: for instructors writing or debugging checks.

    pytest -p autograder.pytest_plugin autograder/suites/gradients.py --submission solutions/01_gradients/gradients.ipynb

Every check is a plain pytest test taking the fixture ``sub``: here ``sub`` is the submission
opened exactly as ``python -m autograder grade`` opens it (``submission.open_submission``: the
notebook's cells in the sandbox, with the assignment's limits, the stand-in rule and the course
seed from course.yml), but the checks are pytest's tests, so there are no points.  The notebook's
name says which assignment it is (``--assignment ID`` for a renamed one); a notebook that belongs
to no assignment is refused, and so is one the grader would refuse.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from .config import load_course
from .submission import Submission, Unreadable, open_submission


def pytest_addoption(parser):
    parser.addoption("--submission", action="store", default=None, help="the student notebook to run the checks on")
    parser.addoption(
        "--assignment", action="store", default=None, help="its assignment id, when the notebook's name does not tell"
    )


@pytest.fixture(scope="session")
def sub(request):
    path = request.config.getoption("--submission")
    if not path:
        pytest.exit("give the notebook to check: --submission PATH", returncode=4)
    notebook = Path(path)
    course = load_course()
    assignment_id = request.config.getoption("--assignment")
    assignment = course.assignment(assignment_id) if assignment_id else course.assignment_for_notebook(notebook.name)
    if assignment is None:
        known = ", ".join(f"{a.notebook} ({a.id})" for a in course.assignments)
        pytest.exit(f"{notebook.name} belongs to no assignment of {course.path}: {known}; or --assignment ID", 4)
    with open_submission(Submission(notebook, "pytest", assignment.id), course) as code:
        if isinstance(code, Unreadable):
            pytest.exit(f"{notebook}: {code.reason}", returncode=4)
        yield code
