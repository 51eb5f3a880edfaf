"""One ``collect`` run: fetch, choose, grade and report, student after student.

For each ``student,repo`` row of the roster: fetch the repository into ``DIR/.repos/``, read its
default branch along first parents (``history``), and choose the commits that count under
course.yml's ``late_policy`` (``lateness.LatePolicy.counted``): the last one submitted on time and,
after the deadline, the latest one submitted by the cutoff.  Each is graded once per content
(``snapshot.Snapshot.key``) in the sandbox like ``grade`` does; the one that counts is written to
``DIR/<student>/<assignment>/results.json``, and every output (the report beside it, the tables,
the job summary, with ``--push-feedback`` the student's ``feedback`` branch) shows that grade; a
newer commit that does not count is named in ``status.md``, its grade shown for information.

Containment: whatever happens on one student (a missing repository, a date git accepts and
Python does not, a tree too large, a grader failure) is that student's outcome, with a reason;
the run goes on and the state is saved after each student.  A grader failure is tried again on
the next runs, at most ``MAX_TRIES`` times for the same commit, and said each run after that.
"""

from __future__ import annotations

import datetime as dt
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from ..config import Course
from ..lateness import DAY, Lateness, assess, student_deadline
from ..manual import ManualBook, apply, merge
from ..results import GradedSubmission, hand_over, read_results, write_atomic
from ..submission import filed, filed_name, finish
from . import feedback_branch
from .gitio import GitError, default_branch, fetch, resolve, take_token
from .heads import inputs_digest
from .history import MAX_COMMITS, Point, first_parents, newest, timeline
from .ledger import LedgerLost, iso
from .objects import Objects, TooLarge
from .roster import CollectError, Student
from .snapshot import Refused, Snapshot, extract, locate
from .state import SLOTS, RunState, open_state, write_heads

#: bytes read from one repository's objects in one run (its history's notebooks included)
BUDGET = 512 * 1024 * 1024
#: runs in a row that may fail on the same commit before it is no longer tried
MAX_TRIES = 3


@dataclass
class Outcome:
    student: str
    assignment: str | None
    status: str  # graded, unchanged, limited, nothing, missing, failed
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
    state: RunState
    retry_failed: bool = False
    manual: ManualBook | None = None  # hand-graded scores of the written answers
    wake: list[dt.datetime] = field(default_factory=list)  # when work left for later falls due

    @property
    def cache(self) -> Path:
        return self.out / ".repos"

    def wanted(self) -> list[tuple[str, str]]:
        """(assignment id, notebook name) looked for in a repository, in course order."""
        scope = [self.course.assignment(self.assignment_id)] if self.assignment_id else self.course.assignments
        return [(a.id, a.notebook) for a in scope]


def collect(
    course: Course,
    roster: list[Student],
    out: Path,
    assignment_id: str | None = None,
    push_feedback: bool = False,
    now: dt.datetime | None = None,
    new_ledger: bool = False,
    retry_failed: bool = False,
    manual: ManualBook | None = None,
) -> list[Outcome]:
    """Fetch, choose, grade and (optionally) push feedback for every student of the roster.

    ``now`` is the time of the run (tests replay a term with it).  ``manual`` (hand-graded
    scores of written answers) is merged into every grade, and a student whose grade it changes
    without a new commit gets the report again.  ``CollectError`` when the state of earlier runs
    is lost (and ``new_ledger`` does not say to start one).
    """
    from ..submission import write_class_files

    take_token()
    if assignment_id:
        course.assignment(assignment_id)
    out.mkdir(parents=True, exist_ok=True)
    try:
        state = open_state(out, new_ledger)
    except LedgerLost as exc:
        hand_over(out)
        raise CollectError(
            f"the state of earlier runs is lost: {exc}. Without the ledger commit dates cannot be bounded "
            "(README, 'What a commit time proves'). Restore it (the state branch or the last artifact), or "
            "start a new ledger on purpose with --new-ledger"
        ) from None
    when = (now or dt.datetime.now(dt.timezone.utc)).astimezone(dt.timezone.utc)
    run = Run(course, out, when, push_feedback, assignment_id, state, retry_failed, manual=manual)
    run.cache.mkdir(exist_ok=True)
    heads: dict[str, str] = {}
    outcomes = []
    try:
        regraded = merge(out, manual)  # hand-graded scores that came since the last run
        for slot in ("on_time", "late"):
            merge(out / "slots" / slot, manual)
        for student in roster:
            outcomes.append(contained(run, student, heads))
            state.save()
        write_heads(out, heads, inputs_digest(roster, course.path), min(run.wake, default=None))
        if push_feedback:
            reported = {(o.graded.student, o.graded.assignment) for o in outcomes if o.graded}
            outcomes += push_regraded(run, roster, [g for g in regraded if (g.student, g.assignment) not in reported])
        write_class_files(out)
    finally:
        hand_over(out)
    return outcomes


