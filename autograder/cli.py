"""``python -m autograder``: the command line.  One verb per module (grade.py, ...)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .config import CourseConfigError, load_course


def _table(graded) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console(file=sys.stdout, soft_wrap=True, width=None if sys.stdout.isatty() else 160)
    by_assignment: dict[str, list] = {}
    for g in graded:
        by_assignment.setdefault(g.assignment, []).append(g)
    for assignment, group in by_assignment.items():
        functions = list(group[0].functions())
        table = Table(title=f"{assignment}: score per function", title_justify="left")
        table.add_column("student")
        for f in functions:
            table.add_column(f, justify="right")
        table.add_column("total", justify="right", style="bold")
        timed = any(g.lateness for g in group)
        if timed:  # the submission time is known: show what lateness costs
            table.add_column("late", justify="right")
            table.add_column("final", justify="right", style="bold")
        for g in group:
            scores = g.functions()
            late = []
            if timed:
                days = g.lateness.days_late if g.lateness else 0
                late = [
                    f"{days}d -{g.lateness.penalty_percent:g}%" if days else "",
                    f"{g.final_score:g}/{g.max_score:g}",
                ]
            table.add_row(
                g.student,
                *[f"{scores[f][0]:g}/{scores[f][1]:g}" for f in functions],
                f"{g.score:g}/{g.max_score:g}",
                *late,
            )
        console.print(table)


def cmd_grade(args) -> int:
    from rich.progress import Progress

    from .grade import GraderFailure, UsageError, discover, grade_all

    course = load_course(args.course)
    try:
        targets = discover(args.paths, course, args.assignment)
    except UsageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    out_dir = Path(args.out)
    with Progress(transient=True, disable=not sys.stderr.isatty()) as progress:
        task = progress.add_task("grading", total=len(targets))
        try:
            graded = grade_all(
                targets,
                course,
                out_dir,
                jobs=args.jobs,
                progress=lambda g: progress.advance(task),
                feedback=args.feedback,
            )
            grader_failures = ""
        except GraderFailure as failure:
            grader_failures, graded = failure.args
    _table(graded)
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


def cmd_collect(args) -> int:
    from .collect.roster import CollectError, read_roster
    from .collect.run import collect

    course = load_course(args.course)
    try:
        roster = read_roster(Path(args.roster))
        outcomes = collect(
            course,
            roster,
            Path(args.out),
            args.assignment,
            args.push_feedback,
            new_ledger=args.new_ledger,
            retry_failed=args.retry_failed,
        )
    except CollectError as exc:
        print(f"error: {exc}", file=sys.stderr)
        if args.summary:
            with open(args.summary, "a", encoding="utf-8") as summary:
                summary.write(f"**collect could not run**: {exc}\n")
        return 2
    graded = [o.graded for o in outcomes if o.graded]
    if graded:
        _table(graded)
    kinds = ("graded", "unchanged", "limited", "nothing", "missing", "failed")
    notes = [f"{o.student}: {o.status}: {o.message}" for o in outcomes if o.message and o.status != "limited"]
    notes += [f"{o.student}: limited: {o.message}" for o in outcomes if o.status == "limited"]
    count = {s: sum(o.status == s for o in outcomes) for s in kinds}
    line = (
        f"{len(outcomes)} students: {count['graded']} graded, {count['unchanged']} skipped (notebook unchanged), "
        f"{count['limited']} over the daily report limit (recorded), {count['nothing']} with nothing to grade, "
        f"{count['missing']} repositories missing, {count['failed']} failed"
    )
    print("\n".join([*notes, line]))
    if args.summary:
        from .reports import markdown_summary
        from .results import markdown_text

        with open(args.summary, "a", encoding="utf-8") as summary:
            summary.write("\n".join([f"**collect**: {line}.", "", *[f"- {markdown_text(n)}" for n in notes], ""]) + "\n")
            if graded:
                summary.write(markdown_summary(graded))
    return 0  # a student's failure is in the summary, not the job's status: the state is saved either way


def cmd_gradescope(args) -> int:
    from .gradescope import build_bundle

    course = load_course(args.course)
    names = build_bundle(course, args.id, Path(args.out))
    print(
        f"wrote {args.out} ({len(names)} files): upload it as the autograder of a Gradescope programming "
        f"assignment; students submit {course.assignment(args.id).notebook}"
    )
    return 0


def cmd_assign(args) -> int:
    from .assign import release

    course = load_course(args.course)
    for folder in release(course, args.ids or None, args.db):
        print(f"released {folder.relative_to(course.root)}/")
    return 0


def cmd_regrade(args) -> int:
    from rich.console import Console
    from rich.table import Table

    from .regrade import regrade, write_report

    course = load_course(args.course)
    db = args.db or f"sqlite:///{course.root / 'gradebook.db'}"
    comparisons = regrade(course, db, args.assignment, write=args.write)
    if not comparisons:
        print(f"error: no submitted notebooks under {course.root / 'submitted'}/", file=sys.stderr)
        return 2
    flagged = [c for c in comparisons if c.flag]
    table = Table(title="in-kernel scores that differ from the trusted (out-of-process) score", title_justify="left")
    for column in ("student", "assignment", "function", "in kernel", "trusted", "flag", "note"):
        table.add_column(column)
    for c in flagged:
        in_kernel = "-" if c.in_kernel is None else f"{c.in_kernel:g}"
        table.add_row(c.student, c.assignment, c.function, in_kernel, f"{c.trusted:g}/{c.max_score:g}", c.flag, c.note)
    Console(file=sys.stdout, width=160).print(table)
    path = write_report(comparisons, Path(args.report))
    higher = sum(c.flag == "higher" for c in comparisons)
    lower = sum(c.flag == "lower" for c in comparisons)
    print(
        f"{len(comparisons)} function scores compared: {higher} higher in the kernel, {lower} lower, "
        f"{len(flagged) - higher - lower} not scored by nbgrader; report: {path}"
    )
    if args.write:
        print(f"trusted scores written to the gradebook for the {higher + lower} that differ")
    return 0


def cmd_template(args) -> int:
    from .template import TemplateError, make_template

    course = load_course(args.course)
    try:
        written = make_template(course, args.id, Path(args.dest), args.force)
    except TemplateError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"wrote {len(written)} files to {args.dest}/: push it as the assignment's template repository")
    return 0


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
    grade.set_defaults(run=cmd_grade)

    regrade = verbs.add_parser("regrade", help="after nbgrader autograde: re-grade out of process, compare, fix")
    regrade.add_argument("--assignment", default=None, help="only this assignment")
    regrade.add_argument("--db", default=None, help="gradebook URL (default: sqlite:///<course>/gradebook.db)")
    regrade.add_argument(
        "--write", action="store_true", help="store the trusted score in every gradebook cell whose score differs"
    )
    regrade.add_argument("--report", default="regrade.csv", help="CSV of every comparison (default: regrade.csv)")
    regrade.set_defaults(run=cmd_regrade)

    template = verbs.add_parser(
        "template", help="assemble an assignment's template repository (students' repositories are made from it)"
    )
    template.add_argument("id", help="assignment id")
    template.add_argument("dest", help="folder to write the template repository into")
    template.add_argument("--force", action="store_true", help="write into a folder that is not empty")
    template.set_defaults(run=cmd_template)

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
    collect.set_defaults(run=cmd_collect)

    gradescope = verbs.add_parser("gradescope", help="write a Gradescope autograder bundle for an assignment")
    gradescope.add_argument("id", help="assignment id")
    gradescope.add_argument("--out", default="autograder.zip", help="the zip to write (default: autograder.zip)")
    gradescope.set_defaults(run=cmd_gradescope)

    assign = verbs.add_parser("assign", help="regenerate assignments/ from solutions/ with nbgrader")
    assign.add_argument("ids", nargs="*", metavar="ID", help="assignment ids (default: all)")
    assign.add_argument("--db", default=None, help="gradebook URL to record due dates in (default: a throwaway one)")
    assign.set_defaults(run=cmd_assign)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "jobs", 1) < 1:
        parser.error("--jobs must be at least 1")
    try:
        return args.run(args)
    except CourseConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
