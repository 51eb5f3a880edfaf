"""When the graded files last changed along the branch: the submission time of each commit.

The branch is read along its first parents (a merge counts as one change, at the time the merge
was pushed).  For each commit, ``snapshot.locate`` gives what the sandbox would get; a commit whose
``Snapshot.key`` differs from its parent's changed what is graded (the notebook's graded cells or
any file beside it, added, changed or removed).  A commit's submission time is the latest push
window (``ledger``) of any such change up to it: a later commit that changes only other files, or
only the notebook's outputs and metadata, keeps the time of the content it carries.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from .gitio import git
from .ledger import Ledger, from_epoch
from .objects import Objects
from .snapshot import Snapshot, locate

#: first-parent commits read on a branch (a student's assignment has tens to hundreds)
MAX_COMMITS = 2000


@dataclass(frozen=True)
class Commit:
    sha: str
    tree: str
    committed: dt.datetime


@dataclass(frozen=True)
class Point:
    """One commit of the branch with what it would submit and since when."""

    commit: Commit
    snapshot: Snapshot | None
    submitted_at: dt.datetime | None  # None: nothing graded changed up to here
    first_fetch: bool  # the change that set submitted_at came with the repository's first fetch


def first_parents(bare: Path, ref: str) -> list[Commit]:
    """The branch's first-parent commits, newest first (one git process): at most ``MAX_COMMITS + 1``,
    so that the caller observes what it fetched (the ledger's clock moves on) before it refuses a
    branch longer than ``MAX_COMMITS``."""
    out = git("log", "--first-parent", f"--max-count={MAX_COMMITS + 1}", "--format=%H %T %ct", ref, "--", cwd=bare)
    commits = []
    for line in out.decode("ascii", "replace").splitlines():
        sha, tree, stamp = (line.split() + ["", "", "0"])[:3]
        try:
            seconds = int(stamp)
        except ValueError:
            seconds = 0
        commits.append(Commit(sha, tree, from_epoch(seconds)))
    return commits


def timeline(
    objects: Objects, commits: list[Commit], wanted: list[tuple[str, str]], ledger: Ledger, repo_key: str
) -> list[Point]:
    """Every commit (newest first) with its snapshot and submission time."""
    points: list[Point] = []
    latest: dt.datetime | None = None
    first_fetch = False
    previous: str | None = None
    located: dict[str, Snapshot | None] = {}
    for commit in reversed(commits):
        if commit.tree not in located:
            located[commit.tree] = locate(objects, commit.tree, wanted)
        snapshot = located[commit.tree]
        key = snapshot.key if snapshot else None
        if key != previous:
            when = ledger.time_of(repo_key, commit.sha, commit.committed)
            if latest is None or when >= latest:
                latest, first_fetch = when, ledger.first_fetch(repo_key, commit.sha)
            previous = key
        points.append(Point(commit, snapshot, latest, first_fetch))
    return points[::-1]


def newest(points: list[Point], by: dt.datetime | None) -> Point | None:
    """The newest commit with a notebook submitted by ``by`` (None: at any time)."""
    for point in points:
        if point.snapshot and (by is None or point.submitted_at <= by):
            return point
    return None