def contained(run: Run, student: Student, heads: dict[str, str]) -> Outcome:
    """One student, whatever happens: any error is theirs, with a readable reason."""
    bare = run.cache / f"{student.key}.git"
    try:
        fetch(student.repo, bare)
        ref = default_branch(bare)
    except (GitError, OSError, subprocess.SubprocessError) as exc:
        heads[student.key] = ""
        return missing(run, student, str(exc))
    head = heads[student.key] = resolve(bare, ref)
    failure = run.state.failures.get(student.name)
    if failure and failure["head"] == head and failure["count"] >= MAX_TRIES and not run.retry_failed:
        return Outcome(
            student.name,
            run.assignment_id,
            "failed",
            f"not tried again: the grader failed {failure['count']} times on commit {head[:7]} "
            f"({failure['reason']}); tried again when the student pushes, or with --retry-failed",
        )
    try:
        outcome = collect_student(run, student, bare, ref, head)
    except Exception as exc:  # noqa: BLE001 - a grader bug on one student must not stop the class
        count = failure["count"] + 1 if failure and failure["head"] == head else 1
        reason = f"{type(exc).__name__}: {exc}"
        run.state.failures[student.name] = {"head": head, "count": count, "reason": reason[:500]}
        if count < MAX_TRIES:
            run.wake.append(run.now)
        return Outcome(student.name, run.assignment_id, "failed", f"the grader failed ({reason}); try {count}")
    run.state.failures.pop(student.name, None)
    return outcome


def missing(run: Run, student: Student, reason: str) -> Outcome:
    """A repository that cannot be fetched: said, and a row (0, with the reason) in grades.csv
    for each assignment in scope that has no grade yet."""
    text = f"the repository could not be fetched: {reason}"
    for assignment_id, notebook in run.wanted():
        if not (run.out / filed_name(student.name) / assignment_id / "results.json").exists():
            finish(refusal(run, student, assignment_id, notebook, text), run.out, manual=run.manual)
    return Outcome(student.name, run.assignment_id, "missing", text)


def refusal(run: Run, student: Student, assignment_id: str, notebook: str, reason: str) -> GradedSubmission:
    from ..submission import Submission, grade_submission

    return grade_submission(Submission(Path(notebook), student.name, assignment_id, refused=reason), run.course)


def collect_student(run: Run, student: Student, bare: Path, ref: str, head: str) -> Outcome:
    if ref == f"refs/heads/{feedback_branch.FEEDBACK_BRANCH}":
        return Outcome(student.name, None, "failed", f"the default branch is '{feedback_branch.FEEDBACK_BRANCH}'")
    if not head:
        return Outcome(student.name, run.assignment_id, "nothing", "no commits yet")
    commits = first_parents(bare, ref)
    run.state.ledger.observe(student.key, [c.sha for c in commits[:MAX_COMMITS]], run.now)
    with Objects(bare, BUDGET) as objects:
        try:
            found = locate(objects, commits[0].tree, run.wanted())
        except TooLarge as exc:
            return refuse(run, student, run.wanted()[0], head, str(exc))
        if found is None:
            return Outcome(student.name, run.assignment_id, "nothing", "no notebook of this course in the repository")
        wanted = (found.assignment_id, found.notebook.name)
        try:
            if len(commits) > MAX_COMMITS:
                raise TooLarge(f"your branch has more than {MAX_COMMITS} commits")
            points = timeline(objects, commits, [wanted], run.state.ledger, student.key)
        except TooLarge as exc:
            return refuse(run, student, wanted, head, str(exc))
        return grade_candidates(run, student, bare, objects, points, found.assignment_id)


def refuse(run: Run, student: Student, wanted: tuple[str, str], head: str, reason: str) -> Outcome:
    """A repository that cannot be read within the bounds: graded 0 with the reason, once per head."""
    assignment_id, notebook = wanted
    entry = run.state.entry(student.name, assignment_id)
    if entry.get("refused") == head:
        return Outcome(student.name, assignment_id, "unchanged")
    graded = finish(refusal(run, student, assignment_id, notebook, reason), run.out, manual=run.manual)
    entry.update(refused=head, on_time=None, late=None)
    return Outcome(student.name, assignment_id, "graded", f"refused: {reason}", graded)


