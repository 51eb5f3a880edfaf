"""Session set-up shared by every test: the tests' own course, and a Python any user can run.

* The course: a copy of the repository holding the tests' course.yml (``testcourse.py``), made
  once per test process (each xdist worker makes its own) before any test module is imported;
  ``GD_COURSE_CONFIG`` points at it, so ``helpers.COURSE`` and every ``python -m autograder``
  a test runs use it, never the shipped course.yml an instructor edits.
* ``course_file``: a course.yml of the tests' term with changes, for a test that needs another.
* ``drawn``: every matplotlib figure saved while a test runs (what a picture shows, read from it).
* ``public_python``: a copy of this interpreter and its packages that any uid can run
  (``public_python.py``), for the tests that run student code as ``nobody``.
* Under xdist (``-n auto``): tests one by one, a module whose tests share a set-up whole, the
  longest first.
"""

from __future__ import annotations

import os
import re
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


def pytest_configure(config: pytest.Config) -> None:
    global _COURSE_COPY
    _COURSE_COPY = testcourse.copy_repo(Path(tempfile.mkdtemp(prefix="gd-tests-course-")))
    os.environ["GD_COURSE_CONFIG"] = str(_COURSE_COPY / "course.yml")


def pytest_unconfigure(config: pytest.Config) -> None:
    if _COURSE_COPY is not None:
        shutil.rmtree(_COURSE_COPY, ignore_errors=True)


#: modules whose set-up or tests take longest (nbgrader's round trip alone is about 2 minutes):
#: scheduled first under xdist, so that the rest fills the other workers meanwhile instead of
#: waiting at the end
LONGEST_FIRST = (
    "test_as_ordinary_user.py",  # one test: the sandbox's tests again, as an ordinary uid
    "test_nbgrader_roundtrip.py",
    "test_nbgrader_ordinary_user.py",
    "test_nbgrader_points.py",
    "test_workflows.py",
    "test_collect.py",
    "test_gradescope.py",  # the first of AS_NOBODY's modules, which run together
    "test_nbgrader_chain.py",
    "test_hostile.py",
    "test_hostile_replies.py",
    "test_notebooks_run.py",
    "test_instructors_term.py",
    "test_lessons.py",
)
#: modules whose tests run processes as uid 65534 (nobody) on this machine: the Gradescope route
#: without a jail ends by killing every process of that uid (``unjailed.sweep``, right in a
#: container that grades one submission), so these run one after another on one worker, never
#: beside each other
AS_NOBODY = (
    "test_gradescope.py",
    "test_jail.py",
    "test_sandbox.py",
    "test_public_python.py",
    "test_unjailed.py",
)
#: a module that defines a fixture of one of these scopes shares its set-up between its tests
SHARED_SCOPE = re.compile(r"""scope\s*=\s*["'](module|class|package)["']""")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    def rank(item: pytest.Item) -> int:
        name = item.path.name
        return LONGEST_FIRST.index(name) if name in LONGEST_FIRST else len(LONGEST_FIRST)

    items.sort(key=rank)  # stable: the order within a module is kept


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_auto_num_workers(config: pytest.Config) -> int:
    """``-n auto``: one worker more than there are cores.  Many tests spend part of their time
    waiting (a child's time limit, a git or nbgrader process starting), and one more worker keeps
    the cores busy meanwhile."""
    return (len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1) + 1


@pytest.hookimpl(tryfirst=True, optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log):
    """Under xdist (README's ``-n auto``) tests go to the workers one by one, except that a module
    whose tests share a module-scoped set-up (nbgrader's round trip, a graded class, a bundle) goes
    whole to one worker, so that the set-up runs once, and the modules of ``AS_NOBODY`` go together
    to one worker; in collection order (the longest first).
    (``--dist loadgroup`` would do this with marks, but cannot under pytest 9.2, whose node ids
    xdist 3.8 no longer rewrites.)"""
    from xdist.scheduler import LoadScopeScheduling

    shared = {
        path.relative_to(config.rootpath).as_posix()
        for path in Path(__file__).parent.glob("test_*.py")
        if SHARED_SCOPE.search(path.read_text(encoding="utf-8"))
    }

    class SharedSetupTogether(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            module = nodeid.split("::", 1)[0]
            if Path(module).name in AS_NOBODY:
                return "processes of uid 65534"
            return module if module in shared else nodeid

    config.option.loadscopereorder = False  # keep LONGEST_FIRST's order
    return SharedSetupTogether(config, log)


@pytest.fixture
def course_file(tmp_path: Path) -> Callable[..., Path]:
    """``course_file(late_policy={...}, extensions=[...])``: the tests' course.yml with those
    top-level keys changed, written (with ``support/``) into a folder of this test."""
    made = iter(range(1_000_000))
    return lambda **changes: testcourse.write_course(tmp_path / f"course-{next(made)}", **changes)


@pytest.fixture
def drawn(monkeypatch):
    """Every figure saved (as a PNG) while the test runs, in order."""
    from matplotlib.figure import Figure

    figures, savefig = [], Figure.savefig

    def saving(fig, *args, **kwargs):
        figures.append(fig)
        return savefig(fig, *args, **kwargs)

    monkeypatch.setattr(Figure, "savefig", saving)
    return figures


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
