"""Session set-up shared by every test: the tests' own course, and a Python any user can run.

* The course: a copy of the repository holding the tests' course.yml (``testcourse.py``), made
  once per test process (each xdist worker makes its own) before any test module is imported;
  ``GD_COURSE_CONFIG`` points at it, so ``helpers.COURSE`` and every ``python -m autograder``
  a test runs use it, never the shipped course.yml an instructor edits.
* ``course_file``: a course.yml of the tests' term with changes, for a test that needs another.
* ``public_python``: a copy of this interpreter and its packages that any uid can run
  (``public_python.py``), for the tests that run student code as ``nobody``.
* Under xdist (``-n``): each module on one worker, the longest first.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

# tests import their helpers (helpers.py, bug_zoo.py...) as plain modules
sys.path.insert(0, str(Path(__file__).resolve().parent))

import testcourse  # noqa: E402
from public_python import build_public_python, world_traversable_tempdir  # noqa: E402

_COURSE_COPY: Path | None = None


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    global _COURSE_COPY
    if getattr(config.option, "dist", "no") == "load":  # -n N: a module is one unit (see LONGEST_FIRST)
        config.option.dist = "loadscope"
    _COURSE_COPY = testcourse.copy_repo(Path(tempfile.mkdtemp(prefix="gd-tests-course-")))
    os.environ["GD_COURSE_CONFIG"] = str(_COURSE_COPY / "course.yml")


def pytest_unconfigure(config: pytest.Config) -> None:
    if _COURSE_COPY is not None:
        shutil.rmtree(_COURSE_COPY, ignore_errors=True)


#: modules whose set-up or tests take longest (nbgrader's round trip alone is about 2 minutes):
#: scheduled first, so that under xdist (README's ``-n auto``; each module whole on one worker, so
#: that its module-scoped set-up runs once) the rest fills the other workers meanwhile instead of
#: waiting at the end
LONGEST_FIRST = (
    "test_nbgrader_roundtrip.py",
    "test_workflows.py",
    "test_collect.py",
    "test_hostile.py",
    "test_instructors_term.py",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    def rank(item: pytest.Item) -> int:
        name = item.path.name
        return LONGEST_FIRST.index(name) if name in LONGEST_FIRST else len(LONGEST_FIRST)

    items.sort(key=rank)  # stable: the order within a module is kept


@pytest.fixture
def course_file(tmp_path: Path) -> Callable[..., Path]:
    """``course_file(late_policy={...}, extensions=[...])``: the tests' course.yml with those
    top-level keys changed, written (with ``support/``) into a folder of this test."""
    made = iter(range(1_000_000))
    return lambda **changes: testcourse.write_course(tmp_path / f"course-{next(made)}", **changes)


@pytest.fixture(scope="session")
def public_python() -> Iterator[Path]:
    """A copy of this Python (prefix and site-packages) in a world-traversable temporary folder:
    ``bin/python3`` there runs for any uid, wherever this interpreter lives (a pyenv build in a
    0700 home, say).  Removed at the end of the session."""
    folder = world_traversable_tempdir(prefix="gd-public-python-")
    try:
        yield build_public_python(folder / "python")
    finally:
        shutil.rmtree(folder, ignore_errors=True)