def grade_candidates(
    run: Run, student: Student, bare: Path, objects: Objects, points: list[Point], assignment_id: str
) -> Outcome:
    """Grade what counts under the late policy (each content once) and report the newest."""
    course, policy = run.course, run.course.late_policy
    assignment = course.assignment(assignment_id)
    deadline = student_deadline(assignment.due, assignment_id, student.name, course.extensions)
    on_time_by = deadline + policy.grace
    latest = newest(points, policy.cutoff(deadline))
    if latest is None:
        return Outcome(student.name, assignment_id, "nothing", "no commit with the notebook by the cutoff")
    entry = run.state.entry(student.name, assignment_id)
    entry.pop("refused", None)
    lateness = assess(course, assignment_id, student.name, latest.submitted_at)
    slots = {"on_time": latest}
    if lateness.late:
        on_time = newest(points, on_time_by)
        slots = {"late": latest, **({"on_time": on_time} if on_time and policy.counts == "best" else {})}
    for stale in {"on_time", "late"} - set(slots):
        entry.pop(stale, None)  # e.g. an extension made the late commit on time
    graded: list[tuple[str, Point, GradedSubmission, str]] = []
    limited: Point | None = None
    for name in ("on_time", "late"):
        if name not in slots:
            continue
        point = slots[name]
        late = assess(course, assignment_id, student.name, point.submitted_at)
        slot = entry.get(name)
        if slot and slot["key"] == point.snapshot.key and slot["lateness"] == late.to_json():
            continue
        final = name == "on_time" and run.now > on_time_by  # the on-time grade, once the deadline is past
        limit = course.feedback_per_day
        if limit and not final and feedback_branch.reports_today(entry["reports"], run.now) >= limit:
            limited = point
            continue
        result, refused = grade_point(run, student, objects, point, late)
        finish(result, run.out / "slots" / name, feedback=True, manual=run.manual)  # its report, should it count
        grade = result.grade
        entry[name] = {
            "key": point.snapshot.key,
            "commit": point.commit.sha,
            "lateness": late.to_json(),
            "final": round(grade.score - grade.manual, 4),  # the autograded part: what lateness changes
        }
        graded.append((name, point, result, f"refused: {refused}" if refused else ""))
    counted = count(run, student, assignment_id, entry, slots)
    outcome = report(run, student, bare, entry, graded, counted) if graded and counted else None
    if limited is not None:
        told = over_limit(run, student, bare, entry, assignment_id, limited, deadline, tell=not graded)
        return outcome or told
    return outcome or Outcome(student.name, assignment_id, "unchanged")


def grade_point(
    run: Run, student: Student, objects: Objects, point: Point, late: Lateness
) -> tuple[GradedSubmission, str]:
    """Grade one commit's snapshot in the sandbox; past the bounds, 0 and the reason (also returned)."""
    from ..submission import Submission, grade_submission

    snapshot: Snapshot = point.snapshot
    when = {"submitted_at": point.submitted_at}
    with tempfile.TemporaryDirectory(prefix="gd-collect-") as scratch:
        try:
            notebook, notes = extract(objects, snapshot, Path(scratch))
            submission = Submission(notebook, student.name, snapshot.assignment_id, notes=notes, **when)
        except (Refused, TooLarge) as exc:
            name = Path(snapshot.notebook.name)
            submission = Submission(name, student.name, snapshot.assignment_id, refused=str(exc), **when)
        graded = grade_submission(submission, run.course, feedback=True)
    graded.lateness = late
    return graded, submission.refused


def count(run: Run, student: Student, assignment_id: str, entry: dict, slots: dict) -> tuple[str, str] | None:
    """Write the results of the slot that counts as the student's results; say which slot, and
    why it counts when there are two (``None`` when none is graded yet)."""
    scores = {name: (entry.get(name) or {}).get("final") for name in ("on_time", "late")}
    present = {name: scores[name] for name in slots if entry.get(name)}
    if not present:
        return None
    name = run.course.late_policy.counted(present.get("on_time"), present.get("late"))
    folder = Path(filed_name(student.name)) / assignment_id
    source = run.out / "slots" / name / folder / "results.json"
    write_atomic(run.out / folder / "results.json", source.read_text(encoding="utf-8"))
    if len(present) < 2:
        return name, ""
    if name == "on_time":
        return name, (
            f"Your on-time commit `{entry['on_time']['commit'][:7]}` ({scores['on_time']:g}) counts: it is "
            f"better than your latest commit after the penalty ({scores['late']:g})."
        )
    return name, (
        f"Your latest commit counts ({scores['late']:g} after the penalty, better than {scores['on_time']:g} on time)."
    )


