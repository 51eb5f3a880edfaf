"""The ``collect`` verb: grade every student's repository with the hidden suites; push feedback.

``python -m autograder collect --roster ROSTER [--assignment ID] [--out DIR] [--push-feedback]``

For each ``student,repo`` row of the roster: fetch the repository with plain ``git`` (any git
server, or a local path) into a cache under ``DIR/.repos/``, take the last commit of its default
branch pushed before the student's cutoff (the deadline plus grace and extension; later when the late
policy still gives points), grade that commit's notebook in the sandbox like ``grade`` does, write
``DIR/<student>/<assignment>/results.json`` and the feedback report, and with ``--push-feedback``
commit the report to the branch ``feedback`` of the student's repository (never the branch they work on).

What ``DIR`` keeps between runs (so a scheduled workflow must carry it over, e.g. in a cache):

- ``seen.json``: per repository, when each commit was first fetched and when the fetch before that
  ran.  A commit time is the student's to set; the ledger bounds it (see ``submission_time``).
- ``collect-state.json``: per student and assignment, the SHA-256 of the notebook last graded, its
  lateness, and the times of the reports given (for ``feedback_per_day``).  A student whose notebook
  and lateness are unchanged is not graded again.

Git authenticates, when ``AUTOGRADER_GIT_TOKEN`` is set, with an HTTP header passed to each git
process through its environment: the token is never in a URL, a command line or a ``.git/config``.
"""

from __future__ import annotations

import base64
import csv
import datetime as dt
import hashlib
import json
import os
import re
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from .config import Course
from .lateness import DAY, assess, student_deadline
from .results import GradedSubmission, write_atomic
from .submission import pick_notebook

#: student names become folder names and branch-free path parts: keep them plain
STUDENT_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.@+-]{0,99}$")
FEEDBACK_BRANCH = "feedback"
BOT = ("gd-course grader", "grader@gd-course.invalid")
MAX_FILE = 5 * 1024 * 1024  # files of the notebook's folder copied beside it (support modules, data)
GIT_TIMEOUT = 300


class CollectError(Exception):
    """Bad roster or options (exit status 2)."""


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
    """The roster CSV: a header ``student,repo``, then one row per student."""
    try:
        rows = list(csv.DictReader(path.open(encoding="utf-8", newline="")))
    except OSError as exc:
        raise CollectError(f"{path}: {exc.strerror or exc}") from None
    if rows and not {"student", "repo"} <= set(rows[0]):
        raise CollectError(f"{path}: the header must be 'student,repo'")
    students, names = [], set()
    for line, row in enumerate(rows, start=2):
        name, repo = (row.get("student") or "").strip(), (row.get("repo") or "").strip()
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


# ----------------------------------------------------------------------------------- git


class GitError(Exception):
    pass


#: the token, taken out of the environment when the run starts, so that no child process (the
#: sandbox keeps an allow-list of variables anyway) can inherit it; only git processes get it
_token: str | None = None


def take_token() -> None:
    global _token
    _token = os.environ.pop("AUTOGRADER_GIT_TOKEN", None) or _token


def git_env() -> dict[str, str]:
    """The environment of every git process: no prompts, no user or system config, and the
    token (if any) as an HTTP header given through GIT_CONFIG_* variables."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env.update(GIT_TERMINAL_PROMPT="0", GIT_CONFIG_NOSYSTEM="1", GIT_CONFIG_GLOBAL=os.devnull)
    env.update(GIT_AUTHOR_NAME=BOT[0], GIT_AUTHOR_EMAIL=BOT[1], GIT_COMMITTER_NAME=BOT[0], GIT_COMMITTER_EMAIL=BOT[1])
    if _token:
        basic = base64.b64encode(f"x-access-token:{_token}".encode()).decode()
        env.update(
            GIT_CONFIG_COUNT="1",
            GIT_CONFIG_KEY_0="http.extraHeader",
            GIT_CONFIG_VALUE_0=f"Authorization: Basic {basic}",
        )
    return env


def git(*args: str, cwd: Path | None = None, data: bytes | None = None, env: dict | None = None) -> bytes:
    done = subprocess.run(
        ["git", *args],
        cwd=cwd,
        input=data,
        capture_output=True,
        env={**git_env(), **(env or {})},
        timeout=GIT_TIMEOUT,
    )
    if done.returncode != 0:
        message = done.stderr.decode("utf-8", "replace").strip().splitlines()
        text = message[-1] if message else f"exit status {done.returncode}"
        raise GitError(text.replace(_token, "***") if _token else text)
    return done.stdout


def fetch(student: Student, cache: Path) -> Path:
    """A bare copy of the student's repository, up to date; every branch as ``refs/heads/*``."""
    bare = cache / f"{student.key}.git"
    if not (bare / "HEAD").is_file():
        git("clone", "--bare", "--quiet", "--no-hardlinks", "--", student.repo, str(bare))
    else:
        git("fetch", "--quiet", "--prune", "--", student.repo, "+refs/heads/*:refs/heads/*", cwd=bare)
    return bare


