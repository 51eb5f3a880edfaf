"""Helpers for the gradient-descent notebooks: landscapes to explore, data, plots, checks.

Nothing here solves an exercise.  The landscapes used for grading are different ones, kept
with the grader.
"""

from __future__ import annotations

import contextlib
import inspect
import io
import sys
import traceback
import warnings

import numpy as np

__all__ = [
    "bowl",
    "bowl_grad",
    "BOWL_H",
    "double_well",
    "double_well_grad",
    "rosenbrock",
    "rosenbrock_grad",
    "two_basins",
    "two_basins_grad",
    "DOUBLE_WELL_MINIMA",
    "TWO_BASINS_MINIMA",
    "make_regression",
    "make_classification",
    "plot_curve_with_path",
    "plot_contour_with_paths",
    "plot_loss_curves",
    "BatchLog",
    "as_batches",
    "as_history",
    "as_number",
    "as_vector",
    "expect_close",
    "NOTEBOOK_FUNCTIONS",
    "show_if_ready",
    "visible_checks",
]

# ----------------------------------------------------------------------------- landscapes


def double_well(w):
    """f(w) = w^4 - 3 w^2 + w for w of shape (1,): a global minimum near w = -1.30 and a
    local one ("point C") near w = 1.13, with a hump between them."""
    w = np.asarray(w, dtype=float)
    return float(np.sum(w**4 - 3 * w**2 + w))


def double_well_grad(w):
    """Gradient of ``double_well``, shape (1,)."""
    w = np.asarray(w, dtype=float)
    return 4 * w**3 - 6 * w + 1


#: Where the double well's two minima are (the roots of 4 w^3 - 6 w + 1 with positive curvature),
#: for marking them on plots.
DOUBLE_WELL_MINIMA = {"global minimum": -1.3008, "point C (local minimum)": 1.1309}


def _one_or_many(value):
    """A float for one point; the array of values for a grid of points (first axis: the coordinates)."""
    return float(value) if np.ndim(value) == 0 else value


def two_basins(w):
    """A 2-D landscape with two valleys: the double well along a tilted line, a parabola across it.

    f(x, y) = x^4 - 3 x^2 + x + (y - x / 2)^2: a global minimum near (-1.30, -0.65) and a local
    one, point C, near (1.13, 0.57), with a saddle near (0.17, 0.08) on the ridge between them.
    Like ``bowl`` and ``rosenbrock`` it also takes a grid of points, shape (2, ...).
    """
    x, y = np.asarray(w, dtype=float)
    return _one_or_many(x**4 - 3 * x**2 + x + (y - x / 2) ** 2)


def two_basins_grad(w):
    """Gradient of ``two_basins``, shape (2,)."""
    x, y = np.asarray(w, dtype=float)
    across = y - x / 2
    return np.array([4 * x**3 - 6 * x + 1 - across, 2 * across])


#: The two minima of ``two_basins`` (on the line y = x / 2, x a minimum of the double well).
TWO_BASINS_MINIMA = {
    "global minimum": (-1.3008, -0.6504),
    "point C (local minimum)": (1.1309, 0.5654),
}


#: Hessian of the bowl: an elongated, tilted valley.  Its eigenvalues are 2 +- sqrt(2).
BOWL_H = np.array([[3.0, 1.0], [1.0, 1.0]])


def bowl(w):
    """f(w) = 0.5 * w @ BOWL_H @ w, a convex quadratic with its minimum at (0, 0)."""
    w = np.asarray(w, dtype=float)
    return _one_or_many(0.5 * np.einsum("i...,ij,j...->...", w, BOWL_H, w))


def bowl_grad(w):
    """Gradient of ``bowl``: BOWL_H @ w."""
    return BOWL_H @ np.asarray(w, dtype=float)


def rosenbrock(w):
    """The Rosenbrock banana: minimum 0 at (1, 1), at the end of a long curved valley."""
    x, y = np.asarray(w, dtype=float)
    return _one_or_many((1 - x) ** 2 + 100 * (y - x**2) ** 2)


def rosenbrock_grad(w):
    x, y = np.asarray(w, dtype=float)
    return np.array([-2 * (1 - x) - 400 * x * (y - x**2), 200 * (y - x**2)])


# ----------------------------------------------------------------------------------- data


