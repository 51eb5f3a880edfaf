"""A class built from the bug zoo, in nbgrader's ``submitted/`` layout, for the class report.

Student ``zoo_j`` makes the j-th zoo mistake of every function of the assignment (where the
function has that many), so each planted mistake is made by exactly one student, and ``zoo_again``
makes the same mistakes as ``zoo_0`` (those are made by two).  ``valid`` writes every valid
variant of the zoo and ``solved`` the solutions: neither makes a mistake.

``python tests/zoo_class.py DIR [ASSIGNMENT...]`` writes such a class into ``DIR/submitted``
(to grade with ``python -m autograder grade DIR/submitted``).
"""

from __future__ import annotations

import sys
from pathlib import Path

from bug_zoo import BUGS, VARIANTS, Bug
from helpers import COURSE, write_notebook


def planted(assignment: str) -> dict[str, dict[str, Bug]]:
    """{student: {function: the zoo mistake they made there}} of the class of ``assignment``."""
    by_function: dict[str, list[Bug]] = {}
    for bug in BUGS:
        if bug.assignment == assignment:
            by_function.setdefault(bug.function, []).append(bug)
    students = {
        f"zoo_{j}": {f: bugs[j] for f, bugs in by_function.items() if j < len(bugs)}
        for j in range(max(len(b) for b in by_function.values()))
    }
    students["zoo_again"] = dict(students["zoo_0"])
    return students


def write_zoo_class(submitted: Path, assignment: str) -> dict[str, dict[str, Bug]]:
    """Write the class of ``assignment`` under ``submitted``; return what each student planted."""
    students = planted(assignment)
    for student, bugs in students.items():
        write_notebook(assignment, submitted / student / assignment, {f: b.source for f, b in bugs.items()})
    variants = {}
    for v in VARIANTS:  # one variant per function: they must not count as mistakes
        if v.assignment == assignment:
            variants.setdefault(v.function, v.source)
    write_notebook(assignment, submitted / "valid" / assignment, variants)
    write_notebook(assignment, submitted / "solved" / assignment)
    return students


if __name__ == "__main__":
    root = Path(sys.argv[1]) / "submitted"
    for assignment_id in sys.argv[2:] or [a.id for a in COURSE.assignments]:
        write_zoo_class(root, assignment_id)
    print(f"wrote {root}")
