"""The lessons teach the lecture right: what the plots show, what the text says, and visible checks
that catch the mistakes they are there for without leaning on other answers.

The solution notebooks are run once, in this process (matplotlib's Agg backend), keeping every
figure a cell draws so that its data can be read back, and recording which notebook function each
lesson cell called with what.  Assertions are about deterministic things (where a path ends, what
a plotted line holds, what the text claims against the data it describes), never about wall-clock
times.  Each section names the point of issue 19 it holds to.
"""

from __future__ import annotations

import functools
import re
import sys
import warnings

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import nbformat  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from bug_zoo import BUGS, CALLEE_BUGS, VARIANTS  # noqa: E402
from helpers import (  # noqa: E402
    COURSE,
    SUPPORT,
    grade_sandboxed,
    notebook_path,
    replace_function,
    scores,
    solution_cells,
)

IDS = [a.id for a in COURSE.assignments]
HIDDEN = re.compile(r"### BEGIN HIDDEN TESTS.*?### END HIDDEN TESTS\n?", re.S)
GLOBAL_MIN, POINT_C = -1.30084, 1.13090
FUNCTIONS = {name for a in COURSE.assignments for name in a.points}


def _cells(folder: str, assignment_id: str) -> list:
    return nbformat.read(str(notebook_path(folder, assignment_id)), as_version=4).cells


def _gid(cell) -> str | None:
    return cell.metadata.get("nbgrader", {}).get("grade_id")


def _flat(text: str) -> str:
    """Text with every run of white space (line breaks too) as one space, for finding sentences."""
    return " ".join(text.split())


def _text(assignment: str, folder: str = "solutions") -> str:
    """All the markdown of a notebook, flattened."""
    return _flat("\n".join(c.source for c in _cells(folder, assignment) if c.cell_type == "markdown"))


def _caption(assignment: str, grade_id: str) -> str:
    """The markdown cell right under the cell ``grade_id``, flattened."""
    cells = _cells("solutions", assignment)
    (at,) = [i for i, c in enumerate(cells) if _gid(c) == grade_id]
    return _flat(cells[at + 1].source)


def _source(assignment: str, grade_id: str) -> str:
    (cell,) = [c for c in _cells("solutions", assignment) if _gid(c) == grade_id]
    return cell.source


class Lesson:
    """One solution notebook run top to bottom (hidden tests left out): its namespace, the figures
    each cell drew, how many random generators each cell made, and the calls each lesson cell made
    to the notebook's graded functions (name, positional arguments, keyword arguments)."""

    def __init__(self, assignment_id: str):
        self.cells = _cells("solutions", assignment_id)
        self.ns: dict = {"__name__": "__main__"}
        self.figures: dict[str, list] = {}
        self.rngs_made: dict[str, int] = {}
        self.calls: dict[str, list] = {}
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
                    gid = _gid(cell)
                    lesson = not cell.metadata["nbgrader"].get("solution") and not cell.metadata["nbgrader"].get(
                        "grade"
                    )
                    answers = {name: self.ns[name] for name in FUNCTIONS if name in self.ns}
                    if lesson:
                        self.calls[gid] = []
                        self.ns.update({name: self._spy(gid, name, fn) for name, fn in answers.items()})
                    np.random.default_rng = counting_rng
                    try:
                        exec(HIDDEN.sub("", cell.source), self.ns)
                    finally:
                        np.random.default_rng = real
                        if lesson:
                            self.ns.update(answers)
                    self.rngs_made[gid] = len(made)
                    self.figures[gid] = [plt.figure(n) for n in plt.get_fignums()]
                    plt.close("all")  # the Figure objects stay readable after closing
        finally:
            sys.path.remove(str(SUPPORT))

    def _spy(self, gid: str, name: str, fn):
        @functools.wraps(fn)
        def spy(*args, **kwargs):
            self.calls[gid].append((name, args, kwargs))
            return fn(*args, **kwargs)

        return spy

    def axes(self, grade_id: str) -> list:
        return [ax for fig in self.figures[grade_id] for ax in fig.axes]

    def axis(self, grade_id: str, title_words: str):
        (ax,) = [ax for ax in self.axes(grade_id) if title_words in ax.get_title()]
        return ax


@pytest.fixture(scope="module")
def lessons() -> dict[str, Lesson]:
    return {a: Lesson(a) for a in IDS}


def _lines(ax, prefix: str = "") -> list:
    return [line for line in ax.get_lines() if line.get_label().startswith(prefix) and line.get_label()[0] != "_"]


def _line(ax, prefix: str):
    (line,) = _lines(ax, prefix)
    return np.asarray(line.get_xdata(), dtype=float), np.asarray(line.get_ydata(), dtype=float)


def _has_legend(ax) -> bool:
    """A legend that names every line of ``ax``: its own, the figure's, or one shared by the panels."""
    legends = [other.get_legend() for other in ax.figure.axes if other.get_legend() is not None] + ax.figure.legends
    named = {text.get_text() for legend in legends for text in legend.get_texts()}
    return ax.get_legend() is not None or {line.get_label() for line in _lines(ax)} <= named


def _second_derivative(f, w: float, h: float = 1e-4) -> float:
    return (f(np.array([w + h])) - 2 * f(np.array([w])) + f(np.array([w - h]))) / h**2


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
                assert _has_legend(ax), f"{where} has several lines and no legend"
        after = lesson.cells[i + 1]
        assert after.cell_type == "markdown" and after.source.startswith("*What to see:*"), (
            f"{_gid(cell)} needs one sentence under it saying what to see"
        )
    assert drawn >= 2