def make_regression(n=200, d=3, noise=0.5, seed=0):
    """Linear-regression data: X of shape (n, d), y = X @ w_true + noise, and w_true."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    w_true = rng.normal(size=d)
    y = X @ w_true + noise * rng.normal(size=n)
    return X, y, w_true


def make_classification(n=200, d=2, seed=0):
    """Two overlapping clouds: X of shape (n, d) (last column all ones, a bias), y in {0, 1}."""
    rng = np.random.default_rng(seed)
    y = (rng.uniform(size=n) < 0.5).astype(float)
    centers = np.where(y[:, None] == 1, 1.0, -1.0)
    X = centers + rng.normal(size=(n, d - 1)) * 1.2
    return np.hstack([X, np.ones((n, 1))]), y


# ---------------------------------------------------------------------------------- plots


#: Marker styles for the minima drawn by ``marks=``: the global one a star, local ones a diamond.
_MARK_STYLES = [dict(marker="*", ms=15, color="gold", mec="k"), dict(marker="D", ms=8, color="tab:red", mec="k")]


def plot_curve_with_path(
    f, path, lo=-2.2, hi=2.2, ax=None, label="path", marks=None, ylim=None, color=None, legend=True
):
    """Draw a 1-D loss ``f`` and the points of a descent ``path`` (shape (steps + 1, 1)) on it.

    marks : optional dict mapping a label to a point w (a float) to mark on the curve, e.g.
        ``DOUBLE_WELL_MINIMA``.  ylim : optional (bottom, top) of the loss axis.
    legend : False to leave the legend to the caller (one legend for a grid of panels).
    """
    import matplotlib.pyplot as plt

    ax = ax or plt.gca()
    grid = np.linspace(lo, hi, 400)
    ax.plot(grid, [f(np.array([g])) for g in grid], color="0.3", label="loss")
    path = np.asarray(path, dtype=float).reshape(-1)
    values = [f(np.array([p])) for p in path]
    ax.plot(path, values, "o-", ms=4, alpha=0.8, label=label, color=color)
    ax.plot(path[:1], values[:1], "ks", ms=7, label="start", zorder=4)
    for style, (name, where) in zip(_MARK_STYLES * 2, (marks or {}).items()):
        ax.plot([where], [f(np.array([where]))], ls="none", label=name, zorder=5, **style)
    if ylim is not None:
        ax.set_ylim(*ylim)
    ax.set_xlabel("w")
    ax.set_ylabel("loss")
    if legend:
        ax.legend(fontsize=8)
    return ax


def _on_grid(f, X, Y) -> np.ndarray:
    """f at every point of a grid: in one call when f takes a grid of points, else point by point."""
    try:
        Z = np.asarray(f(np.array([X, Y])), dtype=float)
        if Z.shape == X.shape:
            return Z
    except (TypeError, ValueError):
        pass
    return np.array([[f(np.array([x, y])) for x, y in zip(row_x, row_y)] for row_x, row_y in zip(X, Y)])


def plot_contour_with_paths(
    f, paths, xlim=(-2, 2), ylim=(-2, 2), ax=None, levels=30, marks=None, colors=None, legend=None
):
    """Contours of a 2-D loss ``f`` with several descent paths drawn on top.

    paths : dict mapping a label to an array of shape (steps + 1, 2)
    marks : optional dict mapping a label to a point (x, y) to mark, e.g. ``TWO_BASINS_MINIMA``
    colors : optional dict mapping a path's label to its colour
    legend : keyword arguments for ``ax.legend`` (e.g. ``dict(loc="upper left",
        bbox_to_anchor=(1.02, 1))`` to put it beside the axes), or False for none
    """
    import matplotlib.pyplot as plt

    ax = ax or plt.gca()
    xs, ys = np.linspace(*xlim, 200), np.linspace(*ylim, 200)
    Z = _on_grid(f, *np.meshgrid(xs, ys))
    ax.contour(xs, ys, Z, levels=levels, cmap="viridis", linewidths=0.7)
    for label, path in paths.items():
        path = np.asarray(path, dtype=float)
        ax.plot(path[:, 0], path[:, 1], ".-", ms=3, label=label, color=(colors or {}).get(label))
        ax.plot(path[:1, 0], path[:1, 1], "ks", ms=6, zorder=1)
    for style, (name, (x, y)) in zip(_MARK_STYLES * 2, (marks or {}).items()):
        ax.plot([x], [y], ls="none", label=name, zorder=5, **style)
    ax.set_xlim(*xlim)
    ax.set_ylim(*ylim)
    ax.set_xlabel("w[0]")
    ax.set_ylabel("w[1]")
    if legend is not False:
        ax.legend(**{"fontsize": 8, **(legend or {})})
    return ax


def plot_loss_curves(curves, ax=None, xlabel="step", log=True, colors=None):
    """One line per label; curves: dict mapping a label to a sequence of losses;
    colors: optional dict mapping a label to its colour."""
    import matplotlib.pyplot as plt

    ax = ax or plt.gca()
    for label, losses in curves.items():
        ax.plot(np.arange(len(losses)), losses, label=label, color=(colors or {}).get(label))
    if log:
        ax.set_yscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel("loss")
    ax.legend()
    return ax


# ---------------------------------------------------------------------------------- checks


#: Functions already told, in the running check cell, that a list is accepted (see ``as_vector``).
_tipped: set[str] = set()


def _show(value) -> str:
    """A value as a check message prints it: a few digits, arrays on one line."""
    array = np.asarray(value, dtype=float)
    if array.ndim == 0:
        return f"{float(array):.6g}"
    return np.array2string(array, precision=4, suppress_small=True, separator=", ", max_line_width=200)


def expect_close(
    function: str,
    got,
    expected,
    what: str,
    mistakes: dict | None = None,
    rtol=1e-6,
    atol=1e-9,
    otherwise: str | None = None,
):
    """Fail unless ``got`` is ``expected``, with both values in the message; when ``got``
    matches one of ``mistakes`` (a hint mapped to the value that mistake gives on this very
    example), the hint follows, so the message names the likely misconception; when it matches
    none, the hint ``otherwise`` (for a family of mistakes with no single value, if given)."""
    got_array, expected_array = np.asarray(got, dtype=float), np.asarray(expected, dtype=float)
    if got_array.shape == expected_array.shape and np.allclose(got_array, expected_array, rtol=rtol, atol=atol):
        return
    message = f"{function} {what}: got {_show(got_array)}, expected {_show(expected_array)}."
    matched = [
        hint
        for hint, wrong in (mistakes or {}).items()
        if np.shape(wrong) == got_array.shape
        and np.allclose(got_array, np.asarray(wrong, dtype=float), rtol=rtol, atol=atol)
    ]
    hint = matched[0] if matched else otherwise
    raise AssertionError(message + (" " + hint if hint else ""))


def _numbers(function: str, value, wanted: str) -> np.ndarray:
    """``value`` as a float array, or a sentence: None (a forgotten return) or something not numbers."""
    if value is None:
        raise AssertionError(f"{function} returned None: did you forget the `return`?")
    try:
        return np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        raise AssertionError(f"{function} should return {wanted}, not a {type(value).__name__}") from None


def as_number(function: str, value) -> float:
    """The visible checks' view of a returned loss: one real number, or a sentence saying why not."""
    array = _numbers(function, value, "one number")
    if array.size != 1:
        raise AssertionError(
            f"{function} should return one number, the mean over all samples, but returned an array of shape "
            f"{array.shape}: average the per-sample losses (np.mean)"
        )
    if array.ndim > 0 or isinstance(value, (list, tuple)):
        # the grader reads the number too, but its check of the answer's form fails it
        inside = f"an array of shape {array.shape}" if isinstance(value, np.ndarray) else f"a {type(value).__name__}"
        raise AssertionError(
            f"{function} returned its number ({_show(array.reshape(()))}) inside {inside}, with an extra axis: "
            "return the number itself (float(value), or value.item()); keepdims=True or a slice such as [-1:] "
            "makes the extra axis"
        )
    return float(array.reshape(()))


