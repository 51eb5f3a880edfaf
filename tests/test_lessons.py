"""The lessons teach the lecture right: what the plots show, what the text says, and visible checks
that catch the mistakes they are there for without leaning on other answers.

The solution notebooks are run once, in this process (matplotlib's Agg backend), keeping every
figure a cell draws so that its data can be read back: assertions are about deterministic things
(where a path ends, which labels a plot has, array sizes), never about wall-clock ratios.
"""

from __future__ import annotations

import re
import sys
import warnings

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import nbformat  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from helpers import COURSE, SUPPORT, notebook_path  # noqa: E402

IDS = [a.id for a in COURSE.assignments]
HIDDEN = re.compile(r"### BEGIN HIDDEN TESTS.*?### END HIDDEN TESTS\n?", re.S)
GLOBAL_MIN, POINT_C = -1.3008, 1.1309


def _cells(folder: str, assignment_id: str) -> list:
    return nbformat.read(str(notebook_path(folder, assignment_id)), as_version=4).cells


def _gid(cell) -> str | None:
    return cell.metadata.get("nbgrader", {}).get("grade_id")


class Lesson:
    """One solution notebook run top to bottom (hidden tests left out): its namespace, the figures
    each cell drew, and how many random generators each cell made."""

    def __init__(self, assignment_id: str):
        self.cells = _cells("solutions", assignment_id)
        self.ns: dict = {"__name__": "__main__"}
        self.figures: dict[str, list] = {}
        self.rngs_made: dict[str, int] = {}
        made = []
        real = np.random.default_rng

        def counting_rng(*args, **kwargs):
            made.append(args)
            return real(*args, **kwargs)

        sys.path.insert(0, str(SUPPORT))
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # Agg's "cannot show" and the divergence demos
                for cell in self.cells:
                    if cell.cell_type != "code":
                        continue
                    made.clear()
                    np.random.default_rng = counting_rng
                    try:
                        exec(HIDDEN.sub("", cell.source), self.ns)
                    finally:
                        np.random.default_rng = real
                    self.rngs_made[_gid(cell)] = len(made)
                    self.figures[_gid(cell)] = [plt.figure(n) for n in plt.get_fignums()]
                    plt.close("all")  # the Figure objects stay readable after closing
        finally:
            sys.path.remove(str(SUPPORT))

    def axes(self, grade_id: str) -> list:
        return [ax for fig in self.figures[grade_id] for ax in fig.axes]


@pytest.fixture(scope="module")
def lessons() -> dict[str, Lesson]:
    return {a: Lesson(a) for a in IDS}


def _lines(ax, prefix: str = "") -> list:
    return [line for line in ax.get_lines() if line.get_label().startswith(prefix) and line.get_label()[0] != "_"]


# ------------------------------------------------------------------------------ every plot


@pytest.mark.parametrize("assignment", IDS)
def test_every_plot_has_title_axis_labels_legend_and_a_caption(lessons, assignment):
    lesson = lessons[assignment]
    drawn = 0
    for i, cell in enumerate(lesson.cells):
        if cell.cell_type != "code" or not lesson.figures.get(_gid(cell)):
            continue
        drawn += 1
        for ax in lesson.axes(_gid(cell)):
            where = f"{_gid(cell)}: {ax.get_title()!r}"
            assert ax.get_title() and ax.get_xlabel() and ax.get_ylabel(), f"{where} needs a title and axis labels"
            if len(_lines(ax)) > 1:
                assert ax.get_legend() is not None, f"{where} has several lines and no legend"
        after = lesson.cells[i + 1]
        assert after.cell_type == "markdown" and after.source.startswith("*What to see:*"), (
            f"{_gid(cell)} needs one sentence under it saying what to see"
        )
    assert drawn >= 2


# ------------------------------------------------------------------------ 02: learning rate


def test_double_well_marks_both_minima_and_shows_both_valleys(lessons):
    top_row = [ax for ax in lessons["02_gradient_descent"].axes("plot_double_well") if ax.get_xlabel() == "w"]
    assert len(top_row) == 4
    for ax in top_row:
        labels = {line.get_label() for line in _lines(ax)}
        assert "global minimum" in labels and any("point C" in label for label in labels)
        bottom, top = ax.get_ylim()
        # both minima (losses -3.51 and -1.07) visible, and the valleys not squashed to a sliver
        assert bottom < -3.6 and top > 0.1 and top - bottom < 15


