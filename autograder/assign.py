"""The ``assign`` verb: make the student release ``assignments/`` from ``solutions/`` with nbgrader.

``python -m autograder assign [ID...]`` first writes course.yml's points into every notebook of
``solutions/`` and ``assignments/`` and into the gradebook (course.yml is the one points table,
``nbgrader/points.py``), then runs ``nbgrader generate_assignment`` for each assignment (all by
default).  The gradebook is ``--db``, else the course's ``gradebook.db`` when there is one, else a
throwaway one, so that a fresh clone never gains a gradebook.db; in a gradebook that is kept,
course.yml's due dates are recorded too.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

from .config import Course
from .nbgrader import points


def tool_env() -> dict[str, str]:
    """The environment with this Python's scripts first on PATH: nbgrader runs ``alembic``
    (and the kernel) from PATH, and must find the ones installed beside it."""
    env = dict(os.environ)
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    return env


def nbgrader(course: Course, *args: str) -> subprocess.CompletedProcess:
    """Run the nbgrader command line in the course's folder; raise with its output on failure."""
    done = subprocess.run(
        [sys.executable, "-m", "nbgrader", *args],
        cwd=course.root,
        capture_output=True,
        text=True,
        env=tool_env(),
    )
    if done.returncode != 0:
        raise RuntimeError(f"nbgrader {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
    return done


def release(course: Course, assignment_ids: list[str] | None = None, db_url: str | None = None) -> list[Path]:
    """Write course.yml's points everywhere (``sync_points``), then regenerate
    ``assignments/<id>/`` for each id; return the folders written."""
    ids = assignment_ids or [a.id for a in course.assignments]
    kept = course.root / "gradebook.db"
    db_url = db_url or (f"sqlite:///{kept}" if kept.is_file() else None)
    sync_points(course, db_url)
    written = []
    with tempfile.TemporaryDirectory(prefix="gd-gradebook-") as scratch:
        db = db_url or f"sqlite:///{Path(scratch) / 'gradebook.db'}"
        for assignment_id in ids:
            assignment = course.assignment(assignment_id)
            if db_url:
                nbgrader(
                    course,
                    "db",
                    "assignment",
                    "add",
                    assignment.id,
                    f"--duedate={assignment.due.isoformat()}",
                    f"--db={db}",
                )
            nbgrader(course, "generate_assignment", assignment.id, "--force", f"--db={db}")
            written.append(course.root / "assignments" / assignment.id)
    return written


def sync_points(course: Course, db_url: str | None) -> list[str]:
    """course.yml's points into the graded cells of every notebook in ``solutions/`` and
    ``assignments/`` and of the gradebook at ``db_url`` (nbgrader refuses to run while they differ);
    return what changed."""
    changed = []
    for assignment in course.assignments:
        for folder in points.FOLDERS:
            path = course.root / folder / assignment.id / assignment.notebook
            if path.is_file() and points.sync_notebook(path, assignment):
                changed.append(str(path.relative_to(course.root)))
    if db_url:
        changed += points.sync_gradebook(course, db_url)
    return changed


def run(args, course: Course) -> int:
    """``python -m autograder assign``: regenerate the release of the given (or every) assignment."""
    for folder in release(course, args.ids or None, args.db):
        print(f"released {folder.relative_to(course.root)}/")
    return 0