@pytest.mark.parametrize("assignment", IDS)
def test_figures_fit_the_notebook_width(lessons, assignment):
    # point 8: a 16-inch grid of eight panels is unreadable at notebook width
    for grade_id, figures in lessons[assignment].figures.items():
        for fig in figures:
            assert fig.get_figwidth() <= 13, f"{grade_id} is {fig.get_figwidth()} inches wide"
            legends = [ax.get_legend() for ax in fig.axes if ax.get_legend() is not None] + fig.legends
            assert len(legends) <= 4, f"{grade_id} has {len(legends)} legends"


def test_lesson_text_hard_codes_no_timings():
    for assignment in IDS:
        for cell in _cells("solutions", assignment):
            if cell.cell_type == "markdown":
                found = re.findall(r"\b\d+(?:\.\d+)?\s*(?:s|ms|µs|sec|seconds?)\b", cell.source)
                assert not found, f"{assignment}: a timing in the text: {found}"


# ------------------------------------------------- 01: the sign, A/B/C, eps (points 3, 8, 10)


def test_01_arrows_are_gradient_steps_with_a_length_proportional_to_the_slope(lessons):
    ns = lessons["01_gradients"].ns
    (ax,) = lessons["01_gradients"].axes("plot_sign")
    arrows = [a for a in ax.texts if getattr(a, "arrow_patch", None) is not None]
    assert len(arrows) >= 4
    lengths = []
    for arrow in arrows:
        (w0, _), (tip, _) = arrow.xyann, arrow.xy
        slope = ns["double_well_grad"](np.array([w0]))[0]
        assert np.isclose(tip - w0, -ns["step_size"] * slope), "each arrow is one step, -lr * L'(w)"
        lengths.append(abs(tip - w0))
    assert min(lengths) < 1e-3 < 0.3 < max(lengths), "a point with zero slope (no step) and steep ones"
    words = " ".join(t.get_text() for t in ax.texts)
    assert all(f"{name}:" in words for name in "ABC")
    assert "L' = 0" in words


def test_01_text_names_A_B_C_and_corrects_the_lectures_sign_slip():
    text = _text("01_gradients")
    assert all(f"**{name}**" in text for name in "ABC")
    assert "a **negative** derivative means the loss decreases when the weight **increases**" in text
    assert "slip" in text and "backpropagation" in text.lower()
    # the text's slopes are the function's
    ns: dict = {}
    sys.path.insert(0, str(SUPPORT))
    try:
        exec("from gd_support import double_well_grad", ns)
    finally:
        sys.path.remove(str(SUPPORT))
    for w, words in ((-1.8, "L'(-1.8) = -11.5"), (1.7, "L'(1.7) = +10.5")):
        assert words in text and f"{ns['double_well_grad'](np.array([w]))[0]:+.1f}" in words


def test_01_eps_text_blames_the_third_derivative_and_the_plot_agrees(lessons):
    text = _text("01_gradients")
    assert "curvature leaks" not in text and "add curvature" not in _source("01_gradients", "plot_eps")
    assert "third" in text and r"\varepsilon^2 / 6" in text and "exact on a quadratic" in text
    (ax,) = lessons["01_gradients"].axes("plot_eps")
    eps, measured = _line(ax, "MSE + sum")
    _, predicted = _line(ax, "truncation")
    _, quadratic = _line(ax, "MSE alone")
    large = (eps >= 1e-3) & (eps <= 1e-1)
    assert np.allclose(measured[large], predicted[large], rtol=0.1), "the error at large eps is f''' eps^2 / 6"
    assert np.all(quadratic[large] < 1e-8), "on the quadratic alone there is no truncation error"


# --------------------------------------------------------- 02: learning rate (points 4, 5, 8)


def test_02_double_well_behaviour_is_tied_to_2_over_the_curvature(lessons):
    ns, text = lessons["02_gradient_descent"].ns, _text("02_gradient_descent")
    limit_global = 2 / _second_derivative(ns["double_well"], GLOBAL_MIN)
    limit_c = 2 / _second_derivative(ns["double_well"], POINT_C)
    assert f"{limit_global:.3f}" == "0.140" and f"{limit_c:.3f}" == "0.214"
    assert "0.140" in text and "0.214" in text and "1/\\lambda" in text and "2/\\lambda" in text
    walks = ns["walks"]
    # 0.12 is between 1/L'' and 2/L'' at the global minimum: swings that die out
    assert limit_global / 2 < 0.12 < limit_global
    late = walks[0.12][3:, 0] - GLOBAL_MIN
    assert np.any(np.sign(late[1:]) != np.sign(late[:-1])) and abs(late[-1]) < 1e-3
    # 0.15 is above the global minimum's limit, below point C's: it bounces between two points
    assert limit_global < 0.15 < limit_c
    bounce = walks[0.15][-10:, 0]
    assert np.all(np.sign(bounce[1:] - GLOBAL_MIN) != np.sign(bounce[:-1] - GLOBAL_MIN)) and np.ptp(bounce) > 0.1
    assert sorted({round(w, 2) for w in bounce}) == [-1.45, -1.08] and "$-1.08$ and $-1.45$" in text
    # 0.2 from the steep start: the overshoots the text quotes, and two points in the picture
    assert np.allclose(walks[0.2][1:4, 0], [-2.2, 3.478, -26.2], atol=0.05)
    assert np.sum(np.abs(walks[0.2][:, 0]) < 2.3) == 2
    # 0.2 from gentle starts: C (stable up to 0.214) is reached, the global minimum never settles
    bounces = ns["bounces"]
    assert abs(bounces[1.5][-1] - POINT_C) < 1e-3
    assert np.all(bounces[-1.0] < 0.17) and np.ptp(bounces[-1.0][-20:]) > 0.5