def _path_on(ax) -> np.ndarray:
    (path,) = _lines(ax, "lr =")
    return np.asarray(path.get_xdata(), dtype=float)


def test_overshoot_panel_bounces_where_the_good_one_settles(lessons):
    panels = {ax.get_title(): ax for ax in lessons["02_gradient_descent"].axes("plot_double_well")}
    overshoot = _path_on(next(ax for title, ax in panels.items() if "overshoot" in title))
    settles = _path_on(next(ax for title, ax in panels.items() if "global minimum" in title))
    assert np.all(np.abs(settles[-10:] - GLOBAL_MIN) < 1e-2)
    side = np.sign(overshoot[-10:] - GLOBAL_MIN)
    assert np.all(side[1:] != side[:-1]), "the overshooting walk should land on alternate sides every step"
    assert np.ptp(overshoot[-10:]) > 0.1


def test_start_dependence_is_shown(lessons):
    ends = {}
    for ax in lessons["02_gradient_descent"].axes("plot_start_dependence"):
        (line,) = _lines(ax, "lr =")
        lr = line.get_label().split(":")[0]
        ends[lr] = dict(zip(np.round(line.get_xdata(), 6), line.get_ydata()))

    def lands(lr: str, w0: float) -> float:
        return ends[f"lr = {lr}"][round(w0, 6)]

    assert np.isclose(lands("0.01", 2.0), POINT_C, atol=1e-3) and np.isclose(lands("0.12", 2.0), GLOBAL_MIN, atol=1e-3)
    assert np.isclose(lands("0.01", -2.0), GLOBAL_MIN, atol=1e-3) and np.isclose(
        lands("0.12", -2.0), POINT_C, atol=1e-3
    )
    assert np.isclose(lands("0.01", 1.8), POINT_C, atol=1e-3) and np.isclose(lands("0.12", 1.8), POINT_C, atol=1e-3)


def test_bowl_panels_use_the_same_learning_rates(lessons):
    curves, paths = lessons["02_gradient_descent"].axes("plot_bowl")
    assert [line.get_label() for line in _lines(curves, "lr =")] == [line.get_label() for line in _lines(paths, "lr =")]
    assert len(_lines(curves, "lr =")) >= 3


def test_restarts_are_shown_on_a_landscape_with_two_basins(lessons):
    (ax,) = lessons["02_gradient_descent"].axes("plot_restarts")
    ends = []
    for line in _lines(ax, "start"):
        xy = np.column_stack([line.get_xdata(), line.get_ydata()])
        assert np.max(np.abs(xy[-1] - xy[-2])) < 1e-6, f"{line.get_label()} has not settled in a minimum"
        ends.append(xy[-1])
    ends = np.array(ends)
    assert np.max(np.linalg.norm(ends - ends[0], axis=1)) > 1, "the restarts should end in at least two basins"


# --------------------------------------------------------------------------- 03: batches


def test_per_update_demo_makes_one_rng_per_run(lessons):
    # one inside make_regression, two for the per-epoch panel's runs, three for the per-update
    # panel (full batch, mini-batch, SGD).  A fresh default_rng(seed) every epoch would repeat the
    # first epoch's order, the mistake sgd loses points for (and make 9).
    assert lessons["03_minibatch"].rngs_made["plot_compare"] == 6


def test_batch_n_spread_is_drawn_as_exactly_zero(lessons):
    ax = next(ax for ax in lessons["03_minibatch"].axes("plot_batch_sweep") if "noise" in ax.get_title())
    (line,) = ax.get_lines()
    sizes, spread = np.asarray(line.get_xdata()), np.asarray(line.get_ydata())
    assert ax.get_yscale() == "linear" and ax.get_ylim()[0] <= 0
    assert spread[np.argmax(sizes)] == 0.0
    assert np.all(np.diff(spread) <= 0)


