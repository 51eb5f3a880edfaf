"""The ``grade`` verb: find submissions, grade each one out of process, write the results.

``python -m autograder grade PATH... [--out DIR] [--jobs N] [--assignment ID]``

Each submission's notebook runs in its own sandboxed child process; verdicts are made here.
A broken submission is graded 0 with a reason, never a crash, and results are written as
each submission finishes, atomically, so an interrupted batch loses nothing already graded.
"""

from __future__ import annotations

from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

from .config import Course
from .results import GradedSubmission
from .sandbox import jail
from .submission import Submission, UsageError, finish, grade_submission, grader_failed, write_class_files


class GraderFailure(Exception):
    """The grader itself failed on some submissions (a bug of ours, not the student's)."""


def _grade_in_worker(submission: Submission, course_path: str, feedback: bool) -> GradedSubmission:
    from .config import load_course

    return grade_submission(submission, load_course(course_path), feedback=feedback)


def grade_all(
    submissions: list[Submission],
    course: Course,
    out_dir: Path,
    jobs: int = 1,
    progress=None,
    feedback: bool = False,
) -> list[GradedSubmission]:
    """Grade every submission, filing each results.json (and report) as soon as it is done.

    A failure of the grader on one submission does not stop the batch: that submission gets a
    results.json saying so, the others are graded, and ``GraderFailure`` is raised at the end.
    """
    try:
        jail.require()  # fail closed: no student code runs outside the jail unless turned off
    except jail.SandboxUnavailable as exc:
        raise UsageError(str(exc)) from None
    graded: list[GradedSubmission] = []
    failures: list[str] = []

    def done(g: GradedSubmission) -> None:
        g = finish(g, out_dir, feedback=feedback)
        graded.append(g)
        if progress:
            progress(g)

    def failed(s: Submission, exc: BaseException) -> None:
        failures.append(f"{s.notebook}: {type(exc).__name__}: {exc}")
        done(grader_failed(s, course))

    def file(s: Submission, g: GradedSubmission) -> None:
        try:
            done(g)
        except Exception as exc:  # noqa: BLE001 - e.g. its report could not be written: its error only
            failed(s, exc)

    if jobs <= 1 or len(submissions) <= 1:
        for s in submissions:
            try:
                g = grade_submission(s, course, feedback=feedback)
            except Exception as exc:  # noqa: BLE001 - one submission's grader bug must not stop the class
                failed(s, exc)
                continue
            file(s, g)
    else:
        with ProcessPoolExecutor(max_workers=jobs) as pool:
            futures = {pool.submit(_grade_in_worker, s, str(course.path), feedback): s for s in submissions}
            for future in as_completed(futures):
                try:
                    g = future.result()
                except Exception as exc:  # noqa: BLE001 - as above (includes a worker process that died)
                    failed(futures[future], exc)
                    continue
                file(futures[future], g)
    graded.sort(key=lambda g: (g.assignment, g.student))
    write_class_files(out_dir)
    if failures:
        raise GraderFailure("\n".join(failures), graded)
    return graded


def run(args, course: Course) -> int:
    """``python -m autograder grade``: 0 when every submission was graded, 1 when the grader failed
    on some (their results say so), 2 for a usage error."""
    import sys

    from rich.progress import Progress

    from .nbgrader.points import disagreement
    from .submission import discover
    from .tables import print_tables

    problem = disagreement(course)  # course.yml is the one points table: nbgrader's must agree
    if problem:
        print(f"error: {problem}", file=sys.stderr)
        return 2
    try:
        submissions = discover(args.paths, course, args.assignment)
    except UsageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    out_dir = Path(args.out)
    with Progress(transient=True, disable=not sys.stderr.isatty()) as progress:
        task = progress.add_task("grading", total=len(submissions))
        try:
            graded = grade_all(
                submissions,
                course,
                out_dir,
                jobs=args.jobs,
                progress=lambda g: progress.advance(task),
                feedback=args.feedback,
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
            summary.write(markdown_summary(graded))
    if args.feedback:
        print(f"feedback reports: {out_dir}/<student>/<assignment>/feedback.html and feedback.md")
    print(f"wrote {len(graded)} results.json under {out_dir}/ and {out_dir / 'grades.csv'}")
    if grader_failures:
        print(
            f"error: the grader failed on some submissions (marked in their results):\n{grader_failures}",
            file=sys.stderr,
        )
        return 1
    return 0
