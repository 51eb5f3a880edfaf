"""Run a hidden suite under pytest, against one notebook: for instructors writing or debugging checks.

    pytest -p autograder.pytest_plugin autograder/suites/gradients.py --submission solutions/01_gradients/gradients.ipynb

Every check is a plain pytest test taking the fixture ``sub``; here ``sub`` is the notebook
running in the sandbox, exactly as ``python -m autograder grade`` runs it (but without points).
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest

from .config import load_course
from .grade import scratch_copy
from .notebook import read_cells
from .sandbox.client import Sandbox


def pytest_addoption(parser):
    parser.addoption("--submission", action="store", default=None, help="the student notebook to run the checks on")


@pytest.fixture(scope="session")
def sub(request):
    path = request.config.getoption("--submission")
    if not path:
        pytest.exit("give the notebook to check: --submission PATH", returncode=4)
    notebook = Path(path)
    course = load_course()
    assignment = course.assignment_for_notebook(notebook.name) or course.assignments[0]
    with tempfile.TemporaryDirectory(prefix="gd-pytest-") as scratch:
        scratch_copy(notebook, Path(scratch))
        with Sandbox(read_cells(notebook), Path(scratch), [str(course.root / "support")], assignment.limits) as box:
            yield box
