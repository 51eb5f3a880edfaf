"""The ``collect`` verb: grade every student's git repository with the hidden suites; push feedback.

``python -m autograder collect --roster ROSTER [--assignment ID] [--out DIR] [--push-feedback]``

One idea per module:

- ``roster``: the roster CSV (who, which repository).
- ``gitio``: every git process we start: its environment (the token as a header, paths taken
  literally, no user config), its time limit, its readable error.
- ``ledger``: ``seen.json``, when each commit was first fetched: what a commit time proves.
- ``snapshot``: what one commit gives the sandbox (the notebook and its neighbours), bounded,
  read in a constant number of git processes; the digest of what is graded.
- ``history``: when the graded files last changed along the branch: the submission time.
- ``state``: what a run keeps for the next one (``collect-state.json``, ``heads.json``), and its
  hand-over to the user who saves it.
- ``feedback_branch``: the report committed to the student's ``feedback`` branch.
- ``sweep``: one run over the roster; each student's errors are that student's.
- ``heads`` and ``statebranch``: standard-library-only commands the workflow runs before anything
  is installed (has any repository changed? fetch and save the state branch).

This package's ``__init__`` and the modules the workflow runs before installing import nothing
but the standard library: ``python3 -m autograder.collect.heads`` works on a bare runner.
"""


def run(args, course) -> int:
    """``python -m autograder collect``: 0 when the run went through, whatever happened to single
    students (each one's failure is in the summary, and the state is saved either way); 2 when it
    could not run (a bad roster, a lost ledger)."""
    import sys
    from pathlib import Path

    from ..manual import ManualScoresError, read_books
    from ..reports import markdown_summary
    from ..results import markdown_text
    from ..tables import print_tables
    from .roster import CollectError, read_roster
    from .sweep import collect

    try:
        roster = read_roster(Path(args.roster))
        book = read_books(args.manual, None, course)
        outcomes = collect(
            course,
            roster,
            Path(args.out),
            args.assignment,
            args.push_feedback,
            new_ledger=args.new_ledger,
            retry_failed=args.retry_failed,
            manual=book,
        )
    except (CollectError, ManualScoresError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        if args.summary:
            with open(args.summary, "a", encoding="utf-8") as summary:
                summary.write(f"**collect could not run**: {markdown_text(exc)}\n")
        return 2
    graded = [o.graded for o in outcomes if o.graded]
    if graded:
        print_tables(graded)
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
        with open(args.summary, "a", encoding="utf-8") as summary:
            summary.write(
                "\n".join([f"**collect**: {line}.", "", *[f"- {markdown_text(n)}" for n in notes], ""]) + "\n"
            )
            if graded:
                summary.write(markdown_summary(graded, Path(args.out)))
    return 0
