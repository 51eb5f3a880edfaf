"""Feedback reports: every report has its plots, each plot says what to look for, and a
missing or degenerate curve is explained in words rather than left out silently."""

from __future__ import annotations

import re
import tempfile
from pathlib import Path

import numpy as np
import pytest

from autograder.feedback import draw_plots
from autograder.sandbox.client import Sandbox
from autograder.suites import SUITES
from autograder.suites.minibatch import EPOCH_RUNS

from bug_zoo import VARIANTS
from helpers import COURSE, SUPPORT, replace_function, solution_cells


def plots_for(assignment: str, replace: dict[str, str]):
    cells = solution_cells(assignment)
    for function, source in replace.items():
        cells = replace_function(cells, function, source)
    with tempfile.TemporaryDirectory() as scratch:
        with Sandbox(cells, Path(scratch), [str(SUPPORT)], COURSE.assignment(assignment).limits) as sandbox:
            return draw_plots(sandbox, assignment)


def stub(function: str) -> str:
    return f"def {function}(*args, **kwargs):\n    raise NotImplementedError\n"


@pytest.mark.parametrize("assignment", [a.id for a in COURSE.assignments])
def test_untouched_notebook_still_gets_every_plot(assignment):
    plots, notes = plots_for(assignment, {f: stub(f) for f in COURSE.assignment(assignment).points})
    assert not notes
    assert len(plots) == len(SUITES[assignment].plotters)
    for p in plots:
        assert p.png.startswith(b"\x89PNG")
        assert "is not drawn" in p.caption and "not implemented yet" in p.caption, p.caption
        sentences = [s for s in p.caption.split(". ") if s]
        assert len(sentences) == len(set(sentences)), p.caption  # no note twice


def test_aliasing_gd_step_path_is_explained():
    in_place = "def gd_step(w, grad, lr):\n    w -= lr * grad\n    return w\n"
    plots, _ = plots_for("02_gradient_descent", {"gd_step": in_place})
    captions = {p.name: p.caption for p in plots}
    assert "single dot" in captions["path"] and "in place" in captions["path"]
    assert "moves w0" not in captions["path"]  # the solution's loop copies w0: it is untouched
    assert "flat" in captions["loss"]


def test_captions_never_give_hidden_sizes():
    no_w0_row = (
        "def gradient_descent(grad_f, w0, lr, n_steps):\n    w, path = w0.copy(), []\n"
        "    for _ in range(n_steps):\n        w = w - lr * grad_f(w)\n        path.append(w)\n"
        "    return np.array(path)\n"
    )
    plots, _ = plots_for("02_gradient_descent", {"gradient_descent": no_w0_row})
    for p in plots:
        assert "is not drawn" in p.caption and "(n_steps + 1, d)" in p.caption, p.caption
        assert not re.search(r"\(\d+, \d+\)", p.caption), p.caption


def test_minibatch_captions_name_aliasing_and_an_ignored_rng():
    aliased = (
        "def full_batch_gd(grad_fn, X, y, w0, lr, epochs):\n    w = np.array(w0, dtype=float)\n    hist = [w]\n"
        "    for _ in range(epochs):\n        w -= lr * grad_fn(w, X, y)\n        hist.append(w)\n"
        "    return np.array(hist)\n"
    )
    global_rng = (
        "def minibatch_gd(grad_fn, X, y, w0, lr, epochs, batch_size, rng):\n    w = np.array(w0, dtype=float)\n"
        "    hist = [w.copy()]\n    for _ in range(epochs):\n        order = np.random.permutation(len(y))\n"
        "        for s in range(0, len(y), batch_size):\n            b = order[s:s + batch_size]\n"
        "            w = w - lr * grad_fn(w, X[b], y[b])\n        hist.append(w.copy())\n    return np.array(hist)\n"
    )
    plots, _ = plots_for("03_minibatch", {"full_batch_gd": aliased, "minibatch_gd": global_rng})
    captions = {p.name: p.caption for p in plots}
    assert "`full_batch_gd` curve is flat" in captions["epochs"] and "same array" in captions["epochs"]
    assert "ignore `rng`" in captions["batch_size"], captions["batch_size"]
    assert "do not depend on the random order" not in captions["batch_size"]


def test_batch_size_plot_explains_a_run_that_ignores_the_order():
    in_order = "def minibatches(n, batch_size, rng):\n    return [np.arange(n)[i:i + batch_size] for i in range(0, n, batch_size)]\n"
    plots, _ = plots_for("03_minibatch", {"minibatches": in_order})
    captions = {p.name: p.caption for p in plots}
    assert "spread is zero" in captions["batch_size"]
    assert "is not drawn" not in captions["epochs"]


def test_unreadable_notebook_report_still_has_the_reference_plots():
    from autograder.submission import Unreadable

    for assignment in COURSE.assignments:
        plots, notes = draw_plots(Unreadable("the file is not a notebook"), assignment.id)
        assert not notes and len(plots) == len(SUITES[assignment.id].plotters)
        assert all("could not be graded" in p.caption for p in plots)


def drawn_lines(fig) -> dict[str, np.ndarray]:
    """The y values of each labelled line of ``fig``."""
    return {line.get_label(): np.asarray(line.get_ydata(), dtype=float) for ax in fig.axes for line in ax.get_lines()}


@pytest.mark.parametrize(
    "variant",
    [None] + [v for v in VARIANTS if v.assignment == "03_minibatch"],
    ids=lambda v: v.id if v else "solution",
)
def test_minibatch_plots_show_what_their_captions_say(drawn, variant):
    """For the reference and every correct answer (the solution, and the zoo's valid variants: other
    shuffles, float32, lists), as the captions say: all three loss curves fall, SGD fastest in the
    first epoch and then noisy; the spread across seeds falls as the batch grows and vanishes at the
    full batch."""
    plots, notes = plots_for("03_minibatch", {variant.function: variant.source} if variant else {})
    assert not notes and [p.name for p in plots] == ["epochs", "batch_size"] and len(drawn) == 2
    epochs, spreads = map(drawn_lines, drawn)
    for whose in ("reference", "yours"):
        full, mini, sgd = (epochs[f"{label} ({whose})"] for label, *_ in EPOCH_RUNS)
        assert all(curve[-1] < curve[0] / 2 for curve in (full, mini, sgd)), whose
        assert sgd[1] < mini[1] < full[1], whose  # after one epoch
        assert np.any(np.diff(sgd[1:]) > 0), whose  # noisy: it rises again somewhere
        spread = spreads[whose]
        assert np.all(np.diff(spread) < 0) and spread[-1] < 1e-12, (whose, spread)
