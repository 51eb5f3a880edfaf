"""Every realistic mistake loses points on its own function, with feedback that names it;
every correct alternative keeps full marks."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest

from autograder.standins import reference_callees
from autograder.verdicts import Verdict

from bug_zoo import BUGS, CHEATERS, LOOKUPS, VARIANTS
from helpers import (
    COURSE,
    REPO,
    grade_sandboxed,
    replace_function,
    scores,
    solution_cells,
    write_notebook,
)

#: the zoo's mistakes that no check names (their failures are counted under the check they fail)
UNDIAGNOSED = {"gradcheck-ratio-of-maxima"}


def dependents(assignment: str, function: str) -> list[str]:
    """Functions graded with our stand-in for ``function`` (the stand-in rule): its bugs must not cost them."""
    return sorted(f for f in COURSE.assignment(assignment).points if function in reference_callees(f))


def test_zoo_is_large_enough():
    assert len(BUGS) >= 30
    assert len(VARIANTS) >= 10
    assert len({b.id for b in BUGS}) == len(BUGS)
    for assignment in COURSE.assignments:  # every graded function has bugs in the zoo
        assert set(assignment.points) <= {b.function for b in BUGS if b.assignment == assignment.id}


@pytest.mark.parametrize("bug", BUGS, ids=lambda b: b.id)
def test_bug_loses_points_on_its_function(bug):
    cells = replace_function(solution_cells(bug.assignment), bug.function, bug.source)
    others = dependents(bug.assignment, bug.function)
    results = grade_sandboxed(bug.assignment, cells, [bug.function, *others])
    got, out_of = scores(results)[bug.function]
    assert got < out_of, f"{bug.id} kept full marks"
    failed = [r for r in results if r.function == bug.function and r.status == "failed"]
    feedback = " ".join(r.output for r in failed)
    assert bug.says.lower() in feedback.lower(), feedback
    for r in failed:  # every message names the function it is about, and says something observed
        assert f"`{bug.function}`" in r.output, r
        assert "expected shape ." not in r.output and "  " not in r.output.strip(), r
        # and gives no count derived from the hidden sizes ("47 rows too many"); "1 row" is the docstring's
        assert not re.search(r"\b(?!1\b)\d+ (rows?|columns?|entries|entry)\b", r.output), r
    for words in bug.never_says:  # and none contradicts the code
        assert words.lower() not in feedback.lower(), feedback
    # each mistake is named by a cause id where a check diagnoses it (the class report counts by it)
    causes = {r.cause for r in failed if r.verdict != Verdict.GATED}
    assert causes and ("" not in causes or bug.id in UNDIAGNOSED), (bug.id, causes)
    for name in bug.passes:  # checks about something else are not charged for this mistake
        (result,) = [r for r in results if r.name == name]
        assert result.status == "passed", result
    for other in others:  # graded on its own: our stand-in replaces the buggy function
        got, out_of = scores(results)[other]
        assert got == out_of, f"{bug.id} also cost {other}"


@pytest.mark.parametrize("variant", VARIANTS, ids=lambda v: v.id)
def test_valid_variant_keeps_full_marks(variant):
    cells = replace_function(solution_cells(variant.assignment), variant.function, variant.source)
    results = grade_sandboxed(variant.assignment, cells, [variant.function])
    failed = [f"{r.name}: {r.output}" for r in results if r.status == "failed"]
    assert not failed


@pytest.mark.parametrize(
    "assignment, answers",
    [(a, CHEATERS[a]) for a in sorted(CHEATERS)] + [(a, LOOKUPS[a]) for a in sorted(LOOKUPS)],
    ids=[f"constant-{a}" for a in sorted(CHEATERS)] + [f"lookup-{a}" for a in sorted(LOOKUPS)],
)
def test_constant_answers_earn_nothing(assignment, answers):
    """Right shapes and untouched inputs are worth nothing from an answer that is not computed
    from its inputs (a constant, a value looked up by size, one that ignores the data)."""
    cells = solution_cells(assignment)
    for function in COURSE.assignment(assignment).points:
        cells = replace_function(cells, function, "")
    cells.append({**cells[-1], "mode": "full", "source": answers})
    results = grade_sandboxed(assignment, cells)
    earned = {r.name: r.score for r in results if r.score > 0}
    assert not earned


def test_the_spys_hint_reaches_results_json_through_grade(tmp_path):
    """The command line's route (the one collect and Gradescope share) carries our callback's words."""
    (bug,) = [b for b in BUGS if b.id == "sgd-row-not-batch"]
    notebook = write_notebook(bug.assignment, tmp_path / "alice" / bug.assignment, {bug.function: bug.source})
    done = subprocess.run(
        [sys.executable, "-m", "autograder", "grade", str(notebook), "--out", str(tmp_path / "graded")],
        cwd=REPO,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    (results,) = (tmp_path / "graded").glob(f"*/{bug.assignment}/results.json")
    outputs = [t["output"] for t in json.loads(results.read_text())["tests"] if t["name"].startswith("sgd:")]
    assert any(bug.says in output for output in outputs), outputs
