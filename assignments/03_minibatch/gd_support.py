"""Helpers for the gradient-descent notebooks: landscapes to explore, data, plots, checks.

Nothing here solves an exercise.  The landscapes used for grading are different ones, kept
with the grader.
"""

from __future__ import annotations

import contextlib
import io
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
    "as_vector",
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


def two_basins(w):
    """A 2-D landscape with two valleys: the double well along a tilted line, a parabola across it.

    f(x, y) = x^4 - 3 x^2 + x + (y - x / 2)^2: a global minimum near (-1.30, -0.65) and a local
    one, point C, near (1.13, 0.57), with a ridge near x = 0.17 between them.
    """
    x, y = np.asarray(w, dtype=float)
    return float(x**4 - 3 * x**2 + x + (y - x / 2) ** 2)


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
    return float(0.5 * w @ BOWL_H @ w)


def bowl_grad(w):
    """Gradient of ``bowl``: BOWL_H @ w."""
    return BOWL_H @ np.asarray(w, dtype=float)


def rosenbrock(w):
    """The Rosenbrock banana: minimum 0 at (1, 1), at the end of a long curved valley."""
    x, y = np.asarray(w, dtype=float)
    return float((1 - x) ** 2 + 100 * (y - x**2) ** 2)


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


def plot_curve_with_path(f, path, lo=-2.2, hi=2.2, ax=None, label="path", marks=None, ylim=None):
    """Draw a 1-D loss ``f`` and the points of a descent ``path`` (shape (steps + 1, 1)) on it.

    marks : optional dict mapping a label to a point w (a float) to mark on the curve, e.g.
        ``DOUBLE_WELL_MINIMA``.  ylim : optional (bottom, top) of the loss axis.
    """
    import matplotlib.pyplot as plt

    ax = ax or plt.gca()
    grid = np.linspace(lo, hi, 400)
    ax.plot(grid, [f(np.array([g])) for g in grid], color="0.3", label="loss")
    path = np.asarray(path, dtype=float).reshape(-1)
    values = [f(np.array([p])) for p in path]
    ax.plot(path, values, "o-", ms=4, alpha=0.8, label=label)
    ax.plot(path[:1], values[:1], "ks", ms=7, label="start")
    for style, (name, where) in zip(_MARK_STYLES * 2, (marks or {}).items()):
        ax.plot([where], [f(np.array([where]))], ls="none", label=name, zorder=5, **style)
    if ylim is not None:
        ax.set_ylim(*ylim)
    ax.set_xlabel("w")
    ax.set_ylabel("loss")
    ax.legend(fontsize=8)
    return ax


def plot_contour_with_paths(f, paths, xlim=(-2, 2), ylim=(-2, 2), ax=None, levels=30, marks=None):
    """Contours of a 2-D loss ``f`` with several descent paths drawn on top.

    paths : dict mapping a label to an array of shape (steps + 1, 2)
    marks : optional dict mapping a label to a point (x, y) to mark, e.g. ``TWO_BASINS_MINIMA``
    """
    import matplotlib.pyplot as plt

    ax = ax or plt.gca()
    xs, ys = np.linspace(*xlim, 200), np.linspace(*ylim, 200)
    Z = np.array([[f(np.array([x, y])) for x in xs] for y in ys])
    ax.contour(xs, ys, Z, levels=levels, cmap="viridis", linewidths=0.7)
    for label, path in paths.items():
        path = np.asarray(path, dtype=float)
        ax.plot(path[:, 0], path[:, 1], ".-", ms=3, label=label)
        ax.plot(path[:1, 0], path[:1, 1], "ks", ms=6)
    for style, (name, (x, y)) in zip(_MARK_STYLES * 2, (marks or {}).items()):
        ax.plot([x], [y], ls="none", label=name, zorder=5, **style)
    ax.set_xlim(*xlim)
    ax.set_ylim(*ylim)
    ax.set_xlabel("w[0]")
    ax.set_ylabel("w[1]")
    ax.legend(fontsize=8)
    return ax


def plot_loss_curves(curves, ax=None, xlabel="step", log=True):
    """One line per label; curves: dict mapping a label to a sequence of losses."""
    import matplotlib.pyplot as plt

    ax = ax or plt.gca()
    for label, losses in curves.items():
        ax.plot(np.arange(len(losses)), losses, label=label)
    if log:
        ax.set_yscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel("loss")
    ax.legend()
    return ax


# ---------------------------------------------------------------------------------- checks


#: Functions already told, in the running check cell, that a list is accepted (see ``as_vector``).
_tipped: set[str] = set()


def as_vector(function: str, value) -> np.ndarray:
    """The visible checks' view of a returned gradient: any sequence of numbers, as an array.

    A list or tuple of numbers is a correct answer (the grader accepts it too), so it is
    converted, not refused; anything else fails with a sentence saying what came back.
    """
    if value is None:
        raise AssertionError(f"{function} returned None: did you forget the `return`?")
    try:
        array = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        raise AssertionError(
            f"{function} should return a numpy array of shape (d,), not a {type(value).__name__}"
        ) from None
    if not isinstance(value, np.ndarray) and function not in _tipped:
        _tipped.add(function)  # once per check cell, however many calls it converts
        print(
            f"{function}: you returned a {type(value).__name__}; it is accepted, but a numpy array is the usual answer."
        )
    return array


class show_if_ready(contextlib.AbstractContextManager):
    """Wrap a plot or experiment cell: until the functions it uses are written, say so
    instead of failing, so that the rest of the notebook still runs."""

    def __exit__(self, exc_type, exc, tb):
        if exc_type is NotImplementedError:
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


class visible_checks(contextlib.AbstractContextManager):
    """Run the visible checks of one function: a failing ``assert`` shows its message.

    These are a few small examples.  When your notebook is graded, hidden checks test much
    more (other shapes, float32, edge cases), so passing these is a good sign, not a promise.
    """

    #: Set by the grader: then a failed visible check is reported, not raised, and the
    #: hidden checks that follow decide the score (so both ways of grading agree).
    grading = False

    def __init__(self, function: str):
        self.function = function

    def __enter__(self):
        _tipped.clear()
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
        if exc_type is None:
            print(f"{self.function}: the visible checks pass.")
            return False
        waiting = _not_defined_yet(self.function, exc)
        if waiting is not None:
            # Not a mistake in the answer: say which cell to run, and let "Run All" go on to it.
            print(f"{self.function}: not checked yet. {waiting}")
            return True
        if visible_checks.grading and issubclass(exc_type, Exception):
            print(f"{self.function}: a visible check failed: {exc_type.__name__}: {exc}")
            return True
        return False
