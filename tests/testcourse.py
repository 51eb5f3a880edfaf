"""The course the tests are written against: the shipped course.yml's assignments, the tests' own term.

An instructor edits ``course.yml`` every term (due dates, late policy, extensions, reports per
day, time limits, seeds); none of that may turn the suite red.  So the tests never read those
values from the shipped file.  They read a course built here: the shipped file's *structure*
(assignment ids, notebooks, titles, points and written questions, which must agree with the
notebooks in ``solutions/``) and a fixed *term* of their own (``TERM``; the due dates and seeds
follow from the assignment's position).

``conftest.py`` writes this course into a copy of the repository once per test process and points
``GD_COURSE_CONFIG`` at it, so that ``helpers.COURSE`` and every command a test runs (``python -m
autograder ...`` in the repository) use it.  A test that needs another term writes its own with
``write_course(folder, late_policy=..., extensions=...)`` (the ``course_file`` fixture).

Kept free of the grader's imports: conftest uses it before any test module is imported.
"""

from __future__ import annotations

import datetime as dt
import shutil
import subprocess
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[1]
SHIPPED = REPO / "course.yml"

#: the first assignment's due date; each further one is due two weeks later
FIRST_DUE = dt.datetime(2027, 2, 5, 23, 59, tzinfo=dt.timezone.utc)
DUE_EVERY = dt.timedelta(days=14)
#: assignment i (from 0) has seed SEED_STEP * (i + 1): 101, 202, 303...
SEED_STEP = 101
#: everything else an instructor sets per term
TERM: dict[str, Any] = {
    "time_limits": {"call_seconds": 10, "cell_seconds": 30, "notebook_seconds": 120, "memory_mb": 2048},
    "late_policy": {"penalty_per_day": 10, "max_penalty": 50, "grace_minutes": 30},
    "extensions": [],
    "feedback_per_day": 3,
}
#: what the tests take from the shipped file: what the notebooks and suites fix
STRUCTURE = ("id", "notebook", "title", "points", "manual")


def course_data(shipped: Path = SHIPPED, **changes: Any) -> dict[str, Any]:
    """The tests' course as course.yml's data, with top-level ``changes`` (``late_policy=...``)."""
    data = yaml.safe_load(shipped.read_text(encoding="utf-8"))
    assignments = [
        {
            **{key: a[key] for key in STRUCTURE if key in a},
            "due": (FIRST_DUE + i * DUE_EVERY).isoformat(),
            "seed": SEED_STEP * (i + 1),
        }
        for i, a in enumerate(data["assignments"])
    ]
    return {"course": data["course"], **TERM, "assignments": assignments, **changes}


def write_course(folder: Path, shipped: Path = SHIPPED, **changes: Any) -> Path:
    """Write the tests' course (with ``changes``) as ``folder/course.yml``, beside a copy of
    ``support/`` (what grading copies in); return the file's path."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "course.yml"
    path.write_text(yaml.safe_dump(course_data(shipped, **changes), sort_keys=False), encoding="utf-8")
    if not (folder / "support").exists():
        shutil.copytree(shipped.parent / "support", folder / "support")
    return path


def copy_repo(into: Path, repo: Path = REPO, shipped_course: bool = False) -> Path:
    """A copy of the repository as a fresh clone would have it (tracked and untracked, not ignored
    files), with the tests' course.yml in it unless ``shipped_course``."""
    listed = subprocess.run(
        ["git", "ls-files", "-co", "--exclude-standard"], cwd=repo, capture_output=True, text=True, check=True
    )
    for name in listed.stdout.splitlines():
        if (repo / name).exists():
            (into / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(repo / name, into / name, follow_symlinks=False)
    if not shipped_course:
        write_course(into, shipped=repo / "course.yml")
    return into
