"""What an autograded test cell holds on nbgrader's route, and how nbgrader reads its score.

nbgrader scores a code grade cell from its outputs (``nbgrader.utils.determine_grade``): an error
or any stderr output scores 0, an ``execute_result`` holding a number scores that number, and a
cell with neither scores **full marks**.  So a test cell here always ends with exactly one of:

* ``score_output``: the partial score the hidden checks gave the cell's function, as the cell's
  ``execute_result`` (``GradeCells`` writes it, and records it under ``KEY`` in the resources
  that nbconvert hands from one preprocessor to the next, out of any student's reach);
* ``error_output``: why the cell scored 0 (``SaveGrades`` writes it wherever no result of ours was
  recorded for the cell, whatever the chain did before).
"""

from __future__ import annotations

import nbformat

#: where ``GradeCells`` records each test cell's score in nbconvert's resources: {grade_id: score}
KEY = "gd_course_scores"
#: outputs that decide a cell's score in nbgrader's eyes (``determine_grade``)
DECISIVE = ("execute_result", "error")


def is_test_cell(cell) -> bool:
    """An autograded test cell: an nbgrader grade cell of code that is not a student's answer."""
    meta = cell.get("metadata", {}).get("nbgrader", {})
    return cell.get("cell_type") == "code" and bool(meta.get("grade")) and not meta.get("solution")


def score_output(score: float):
    """The ``execute_result`` nbgrader reads the cell's partial score from."""
    return nbformat.v4.new_output("execute_result", data={"text/plain": repr(float(score))}, execution_count=None)


def error_output(reason: str):
    """An error output: nbgrader scores the cell 0, and the feedback shows ``reason``."""
    return nbformat.v4.new_output("error", ename="NotGraded", evalue=reason, traceback=[f"Not graded: {reason}"])


def decided(cell, output) -> None:
    """End the cell's outputs with ``output``, removing any other that would decide its score."""
    kept = [o for o in cell.get("outputs", []) if o.get("output_type") not in DECISIVE and o.get("name") != "stderr"]
    cell.outputs = [*kept, output]
    cell.execution_count = None
