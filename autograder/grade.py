"""The ``grade`` verb: find submissions, grade each one out of process, write the results.

``python -m autograder grade PATH... [--out DIR] [--jobs N] [--assignment ID]``

Each submission's notebook runs in its own sandboxed child process; verdicts are made here.
A broken submission is graded 0 with a reason, never a crash, and results are written as
each submission finishes, atomically, so an interrupted batch loses nothing already graded.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

from .config import Course
from .sandbox import jail

if TYPE_CHECKING:
    from .manual import ManualBook
    from .results import GradedSubmission
    from .submission import Submission

# The grader's own modules (numpy, the suites, nbformat) are imported on first use, not here: the
# probe of the jail and the first submission's child start while they load.


class GraderFailure(Exception):
    """The grader itself failed on some submissions (a bug of ours, not the student's)."""


def grade_submission(submission: Submission, course: Course, feedback: bool = False) -> GradedSubmission:
    """``submission.grade_submission``: what ``grade_all`` calls for each submission."""
    from .submission import grade_submission as grade

    return grade(submission, course, feedback=feedback)


def __getattr__(name: str):
    if name == "UsageError":  # ``submission.UsageError``, without loading the grader at import
        from .submission import UsageError

        return UsageError
    raise AttributeError(name)


def _lane(conn, course_path: str, feedback: bool) -> None:
    """One worker process of ``--jobs N``: grade the submissions the grading process sends, one after
    another, the next one's jail started while this one is graded, and send back each grade."""
    from .config import load_course
    from .submission import open_ahead, opening_ahead

    course = load_course(course_path)
    pending: list[tuple[int, Submission]] = []
    more = True
    with opening_ahead():
        while True:
            while more and (not pending or conn.poll()):  # wait only when there is nothing to grade
                item = conn.recv()
                more = item is not None
                pending += [item] if more else []
            if not pending:
                return
            index, submission = pending.pop(0)
            for upcoming in [submission, *(s for _, s in pending[:1])]:
                open_ahead(upcoming, course)
            try:
                conn.send(("graded", index, grade_submission(submission, course, feedback=feedback)))
            except Exception as exc:  # noqa: BLE001 - its failure, reported to the grading process
                conn.send(("failed", index, f"{type(exc).__name__}: {exc}"))


def _take_answers(conn, held: set, submissions: list[Submission], file, failed, hand_out) -> None:
    """File every answer a lane has sent so far (each one frees a place: ``hand_out`` gives it the
    next submission, or nothing if it has gone); stop at its end of the pipe."""
    try:
        while conn.poll():
            kind, index, outcome = conn.recv()
            held.discard(index)
            file(submissions[index], outcome) if kind == "graded" else failed(submissions[index], outcome)
            hand_out(conn, held)
    except (EOFError, OSError):
        pass


def _in_lanes(submissions: list[Submission], course: Course, jobs: int, feedback: bool, file, failed) -> None:
    """Grade in ``jobs`` worker processes (``_lane``), each holding at most two submissions (one graded,
    the next one's jail starting): each time one is done, its lane gets the next.  A lane that dies
    costs only the submissions it held."""
    import multiprocessing
    from multiprocessing.connection import wait

    todo = list(enumerate(submissions))[::-1]
    lanes = []
    for _ in range(min(jobs, len(submissions))):
        ours, theirs = multiprocessing.Pipe()
        process = multiprocessing.Process(target=_lane, args=(theirs, str(course.path), feedback), daemon=True)
        process.start()
        theirs.close()
        lanes.append((process, ours, set()))

    def hand_out(conn, held: set) -> None:
        if todo:
            index, submission = todo.pop()
            held.add(index)
            conn.send((index, submission))
        else:
            conn.send(None)

    for _, conn, held in lanes:
        hand_out(conn, held)
        hand_out(conn, held)
    while any(held for _, _, held in lanes):
        live = [lane for lane in lanes if lane[2]]
        ready = wait([conn for _, conn, _ in live] + [process.sentinel for process, _, _ in live])
        for process, conn, held in live:
            gone = process.sentinel in ready
            if conn in ready or gone:
                _take_answers(conn, held, submissions, file, failed, (lambda *_: None) if gone else hand_out)
            if gone:  # its answers all read: what it still held is lost
                process.join(5)  # its sentinel is ready a moment before its exit status is
                for index in sorted(held):
                    failed(submissions[index], f"the worker process grading it died (exit {process.exitcode})")
                held.clear()
    for process, conn, _ in lanes:
        process.join(5)
        conn.close()


def _ready_to_grade(course: Course) -> None:
    """Stop the whole command (before any grade counts) when the jail cannot work here (fail closed:
    no student code runs outside it unless the operator turned it off), or when course.yml gives
    points to a function no hidden check grades (``CourseConfigError``)."""
    from .config import check_against_suites
    from .submission import UsageError

    try:
        jail.require()
    except jail.SandboxUnavailable as exc:
        raise UsageError(str(exc)) from None
    check_against_suites(course)


def grade_all(
    submissions: list[Submission],
    course: Course,
    out_dir: Path,
    jobs: int = 1,
    progress=None,
    feedback: bool = False,
    manual: ManualBook | None = None,
) -> list[GradedSubmission]:
    """Grade every submission, filing each results.json (and report) as soon as it is done, with
    the hand-graded scores of ``manual`` (``manual.ManualBook``) merged into each.

    A failure of the grader on one submission does not stop the batch: that submission gets a
    results.json saying so, the others are graded, and ``GraderFailure`` is raised at the end.
    """
    from .submission import finish, grader_failed, open_ahead, opening_ahead, write_class_files

    graded: list[GradedSubmission] = []
    failures: list[str] = []

    def done(g: GradedSubmission) -> None:
        g = finish(g, out_dir, feedback=feedback, manual=manual)
        graded.append(g)
        if progress:
            progress(g)

    def failed(s: Submission, why: BaseException | str) -> None:
        failures.append(f"{s.notebook}: {why if isinstance(why, str) else f'{type(why).__name__}: {why}'}")
        done(grader_failed(s, course))

    def file(s: Submission, g: GradedSubmission) -> None:
        try:
            done(g)
        except Exception as exc:  # noqa: BLE001 - e.g. its report could not be written: its error only
            failed(s, exc)

    if jobs <= 1 or len(submissions) <= 1:
        with opening_ahead():
            for s in submissions[:2]:  # their jails start (once the probe says the jail works) while the suites load
                open_ahead(s, course)
            _ready_to_grade(course)
            for i, s in enumerate(submissions):
                for upcoming in submissions[i : i + 2]:  # this one, and the next one's jail meanwhile
                    open_ahead(upcoming, course)
                try:
                    g = grade_submission(s, course, feedback=feedback)
                except Exception as exc:  # noqa: BLE001 - one submission's grader bug must not stop the class
                    failed(s, exc)
                    continue
                file(s, g)
    else:
        _ready_to_grade(course)  # before the lanes fork: they inherit the answers
        _in_lanes(submissions, course, jobs, feedback, file, failed)
    graded.sort(key=lambda g: (g.assignment, g.student))
    write_class_files(out_dir, manual)
    if failures:
        raise GraderFailure("\n".join(failures), graded)
    return graded


def start_ahead() -> None:
    """Start the probe of the jail (``jail.check_ahead``): its answer comes while the grader loads,
    before the first child may start."""
    jail.check_ahead()


def run(args, course: Course) -> int:
    """``python -m autograder grade``: 0 when every submission was graded, 1 when the grader failed
    on some (their results say so), 2 for a usage error."""
    start_ahead()  # done already when run from the command line
    from .manual import ManualScoresError, read_books
    from .nbgrader.points import disagreement
    from .results import hand_over
    from .submission import UsageError, discover

    problem = disagreement(course)  # course.yml is the one points table: nbgrader's must agree
    if problem:
        print(f"error: {problem}", file=sys.stderr)
        return 2
    try:
        submissions = discover(args.paths, course, args.assignment)
        book = read_books(args.manual, args.gradebook, course)
    except (UsageError, ManualScoresError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    out_dir = Path(args.out)
    try:
        return _grade_and_report(args, course, submissions, book, out_dir)
    except UsageError as exc:  # the jail cannot work here: nothing was graded
        print(f"error: {exc}", file=sys.stderr)
        return 2
    finally:  # run as root through sudo (the workflow): its upload step, as the runner's user, reads them
        hand_over(out_dir)
        if args.junit:
            hand_over(Path(args.junit))


def _progress_bar():
    """rich's progress bar on a terminal; elsewhere (CI, a pipe) a stand-in that draws nothing
    and costs no import."""
    if not sys.stderr.isatty():
        return _NoProgress()
    from rich.progress import Progress

    return Progress(transient=True)


class _NoProgress:
    def __enter__(self) -> _NoProgress:
        return self

    def __exit__(self, *exc) -> None:
        pass

    def add_task(self, *args, **kwargs) -> int:
        return 0

    def advance(self, *args, **kwargs) -> None:
        pass


def _grade_and_report(args, course: Course, submissions: list[Submission], book: ManualBook, out_dir: Path) -> int:
    """Grade, file and show: the tables, the JUnit XML and the job summary asked for; the exit status."""
    from .manual import warn_unmatched
    from .submission import load_all_results
    from .tables import print_tables

    with _progress_bar() as progress:
        task = progress.add_task("grading", total=len(submissions))
        try:
            graded = grade_all(
                submissions,
                course,
                out_dir,
                jobs=args.jobs,
                progress=lambda g: progress.advance(task),
                feedback=args.feedback,
                manual=book,
            )
            grader_failures = ""
        except GraderFailure as failure:
            grader_failures, graded = failure.args
    print_tables(graded)
    if args.junit:
        from .reports import junit_xml
        from .results import write_atomic

        write_atomic(Path(args.junit), junit_xml(graded))
    if args.summary:
        from .reports import markdown_summary

        with open(args.summary, "a", encoding="utf-8") as summary:  # GitHub's job summary is appended to
            summary.write(markdown_summary(graded, out_dir))
    if args.feedback:
        print(f"feedback reports: {out_dir}/<student>/<assignment>/feedback.html and feedback.md")
    print(f"wrote {len(graded)} results.json under {out_dir}/ and {out_dir / 'grades.csv'}")
    if book:  # the class's results are read again only when there are hand-graded scores to match
        warn_unmatched(book, load_all_results(out_dir))
    if grader_failures:
        print(
            f"error: the grader failed on some submissions (marked in their results):\n{grader_failures}",
            file=sys.stderr,
        )
        return 1
    return 0
