"""How many points partly right work keeps, and that answers not computed from their inputs keep none.

Every mistake in the bug zoo (``tests/bug_zoo.py``) is partly right work: a realistic answer with one
mistake.  This grades each one on its own function, with the grader importable from ``sys.path``
(this checkout's, or another's: ``PYTHONPATH=/path/to/other/checkout python benchmarks/partial_credit.py``
grades the same zoo with that grader, e.g. the one before a change to the rules for points), and prints

* the share of points the zoo's mistakes keep (points kept / points possible, over all of them),
  and how many keep some but not all;
* the score of the constant and looked-up answers (``CHEATERS``, ``LOOKUPS``) in every assignment,
  which must be 0.

Run from the repository's root: ``python benchmarks/partial_credit.py [--verbose]``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1] / "tests"
sys.path.insert(0, str(TESTS))

from bug_zoo import BUGS, CHEATERS, LOOKUPS  # noqa: E402
from helpers import COURSE, grade_sandboxed, replace_function, scores, solution_cells  # noqa: E402


def bug_scores(verbose: bool) -> tuple[float, float, int]:
    """(points kept, points possible, mistakes that keep some but not all) over the zoo's mistakes."""
    kept = possible = 0.0
    partial = 0
    for bug in BUGS:
        cells = replace_function(solution_cells(bug.assignment), bug.function, bug.source)
        got, out_of = scores(grade_sandboxed(bug.assignment, cells, [bug.function]))[bug.function]
        kept, possible = kept + got, possible + out_of
        partial += 0 < got < out_of
        if verbose:
            print(f"  {bug.id:45s} {bug.function:20s} {got:g} / {out_of:g}")
    return kept, possible, partial


def non_answer_scores() -> dict[str, float]:
    """{kind/assignment: total score} of the constant and looked-up answers."""
    totals = {}
    for kind, answers in (("constant", CHEATERS), ("lookup", LOOKUPS)):
        for assignment, source in sorted(answers.items()):
            cells = solution_cells(assignment)
            for function in COURSE.assignment(assignment).points:
                cells = replace_function(cells, function, "")
            cells.append({**cells[-1], "mode": "full", "source": source})
            results = grade_sandboxed(assignment, cells)
            totals[f"{kind} {assignment}"] = round(sum(r.score for r in results), 4)
    return totals


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--verbose", action="store_true", help="print each mistake's score")
    args = parser.parse_args()
    import autograder

    print(f"grader: {Path(autograder.__file__).parent}")
    kept, possible, partial = bug_scores(args.verbose)
    print(
        f"zoo mistakes: {len(BUGS)}; points kept {kept:g} of {possible:g} = {kept / possible:.1%}; "
        f"{partial} keep some points but not all"
    )
    for name, total in non_answer_scores().items():
        print(f"{name}: {total:g} points")


if __name__ == "__main__":
    main()
