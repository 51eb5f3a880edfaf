"""``python -m autograder``: the command line.  It parses and dispatches; each verb is its own
module (``grade.py``, ``collect/``, ``export.py``, ``gradescope.py``, ``regrade.py``,
``assign.py``, ``template.py``), whose ``run(args, course)`` does the work and returns the exit status."""

from __future__ import annotations

import argparse
import importlib
import sys

from .config import CourseConfigError, load_course


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m autograder", description="Grade gd-course notebooks.")
    parser.add_argument("--course", default=None, help="course.yml to use (default: found from the current folder)")
    verbs = parser.add_subparsers(dest="verb", required=True)

    grade = verbs.add_parser("grade", help="grade notebooks with the hidden suites, out of process")
    grade.add_argument(
        "paths", nargs="+", metavar="PATH", help="a notebook, an assignment folder, or an nbgrader submitted/ tree"
    )
    grade.add_argument("--out", default="graded", help="where results go (default: graded/)")
    grade.add_argument("--jobs", type=int, default=1, help="submissions graded in parallel (default: 1)")
    grade.add_argument("--assignment", default=None, help="assignment id, when notebook names do not tell")
    grade.add_argument(
        "--feedback",
        action="store_true",
        help="also write feedback.md and feedback.html (with plots of the student's code) per submission",
    )
    grade.add_argument("--junit", default=None, metavar="FILE", help="also write JUnit XML (for CI test reports)")
    grade.add_argument(
        "--summary", default=None, metavar="FILE", help="append a Markdown score table (e.g. $GITHUB_STEP_SUMMARY)"
    )
    grade.add_argument(
        "--manual", action="append", default=[], metavar="CSV", help="written answers' scores (a column per question)"
    )
    grade.add_argument(
        "--gradebook", default=None, metavar="URL", help="written answers' scores from nbgrader's gradebook"
    )

    regrade = verbs.add_parser("regrade", help="after nbgrader autograde: re-grade out of process, compare, fix")
    regrade.add_argument("--assignment", default=None, help="only this assignment")
    regrade.add_argument("--db", default=None, help="gradebook URL (default: sqlite:///<course>/gradebook.db)")
    regrade.add_argument(
        "--write", action="store_true", help="store the trusted score in every gradebook cell whose score differs"
    )
    regrade.add_argument("--report", default="regrade.csv", help="CSV of every comparison (default: regrade.csv)")

    template = verbs.add_parser(
        "template", help="assemble an assignment's template repository (students' repositories are made from it)"
    )
    template.add_argument("id", help="assignment id")
    template.add_argument("dest", help="folder to write the template repository into")
    template.add_argument("--force", action="store_true", help="write into a folder that is not empty")

    collect = verbs.add_parser(
        "collect", help="fetch each student's repository, grade the last commit before the deadline, push feedback"
    )
    collect.add_argument("--roster", required=True, help="CSV with a header student,repo (repo: any git URL or path)")
    collect.add_argument("--assignment", default=None, help="assignment id (default: the course notebook in each repo)")
    collect.add_argument(
        "--out", default="graded", help="results, reports, the repository cache and the state kept between runs"
    )
    collect.add_argument(
        "--push-feedback",
        action="store_true",
        help="commit each report to the branch 'feedback' of the student's repository",
    )
    collect.add_argument("--summary", default=None, metavar="FILE", help="append a Markdown table of this run's grades")
    collect.add_argument(
        "--new-ledger",
        action="store_true",
        help="start the state (seen.json) in an empty --out: the first run of a term, never a lost ledger's",
    )
    collect.add_argument(
        "--retry-failed", action="store_true", help="grade again students the grader failed on 3 times"
    )
    collect.add_argument(
        "--manual", action="append", default=[], metavar="CSV", help="written answers' scores (a column per question)"
    )

    export = verbs.add_parser(
        "export", help="merge hand-graded scores, then write final grades for an LMS (Canvas) and per function"
    )
    export.add_argument("results", nargs="?", default="graded", help="the folder of results (default: graded/)")
    export.add_argument(
        "--manual", action="append", default=[], metavar="CSV", help="written answers' scores (a column per question)"
    )
    export.add_argument(
        "--gradebook", default=None, metavar="URL", help="written answers' scores from nbgrader's gradebook"
    )
    export.add_argument(
        "--roster",
        default=None,
        metavar="CSV",
        help="student,name,lms_id,sis_id,sis_login_id,section,email (any of them)",
    )

    gradescope = verbs.add_parser("gradescope", help="write a Gradescope autograder bundle for an assignment")
    gradescope.add_argument("id", help="assignment id")
    gradescope.add_argument("--out", default="autograder.zip", help="the zip to write (default: autograder.zip)")

    assign = verbs.add_parser("assign", help="regenerate assignments/ from solutions/ with nbgrader")
    assign.add_argument("ids", nargs="*", metavar="ID", help="assignment ids (default: all)")
    assign.add_argument(
        "--db",
        default=None,
        help="gradebook URL to write points and due dates into (default: the course's gradebook.db if there is one, "
        "else a throwaway one)",
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "jobs", 1) < 1:
        parser.error("--jobs must be at least 1")
    verb = importlib.import_module(f"{__package__}.{args.verb}")  # autograder/<verb>.py does it
    if hasattr(verb, "start_ahead"):
        verb.start_ahead()  # what the verb will wait for (grade: the probe of the jail) runs while course.yml loads
    try:
        # grade checks the course against the suites once its first jail is starting (``load_course``)
        return verb.run(args, load_course(args.course, check_suites=args.verb != "grade"))
    except CourseConfigError as exc:  # a bad course.yml, or an assignment id it does not know
        print(f"error: {exc}", file=sys.stderr)
        return 2
