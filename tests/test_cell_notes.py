"""What a student reads about a cell that stopped: one number per cell, counted from 1 as the
notebook's own banner counts, and a function its stopped cell never defined said to be so, once."""

from __future__ import annotations

import dataclasses
import re
import tempfile
from pathlib import Path

from autograder.runner import run_assignment
from autograder.sandbox.client import Sandbox
from autograder.standins import StandinRule
from autograder.submission import _run_notes

from helpers import COURSE, SUPPORT, replace_function, solution_cells

A1 = "01_gradients"


def graded(cells: list[dict], functions: list[str], **limits) -> tuple[list, list[str]]:
    """The results of ``functions`` and the notes on the notebook, from the sandbox."""
    assignment = COURSE.assignment(A1)
    with tempfile.TemporaryDirectory() as scratch:
        rule = StandinRule(tuple(assignment.functions))
        bounds = dataclasses.replace(assignment.limits, **limits)
        with Sandbox(cells, Path(scratch), [str(SUPPORT)], bounds, rule) as sandbox:
            return run_assignment(sandbox, assignment, functions), _run_notes(sandbox)


def index_of(cells: list[dict], function: str) -> int:
    (cell,) = [c for c in cells if f"def {function}(" in c["source"]]
    return cell["index"]


def test_a_failed_cell_has_one_number_counted_from_one():
    source = "def mse_loss(w, X, y):\n    return float(np.mean((X @ w - y) ** 2))\n\nprint(w_test)\n"
    cells = replace_function(solution_cells(A1), "mse_loss", source)
    _, notes = graded(cells, ["mse_loss"])
    (note,) = [n for n in notes if "NameError" in n]
    number = index_of(cells, "mse_loss") + 1
    assert note.startswith(f"Cell {number} of your notebook failed"), note
    assert re.findall(r"\bcell (\d+)", note, re.IGNORECASE) == [str(number)], note  # the cell, named once
    assert "(line 4)" in note, note


def test_an_error_raised_in_another_cell_names_that_cell_from_one():
    source = "def mse_loss(w, X, y):\n    return float(np.mean((X @ w - y) ** 2)) + undefined_name\n"
    cells = replace_function(solution_cells(A1), "mse_loss", source)
    results, _ = graded(cells, ["mse_loss"])
    number = index_of(cells, "mse_loss") + 1
    assert f"(at cell {number}, line 2)" in results[0].output, results[0].output


def test_a_function_its_stopped_cell_never_defined_is_said_so_once():
    source = "print(w_test)  # my own test, before the function\n\ndef mse_loss(w, X, y):\n    return 0.0\n"
    cells = replace_function(solution_cells(A1), "mse_loss", source)
    results, _ = graded(cells, ["mse_loss"])
    number = index_of(cells, "mse_loss") + 1
    first, *rest = [r.output for r in results]
    assert f"`mse_loss` was never defined: cell {number}, which defines it, stopped" in first, first
    assert "NameError" in first
    assert all(r == "`mse_loss` was never defined (see above)." for r in rest), rest
    assert not any("Did you rename it" in r.output for r in results)
    assert sum(r.score for r in results) == 0


def test_a_cell_that_timed_out_before_its_def_is_named():
    source = "while True:\n    pass\n\ndef mse_loss(w, X, y):\n    return 0.0\n"
    cells = replace_function(solution_cells(A1), "mse_loss", source)
    results, notes = graded(cells, ["mse_loss"], cell_seconds=1.0)
    number = index_of(cells, "mse_loss") + 1
    assert f"Cell {number} of your notebook failed: this cell did not finish in time." in notes, notes
    assert "it did not finish in time" in results[0].output and f"cell {number}," in results[0].output
    assert "Did you rename it" not in " ".join(r.output for r in results)
