"""Has anything changed since the last run?  The cheap first step of a scheduled run.

``python3 -m autograder.collect.heads --roster roster.csv --course course.yml --state collected``

Asks every repository of the roster for its head (``git ls-remote``, a few at a time) and compares
with ``heads.json`` of the last run: nothing to do when every head, the roster and course.yml are as
they were and no pending report falls due.  Prints why, writes ``changed=true|false`` to
``$GITHUB_OUTPUT`` (when set) and a line to ``$GITHUB_STEP_SUMMARY`` when nothing changed.  Exit
status 0 either way (2 for a bad roster).

Standard library only: it runs before anything is installed, so that a run with nothing to do
ends within the first billed minute.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import os
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from .gitio import GitError, git
from .roster import CollectError, Student, read_roster

HEADS_FILE = "heads.json"
#: repositories asked at once (each ls-remote waits on the network, not the CPU)
PARALLEL = 16


def inputs_digest(students: list[Student], course_file: Path) -> str:
    """Digest of the roster and course.yml: a run is needed when either changed."""
    digest = hashlib.sha256(json.dumps([[s.name, s.repo] for s in students]).encode())
    try:
        digest.update(course_file.read_bytes())
    except OSError:
        digest.update(b"(no course file)")
    return digest.hexdigest()


def remote_head(student: Student) -> str:
    """The commit the repository's default branch points at ("" when it cannot be asked)."""
    try:
        out = git("ls-remote", "--", student.repo, "HEAD", limit=1 << 16)
    except GitError:
        return ""
    return (out.split() or [b""])[0].decode("ascii", "replace")


def remote_heads(students: list[Student]) -> dict[str, str]:
    with ThreadPoolExecutor(max_workers=PARALLEL) as pool:
        return dict(zip((s.key for s in students), pool.map(remote_head, students)))


def what_changed(students: list[Student], course_file: Path, state: Path, now: dt.datetime) -> str:
    """Why a run is needed ("" when it is not)."""
    try:
        last = json.loads((state / HEADS_FILE).read_text(encoding="utf-8"))
        heads, inputs, wake_at = last["heads"], last["inputs"], last.get("wake_at")
    except (OSError, ValueError, KeyError, TypeError):
        return f"no {HEADS_FILE} from an earlier run"
    if inputs != inputs_digest(students, course_file):
        return "the roster or course.yml changed"
    if wake_at and dt.datetime.fromisoformat(wake_at) <= now:
        return f"work pending since {wake_at}"
    now_heads = remote_heads(students)
    moved = [s.name for s in students if now_heads[s.key] != heads.get(s.key)]
    if moved:
        return f"{len(moved)} repositories changed ({', '.join(moved[:5])}{', ...' if len(moved) > 5 else ''})"
    return ""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python3 -m autograder.collect.heads", description=__doc__.split("\n")[0])
    parser.add_argument("--roster", required=True)
    parser.add_argument("--course", default="course.yml")
    parser.add_argument("--state", required=True, help="the collect --out folder of the last run")
    args = parser.parse_args(argv)
    try:
        students = read_roster(Path(args.roster))
    except CollectError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    why = what_changed(students, Path(args.course), Path(args.state), dt.datetime.now(dt.timezone.utc))
    print(f"run needed: {why}" if why else f"nothing changed in {len(students)} repositories since the last run")
    if os.environ.get("GITHUB_OUTPUT"):
        with open(os.environ["GITHUB_OUTPUT"], "a", encoding="utf-8") as output:
            output.write(f"changed={'true' if why else 'false'}\n")
    if not why and os.environ.get("GITHUB_STEP_SUMMARY"):
        with open(os.environ["GITHUB_STEP_SUMMARY"], "a", encoding="utf-8") as summary:
            summary.write(f"**collect**: nothing changed in {len(students)} repositories since the last run.\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
