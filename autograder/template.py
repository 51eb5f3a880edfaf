"""The ``template`` verb: assemble the template repository of one assignment, from which each
student's repository is created (``gh repo create --template``; README, "For CI").

``python -m autograder template ID DEST`` copies the released notebook and ``gd_support.py``
(``assignments/ID/``) and the student-side files (``template/``: the visible-check runner,
its requirements and the workflow that runs it on every push) into ``DEST``.  Nothing of the
grader or the hidden suites goes in.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from .config import Course


class TemplateError(Exception):
    pass


def make_template(course: Course, assignment_id: str, dest: Path, force: bool = False) -> list[Path]:
    assignment = course.assignment(assignment_id)
    release = course.root / "assignments" / assignment.id
    if not (release / assignment.notebook).is_file():
        raise TemplateError(f"{release / assignment.notebook} is missing: run python -m autograder assign")
    if dest.exists() and any(dest.iterdir()) and not force:
        raise TemplateError(f"{dest} is not empty (use --force to write into it)")
    dest.mkdir(parents=True, exist_ok=True)
    written = []
    for source_root in (release, course.root / "template"):
        for item in sorted(source_root.rglob("*")):
            if item.is_file() and "__pycache__" not in item.parts and ".ipynb_checkpoints" not in item.parts:
                target = dest / item.relative_to(source_root)
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(item, target)
                written.append(target)
    return written


def run(args, course: Course) -> int:
    """``python -m autograder template``: 0, or 2 when the template cannot be written there."""
    import sys

    try:
        written = make_template(course, args.id, Path(args.dest), args.force)
    except TemplateError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"wrote {len(written)} files to {args.dest}/: push it as the assignment's template repository")
    return 0