def working_branch(bare: Path) -> str:
    """The repository's default branch (its HEAD when first cloned)."""
    return git("symbolic-ref", "--short", "HEAD", cwd=bare).decode().strip()


def commit_times(bare: Path, branch: str) -> list[tuple[str, dt.datetime]]:
    """Every commit reachable from ``branch``, newest first, with its committer date."""
    out = git("log", "--format=%H %ct", branch, "--", cwd=bare).decode().split()
    return [(out[i], _from_epoch(int(out[i + 1]))) for i in range(0, len(out), 2)]


def _from_epoch(seconds: int) -> dt.datetime:
    return dt.datetime.fromtimestamp(seconds, dt.timezone.utc)


def _iso(value: dt.datetime) -> str:
    return value.astimezone(dt.timezone.utc).isoformat(timespec="seconds")


# ------------------------------------------------------------------------- what git proves


def submission_time(committed: dt.datetime, seen: dt.datetime, not_before: dt.datetime | None) -> dt.datetime:
    """When a commit counts as submitted.

    The committer date is set by the student's machine, so alone it proves nothing.  The ledger
    proves two things: the commit was on the branch when ``collect`` first fetched it (``seen``), and,
    if an earlier fetch of the same repository did not find it, it was pushed after that fetch
    (``not_before``).  The committer date is trusted only inside those bounds.
    """
    if not_before is not None and committed < not_before:
        committed = not_before  # back-dated: it was not there at the fetch before
    return min(committed, seen)


class Ledger:
    """``seen.json``: per repository, when each commit was first fetched."""

    def __init__(self, path: Path):
        self.path = path
        try:
            self.data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            self.data = {}

    def observe(self, repo_key: str, commits: list[tuple[str, dt.datetime]], now: dt.datetime) -> None:
        repo = self.data.setdefault(repo_key, {"last_fetch": None, "commits": {}})
        previous = repo["last_fetch"]
        for sha, _ in commits:
            repo["commits"].setdefault(sha, {"seen": _iso(now), "not_before": previous})
        repo["last_fetch"] = _iso(now)

    def time_of(self, repo_key: str, sha: str, committed: dt.datetime) -> dt.datetime:
        entry = self.data[repo_key]["commits"][sha]
        not_before = entry["not_before"]
        return submission_time(
            committed,
            dt.datetime.fromisoformat(entry["seen"]),
            dt.datetime.fromisoformat(not_before) if not_before else None,
        )

    def save(self) -> None:
        write_atomic(self.path, json.dumps(self.data, indent=1, sort_keys=True) + "\n")


# ----------------------------------------------------------------------------- one student


@dataclass
class Outcome:
    student: str
    assignment: str | None
    status: str  # graded, unchanged, limited, nothing, failed
    message: str = ""
    graded: GradedSubmission | None = None