def as_vector(function: str, value, d: int | None = None) -> np.ndarray:
    """The visible checks' view of a returned gradient: any sequence of numbers, as an array.

    A list or tuple of numbers is a correct answer (the grader accepts it too), so it is
    converted, not refused; a single number, or anything else, fails with a sentence saying
    what came back.  With ``d``, the shape must be ``(d,)``.
    """
    array = _numbers(function, value, "a numpy array of shape (d,)")
    if array.ndim == 0:
        raise AssertionError(
            f"{function} returned a single number ({_show(array)}); it should return an array of shape (d,), "
            "one entry per weight"
        )
    if d is not None and array.shape != (d,):
        extra = " (an extra axis: make the residual 1-D, shape (n,), not (n, 1))" if array.size == d else ""
        raise AssertionError(
            f"{function} should return an array of shape (d,) = ({d},), got shape {array.shape}{extra}"
        )
    if not isinstance(value, np.ndarray) and function not in _tipped:
        _tipped.add(function)  # once per check cell, however many calls it converts
        print(
            f"{function}: you returned a {type(value).__name__}; it is accepted, but a numpy array is the usual answer."
        )
    return array


def as_history(
    function: str, value, rows: int, d: int, per: str = "epoch", updates_per: int = 1, from_rest: bool = False
) -> np.ndarray:
    """A returned history (or path) as an array of shape ``(rows, d)``, or a sentence saying
    what is wrong with its rows: one per update instead of one per ``per``, or w0 missing.

    from_rest : the run started where the gradient is 0: a short history then means a loop
        that stops early once the gradient is small.
    """
    array = _numbers(function, value, f"an array of shape ({rows}, {d})")
    if array.shape == (rows, d):
        return array
    message = (
        f"{function} should return one row for w0, then one row per {per}: shape ({rows}, {d}) here, got {array.shape}"
    )
    if array.ndim == 2 and array.shape[1] == d:
        got = array.shape[0]
        if from_rest and got < rows:
            message += (
                f" from a start at the minimum, where the gradient is 0: it stops early when the gradient is small. "
                f"Run every {per} (w just stays where it is), so that row k is always the weights after k {per}s; "
                "the caller decides how long to run"
            )
        elif updates_per > 1 and got == (rows - 1) * updates_per + 1:
            message += f": a row after every update; append w once per {per}, after its last update"
        elif got == rows - 1:
            message += f": one row short (w0 first, then the weights after each {per})"
        elif got == rows + 1:
            message += f": one row too many (range({rows - 1}) {per}s, plus w0)"
    elif array.ndim == 1 and array.shape == (d,):
        message += ": only the final weights; return every row"
    raise AssertionError(message)


