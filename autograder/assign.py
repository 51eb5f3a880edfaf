"""The ``assign`` verb: make the student release ``assignments/`` from ``solutions/`` with nbgrader.

``python -m autograder assign [ID...]`` runs ``nbgrader generate_assignment`` for each
assignment (all by default), using a throwaway gradebook unless ``--db`` is given, so that
the repository never gains a gradebook.db.  With ``--db`` the due dates of course.yml are
recorded in that gradebook too, ready for ``nbgrader autograde`` and late penalties.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

from .config import Course


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
    """Regenerate ``assignments/<id>/`` for each id; return the folders written."""
    ids = assignment_ids or [a.id for a in course.assignments]
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


def run(args, course: Course) -> int:
    """``python -m autograder assign``: regenerate the release of the given (or every) assignment."""
    for folder in release(course, args.ids or None, args.db):
        print(f"released {folder.relative_to(course.root)}/")
    return 0