@dataclass
class Run:
    """Everything one ``collect`` run shares."""

    course: Course
    out: Path
    now: dt.datetime
    push_feedback: bool
    assignment_id: str | None
    ledger: Ledger = field(init=False)
    state: dict = field(init=False)

    def __post_init__(self):
        self.ledger = Ledger(self.out / "seen.json")
        try:
            self.state = json.loads((self.out / "collect-state.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            self.state = {}

    def save(self) -> None:
        self.ledger.save()
        write_atomic(self.out / "collect-state.json", json.dumps(self.state, indent=1, sort_keys=True) + "\n")


def _ls_tree(bare: Path, commit: str) -> list[tuple[str, str, str, str]]:
    """(mode, type, object, path) of every file in ``commit``."""
    entries = []
    for line in git("ls-tree", "-r", "-z", commit, cwd=bare).split(b"\0"):
        if line:
            meta, path = line.split(b"\t", 1)
            mode, kind, obj = meta.decode().split()
            entries.append((mode, kind, obj, path.decode("utf-8", "replace")))
    return entries


def _find_notebook(entries, run: Run) -> tuple[str, str] | None:
    """(assignment id, path in the repository) of the course notebook in this tree: at the root
    first, else the shallowest one with the notebook's name."""
    wanted = [run.course.assignment(run.assignment_id)] if run.assignment_id else run.course.assignments
    for assignment in wanted:
        path = pick_notebook([p for _, kind, _, p in entries if kind == "blob"], assignment.notebook)
        if path:
            return assignment.id, path
    return None


def _extract(bare: Path, entries, notebook_path: str, into: Path) -> Path:
    """The notebook and the plain files beside it, read from git objects (no checkout: no symlinks,
    no hooks, nothing executable), each at most MAX_FILE bytes."""
    folder = notebook_path.rsplit("/", 1)[0] if "/" in notebook_path else ""
    for mode, kind, obj, path in entries:
        parent, _, name = path.rpartition("/")
        if kind != "blob" or parent != folder or mode not in ("100644", "100755"):
            continue
        if name.startswith(".") or int(git("cat-file", "-s", obj, cwd=bare)) > MAX_FILE:
            continue
        (into / name).write_bytes(git("cat-file", "blob", obj, cwd=bare))
    return into / notebook_path.rsplit("/", 1)[-1]


def _select(run: Run, repo_key: str, commits, deadline: dt.datetime) -> tuple[str, dt.datetime] | None:
    """The last commit (newest first along the branch) submitted by the student's cutoff."""
    cutoff = run.course.late_policy.cutoff(deadline)
    for sha, committed in commits:
        when = run.ledger.time_of(repo_key, sha, committed)
        if cutoff is None or when <= cutoff:
            return sha, when
    return None


def _reports_today(reports: list[str], now: dt.datetime) -> int:
    today = now.astimezone(dt.timezone.utc).date()
    return sum(dt.datetime.fromisoformat(t).astimezone(dt.timezone.utc).date() == today for t in reports)


def collect_student(run: Run, student: Student, cache: Path) -> Outcome:
    from .submission import Submission, finish, grade_submission

    bare = fetch(student, cache)
    branch = working_branch(bare)
    if branch == FEEDBACK_BRANCH:
        return Outcome(student.name, None, "failed", f"the default branch is '{FEEDBACK_BRANCH}', which is ours")
    try:
        git("rev-parse", "--verify", "--quiet", f"refs/heads/{branch}", cwd=bare)
    except GitError:
        return Outcome(student.name, run.assignment_id, "nothing", "no commits yet")
    first_parent = git("rev-list", "--first-parent", branch, "--", cwd=bare).decode().split()
    commits = commit_times(bare, branch)
    run.ledger.observe(student.key, commits, run.now)
    committed = dict(commits)
    head = first_parent[0]
    found = _find_notebook(_ls_tree(bare, head), run)
    if found is None:
        return Outcome(student.name, run.assignment_id, "nothing", "no notebook of this course in the repository")
    assignment_id, _ = found
    assignment = run.course.assignment(assignment_id)
    deadline = student_deadline(assignment.due, assignment.id, student.name, run.course.extensions)
    chosen = _select(run, student.key, [(sha, committed[sha]) for sha in first_parent], deadline)
    if chosen is None:
        return Outcome(student.name, assignment_id, "nothing", "no commit before the deadline")
    sha, _ = chosen
    entries = _ls_tree(bare, sha)
    found = _find_notebook(entries, run)
    if found is None or found[0] != assignment_id:
        return Outcome(student.name, assignment_id, "nothing", f"no {assignment.notebook} in commit {sha[:7]}")
    path = found[1]
    blob = git("rev-parse", f"{sha}:{path}", cwd=bare).decode().strip()
    if int(git("cat-file", "-s", blob, cwd=bare)) > MAX_FILE:
        return Outcome(student.name, assignment_id, "nothing", f"{path} in {sha[:7]} is larger than {MAX_FILE} bytes")
    digest = hashlib.sha256(git("cat-file", "blob", blob, cwd=bare)).hexdigest()
    # the notebook was submitted when its content first appeared on the branch, not at a later
    # commit that changed only other files
    content_commit = git("log", "-1", "--format=%H", sha, "--", path, cwd=bare).decode().strip() or sha
    submitted_at = run.ledger.time_of(student.key, content_commit, committed[content_commit])
    late = assess(run.course, assignment_id, student.name, submitted_at)

    key = f"{student.name}/{assignment_id}"
    entry = run.state.setdefault(key, {"hash": None, "lateness": None, "reports": [], "deadline_graded": False})
    if entry["hash"] == digest and entry["lateness"] == late.to_json():
        return Outcome(student.name, assignment_id, "unchanged")
    past_deadline = run.now > deadline + run.course.late_policy.grace
    final_grade = past_deadline and not entry["deadline_graded"]
    limit = run.course.feedback_per_day
    if limit and not final_grade and _reports_today(entry["reports"], run.now) >= limit:
        return _limited(run, student, bare, entry, assignment_id, sha, deadline, limit)

    try:
        with tempfile.TemporaryDirectory(prefix="gd-collect-") as scratch:
            notebook = _extract(bare, entries, path, Path(scratch))
            submission = Submission(notebook, student.name, assignment_id, submitted_at=submitted_at)
            graded = grade_submission(submission, run.course, feedback=True)
    except GitError:
        raise
    except Exception as exc:  # noqa: BLE001 - a grader bug on one student must not stop the class
        # nothing is recorded, so the next run tries again
        return Outcome(student.name, assignment_id, "failed", f"the grader failed: {type(exc).__name__}: {exc}")
    graded = finish(graded, run.out, feedback=True)
    reports = [t for t in entry["reports"] if _age(t, run.now) < 2 * DAY] + [_iso(run.now)]
    if run.push_feedback:  # before the state is updated: if the push fails, the next run grades and pushes again
        folder = run.out / graded.student / assignment_id
        files = {name: (folder / name).read_bytes() for name in _report_files(graded)}
        files["status.md"] = _status_text(sha, graded, run, reports, limit).encode()
        _push_feedback(bare, student, files, f"Feedback for {sha[:7]}")
    entry.update(hash=digest, lateness=late.to_json(), commit=sha, pending=None, reports=reports)
    entry["deadline_graded"] = entry["deadline_graded"] or past_deadline
    return Outcome(student.name, assignment_id, "graded", graded=graded)


def _age(stamp: str, now: dt.datetime) -> dt.timedelta:
    return now - dt.datetime.fromisoformat(stamp)


def _next_day(now: dt.datetime) -> dt.datetime:
    today = now.astimezone(dt.timezone.utc).date()
    return dt.datetime.combine(today + dt.timedelta(days=1), dt.time(), dt.timezone.utc)


def _report_files(graded: GradedSubmission) -> list[str]:
    """What ``feedback.write_reports`` wrote for this grading (not older plots left in the folder)."""
    return ["feedback.md", *(f"feedback_{p.name}.png" for p in graded.plots)]


def _status_text(sha: str, graded: GradedSubmission, run: Run, reports: list[str], limit: int | None) -> str:
    late = graded.lateness
    lines = ["# Grading status", "", f"Graded commit `{sha[:7]}`: {graded.final_score:g} / {graded.max_score:g}."]
    if late:
        lines.append(late.sentence(graded.score, graded.max_score))
    if limit:
        used = _reports_today(reports, run.now)
        lines.append(f"Reports today (UTC): {used} of {limit}.")
    lines += ["", "Your report is in `feedback.md` on this branch."]
    return "\n".join(lines) + "\n"


def _limited(
    run: Run, student: Student, bare: Path, entry: dict, assignment_id: str, sha: str, deadline, limit: int
) -> Outcome:
    """Over the day's report limit: record the push, and tell the student when the next report comes."""
    comes = min(_next_day(run.now), deadline + run.course.late_policy.grace)
    if comes <= run.now:
        comes = _next_day(run.now)
    when = comes.strftime("%Y-%m-%d %H:%M UTC")
    message = (
        f"Your push `{sha[:7]}` is recorded. You have had {limit} report(s) today, the limit for a day; "
        f"your next report comes with the first grading run after {when}, and your last commit before "
        "the deadline is graded then in any case."
    )
    if run.push_feedback and entry.get("pending") != sha:  # tell once per push
        text = "# Grading status\n\n" + message + "\n\nYour last report is still in `feedback.md` on this branch.\n"
        _push_feedback(bare, student, {"status.md": text.encode()}, f"Recorded {sha[:7]}; next report after {when}")
    entry["pending"] = sha
    return Outcome(student.name, assignment_id, "limited", message)


def _push_feedback(bare: Path, student: Student, files: dict[str, bytes], message: str) -> None:
    """Commit ``files`` on top of the ``feedback`` branch and push that branch only.

    Built with plumbing in the bare cache, so nothing is checked out and the student's branches are
    untouched.  A new report (``feedback.md`` among ``files``) replaces every file of the one
    before; otherwise (a status only) the last report's files are kept.
    """
    ref = f"refs/heads/{FEEDBACK_BRANCH}"
    try:
        parent = git("rev-parse", "--verify", "--quiet", ref, cwd=bare).decode().strip()
    except GitError:
        parent = ""
    if parent and "feedback.md" not in files:
        kept = {}
        for _mode, kind, obj, path in _ls_tree(bare, parent):
            if kind == "blob" and "/" not in path:
                kept[path] = git("cat-file", "blob", obj, cwd=bare)
        files = {**kept, **files}
    tree_lines = []
    for name, content in sorted(files.items()):
        obj = git("hash-object", "-w", "--stdin", cwd=bare, data=content).decode().strip()
        tree_lines.append(f"100644 blob {obj}\t{name}")
    tree = git("mktree", cwd=bare, data=("\n".join(tree_lines) + "\n").encode()).decode().strip()
    commit = git("commit-tree", tree, *(["-p", parent] if parent else []), "-m", message, cwd=bare).decode().strip()
    git("push", "--quiet", "--force", "--", student.repo, f"{commit}:{ref}", cwd=bare)
    git("update-ref", ref, commit, cwd=bare)


# ------------------------------------------------------------------------------- the run


def collect(
    course: Course,
    roster: list[Student],
    out: Path,
    assignment_id: str | None = None,
    push_feedback: bool = False,
    now: dt.datetime | None = None,
) -> list[Outcome]:
    """Fetch, select, grade and (optionally) push feedback for every student of the roster.

    ``now`` is the time of the run (tests replay a term with it); state is saved after each student,
    so an interrupted run loses nothing already done.
    """
    from .submission import write_class_files

    take_token()
    if assignment_id:
        course.assignment(assignment_id)
    run = Run(
        course, out, (now or dt.datetime.now(dt.timezone.utc)).astimezone(dt.timezone.utc), push_feedback, assignment_id
    )
    cache = out / ".repos"
    cache.mkdir(parents=True, exist_ok=True)
    outcomes = []
    for student in roster:
        try:
            outcome = collect_student(run, student, cache)
        except (GitError, subprocess.TimeoutExpired, OSError) as exc:
            outcome = Outcome(student.name, assignment_id, "failed", f"git: {exc}")
        outcomes.append(outcome)
        run.save()
    if any(o.status == "graded" for o in outcomes):
        write_class_files(out)
    return outcomes


def run(args, course: Course) -> int:
    """``python -m autograder collect``: 0 when every student was handled, 1 when git or the grader
    failed on one, 2 for a bad roster."""
    import sys

    from .tables import print_tables

    try:
        roster = read_roster(Path(args.roster))
        outcomes = collect(course, roster, Path(args.out), args.assignment, args.push_feedback)
    except CollectError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    graded = [o.graded for o in outcomes if o.graded]
    if graded:
        print_tables(graded)
    notes = [f"{o.student}: {o.status}: {o.message}" for o in outcomes if o.status in ("limited", "nothing", "failed")]
    count = {s: sum(o.status == s for o in outcomes) for s in ("graded", "unchanged", "limited", "nothing", "failed")}
    line = (
        f"{len(outcomes)} students: {count['graded']} graded, {count['unchanged']} skipped (notebook unchanged), "
        f"{count['limited']} over the daily report limit (recorded), {count['nothing']} with nothing to grade, "
        f"{count['failed']} failed"
    )
    print("\n".join([*notes, line]))
    if args.summary:
        from .reports import markdown_summary

        with open(args.summary, "a", encoding="utf-8") as summary:
            summary.write("\n".join([f"**collect**: {line}.", "", *[f"- {n}" for n in notes], ""]) + "\n")
            if graded:
                summary.write(markdown_summary(graded))
    return 1 if count["failed"] else 0