def test_02_double_well_marks_both_minima_and_shows_both_valleys(lessons):
    panels = [ax for ax in lessons["02_gradient_descent"].axes("plot_double_well") if ax.get_xlabel() == "w"]
    assert len(panels) == 4
    for ax in panels:
        labels = {line.get_label() for line in _lines(ax)}
        assert "global minimum" in labels and any("point C" in label for label in labels)
        bottom, top = ax.get_ylim()
        assert bottom < -3.6 and top > 0.1 and top - bottom < 15


def test_02_double_well_legend_covers_no_path(lessons):
    (fig,) = lessons["02_gradient_descent"].figures["plot_double_well"]
    fig.canvas.draw()
    for ax in fig.axes:
        legend = ax.get_legend()
        if legend is None:
            continue
        box = legend.get_window_extent()
        for line in _lines(ax, "path") + _lines(ax, "lr ="):
            points = ax.transData.transform(np.column_stack([line.get_xdata(), line.get_ydata()]))
            points = points[np.all(np.isfinite(points), axis=1)]
            along = [p + t * (q - p) for p, q in zip(points, points[1:]) for t in np.linspace(0, 1, 25)]
            assert not any(box.contains(*p) for p in along), f"{ax.get_title()}: the legend covers {line.get_label()}"


def test_02_text_states_the_three_regimes_and_the_best_fixed_rate():
    text = _text("02_gradient_descent")
    assert "**monotonically**" in text and "**oscillates**" in text and "**diverges**" in text
    assert r"2/(\lambda_{\min} + \lambda_{\max}) = 0.5" in text
    assert "0.4 (good)" not in text and "0.55 (overshoots" not in text


def test_02_bowl_rates_show_the_regimes_they_are_labelled_with(lessons):
    lesson = lessons["02_gradient_descent"]
    low, high = np.linalg.eigvalsh(lesson.ns["BOWL_H"])
    steep = lesson.axis("plot_bowl", "steep direction")
    loss = lesson.axis("plot_bowl", "loss per step")
    words = {"monotone": 0, "oscillates": 0, "diverges": 0}
    final = {}
    for line in _lines(steep, "lr ="):
        label = line.get_label()
        lr = float(label.split(":")[0].removeprefix("lr = "))
        along = np.asarray(line.get_ydata(), dtype=float)
        along = (
            along[: np.argmax(np.abs(along) < 1e-9)] if np.any(np.abs(along) < 1e-9) else along
        )  # not rounding noise
        flips = np.sign(along[1:]) != np.sign(along[:-1])
        grows = abs(along[-1]) > abs(along[0])
        if "monotone" in label:
            assert lr < 1 / high and not flips.any() and not grows
            words["monotone"] += 1
        elif "oscillates" in label:
            assert 1 / high < lr < 2 / high and flips.all() and not grows
            words["oscillates"] += 1
        else:
            assert "diverges" in label and lr > 2 / high and flips.all() and grows
            words["diverges"] += 1
        final[lr] = _line(loss, label)[1][-1]
    assert all(words.values()), words
    best_fixed = 2 / (low + high)
    assert np.isclose(best_fixed, 0.5) and min(final, key=final.get) == 0.5, "the best fixed rate falls fastest"


def test_02_bowl_paths_one_per_panel_and_the_diverging_one_visibly_grows(lessons):
    lesson = lessons["02_gradient_descent"]
    panels = lesson.axes("plot_bowl_paths")
    assert len(panels) == 4
    for ax in panels:
        (path,) = _lines(ax, "lr =")
        xy = np.column_stack([path.get_xdata(), path.get_ydata()])
        if "diverges" in ax.get_title():
            assert np.linalg.norm(xy[-1]) > 3 * np.linalg.norm(xy[0])
    curves = lesson.axis("plot_bowl", "loss per step")
    steep = lesson.axis("plot_bowl", "steep direction")
    assert [line.get_label() for line in _lines(curves, "lr =")] == [line.get_label() for line in _lines(steep, "lr =")]


def test_02_start_dependence_is_shown(lessons):
    ends = {}
    for ax in lessons["02_gradient_descent"].axes("plot_start_dependence"):
        (line,) = _lines(ax, "lr =")
        lr = line.get_label().split(":")[0]
        ends[lr] = dict(zip(np.round(line.get_xdata(), 6), line.get_ydata()))

    def lands(lr: str, w0: float) -> float:
        return ends[f"lr = {lr}"][round(w0, 6)]

    assert np.isclose(lands("0.01", 2.0), POINT_C, atol=1e-3) and np.isclose(lands("0.12", 2.0), GLOBAL_MIN, atol=1e-3)
    assert np.isclose(lands("0.01", -2.1), GLOBAL_MIN, atol=1e-3) and np.isclose(
        lands("0.12", -2.1), POINT_C, atol=1e-3
    )
    assert np.isclose(lands("0.01", 1.8), POINT_C, atol=1e-3) and np.isclose(lands("0.12", 1.8), POINT_C, atol=1e-3)


def test_02_restarts_shade_the_basins_draw_the_watershed_and_keep_the_legend_off_the_saddle(lessons):
    lesson = lessons["02_gradient_descent"]
    (ax,) = lesson.axes("plot_restarts")
    ns = lesson.ns
    in_global = ns["in_global_basin"]
    xs, ys = ns["grid_x"][0], ns["grid_y"][:, 0]
    ends = []
    for line in _lines(ax, "start"):
        xy = np.column_stack([line.get_xdata(), line.get_ydata()])
        assert np.max(np.abs(xy[-1] - xy[-2])) < 1e-6, f"{line.get_label()} has not settled in a minimum"
        shaded_global = in_global[np.argmin(np.abs(ys - xy[0, 1])), np.argmin(np.abs(xs - xy[0, 0]))]
        assert shaded_global == (xy[-1, 0] < 0), f"{line.get_label()} ends outside the basin shaded at its start"
        ends.append(xy[-1])
    assert np.ptp(np.array(ends)[:, 0]) > 1, "the restarts end in both basins"
    assert any("watershed" in line.get_label() for line in _lines(ax))
    saddle = [line for line in _lines(ax, "saddle")][0]
    ax.figure.canvas.draw()
    box = ax.get_legend().get_window_extent()
    assert not box.overlaps(ax.get_window_extent()), "the legend sits beside the landscape"
    assert not box.contains(*ax.transData.transform((saddle.get_xdata()[0], saddle.get_ydata()[0])))
    # the caption's example: a start left of the saddle that still ends at C
    caption = _caption("02_gradient_descent", "plot_restarts")
    assert "$(0.05, 2)$" in caption
    (line,) = _lines(ax, "start [0.05 2.  ]")
    assert line.get_xdata()[0] < ns["saddle_x"] and abs(line.get_xdata()[-1] - POINT_C) < 1e-3


