"""``SaveGrades``: nbgrader's ``SaveAutoGrades``, failing closed.

nbgrader gives full marks to a code grade cell with no output and no error.  Before the
gradebook reads a test cell, this ends its outputs with the score ``GradeCells`` recorded for it
(``cell_results.KEY``, in nbconvert's resources: no student output can put it there), or, when
there is none (the chain lost ``GradeCells``, the cell names no graded function, its notebook
is not the course's), with an error saying so: that cell scores 0, never full marks.  Like
``GradeCells`` it runs whether or not it is ``enabled``.
"""

from __future__ import annotations

from nbgrader.preprocessors import SaveAutoGrades

from .cell_results import KEY, decided, error_output, is_test_cell, score_output

#: what a student reads under a test cell nobody graded
UNGRADED = "the course's grader gave this cell no result, so it scores 0; your instructor will look into it"


class SaveGrades(SaveAutoGrades):
    """Store each test cell's score: ours, or 0 with the reason (module docstring)."""

    def __call__(self, nb, resources):
        return self.preprocess(nb, resources)  # never skipped, whatever ``enabled`` says

    def preprocess_cell(self, cell, resources, cell_index):
        if is_test_cell(cell):
            score = resources.get(KEY, {}).get(cell.metadata.nbgrader.get("grade_id"))
            decided(cell, error_output(UNGRADED) if score is None else score_output(score))
        return super().preprocess_cell(cell, resources, cell_index)
