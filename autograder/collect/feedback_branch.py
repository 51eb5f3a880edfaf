"""The report on the student's ``feedback`` branch: ``feedback.md``, its plots and ``status.md``.

Built with plumbing in the bare cache, so nothing is checked out and the student's branches are
untouched; only the ``feedback`` branch is pushed.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from ..results import GradedSubmission
from .gitio import git

FEEDBACK_BRANCH = "feedback"


def report_files(graded: GradedSubmission) -> list[str]:
    """What ``feedback.write_reports`` wrote for this grading (not older plots left in the folder)."""
    return ["feedback.md", *(f"feedback_{p.name}.png" for p in graded.plots)]


def reports_today(reports: list[str], now: dt.datetime) -> int:
    today = now.astimezone(dt.timezone.utc).date()
    return sum(dt.datetime.fromisoformat(t).astimezone(dt.timezone.utc).date() == today for t in reports)


@dataclass(frozen=True)
class Grading:
    """One commit and its grade."""

    sha: str
    graded: GradedSubmission

    def lateness(self) -> list[str]:
        late = self.graded.lateness
        return [late.sentence(self.graded.score, self.graded.max_score)] if late else []


def status_text(graded: Grading, counted: Grading, why: str, used: int, limit: int | None) -> str:
    """``status.md``: which commit was graded and its lateness; when another commit's grade
    counts (the late policy), that grade first, and why it counts; the reports left today."""
    lines = ["# Grading status", ""]
    if counted.sha == graded.sha:
        lines += [f"Graded commit `{graded.sha[:7]}`: {graded.graded.grade.words()}.", *graded.lateness()]
        report = "Your report is in `feedback.md` on this branch."
    else:
        late = counted.graded.lateness
        which = "latest" if late and late.late else "on-time"
        lines += [
            f"Your grade: {counted.graded.grade.words()}, from your {which} commit `{counted.sha[:7]}`.",
            f"Graded commit `{graded.sha[:7]}`, shown for information (it does not count): "
            f"{graded.graded.grade.words()}.",
            *graded.lateness(),
        ]
        report = f"The report in `feedback.md` on this branch is the one of commit `{counted.sha[:7]}`, which counts."
    lines += [why] if why else []
    lines += [f"Reports today (UTC): {used} of {limit}."] if limit else []
    return "\n".join([*lines, "", report]) + "\n"


def push(bare: Path, repo: str, files: dict[str, bytes], message: str) -> None:
    """Commit ``files`` on top of the ``feedback`` branch and push that branch only.

    A new report (``feedback.md`` among ``files``) replaces every file of the one before;
    otherwise (a status only) the last report's files are kept.
    """
    ref = f"refs/heads/{FEEDBACK_BRANCH}"
    try:
        parent = git("rev-parse", "--verify", "--quiet", ref, cwd=bare).decode().strip()
    except Exception:  # noqa: BLE001 - no such branch yet
        parent = ""
    if parent and "feedback.md" not in files:
        kept = {}
        for line in git("ls-tree", "-z", parent, cwd=bare).split(b"\0"):
            if line:
                meta, name = line.split(b"\t", 1)
                mode, kind, obj = meta.decode().split()
                if kind == "blob":
                    kept[name.decode("utf-8", "replace")] = git("cat-file", "blob", obj, cwd=bare)
        files = {**kept, **files}
    tree_lines = []
    for name, content in sorted(files.items()):
        obj = git("hash-object", "-w", "--stdin", cwd=bare, data=content).decode().strip()
        tree_lines.append(f"100644 blob {obj}\t{name}")
    tree = git("mktree", cwd=bare, data=("\n".join(tree_lines) + "\n").encode()).decode().strip()
    commit = git("commit-tree", tree, *(["-p", parent] if parent else []), "-m", message, cwd=bare).decode().strip()
    git("push", "--quiet", "--force", "--", repo, f"{commit}:{ref}", cwd=bare)
    git("update-ref", ref, commit, cwd=bare)