def as_batches(function: str, value) -> list:
    """Returned batches as the list of integer index arrays the docstring asks for, or a sentence
    saying what came back instead (the grader's check of the answer's form fails the same ones)."""
    if not isinstance(value, list):
        made = "a generator (a `yield`)" if inspect.isgenerator(value) else f"a {type(value).__name__}"
        raise AssertionError(
            f"{function} returned {made}; it should return a list of index arrays, one per batch: build the list "
            "([order[i:i + batch_size] for i in ...]), or wrap what you have in list(...)"
        )
    for batch in value:
        if not isinstance(batch, np.ndarray) or batch.dtype.kind not in "iu":
            raise AssertionError(
                f"{function}: each batch should be a numpy array of integer indices (it is used as X[batch]), "
                f"got {_kind(batch)}: slice the permutation, order[i:i + batch_size]"
            )
    return value


def _kind(value) -> str:
    """What ``value`` is, in a few words: its type, and for an array its dtype."""
    if isinstance(value, np.ndarray):
        return f"an array of {value.dtype}"
    return f"a {type(value).__name__}"


class BatchLog:
    """A ``grad_fn`` for the visible checks of the training loops: it passes each call on to
    ``grad_fn`` and records it, after saying in words what is wrong with arguments that are
    no batch (a single row, an empty batch, labels that do not match the rows), as the
    grader's own ``grad_fn`` does.

    batches : the (X_batch, y_batch, w) of every call, as float arrays, in order.
    """

    def __init__(self, function: str, grad_fn):
        self.function, self.grad_fn = function, grad_fn
        self.batches: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []

    def __call__(self, w, X_batch, y_batch):
        X_seen, y_seen = np.array(X_batch, dtype=float), np.array(y_batch, dtype=float)
        problem = _batch_problem(X_seen, y_seen)
        if problem:
            raise AssertionError(f"{self.function} called grad_fn(w, X_batch, y_batch) with {problem}")
        self.batches.append((X_seen, y_seen, np.array(w, dtype=float)))
        return self.grad_fn(w, X_batch, y_batch)