def test_02_overclaims_are_gone():
    text = _text("02_gradient_descent")
    assert "Everything interesting" not in text and "for every learning rate" not in text
    assert "for both learning rates it tried" in text


# ------------------------------------------------------ 03: batch sizes (points 1, 2, 6, 7, 8)


def _stable_limit(X) -> float:
    return 2 / np.linalg.eigvalsh(2 / len(X) * X.T @ X)[-1]


def test_03_each_batch_size_has_its_own_rate_from_the_sweep_within_the_stable_range(lessons):
    ns = lessons["03_minibatch"].ns
    best_lr, after_5, candidates = ns["best_lr"], ns["after_5"], ns["candidates"]
    limit = _stable_limit(ns["X_demo"])
    assert np.isclose(ns["full_limit"], limit)
    assert max(candidates) < limit and len(set(best_lr.values())) >= 3
    sizes = sorted(best_lr)
    for size in sizes:
        assert best_lr[size] == candidates[int(np.argmin(after_5[size]))], "the rate with the lowest loss is kept"
        assert 0 < best_lr[size] < limit
    rates = [best_lr[s] for s in sizes]
    assert rates == sorted(rates), "the best rate does not shrink as the batch grows"
    assert best_lr[4] >= 2 * best_lr[1] and best_lr[16] >= 2 * best_lr[4], "at first it grows with the batch"
    assert best_lr[sizes[-1]] == best_lr[sizes[-2]], "then it stops at the limit"
    # the plot draws these rates, and the compare runs use them
    right = lessons["03_minibatch"].axis("plot_lr_sweep", "best learning rate")
    assert np.allclose(_line(right, "best learning rate")[1], rates)
    compare = lessons["03_minibatch"].axis("plot_compare", "per epoch")
    for line in _lines(compare, "batch"):
        size = int(line.get_label().split(",")[0].removeprefix("batch "))
        assert f"lr {best_lr[size]:.3g}" in line.get_label()


