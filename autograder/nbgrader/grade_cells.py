"""``GradeCells``: nbgrader's execute step, replaced by ``python -m autograder grade``'s own.

In ``nbgrader autograde`` this preprocessor stands where nbgrader's ``Execute`` stood: no kernel
is started and no cell runs in nbgrader's process.  It grades the student's notebook in
``submitted/`` through the one lifecycle every route shares (``submission.grade_submission``:
``grade``'s discovery and refusals, the jail, the worker, the hidden suites, the stand-ins, the
limits and the course seed), then writes into each autograded test cell (``test_<function>``)
the result of its function: the feedback in the words of ``feedback.md``, the report's plots of
that function, and the partial score as the cell's ``execute_result``, which nbgrader's
``SaveAutoGrades`` stores in the gradebook.  Notes about the notebook as a whole (lateness, cells
that failed, a refusal) go under the first test cell.

It runs whether or not it is ``enabled`` (an nbconvert preprocessor is disabled by default, and
a disabled one would leave every test cell empty, which nbgrader scores as full marks), and
refuses a chain that would still execute the notebook in a kernel.
"""

from __future__ import annotations

import base64
from pathlib import Path

import nbformat
from nbgrader.preprocessors import NbGraderPreprocessor

from ..feedback import function_markdown
from ..results import GradedSubmission, markdown_text
from ..submission import grade_submission
from .cell_results import KEY, decided, error_output, is_test_cell, score_output
from .points import FIX, test_cell
from .submitted import check_chain, course, course_folders, drop_linked_copies, submission, submitted_folder


class GradeCells(NbGraderPreprocessor):
    """Grade the submission out of process and write each test cell's result (module docstring)."""

    def __call__(self, nb, resources):
        return self.preprocess(nb, resources)  # never skipped, whatever ``enabled`` says

    def preprocess(self, nb, resources):
        check_chain(getattr(self.parent, "_preprocessors", ()))  # the exporter did already; never trust one
        info = resources["nbgrader"]
        the_course = course(self)
        assignment = the_course.assignment(info["assignment"])
        scores: dict[str, float] = {}
        resources[KEY] = scores
        if f"{info['notebook']}.ipynb" != assignment.notebook:
            return nb, resources  # not a notebook the course grades: its test cells score 0 (SaveGrades)
        _check_points(nb, assignment, info)
        folders = course_folders(self)
        found = submission(the_course, folders, assignment.id, info["student"])
        graded = grade_submission(found, the_course, feedback=True)
        autograded = folders.format_path(folders.autograded_directory, info["student"], assignment.id)
        dropped = drop_linked_copies(submitted_folder(folders, info["student"], assignment.id), Path(autograded))
        notes = [*graded.for_report().notes, *graded.plot_notes]
        notes += [f"Not kept: {name} (a link, or not a regular file)." for name in dropped]
        cells = [c for c in nb.cells if is_test_cell(c)]
        for index, cell in enumerate(cells):
            function = cell.metadata.nbgrader.get("grade_id", "").removeprefix("test_")
            if function not in graded.functions():
                decided(cell, error_output("the hidden checks grade no function of this cell's name"))
                continue
            cell.outputs = _feedback(graded, function, notes if index == 0 else [])
            scores[test_cell(function)] = graded.functions()[function][0]
            decided(cell, score_output(scores[test_cell(function)]))
        return nb, resources


def _check_points(nb, assignment, info) -> None:
    """Refuse (one line) when a test cell's points, as nbgrader restored them from the gradebook,
    are not course.yml's: nbgrader would cap or refuse the score."""
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        function = str(meta.get("grade_id", "")).removeprefix("test_")
        if is_test_cell(cell) and function in assignment.points:
            if float(meta.get("points", -1)) != assignment.points[function]:
                raise ValueError(
                    f"the gradebook's {info['assignment']}/{info['notebook']}: cell {meta['grade_id']} has "
                    f"{meta.get('points')} points, course.yml says {assignment.points[function]:g}; {FIX}"
                )


def _feedback(graded: GradedSubmission, function: str, notes: list[str]) -> list:
    """The outputs that show one function's result: the notes (first cell only), its section of
    the report, and the plots it is the last function of."""
    markdown = [f"> {markdown_text(note)}\n" for note in notes]
    tests = [t for t in graded.tests if t.function == function]
    score, out_of = graded.functions()[function]
    markdown.append("\n".join(function_markdown(function, score, out_of, tests)))
    outputs = [_markdown("\n".join(markdown))]
    for plot in graded.plots:
        if _owner(plot, list(graded.functions())) == function:
            outputs.append(_markdown(f"### {markdown_text(plot.title)}"))
            image = base64.b64encode(plot.png).decode("ascii")
            outputs.append(nbformat.v4.new_output("display_data", data={"image/png": image, "text/plain": plot.title}))
            outputs.append(_markdown(markdown_text(plot.caption)))
    return outputs


def _owner(plot, functions: list[str]) -> str:
    """The test cell a plot goes under: the last (in notebook order) of the functions it draws."""
    drawn = [f for f in functions if f in plot.functions]
    return (drawn or functions)[-1]


def _markdown(text: str):
    return nbformat.v4.new_output("display_data", data={"text/markdown": text, "text/plain": text})