def _batch_problem(X_batch: np.ndarray, y_batch: np.ndarray) -> str:
    """What makes ``X_batch, y_batch`` no batch, in words ('' when they are one)."""
    if X_batch.ndim == 1:
        return (
            f"X_batch of shape {X_batch.shape}, a single row: X[i] is a row, not a batch. A batch of one sample i "
            "is X[i:i + 1], y[i:i + 1] (shape (1, d))"
        )
    if X_batch.ndim != 2:
        return f"X_batch of shape {X_batch.shape}: a batch is 2-D, rows of X, shape (b, d)"
    if X_batch.shape[0] == 0:
        return (
            "an empty batch (no samples): an empty batch is never a batch, every batch holds at least one sample. "
            "Check how the order is cut into batches: range(0, n, batch_size) gives the starts"
        )
    if y_batch.shape != (X_batch.shape[0],):
        return (
            f"{X_batch.shape[0]} rows in X_batch but y_batch of shape {y_batch.shape}: one label per row, taken "
            "with the same indices, X[batch] and y[batch]"
        )
    return ""


class show_if_ready(contextlib.AbstractContextManager):
    """Wrap a plot or experiment cell: until the functions it uses are written, say so
    instead of failing, so that the rest of the notebook still runs (and draw nothing:
    a figure begun before the stub raised is closed, not shown empty)."""

    def __enter__(self):
        pyplot = sys.modules.get("matplotlib.pyplot")
        self._figures_before = set(pyplot.get_fignums()) if pyplot else set()
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc_type is NotImplementedError:
            pyplot = sys.modules.get("matplotlib.pyplot")
            if pyplot is not None:
                for number in set(pyplot.get_fignums()) - self._figures_before:
                    pyplot.close(number)
            print("Implement the functions above to see this part (they still raise NotImplementedError).")
            return True
        return False


#: The functions the notebooks ask for.  A visible check that stops on a NameError for one of
#: them says which cell to run, instead of showing a traceback: e.g. an ``sgd`` written as
#: ``minibatch_gd(..., batch_size=1, ...)`` is right, but ``minibatch_gd`` is defined further down.
NOTEBOOK_FUNCTIONS = frozenset(
    {
        "mse_loss",
        "mse_gradient",
        "logistic_loss",
        "logistic_gradient",
        "numerical_gradient",
        "gradient_check",
        "gd_step",
        "gradient_descent",
        "max_stable_lr",
        "find_global_minimum",
        "minibatches",
        "full_batch_gd",
        "sgd",
        "minibatch_gd",
    }
)

#: What each function's last visible check found: the function object checked, and whether
#: it passed.  A check that fails because a function it calls is wrong says so (see below).
_verdicts: dict[str, tuple[object, bool]] = {}

#: For a shape error raised inside a student's function: what the shapes should be.
_SHAPE_HINTS = {
    "mse_gradient": "X has shape (n, d) and the residual X @ w - y shape (n,): the gradient is X.T @ residual, "
    "shape (d,) (X @ residual does not fit)",
    "logistic_gradient": "X has shape (n, d) and sigmoid(X @ w) - y shape (n,): the gradient is "
    "X.T @ (sigmoid(X @ w) - y) / n, shape (d,) (X @ (...) does not fit)",
    "mse_loss": "X @ w has shape (n,), like y; X.T @ w does not fit",
    "logistic_loss": "X @ w has shape (n,), like y; X.T @ w does not fit",
}


def _not_defined_yet(function: str, exc: BaseException) -> str | None:
    """The sentence for a check stopped by a notebook function that has not been defined yet."""
    missing = getattr(exc, "name", None)
    if not isinstance(exc, NameError) or missing not in NOTEBOOK_FUNCTIONS:
        return None
    if missing == function:
        return f"{function} is not defined yet: run the cell where you wrote it, then run this check again."
    return (
        f"{function} calls {missing}, which is defined further down: run its cell first, "
        "then come back and run this check again."
    )


def _calls(answer) -> set[str]:
    """The notebook functions that ``answer``'s code names (its inner functions' too)."""
    codes, names = [getattr(answer, "__code__", None)], set()
    while codes:
        code = codes.pop()
        if code is not None:
            names.update(code.co_names)
            codes += [c for c in code.co_consts if hasattr(c, "co_names")]
    return names & NOTEBOOK_FUNCTIONS


