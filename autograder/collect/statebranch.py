"""The state of ``collect`` on a branch of the course repository, where no cache eviction can lose it.

``python3 -m autograder.collect.statebranch pull DIR --remote URL``: fetch the branch
``grader-state`` into ``DIR`` (exit 0; "no state branch yet" when there is none: the first run).

``python3 -m autograder.collect.statebranch push DIR --remote URL``: commit what ``DIR`` holds
(the ledger, the state, results, ``grades.csv``, ``feedback.md``; not the repository cache,
hidden files, plots or HTML) on top of the fetched branch, and push it.  A push that is not a
fast-forward (someone else saved in between) fails: nothing is overwritten.

The token for the course repository comes from ``AUTOGRADER_STATE_TOKEN`` (the workflow's
``github.token``), given to git as a header like the students' token.  Every save is a commit, so
the branch's history is the ledger's history: what was seen when.

Standard library only (the workflow runs it before anything is installed).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from .gitio import GitError, git

BRANCH = "grader-state"
GIT_DIR = ".state.git"
#: not kept on the branch: the repository cache (rebuilt by fetching), hidden files, images, HTML
SKIPPED_SUFFIXES = (".png", ".html", ".tmp")
TOKEN = "AUTOGRADER_STATE_TOKEN"


def _git(folder: Path, *args: str, data: bytes | None = None) -> bytes:
    folder = folder.resolve()
    return git(
        f"--git-dir={folder / GIT_DIR}", f"--work-tree={folder}", *args, cwd=folder, data=data, token_variable=TOKEN
    )


def _init(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    if not (folder / GIT_DIR / "HEAD").is_file():
        git("init", "--quiet", "--bare", str(folder / GIT_DIR), token_variable=TOKEN)


def fetch(folder: Path, remote: str, branch: str = BRANCH) -> str:
    """Fetch the tip of ``branch`` (not into the work tree); its commit, or "" when there is none yet."""
    _init(folder)
    listed = _git(folder, "ls-remote", "--", remote, f"refs/heads/{branch}")
    if not listed.strip():
        return ""
    _git(folder, "fetch", "--quiet", "--depth=1", "--", remote, f"+refs/heads/{branch}:refs/heads/{branch}")
    return _git(folder, "rev-parse", f"refs/heads/{branch}").decode().strip()


def pull(folder: Path, remote: str, branch: str = BRANCH) -> str:
    """Fetch ``branch`` into ``folder``; its commit, or "" when the branch does not exist yet."""
    if not fetch(folder, remote, branch):
        return ""
    _git(folder, "read-tree", f"refs/heads/{branch}")
    _git(folder, "checkout-index", "--all", "--force")
    return _git(folder, "rev-parse", f"refs/heads/{branch}").decode().strip()


def kept_files(folder: Path) -> list[str]:
    """The files of ``folder`` that belong on the branch, as paths relative to it."""
    kept = []
    for where, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(files):
            if not name.startswith(".") and not name.endswith(SKIPPED_SUFFIXES):
                kept.append(os.path.relpath(os.path.join(where, name), folder))
    return kept


def push(folder: Path, remote: str, branch: str = BRANCH, message: str = "collect: state after a run") -> str:
    """Commit ``folder``'s state on top of the branch's tip and push it; the commit pushed, or
    "" when nothing changed."""
    if not (folder / "seen.json").is_file():
        raise GitError(f"{folder}/seen.json is missing: a run that did not start has no state to save")
    parent = fetch(folder, remote, branch)
    files = kept_files(folder)
    ids = _git(folder, "hash-object", "-w", "--stdin-paths", data="".join(f"{f}\n" for f in files).encode()).split()
    index = "".join(f"100644 {i.decode()}\t{f}\0" for i, f in zip(ids, files)).encode()
    _git(folder, "read-tree", "--empty")
    _git(folder, "update-index", "--add", "-z", "--index-info", data=index)
    tree = _git(folder, "write-tree").decode().strip()
    if parent and _git(folder, "rev-parse", f"{parent}^{{tree}}").decode().strip() == tree:
        return ""
    commit = _git(folder, "commit-tree", tree, *(["-p", parent] if parent else []), "-m", message).decode().strip()
    _git(folder, "push", "--quiet", "--", remote, f"{commit}:refs/heads/{branch}")
    _git(folder, "update-ref", f"refs/heads/{branch}", commit)
    return commit


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python3 -m autograder.collect.statebranch", description=__doc__.split("\n")[0]
    )
    parser.add_argument("action", choices=["pull", "push"])
    parser.add_argument("folder", type=Path, help="collect's --out folder")
    parser.add_argument("--remote", required=True, help="the course repository (URL or path)")
    parser.add_argument("--branch", default=BRANCH)
    args = parser.parse_args(argv)
    try:
        if args.action == "pull":
            commit = pull(args.folder, args.remote, args.branch)
            print(f"state of {commit[:7]} in {args.folder}/" if commit else f"no branch {args.branch} yet")
        else:
            commit = push(args.folder, args.remote, args.branch)
            print(f"state saved as {commit[:7]} on {args.branch}" if commit else "state unchanged: nothing to save")
    except GitError as exc:
        print(f"error: the state branch {args.branch}: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