def test_03_compare_caption_says_what_the_tuned_runs_show(lessons):
    ns = lessons["03_minibatch"].ns
    tuned, n = ns["tuned"], len(ns["X_demo"])
    caption = _caption("03_minibatch", "plot_compare")
    # per epoch: batches 1, 4 and 16 fall together, full batch and 256 far behind
    assert "batches 1, 4 and 16 fall together" in caption
    for epoch in (1, 2):
        small = [tuned[s][epoch] for s in (1, 4, 16)]
        assert max(small) < 1.6 * min(small)
        assert tuned[n][epoch] > 5 * max(small) and tuned[256][epoch] > 3 * max(small)
    assert tuned[n][20] > 10 * max(tuned[s][20] for s in (1, 4, 16, 64))
    # per update: batch 256 and the full batch lie on top of each other
    assert "batch 256 and of the full batch lie on top of each other" in caption
    for epoch_256 in (1, 2, 3, 4, 5):
        same_updates = epoch_256 * (n // 256)
        assert np.isclose(tuned[256][epoch_256], tuned[n][same_updates], rtol=0.3)


def test_03_full_batch_is_run_and_timed_with_full_batch_gd(lessons):
    lesson = lessons["03_minibatch"]
    for gid in ("plot_lr_sweep", "plot_compare", "plot_cost", "plot_wall_time"):
        calls = lesson.calls[gid]
        n = len(lesson.ns["X_big"] if gid in ("plot_cost", "plot_wall_time") else lesson.ns["X_demo"])
        batch_sizes = [
            args[6] if len(args) > 6 else kwargs["batch_size"] for name, args, kwargs in calls if name == "minibatch_gd"
        ]
        assert batch_sizes and max(batch_sizes) < n, f"{gid} runs a full batch through minibatch_gd"
        full = [args for name, args, kwargs in calls if name == "full_batch_gd"]
        assert full and all(len(args[1]) == n for args in full), f"{gid} does not run full_batch_gd on all the data"


def test_03_wall_time_runs_use_their_own_rates_and_the_caption_holds(lessons):
    ns = lessons["03_minibatch"].ns
    limit = _stable_limit(ns["X_big"])
    runs = ns["wall_runs"]
    (_, lr_sgd, _), (_, lr_64, _), (_, lr_full, _) = runs["SGD (batch 1)"], runs["mini-batch 64"], runs["full batch"]
    assert lr_64 == ns["lr_64"] and np.isclose(lr_sgd, lr_64 / 64) and np.isclose(lr_full, 0.9 * limit)
    # the text: full batch's rate is the top of the sweep, which was full batch's best there
    assert ns["best_lr"][len(ns["X_demo"])] == ns["candidates"][0] == 0.9 * ns["full_limit"]
    assert all(0 < lr < limit for lr in (lr_sgd, lr_64, lr_full))
    assert ns["lr_64"] == ns["tries"][int(np.nanargmin(ns["one_epoch"]))]
    traces = ns["traces"]
    assert traces["mini-batch 64"][1][1] < traces["full batch"][1][60], "one epoch of 64 beats 60 of full batch"
    assert traces["SGD (batch 1)"][1][1] < traces["mini-batch 64"][1][1], "SGD gets a little lower after one epoch"
    assert np.all(np.diff(traces["full batch"][1]) < 0), "full batch keeps going down"
    assert "after 60 epochs it is still above where mini-batch 64 was after one" in _caption(
        "03_minibatch", "plot_wall_time"
    )


def test_03_noise_panel_is_one_updates_gradient_on_log_axes_with_the_formula(lessons):
    ns = lessons["03_minibatch"].ns
    (ax,) = lessons["03_minibatch"].axes("plot_noise")
    assert ax.get_xscale() == "log" and ax.get_yscale() == "log"
    X, y, w_best = ns["X_demo"], ns["y_demo"], ns["w_best"]
    n = len(X)
    per_sample = 2 * X * (X @ w_best - y)[:, None]  # each sample's gradient at the minimum
    sigma2 = np.mean(np.sum(per_sample**2, axis=1))
    sizes, measured = _line(ax, "measured")
    _, formula = _line(ax, "σ²/b · (n - b)/(n - 1)")
    assert np.allclose(formula, sigma2 / sizes * (n - sizes) / (n - 1))
    assert sizes[0] == 1 and sizes[-1] >= n / 2
    assert np.allclose(measured, formula, rtol=0.2), "the measured noise follows the formula"
    assert np.all(np.diff(np.log(measured)) < 0)
    assert not [
        a for a in lessons["03_minibatch"].axes("plot_compare") if "1 epoch started at the minimum" in a.get_title()
    ]


def test_03_cost_is_measured_on_a_problem_big_enough_to_matter(lessons):
    lesson = lessons["03_minibatch"]
    X_big = lesson.ns["X_big"]
    assert X_big.size >= 2_000_000
    timing = lesson.axis("plot_cost", "time per epoch")
    memory = lesson.axis("plot_cost", "memory per update")
    assert "seconds" in timing.get_ylabel()
    sizes, seconds = _line(timing, "one epoch of minibatch_gd")
    full_sizes, full_seconds = _line(timing, "one epoch of full_batch_gd")
    assert len(sizes) >= 5 and max(sizes) < len(X_big) and list(full_sizes) == [len(X_big)]
    assert np.all(seconds > 0) and np.all(full_seconds > 0)
    sizes, megabytes = _line(memory, "linear model")
    assert np.all(np.diff(megabytes) > 0), "memory per update grows with the batch"
    assert sizes[-1] == len(X_big) and megabytes[-1] * 1e6 >= X_big.nbytes, "a full batch holds the whole data set"
    net_sizes, network = _line(memory, "network")
    linear_at = dict(zip(sizes, megabytes))
    assert network[-1] > 10 * linear_at[net_sizes[-1]], "the caption: more than ten times the linear model's memory"
    assert network[-1] * 1e6 > X_big.nbytes, "the caption: at 4096, more than the whole data set"
    caption = _caption("03_minibatch", "plot_cost")
    assert "more than ten times" in caption and "one to two orders of magnitude" in caption
    assert "several times that" not in _text("03_minibatch")
    (wall,) = lesson.axes("plot_wall_time")
    assert "seconds" in wall.get_xlabel() and len(_lines(wall)) == 3
    for line in _lines(wall):
        assert np.all(np.diff(line.get_xdata()) > 0)


def test_03_runs_make_one_rng_each(lessons):
    # one per mini-batch run of the compare plot (batch 1 to 256; full batch needs none): a fresh
    # default_rng(seed) every epoch would repeat the first epoch's order, the mistake sgd loses points for
    assert lessons["03_minibatch"].rngs_made["plot_compare"] == 5


def test_03_a_batch_size_has_one_colour_in_every_plot(lessons):
    lesson = lessons["03_minibatch"]
    colours = lesson.ns["batch_colors"]
    n_demo, n_big = len(lesson.ns["X_demo"]), len(lesson.ns["X_big"])
    seen = {}
    for gid in ("plot_lr_sweep", "plot_compare", "plot_wall_time"):
        for ax in lesson.axes(gid):
            for line in _lines(ax):
                label = line.get_label()
                size = (
                    1
                    if label.startswith("SGD") or label.startswith("batch 1 ") or label.startswith("batch 1,")
                    else n_demo
                    if "full batch" in label or label.startswith(f"batch {n_demo}")
                    else 64
                    if "64" in label.split(",")[0]
                    else None
                )
                if size is not None:
                    seen.setdefault(size, set()).add(matplotlib.colors.to_hex(line.get_color()))
    assert set(seen) == {1, 64, n_demo}
    for size, found in seen.items():
        assert found == {matplotlib.colors.to_hex(colours[size])}, f"batch {size} drawn in {found}"
    assert n_big > n_demo


def test_03_non_convex_demo_matches_its_caption(lessons):
    ns = lessons["03_minibatch"].ns
    X = ns["X_tilt"][:, 0]
    assert np.isclose(X.mean(), 1) and np.isclose(X.std(), 6), "the samples average to the double well"
    share = ns["in_global"]
    assert share[64] == 0 and share[4] == 0 and share[1] == 1 and 0.3 <= share[2] <= 0.7
    runs = ns["escape_runs"]
    assert all(abs(run[-1] - POINT_C) < 1e-3 for run in runs[64]), "full batch settles at point C"
    assert all(np.all(run[1:] > 0.17) for run in runs[4]), "batch 4 never leaves C's valley"
    first = [int(np.argmax(run < 0.17)) for run in runs[1]]
    assert max(first) <= 3, "batch 1 escapes within the first few epochs"
    crossed_back = [run for run, k in zip(runs[1], first) if np.any(run[k:] > 0.17)]
    assert crossed_back, "some batch-1 runs cross back over the hump"
    ends = np.array([run[-1] for run in runs[1]])
    assert np.ptp(ends) > 0.5, "the noisy runs do not settle"
    barrier_c = ns["double_well"](np.array([0.1699])) - ns["double_well"](np.array([POINT_C]))
    barrier_global = ns["double_well"](np.array([0.1699])) - ns["double_well"](np.array([GLOBAL_MIN]))
    caption = _caption("03_minibatch", "plot_escape")
    assert f"{barrier_c:.2f} above C" in caption and f"{barrier_global:.2f} above the global minimum" in caption
    assert "not a guarantee" in caption


def test_notebook_mse_grad_fn_names_a_row_passed_as_a_batch(lessons):
    mse_grad_fn = lessons["03_minibatch"].ns["mse_grad_fn"]
    X, y = np.ones((4, 3)), np.ones(4)
    with pytest.raises(ValueError, match=r"X\[i\] is a row, not a batch"):
        mse_grad_fn(np.zeros(3), X[0], y[0])
    assert np.allclose(mse_grad_fn(np.zeros(3), X[:1], y[:1]), -2.0)


# ------------------------------------------------------------------ mark schemes (point 9)


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


def _question(assignment: str) -> str:
    (text,) = [c.source for c in _cells("solutions", assignment) if "=== BEGIN MARK SCHEME ===" in c.source]
    return _flat(text)


def test_02_mark_scheme_start_is_far_from_a_basin_boundary_and_its_walks_are_the_notebooks(lessons):
    ns, scheme = lessons["02_gradient_descent"].ns, _question("02_gradient_descent")
    start = float(re.search(r"starting at \$w_0 = (-?[\d.]+)\$ it is the other way round", scheme).group(1))

    def end(w0: float, lr: float) -> float:
        return ns["gradient_descent"](ns["double_well_grad"], np.array([w0]), lr, 300)[-1, 0]

    for w0 in np.linspace(start - 0.1, start + 0.1, 21):
        assert abs(end(w0, 0.12) - POINT_C) < 1e-3 and abs(end(w0, 0.01) - GLOBAL_MIN) < 1e-3, w0
    assert "further up the opposite wall each time, so the walk bounces for ever" not in scheme
    assert "lr = 0.15 bounces between two points for ever without diverging" in scheme
    assert np.all(np.isfinite(ns["walks"][0.15])) and not np.all(np.isfinite(ns["walks"][0.2]))


def test_03_mark_scheme_quotes_the_sweep_and_gives_one_point_per_question(lessons):
    ns, scheme = lessons["03_minibatch"].ns, _question("03_minibatch")
    best_lr = ns["best_lr"]
    for size, words in ((1, "0.027 for batch 1"), (4, "0.108 for batch 4"), (16, "0.43 for batch 16")):
        assert words in scheme and float(words.split()[0]) == float(f"{best_lr[size]:.{len(words.split()[0]) - 2}f}")
    assert f"{best_lr[64]:.2f}" == "0.87" and "stopped at 0.87" in scheme
    assert f"{ns['full_limit']:.2f}" == "0.96" and "= 0.96$" in scheme
    assert "close second" not in scheme
    (raw,) = [c.source for c in _cells("solutions", "03_minibatch") if "=== BEGIN MARK SCHEME ===" in c.source]
    questions = raw.split("=== BEGIN MARK SCHEME ===")[0]
    assert (
        len(re.findall(r"^\d\. ", questions, re.M))
        == 3
        == COURSE.assignment("03_minibatch").manual["written_batch_size"]
    )
    assert "one per question" in scheme


# ------------------------------------------------------------- visible checks, as released


def _run_visible_check(assignment: str, function: str, replace: dict[str, str] | None = None, first=()):
    """Run the released visible check of ``function`` after the solution code, with the answers
    in ``replace`` swapped in (and the checks of ``first`` run before it): return the exception it
    raised (None when it passes)."""
    ns: dict = {"__name__": "__main__"}
    sys.path.insert(0, str(SUPPORT))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for cell in _cells("solutions", assignment):
                meta = cell.metadata.get("nbgrader", {})
                if cell.cell_type == "code" and (meta.get("solution") or _gid(cell) == "imports"):
                    exec(cell.source, ns)
            for source in (replace or {}).values():
                exec(source, ns)
            checks = {_gid(c): c.source for c in _cells("assignments", assignment)}
            for earlier in first:
                try:
                    exec(checks[f"test_{earlier}"], ns)
                except Exception:  # noqa: BLE001 - an earlier check may fail: that is the point
                    pass
            try:
                exec(checks[f"test_{function}"], ns)
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
    assert isinstance(failed, AssertionError) and "60" not in str(failed) and "batches of 8, 8 and 4" in str(failed)


def test_sgd_check_names_a_row_passed_as_a_batch():
    # a failed visible check, in words, naming the function: not the helper's raw ValueError
    failed = _run_visible_check("03_minibatch", "sgd", {"sgd": ROW_NOT_BATCH})
    assert isinstance(failed, AssertionError) and "X[i] is a row, not a batch" in str(failed)
    assert str(failed).startswith("sgd called grad_fn") and "X[i:i + 1], y[i:i + 1]" in str(failed)


# ---------------------------------------- the conceptual mistakes of issue 19, point 11

X_AT_R = """
def mse_gradient(w, X, y):
    return 2 / len(y) * X @ (X @ w - y)
"""
SCALAR_GRADIENT = """
def mse_gradient(w, X, y):
    return float(np.mean(2 * X.T @ (X @ w - y)))
"""
NO_ABS = """
def gradient_check(f, grad_f, w, eps=1e-6):
    a, b = np.asarray(grad_f(w), dtype=float), numerical_gradient(f, w, eps)
    return float(np.max((a - b) / np.maximum(np.abs(a) + np.abs(b), 1e-12)))
"""
GLOBAL_RNG_BATCHES = """
def minibatches(n, batch_size, rng):
    order = np.random.permutation(n)
    return [order[i:i + batch_size] for i in range(0, n, batch_size)]
"""
ONE_ORDER_FOR_ALL_EPOCHS = """
def minibatch_gd(grad_fn, X, y, w0, lr, epochs, batch_size, rng):
    w, history = np.array(w0, dtype=float), [np.array(w0, dtype=float)]
    batches = minibatches(len(X), batch_size, rng)   # drawn once: every epoch the same order
    for _ in range(epochs):
        for b in batches:
            w = w - lr * grad_fn(w, X[b], y[b])
        history.append(w.copy())
    return np.array(history)
"""
ROW_PER_UPDATE = """
def minibatch_gd(grad_fn, X, y, w0, lr, epochs, batch_size, rng):
    w, history = np.array(w0, dtype=float), [np.array(w0, dtype=float)]
    for _ in range(epochs):
        for b in minibatches(len(X), batch_size, rng):
            w = w - lr * grad_fn(w, X[b], y[b])
            history.append(w.copy())
    return np.array(history)
"""
MSE_SUM = "def mse_loss(w, X, y):\n    return float(np.sum((X @ w - y) ** 2))\n"
MSE_GRAD_FLIPPED = "def mse_gradient(w, X, y):\n    return 2 / len(y) * X.T @ (y - X @ w)\n"
LOGISTIC_GRAD_NO_N = """
def logistic_gradient(w, X, y, l2=0.0):
    return X.T @ (1 / (1 + np.exp(-(X @ w))) - y) + l2 * w
"""
STEP_UPHILL = "def gd_step(w, grad, lr):\n    return w + lr * grad\n"

#: (assignment, function, answer, words the message must hold): got-versus-expected values and the hint
MISTAKES = [
    ("01_gradients", "mse_loss", MSE_SUM, ("got 42.5, expected 14.1667", "divide by n = 3")),
    ("01_gradients", "mse_gradient", MSE_GRAD_FLIPPED, ("got [10.6667, 18.    ]", "opposite way", "X @ w - y")),
    (
        "01_gradients",
        "mse_gradient",
        "def mse_gradient(w, X, y):\n    return 2 * X.T @ (X @ w - y)\n",
        ("got [-32., -54.]", "n = 3 times too large"),
    ),
    ("01_gradients", "logistic_gradient", LOGISTIC_GRAD_NO_N, ("got [-0.5,  0.5]", "n = 2 times too large")),
    ("01_gradients", "mse_gradient", X_AT_R, ("shape error", "X.T @ residual")),
    ("01_gradients", "mse_gradient", SCALAR_GRADIENT, ("returned a single number", "shape (d,)")),
    ("01_gradients", "gradient_check", NO_ABS, ("take abs(a - b)",)),
    ("02_gradient_descent", "gd_step", STEP_UPHILL, ("got [1.05, 1.9 ]", "uphill")),
    ("03_minibatch", "minibatches", GLOBAL_RNG_BATCHES, ("same seed gave different batches", "never from np.random")),
    ("03_minibatch", "minibatch_gd", ONE_ORDER_FOR_ALL_EPOCHS, ("same batches in the same order", "each epoch")),
    ("03_minibatch", "minibatch_gd", ROW_PER_UPDATE, ("got (10, 2)", "a row after every update")),
]


@pytest.mark.parametrize(
    "assignment, function, source, words", MISTAKES, ids=lambda v: v if isinstance(v, str) and len(v) < 40 else None
)
def test_visible_checks_catch_the_conceptual_mistakes_with_values_and_a_hint(assignment, function, source, words):
    failed = _run_visible_check(assignment, function, {function: source})
    assert isinstance(failed, AssertionError), f"{function}: {failed!r}"
    for word in words:
        assert word in str(failed), f"{word!r} not in {str(failed)!r}"


@pytest.mark.parametrize("variant", VARIANTS, ids=lambda v: v.id)
def test_every_valid_variant_of_the_bug_zoo_passes_the_visible_checks(variant, capsys):
    failed = _run_visible_check(variant.assignment, variant.function, {variant.function: variant.source})
    assert failed is None, f"{variant.id}: {failed!r}"
    assert f"{variant.function}: the visible checks pass." in capsys.readouterr().out


@pytest.mark.parametrize("bug", BUGS, ids=lambda b: b.id)
def test_a_zoo_mistake_fails_a_visible_check_with_a_sentence_or_passes(bug):
    # what the visible checks cannot see, the hidden ones do; but what they see, they say in words
    failed = _run_visible_check(bug.assignment, bug.function, {bug.function: bug.source})
    assert failed is None or isinstance(failed, AssertionError), f"{bug.id}: a raw {failed!r}"


def test_most_zoo_mistakes_are_caught_by_the_visible_checks():
    caught = [b.id for b in BUGS if _run_visible_check(b.assignment, b.function, {b.function: b.source}) is not None]
    assert len(caught) >= 0.9 * len(BUGS)


#: Zoo mistakes the visible checks once let through, or showed as a raw error: the words each
#: failure must hold now (got-versus-expected values on the small example, and the hint).
ZOO_CAUGHT = {
    "sgd-row-not-batch": ("sgd called grad_fn", "X[i] is a row, not a batch", "X[i:i + 1], y[i:i + 1]"),
    "batches-generator": ("minibatches returned a generator", "a list of index arrays"),
    "batches-tuple": ("minibatches returned a tuple", "a list of index arrays"),
    "mb-empty-last-batch": (
        "minibatch_gd called grad_fn",
        "an empty batch is never a batch",
        "range(0, n, batch_size)",
    ),
    "gd-early-stop": ("got (1, 2) from a start at the minimum", "stops early", "Run every step"),
    "full-early-stop": ("got (1, 2) from a start at the minimum", "stops early", "Run every epoch"),
    "step-clipped": ("got [0.4, 2.8], expected [-2.,  6.]", "shortened to length 1"),
    "logistic-clipped": ("got 27.631, expected 1000", "clipping the probability"),
    "logistic-epsilon-in-log": ("got 34.5388, expected 1000", "eps = 1e-15 inside the log"),
    "full-averages-per-sample-gradients": ("made 4 calls, on batches of sizes [1, 1, 1, 1]", "once per epoch"),
    "mse-loss-extra-axis": ("(14.1667) inside an array of shape (1,)", "return the number itself"),
    "lr-extra-axis": ("(0.5) inside an array of shape (1,)", "return the number itself"),
    "gd-extra-grad-call": ("6 times in 3 steps", "once per step and reuse g"),
    "lr-power-iteration-from-ones": ("got 2, expected 0.666667", "power iteration started at np.ones"),
}


@pytest.mark.parametrize("bug_id", ZOO_CAUGHT)
def test_visible_checks_name_these_zoo_mistakes_in_words(bug_id):
    (bug,) = [b for b in BUGS if b.id == bug_id]
    failed = _run_visible_check(bug.assignment, bug.function, {bug.function: bug.source})
    assert isinstance(failed, AssertionError), f"{bug_id}: {failed!r}"
    for words in ZOO_CAUGHT[bug_id]:
        assert words in str(failed), f"{words!r} not in {str(failed)!r}"


#: Answers the grader gives full marks in the forms these checks look at: the checks pass them too.
ACCEPTED = [
    ("01_gradients", "mse_loss", "def mse_loss(w, X, y):\n    return np.array(np.mean((X @ w - y) ** 2))\n"),
    (
        "03_minibatch",
        "full_batch_gd",
        """
def full_batch_gd(grad_fn, X, y, w0, lr, epochs):
    history = [list(map(float, w0))]
    for _ in range(epochs):
        history.append(list(np.array(history[-1]) - lr * grad_fn(np.array(history[-1]), X, y)))
    return history
""",
    ),
    (
        "02_gradient_descent",
        "gradient_descent",
        """
def gradient_descent(grad_f, w0, lr, n_steps):
    path = [np.array(w0, dtype=float)]
    for _ in range(n_steps):
        path.append(path[-1] - lr * grad_f(path[-1]))
    print("final gradient norm", np.linalg.norm(grad_f(path[-1])))   # one more call, at the end: harmless
    return np.array(path)
""",
    ),
]


@pytest.mark.parametrize("assignment, function, source", ACCEPTED, ids=[a[1] for a in ACCEPTED])
def test_forms_the_grader_accepts_pass_the_new_checks(assignment, function, source):
    cells = replace_function(solution_cells(assignment), function, source)
    got, out_of = scores(grade_sandboxed(assignment, cells, [function]))[function]
    assert got == out_of, f"the grader takes points from this {function}: not a form it accepts"
    assert _run_visible_check(assignment, function, {function: source}) is None


BAD_NUMERICAL_GRADIENT = """
def numerical_gradient(f, w, eps=1e-6):
    return np.array([(f(w + eps * e) - f(w - eps * e)) / eps for e in np.eye(len(w))])
"""


def test_a_wrong_callee_is_named_not_blamed_on_its_caller(capsys):
    # gradient_check is right; numerical_gradient, which it calls, is twice too large
    replace = {"numerical_gradient": BAD_NUMERICAL_GRADIENT}
    assert _run_visible_check("01_gradients", "gradient_check", replace, first=["numerical_gradient"]) is None
    out = capsys.readouterr().out
    assert (
        "gradient_check: not checked yet. It calls your numerical_gradient, whose visible checks do not pass yet" in out
    )
    assert "gradient_check: the visible checks pass" not in out
    for callee_bug in CALLEE_BUGS:  # the zoo's: a right caller of a wrong callee keeps its marks in the grader
        replace = {callee_bug.caller: callee_bug.caller_source, callee_bug.callee: callee_bug.callee_source}
        if _run_visible_check(callee_bug.assignment, callee_bug.callee, replace) is None:
            continue  # a callee mistake only the hidden checks see: nothing to point at here
        assert _run_visible_check(callee_bug.assignment, callee_bug.caller, replace, first=[callee_bug.callee]) is None
        assert f"It calls your {callee_bug.callee}, whose visible checks do not pass yet" in capsys.readouterr().out


def test_a_callee_not_yet_checked_is_mentioned(capsys):
    callee_bug = next(c for c in CALLEE_BUGS if c.caller == "sgd" and c.callee == "minibatch_gd")
    replace = {callee_bug.caller: callee_bug.caller_source, callee_bug.callee: callee_bug.callee_source}
    failed = _run_visible_check(callee_bug.assignment, callee_bug.caller, replace)
    assert isinstance(failed, AssertionError) and f"calls your {callee_bug.callee}, not checked yet" in str(failed)


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
    assert NOTEBOOK_FUNCTIONS == FUNCTIONS


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

    asserts = compared = 0
    for assignment, cell in _visible_check_cells():
        for node in ast.walk(ast.parse(cell.source)):
            if isinstance(node, ast.Assert):
                asserts += 1
                line = ast.get_source_segment(cell.source, node)
                assert node.msg is not None, f"{assignment} {_gid(cell)}: an assert without a message: {line}"
            if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "expect_close":
                compared += 1  # says what it got and what it expected
    assert asserts >= 20 and compared >= 20