def test_cost_is_measured_on_a_problem_big_enough_to_matter(lessons):
    lesson = lessons["03_minibatch"]
    X_big = lesson.ns["X_big"]
    assert X_big.size >= 2_000_000
    timing, memory = lesson.axes("plot_cost")
    assert "seconds" in timing.get_ylabel()
    (times,) = _lines(timing)
    assert len(times.get_xdata()) >= 5 and max(times.get_xdata()) == len(X_big)
    assert np.all(np.asarray(times.get_ydata()) > 0)
    measured = next(line for line in _lines(memory) if "measured" in line.get_label())
    sizes, megabytes = np.asarray(measured.get_xdata()), np.asarray(measured.get_ydata())
    assert np.all(np.diff(megabytes) > 0), "memory per update grows with the batch"
    assert sizes[-1] == len(X_big) and megabytes[-1] * 1e6 >= X_big.nbytes, "a full batch holds the whole data set"
    assert megabytes[1] * 1e6 < X_big.nbytes / 100
    (wall,) = lesson.axes("plot_wall_time")
    assert "seconds" in wall.get_xlabel() and len(_lines(wall)) == 3
    for line in _lines(wall):
        assert np.all(np.diff(line.get_xdata()) > 0)


def test_lesson_text_hard_codes_no_timings():
    for assignment in IDS:
        for cell in _cells("solutions", assignment):
            if cell.cell_type == "markdown":
                found = re.findall(r"\b\d+(?:\.\d+)?\s*(?:s|ms|µs|sec|seconds?)\b", cell.source)
                assert not found, f"{assignment}: a timing in the text: {found}"


def test_notebook_mse_grad_fn_names_a_row_passed_as_a_batch(lessons):
    mse_grad_fn = lessons["03_minibatch"].ns["mse_grad_fn"]
    X, y = np.ones((4, 3)), np.ones(4)
    with pytest.raises(ValueError, match=r"X\[i\] is a row, not a batch"):
        mse_grad_fn(np.zeros(3), X[0], y[0])
    assert np.allclose(mse_grad_fn(np.zeros(3), X[:1], y[:1]), -2.0)


# ------------------------------------------------------------- visible checks, as released


def _run_visible_check(assignment: str, function: str, replace: dict[str, str] | None = None):
    """Run the released visible check of ``function`` after the solution code, with the answers
    in ``replace`` swapped in: return the exception it raised (None when it passes)."""
    ns: dict = {"__name__": "__main__"}
    sys.path.insert(0, str(SUPPORT))
    try:
        for cell in _cells("solutions", assignment):
            meta = cell.metadata.get("nbgrader", {})
            if cell.cell_type == "code" and (meta.get("solution") or _gid(cell) == "imports"):
                exec(cell.source, ns)
        for source in (replace or {}).values():
            exec(source, ns)
        (check,) = [c for c in _cells("assignments", assignment) if _gid(c) == f"test_{function}"]
        try:
            exec(check.source, ns)
        except Exception as exc:  # noqa: BLE001 - the failure is the result
            return exc
        return None
    finally:
        sys.path.remove(str(SUPPORT))


FORWARD = """
def numerical_gradient(f, w, eps=1e-6):
    grad = np.zeros(len(w))
    for j in range(len(w)):
        step = np.zeros(len(w)); step[j] = eps
        grad[j] = (f(w + step) - f(w)) / eps
    return grad
"""
VECTORISED = """
def numerical_gradient(f, w, eps=1e-6):
    steps = eps * np.eye(len(w))
    return np.array([f(w + s) - f(w - s) for s in steps]) / (2 * eps)
"""
LIST_GRADIENT = """
def mse_gradient(w, X, y):
    return list(2.0 / len(y) * X.T @ (X @ w - y))
"""


def test_visible_check_catches_forward_differences_and_passes_a_vectorised_answer():
    failed = _run_visible_check("01_gradients", "numerical_gradient", {"numerical_gradient": FORWARD})
    assert isinstance(failed, AssertionError) and "central difference" in str(failed)
    assert _run_visible_check("01_gradients", "numerical_gradient", {"numerical_gradient": VECTORISED}) is None


STRING_GRADIENT = """
def mse_gradient(w, X, y):
    return str(2.0 / len(y) * X.T @ (X @ w - y))
"""


def test_visible_check_accepts_a_list_and_refuses_a_string_with_a_sentence(capsys):
    # A correct gradient returned as a list of numbers keeps its marks in the grader (issue #9),
    # so the visible check must pass it too, with a tip, not crash with AttributeError.
    assert _run_visible_check("01_gradients", "mse_gradient", {"mse_gradient": LIST_GRADIENT}) is None
    assert "you returned a list" in capsys.readouterr().out
    failed = _run_visible_check("01_gradients", "mse_gradient", {"mse_gradient": STRING_GRADIENT})
    assert isinstance(failed, AssertionError) and "numpy array" in str(failed) and "str" in str(failed)