def _raised_in(exc: BaseException) -> str | None:
    """The name of the innermost frame of ``exc``'s traceback."""
    frames = traceback.extract_tb(exc.__traceback__)
    return frames[-1].name if frames else None


def _waiting_for(function: str, answer, namespace: dict, exc: BaseException) -> str | None:
    """The sentence for a check that fails because a notebook function it calls is not written
    yet or failed its own visible checks: the mistake is there, not in ``function``."""
    callees = _calls(answer) - {function}
    if isinstance(exc, NotImplementedError):
        raiser = _raised_in(exc)
        if raiser in callees:
            return f"It calls {raiser}, which is not written yet (it still raises NotImplementedError)."
        return None
    for callee in sorted(callees):
        checked = _verdicts.get(callee)
        if checked is not None and checked[0] is namespace.get(callee) and not checked[1]:
            return (
                f"It calls your {callee}, whose visible checks do not pass yet. Fix {callee} first (its check "
                "cell says what is wrong), then run this check again."
            )
    return None


def _unchecked_callees(function: str, answer, namespace: dict) -> list[str]:
    """The notebook functions ``answer`` calls whose visible checks have not run on them yet."""
    return [
        callee
        for callee in sorted(_calls(answer) - {function})
        if (_verdicts.get(callee) or (None,))[0] is not namespace.get(callee)
    ]


def _shape_error(function: str, answer, exc: BaseException) -> AssertionError | None:
    """A numpy shape error raised inside the student's ``function``, said in words."""
    if not isinstance(exc, ValueError) or answer is None:
        return None
    text = str(exc)
    if not any(word in text for word in ("matmul", "broadcast", "shapes", "aligned")):
        return None
    code = getattr(answer, "__code__", None)
    if not any(frame.f_code is code for frame, _ in traceback.walk_tb(exc.__traceback__)):
        return None
    hint = _SHAPE_HINTS.get(function, "print the shapes of the arrays on that line and compare them with the docstring")
    return AssertionError(f"{function} raised a shape error ({text}): {hint}")


class visible_checks(contextlib.AbstractContextManager):
    """Run the visible checks of one function: a failing ``assert`` shows its message.

    These are a few small examples.  When your notebook is graded, hidden checks test much
    more (other shapes, float32, edge cases), so passing these is a good sign, not a promise.
    """

    #: Set by the grader: then a failed visible check is reported, not raised, and the hidden
    #: checks that follow decide the score (so both ways of grading agree).
    grading = False

    def __init__(self, function: str):
        self.function = function

    def __enter__(self):
        _tipped.clear()
        self._namespace = sys._getframe(1).f_globals  # the notebook's: where the answers live
        self._quiet = contextlib.ExitStack()
        if visible_checks.grading:
            # nbgrader scores any text on stderr as 0: keep warnings from correct code off it
            self._quiet.enter_context(warnings.catch_warnings())
            warnings.simplefilter("ignore")
            self._quiet.enter_context(np.errstate(all="ignore"))
            self._quiet.enter_context(contextlib.redirect_stderr(io.StringIO()))
        return self

    def __exit__(self, exc_type, exc, tb):
        self._quiet.close()
        answer = self._namespace.get(self.function)
        _verdicts[self.function] = (answer, exc_type is None)
        if exc_type is None:
            print(f"{self.function}: the visible checks pass.")
            return False
        waiting = _not_defined_yet(self.function, exc)
        if waiting is None and isinstance(exc, Exception):
            waiting = _waiting_for(self.function, answer, self._namespace, exc)
        if waiting is not None:
            # Not a mistake in this answer: say which cell to run or fix, and let "Run All" go on.
            print(f"{self.function}: not checked yet. {waiting}")
            return True
        if visible_checks.grading and issubclass(exc_type, Exception):
            print(f"{self.function}: a visible check failed: {exc_type.__name__}: {exc}")
            return True
        in_words = _shape_error(self.function, answer, exc)
        if in_words is not None:
            raise in_words from exc
        unchecked = _unchecked_callees(self.function, answer, self._namespace)
        if unchecked and isinstance(exc, AssertionError):
            raise AssertionError(
                f"{exc} ({self.function} calls your {', '.join(unchecked)}, not checked yet: if the mistake is "
                f"there, its check cell will say so; run it, then this one again.)"
            ) from exc
        return False
