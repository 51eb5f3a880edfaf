"""The roster: one ``student,repo`` row per student, as an instructor's spreadsheet saves it.

Standard library only (the workflow reads it before installing anything).
"""

from __future__ import annotations

import csv
import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

#: student names become folder names and branch-free path parts: keep them plain
STUDENT_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.@+-]{0,99}$")


class CollectError(Exception):
    """Bad roster, options or state (exit status 2).  ``str(exc)`` is one line for the user."""


@dataclass(frozen=True)
class Student:
    name: str
    repo: str

    @property
    def key(self) -> str:
        """Names the repository's cache and ledger: the student and the URL (one roster per
        assignment may give the same student several repositories)."""
        return f"{self.name}-{hashlib.sha256(self.repo.encode()).hexdigest()[:10]}"


def read_roster(path: Path) -> list[Student]:
    """The roster CSV: a header ``student,repo`` (any case, any spaces; a spreadsheet's UTF-8
    byte-order mark is ignored), then one row per student."""
    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            rows = list(csv.reader(handle))
    except (OSError, UnicodeDecodeError) as exc:
        raise CollectError(f"{path}: {getattr(exc, 'strerror', None) or exc}") from None
    rows = [row for row in rows if any(cell.strip() for cell in row)]
    header = [cell.strip().lower() for cell in rows[0]] if rows else []
    if "student" not in header or "repo" not in header:
        raise CollectError(f"{path}: the header must be 'student,repo'")
    name_at, repo_at = header.index("student"), header.index("repo")
    students, names = [], set()
    for line, row in enumerate(rows[1:], start=2):
        name = row[name_at].strip() if name_at < len(row) else ""
        repo = row[repo_at].strip() if repo_at < len(row) else ""
        if not STUDENT_NAME.match(name):
            raise CollectError(f"{path}:{line}: '{name}' is not a usable student name (letters, digits, _.@+-)")
        if not repo or repo.startswith("-"):
            raise CollectError(f"{path}:{line}: no repository for {name}")
        if name in names:
            raise CollectError(f"{path}:{line}: {name} appears twice")
        names.add(name)
        students.append(Student(name, repo))
    if not students:
        raise CollectError(f"{path}: no students")
    return students
