"""Our pictures (``autograder/figures.py``) are laid out with fixed margins, not ``tight_layout``:
nothing of any of them (tick labels, axis labels, titles, the class report's mistake names, however
long) may fall outside the figure, and the same picture gives the same bytes."""

from __future__ import annotations

import pytest
from matplotlib.figure import Figure
from test_feedback import plots_for, stub

from autograder import classreport
from autograder.classreport import FunctionReport, MistakeRow
from autograder.histogram import score_histogram
from autograder.suites import SUITES

from helpers import COURSE


def assert_laid_out(fig: Figure) -> None:
    """Everything drawn on ``fig`` lies on it (one pixel of slack), and the axes side by side,
    each with its labels, do not overlap."""
    box, (width, height) = fig.get_tightbbox(), fig.get_size_inches()
    slack = 1 / fig.dpi
    outside = {
        "left": -box.x0,
        "bottom": -box.y0,
        "right": box.x1 - width,
        "top": box.y1 - height,
    }
    clipped = {side: round(inches, 3) for side, inches in outside.items() if inches > slack}
    assert not clipped, f"drawn beyond the figure by (inches) {clipped}"
    boxes = sorted((ax.get_tightbbox() for ax in fig.axes), key=lambda b: b.x0)
    for left, right in zip(boxes, boxes[1:]):
        assert left.x1 <= right.x0 + slack * fig.dpi, f"axes overlap by {(left.x1 - right.x0) / fig.dpi:.2f} inches"


def mistake(key: str, students: int) -> MistakeRow:
    return MistakeRow(key, {f"s{i}" for i in range(students)}, points_lost=students)


LONG = "check: gives the right value on a batch of one sample with float32 inputs (a realistic description)"

FUNCTION_REPORTS = {
    "many long mistakes": FunctionReport(
        "a_function_with_a_long_name",
        100.0,
        [0.0, 12.5, 100.0, 99.5],
        [mistake(LONG, 12), mistake("not_computed_from_inputs_in_a_long_cause_id", 7)]
        + [mistake(f"cause_{i}", i) for i in range(1, 9)],
    ),
    "no mistakes": FunctionReport("f", 2.0, [2.0, 2.0], []),
    "one short mistake": FunctionReport("g", 3.0, [0.0, 3.0], [mistake("sign", 1)]),
}


@pytest.mark.parametrize("case", FUNCTION_REPORTS)
def test_class_report_pictures_are_never_clipped(drawn, case):
    classreport._plot(FUNCTION_REPORTS[case])
    (fig,) = drawn
    assert_laid_out(fig)


@pytest.mark.parametrize("pending", [0, 123])
@pytest.mark.parametrize("max_score", [1.0, 17.0, 1000.0])
def test_histograms_are_never_clipped(drawn, tmp_path, max_score, pending):
    scores = [0.0, max_score / 3, max_score, max_score] * 50
    score_histogram(scores, max_score, "04_an_assignment_with_a_long_name", tmp_path / "h.png", pending)
    (fig,) = drawn
    assert_laid_out(fig)


@pytest.mark.parametrize("assignment", [a.id for a in COURSE.assignments])
def test_feedback_plots_are_never_clipped(drawn, assignment):
    """The solution's plots, and those of a notebook with nothing implemented (the reference alone,
    the caption saying why)."""
    plots, _ = plots_for(assignment, {})
    untouched, _ = plots_for(assignment, {f: stub(f) for f in COURSE.assignment(assignment).points})
    assert len(drawn) == len(plots) + len(untouched) == 2 * len(SUITES[assignment].plotters)
    for fig in drawn:
        assert_laid_out(fig)


def test_the_same_picture_gives_the_same_bytes(tmp_path):
    report = FUNCTION_REPORTS["many long mistakes"]
    assert classreport._plot(report) == classreport._plot(report)
    one, two = tmp_path / "one.png", tmp_path / "two.png"
    for path in (one, two):
        score_histogram([1.0, 2.0, 2.0], 3.0, "01_gradients", path, pending=1)
    assert one.read_bytes() == two.read_bytes()