def test_check_your_own_gradients_counts_the_functions():
    (text,) = [c.source for c in _cells("solutions", "01_gradients") if "Check your own gradients" in c.source]
    words = {4: "four", 5: "five", 6: "six", 7: "seven"}
    assert f"all {words[len(COURSE.assignment('01_gradients').points)]} functions" in text


BROKEN_FULL_BATCH = "def full_batch_gd(*args, **kwargs):\n    raise RuntimeError('broken on purpose')\n"
ONE_UPDATE_PER_EPOCH = """
def minibatch_gd(grad_fn, X, y, w0, lr, epochs, batch_size, rng):
    return full_batch_gd(grad_fn, X, y, w0, lr, epochs)
"""
ROW_NOT_BATCH = """
def sgd(grad_fn, X, y, w0, lr, epochs, rng):
    w, history = np.array(w0, dtype=float), [np.array(w0, dtype=float)]
    for _ in range(epochs):
        for i in rng.permutation(len(X)):
            w = w - lr * grad_fn(w, X[i], y[i])
        history.append(w.copy())
    return np.array(history)
"""


def test_minibatch_check_stands_on_fixed_values_not_on_full_batch_gd():
    assert _run_visible_check("03_minibatch", "minibatch_gd", {"full_batch_gd": BROKEN_FULL_BATCH}) is None
    failed = _run_visible_check("03_minibatch", "minibatch_gd", {"minibatch_gd": ONE_UPDATE_PER_EPOCH})
    assert isinstance(failed, AssertionError) and "batch_size = 1" in str(failed)


def test_sgd_check_names_a_row_passed_as_a_batch():
    failed = _run_visible_check("03_minibatch", "sgd", {"sgd": ROW_NOT_BATCH})
    assert isinstance(failed, ValueError) and "X[i] is a row, not a batch" in str(failed)


# ------------------------------------------------------------------------ mark schemes


@pytest.mark.parametrize("assignment", IDS)
def test_each_written_question_has_a_mark_scheme_that_the_release_drops(assignment):
    source, release = _cells("solutions", assignment), _cells("assignments", assignment)
    manual = COURSE.assignment(assignment).manual
    assert manual
    for grade_id in manual:
        (at,) = [i for i, c in enumerate(source) if _gid(c) == grade_id]
        question = source[at - 1]
        meta = question.metadata.get("nbgrader", {})
        # locked, so that autograde restores it (mark scheme and all) for formgrader; not a task,
        # which would add a 0-point grade that formgrader asks a grader to fill in
        assert question.cell_type == "markdown" and meta.get("locked") and not meta.get("task")
        assert question.source.count("=== BEGIN MARK SCHEME ===") == 1
        assert question.source.count("=== END MARK SCHEME ===") == 1
        assert "Model answer" in question.source and "Rubric" in question.source
        (released,) = [c for c in release if _gid(c) == _gid(question)]
        assert released.source.strip() == question.source.split("=== BEGIN MARK SCHEME ===")[0].strip()
    text = notebook_path("assignments", assignment).read_text()
    assert "MARK SCHEME" not in text and "Model answer" not in text and "Rubric" not in text


# ------------------------------------------- visible checks agree with the grader (issue #10)


def _run_top_to_bottom(assignment: str, upto: str, replace: dict[str, str], capsys) -> tuple[Exception | None, str]:
    """Run the released notebook's cells in order, as a student's "Run All" would, with the solution
    cells named in ``replace`` (grade_id -> source) swapped for a student's answer, and stop after
    the cell ``upto``: return what that cell raised (None when nothing) and what it printed."""
    ns: dict = {"__name__": "__main__"}
    solutions = {_gid(c): c.source for c in _cells("solutions", assignment) if c.cell_type == "code"}
    sys.path.insert(0, str(SUPPORT))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for cell in _cells("assignments", assignment):
                gid = _gid(cell)
                if cell.cell_type != "code":
                    continue
                meta = cell.metadata.get("nbgrader", {})
                source = replace.get(gid, solutions[gid] if meta.get("solution") else cell.source)
                if gid == upto:
                    capsys.readouterr()
                    try:
                        exec(source, ns)
                    except Exception as exc:  # noqa: BLE001 - the failure is the result
                        return exc, capsys.readouterr().out
                    return None, capsys.readouterr().out
                exec(source, ns)
                plt.close("all")
    finally:
        sys.path.remove(str(SUPPORT))
    raise AssertionError(f"no cell {upto} in {assignment}")