def report(run: Run, student: Student, bare: Path, entry: dict, graded: list, counted: tuple[str, str]) -> Outcome:
    """Write the report of the grade that counts; push it to the ``feedback`` branch with the
    status: the commit graded last, and, when another one counts, which one and why."""
    slot, why = counted
    name, point, newest, refused = graded[-1]
    fresh = {name: result for name, _, result, _ in graded}
    result = counted_report(run, student, newest.assignment, slot, fresh.get(slot))
    reports = [t for t in entry["reports"] if run.now - dt.datetime.fromisoformat(t) < 2 * DAY] + [iso(run.now)]
    if run.push_feedback:  # before the state is updated: if the push fails, the next run grades and pushes again
        folder = run.out / result.student / result.assignment
        files = {name: (folder / name).read_bytes() for name in feedback_branch.report_files(result)}
        used = feedback_branch.reports_today(reports, run.now)
        graded_now = feedback_branch.Grading(point.commit.sha, apply(filed(newest), run.manual))
        counting = feedback_branch.Grading(entry[slot]["commit"], result)
        text = feedback_branch.status_text(graded_now, counting, why, used, run.course.feedback_per_day)
        files["status.md"] = text.encode()
        feedback_branch.push(bare, student.repo, files, f"Feedback for {point.commit.sha[:7]}")
    entry.update(reports=reports, pending=None)
    return Outcome(student.name, result.assignment, "graded", " ".join(filter(None, [refused, why])), result)


def counted_report(
    run: Run, student: Student, assignment_id: str, slot: str, fresh: GradedSubmission | None
) -> GradedSubmission:
    """The grade that counts (slot ``slot``: graded in this run, ``fresh``, or in an earlier one,
    its report kept in the slot's folder), its report written in the student's folder."""
    from ..feedback import with_kept_plots, write_reports

    if fresh is not None:
        result = apply(filed(fresh), run.manual)
    else:
        result = read_results(run.state.slot_results(slot, filed_name(student.name), assignment_id))
        result = with_kept_plots(result, run.out / SLOTS / slot) or result  # no plots from before reports were kept
    write_reports(result.for_report(), run.out)
    return result


def push_regraded(run: Run, roster: list[Student], regraded: list[GradedSubmission]) -> list[Outcome]:
    """Push the report again to each student whose grade hand-graded scores changed (no new
    commit): its heading shows the new final grade.  A failed push is that student's outcome."""
    by_name = {filed_name(s.name): s for s in roster}
    outcomes = []
    for graded in regraded:
        student = by_name.get(graded.student)
        folder = run.out / graded.student / graded.assignment
        if student is None or not (folder / "feedback.md").is_file():
            continue
        files = {name: (folder / name).read_bytes() for name in ["feedback.md", *_plot_files(folder)]}
        status = f"# Grading status\n\nYour written answers were graded: your grade is {graded.grade.words()}.\n"
        files["status.md"] = status.encode()
        try:
            feedback_branch.push(run.cache / f"{student.key}.git", student.repo, files, "Written answers graded")
        except (GitError, OSError, subprocess.SubprocessError) as exc:
            outcomes.append(
                Outcome(student.name, graded.assignment, "failed", f"the report could not be pushed ({exc})")
            )
    return outcomes


def _plot_files(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.glob("feedback_*.png"))


def over_limit(
    run: Run, student: Student, bare: Path, entry: dict, assignment_id: str, point: Point, deadline, tell: bool
) -> Outcome:
    """Over the day's report limit: record the push, and tell the student when the next report comes."""
    grace = run.course.late_policy.grace
    tomorrow = dt.datetime.combine(run.now.date() + dt.timedelta(days=1), dt.time(), dt.timezone.utc)
    comes = min(tomorrow, deadline + grace) if deadline + grace > run.now else tomorrow
    run.wake.append(comes)
    sha, limit = point.commit.sha, run.course.feedback_per_day
    when = comes.strftime("%Y-%m-%d %H:%M UTC")
    message = (
        f"Your push `{sha[:7]}` is recorded. You have had {limit} report(s) today, the limit for a day; "
        f"your next report comes with the first grading run after {when}, and your last commit before "
        "the deadline is graded then in any case."
    )
    if run.push_feedback and tell and entry.get("pending") != sha:  # tell once per push
        text = "# Grading status\n\n" + message + "\n\nYour last report is still in `feedback.md` on this branch.\n"
        feedback_branch.push(bare, student.repo, {"status.md": text.encode()}, f"Recorded {sha[:7]}; next after {when}")
    entry["pending"] = sha
    return Outcome(student.name, assignment_id, "limited", message)