LIST_MSE_GRADIENT = """
def mse_gradient(w, X, y):
    return [float(v) for v in 2.0 / len(y) * X.T @ (X @ w - y)]
"""
LIST_LOGISTIC_GRADIENT = """
def logistic_gradient(w, X, y, l2=0.0):
    p = 1 / (1 + np.exp(-(X @ w)))
    return [float(v) for v in X.T @ (p - y) / len(y) + l2 * w]
"""


@pytest.mark.parametrize("upto", ["test_mse_gradient", "test_logistic_gradient", "check_own", "plot_eps"])
def test_gradients_returned_as_lists_pass_the_checks_and_the_lesson(capsys, upto):
    # The grader gives a list of numbers full marks, so nothing a student runs may crash on it.
    lists = {"mse_gradient": LIST_MSE_GRADIENT, "logistic_gradient": LIST_LOGISTIC_GRADIENT}
    failed, out = _run_top_to_bottom("01_gradients", upto, lists, capsys)
    assert failed is None, f"{upto} crashed on a gradient returned as a list: {failed!r}"
    if upto.startswith("test_"):
        assert "the visible checks pass" in out
        assert out.count("you returned a list") == 1, "the tip once per check, not once per call"
    if upto == "check_own":
        assert out.count("gradient check:") == 3


SGD_VIA_MINIBATCH = """
def sgd(grad_fn, X, y, w0, lr, epochs, rng):
    return minibatch_gd(grad_fn, X, y, w0, lr, epochs, 1, rng)
"""


def test_sgd_through_minibatch_gd_is_told_to_run_that_cell_first(capsys):
    # Run All: the sgd check comes before minibatch_gd is defined.  A sentence, not a NameError,
    # and not a "pass" either; once minibatch_gd's cell has run, the same check passes.
    failed, out = _run_top_to_bottom("03_minibatch", "test_sgd", {"sgd": SGD_VIA_MINIBATCH}, capsys)
    assert failed is None, f"the sgd check crashed: {failed!r}"
    assert "sgd calls minibatch_gd, which is defined further down: run its cell first" in out
    assert "the visible checks pass" not in out
    assert _run_visible_check("03_minibatch", "sgd", {"sgd": SGD_VIA_MINIBATCH}) is None


def test_a_missing_name_that_is_no_notebook_function_still_fails():
    typo = "def sgd(grad_fn, X, y, w0, lr, epochs, rng):\n    return minibatch_descent(grad_fn, X, y, w0, lr, epochs, 1, rng)\n"
    failed = _run_visible_check("03_minibatch", "sgd", {"sgd": typo})
    assert isinstance(failed, NameError) and failed.name == "minibatch_descent"


def test_notebook_functions_are_the_graded_ones():
    sys.path.insert(0, str(SUPPORT))
    try:
        from gd_support import NOTEBOOK_FUNCTIONS
    finally:
        sys.path.remove(str(SUPPORT))
    assert NOTEBOOK_FUNCTIONS == {name for a in COURSE.assignments for name in a.points}


MUTATES_W = """
def numerical_gradient(f, w, eps=1e-6):
    grad = np.zeros(len(w))
    for j in range(len(w)):
        w[j] += eps
        up = f(w)
        w[j] -= 2 * eps
        grad[j] = (up - f(w)) / (2 * eps)
    return grad
"""


def test_numerical_gradient_that_moves_w_is_told_so_first():
    failed = _run_visible_check("01_gradients", "numerical_gradient", {"numerical_gradient": MUTATES_W})
    assert isinstance(failed, AssertionError) and "must not change w" in str(failed)
    assert "one-sided" not in str(failed)
    assert "went in as [ 1.  -2.   0.5] and came back moved by up to 1e-06" in str(failed)


def _visible_check_cells():
    for assignment in IDS:
        for cell in _cells("assignments", assignment):
            if cell.cell_type == "code" and cell.metadata.get("nbgrader", {}).get("grade"):
                yield assignment, cell


def test_every_visible_assert_has_a_message():
    import ast

    checked = 0
    for assignment, cell in _visible_check_cells():
        for node in ast.walk(ast.parse(cell.source)):
            if isinstance(node, ast.Assert):
                checked += 1
                line = ast.get_source_segment(cell.source, node)
                assert node.msg is not None, f"{assignment} {_gid(cell)}: an assert without a message: {line}"
    assert checked >= 30
