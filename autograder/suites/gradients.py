"""Hidden checks for 01_gradients: losses, their gradients, numerical gradients, gradient checking.

Oracles are independent of the reference solution: norms for the MSE, ``logaddexp`` for
the logistic loss, closed forms for the gradients.
"""

from __future__ import annotations

import numpy as np

from .. import reference
from ..landscapes import _check_w, classification, regression
from .framework import (
    Fail,
    Mistake,
    Suite,
    as_array,
    as_float,
    call,
    call_keeping_args,
    close,
    diagnose,
    expect_close,
    expect_float32_consistent,
    expect_responds,
    expect_unchanged,
    register,
    seeded,
)
from .plotting import Plot, not_finite, png, reference_data, subplots, with_notes, yours

suite = register(Suite("01_gradients"))
check = suite.check

SHAPES = [(7, 3), (40, 5), (1, 1), (25, 1)]


def _mse_data(n: int, d: int, tag: str):
    rng = seeded("mse", tag, n, d)
    X, y = regression(n, d, rng)
    return rng.normal(size=d), X, y


def _mse_oracle(w, X, y) -> float:
    return float(np.linalg.norm(X @ w - y) ** 2 / X.shape[0])


def _mse_grad_oracle(w, X, y) -> np.ndarray:
    return 2.0 * (X.T @ X @ w - X.T @ y) / X.shape[0]


def _each_changed(tag: str, w, X, y, labels: bool = False) -> dict[str, tuple]:
    """(w, X, y) with one of them changed, for a gate: new weights, new features, new targets
    (for labels in {0, 1}: the other label)."""
    rng = seeded("changed", tag)
    new_y = 1.0 - y if labels else y + rng.normal(size=y.shape)
    return {
        "w": (w + rng.normal(size=w.shape), X, y),
        "X": (w, X + rng.normal(size=X.shape), y),
        "y": (w, X, new_y),
    }


# ---------------------------------------------------------------------------------- mse_loss


@check("mse_loss", "is computed from w, X and y", weight=0, gate=True)
def test_mse_loss_gate(sub):
    w, X, y = _mse_data(6, 3, "gate")
    expect_responds(sub, "mse_loss", (w, X, y), _each_changed("mse_loss", w, X, y))


@check("mse_loss", "matches the mean squared error on random data of several shapes", weight=3)
def test_mse_loss_values(sub):
    for n, d in SHAPES:
        w, X, y = _mse_data(n, d, "values")
        got = as_float("mse_loss", call(sub, "mse_loss", w, X, y))
        r = X @ w - y
        expect_close(
            "mse_loss",
            got,
            _mse_oracle(w, X, y),
            {
                Mistake(
                    "sum_not_mean",
                    "It looks like the sum of squared errors: divide by the number of samples (take the mean).",
                ): np.sum(r**2),
                Mistake("half_mse", "It looks like half the mean squared error; this course's MSE has no 1/2."): 0.5
                * np.mean(r**2),
                Mistake("rmse", "It looks like the square root of the MSE (RMSE); do not take the root."): np.sqrt(
                    np.mean(r**2)
                ),
                Mistake(
                    "square_of_mean", "It looks like you squared the mean error; square each error first, then average."
                ): np.mean(r) ** 2,
                Mistake(
                    "mean_absolute_error", "It looks like you averaged absolute errors; the errors must be squared."
                ): np.mean(np.abs(r)),
                Mistake(
                    "divides_by_d",
                    "It looks like you divided by the number of features instead of the number of samples.",
                ): np.sum(r**2) / d,
                Mistake(
                    "np_var",
                    "It looks like np.var of the errors: the variance subtracts the mean error first, the MSE does not "
                    "(use np.mean((X @ w - y) ** 2)).",
                ): np.var(r),
            },
            what="on random data",
            sizes={"n": n, "d": d},
        )


MSE_VALUES = "matches the mean squared error on random data of several shapes"


@check("mse_loss", "returns one number, the loss over all samples", requires=MSE_VALUES)
def test_mse_loss_scalar(sub):
    w, X, y = _mse_data(9, 3, "scalar")
    as_float("mse_loss", call(sub, "mse_loss", w, X, y), strict=True)


@check("mse_loss", "works with float32 inputs", requires=MSE_VALUES)
def test_mse_loss_float32(sub):
    w, X, y = (a.astype(np.float32) for a in _mse_data(30, 4, "f32"))
    oracle = _mse_oracle(*(a.astype(float) for a in (w, X, y)))
    expect_float32_consistent(sub, "mse_loss", (w, X, y), {}, oracle, (), rtol=1e-4, atol=1e-7)


@check("mse_loss", "does not modify its inputs", requires=MSE_VALUES)
def test_mse_loss_pure(sub):
    w, X, y = _mse_data(12, 3, "pure")
    after = call_keeping_args(sub, "mse_loss", w, X, y)
    expect_unchanged("mse_loss", (w, X, y), after, ("w", "X", "y"))


# ------------------------------------------------------------------------------ mse_gradient


@check("mse_gradient", "is computed from w, X and y", weight=0, gate=True)
def test_mse_gradient_gate(sub):
    w, X, y = _mse_data(6, 3, "gate")
    expect_responds(sub, "mse_gradient", (w, X, y), _each_changed("mse_gradient", w, X, y))


@check("mse_gradient", "matches the analytic gradient on random data", weight=3)
def test_mse_gradient_values(sub):
    for n, d in SHAPES:
        w, X, y = _mse_data(n, d, "grad")
        got = as_array("mse_gradient", call(sub, "mse_gradient", w, X, y), (d,))
        g = _mse_grad_oracle(w, X, y)
        expect_close(
            "mse_gradient",
            got,
            g,
            {
                Mistake(
                    "opposite_sign",
                    "It points the opposite way: check the sign of the residual (X @ w - y, not y - X @ w).",
                ): -g,
                Mistake(
                    "factor_half", "It is half the gradient: the derivative of r**2 is 2*r, so a factor 2 is missing."
                ): g / 2,
                Mistake(
                    "factor_n", "It is n times too large: average over samples (divide by n) instead of summing."
                ): g * n,
                Mistake("factor_2", "It is twice too large: the factor is 2/n, not 4/n."): 2 * g,
                Mistake(
                    "factor_n_over_2", "It is off by a factor of n/2: the gradient is (2/n) * X.T @ (X @ w - y)."
                ): g * n / 2,
            },
            what="on random data",
            sizes={"n": n, "d": d},
        )


MSE_GRAD_VALUES = "matches the analytic gradient on random data"


@check("mse_gradient", "returns an array of shape (d,)", requires=MSE_GRAD_VALUES)
def test_mse_gradient_shape(sub):
    for n, d in [(8, 3), (5, 1)]:
        w, X, y = _mse_data(n, d, "shape")
        as_array("mse_gradient", call(sub, "mse_gradient", w, X, y), (d,), strict=True)


@check("mse_gradient", "is the slope of mse_loss: a small step against it lowers the loss", requires=MSE_GRAD_VALUES)
def test_mse_gradient_descends(sub):
    w, X, y = _mse_data(20, 4, "descends")
    got = as_array("mse_gradient", call(sub, "mse_gradient", w, X, y), (4,))
    if not np.any(got):
        raise Fail(
            "`mse_gradient` returns only zeros: a step against it does not move, so it says nothing about the slope.",
            "echo",
            cause="returns_zeros",
        )
    step = 1e-3 * got
    if not _mse_oracle(w - step, X, y) < _mse_oracle(w, X, y):
        raise Fail(
            "`mse_gradient` points downhill: stepping against it makes the loss larger. "
            "The gradient must point towards increasing loss; check its sign.",
            "echo",
            cause="opposite_sign",
        )


@check("mse_gradient", "works with float32 inputs", requires=MSE_GRAD_VALUES)
def test_mse_gradient_float32(sub):
    w, X, y = (a.astype(np.float32) for a in _mse_data(30, 4, "f32"))
    oracle = _mse_grad_oracle(*(a.astype(float) for a in (w, X, y)))
    expect_float32_consistent(sub, "mse_gradient", (w, X, y), {}, oracle, (4,), rtol=1e-3, atol=1e-4)


@check("mse_gradient", "does not modify its inputs", requires=MSE_GRAD_VALUES)
def test_mse_gradient_pure(sub):
    w, X, y = _mse_data(12, 3, "pure")
    after = call_keeping_args(sub, "mse_gradient", w, X, y)
    expect_unchanged("mse_gradient", (w, X, y), after, ("w", "X", "y"))


# ----------------------------------------------------------------------------- logistic loss


def _logistic_data(n: int, d: int, tag: str, scale: float = 1.0):
    rng = seeded("logistic", tag, n, d)
    X, y = classification(n, d, rng, scale=scale)
    return rng.normal(size=d), X, y


def _logistic_oracle(w, X, y, l2=0.0) -> float:
    z = X @ w
    # -[y log s(z) + (1-y) log(1-s(z))] = log(1 + e^z) - y z
    return float(np.mean(np.logaddexp(0.0, z) - y * z) + 0.5 * l2 * np.dot(w, w))


def _logistic_grad_oracle(w, X, y, l2=0.0) -> np.ndarray:
    z = X @ w
    p = np.exp(-np.logaddexp(0.0, -z))  # sigmoid, computed without overflow
    return X.T @ (p - y) / X.shape[0] + l2 * w


def _logistic_loss_mistakes(w, X, y, l2):
    z = X @ w
    # exact for every z (also where abs(z) is huge): -log p = log(1 + e^-z), -log(1 - p) = log(1 + e^z)
    minus_log_p, minus_log_1mp = np.logaddexp(0.0, -z), np.logaddexp(0.0, z)
    ce = y * minus_log_p + (1 - y) * minus_log_1mp
    ww = np.dot(w, w)
    return {
        Mistake(
            "l2_not_halved",
            "The regularisation term looks wrong: it is l2/2 * w @ w (no other factor, not on the mean).",
        ): np.mean(ce) + l2 * ww,
        Mistake("l2_missing", "The regularisation term l2/2 * w @ w seems to be missing."): np.mean(ce),
        Mistake(
            "l2_wrong_sign",
            "The regularisation term has the wrong sign: the penalty l2/2 * w @ w is added to the loss.",
        ): np.mean(ce) - 0.5 * l2 * ww,
        Mistake("sum_not_mean", "It looks like a sum over samples; take the mean."): np.sum(ce) + 0.5 * l2 * ww,
        Mistake(
            "labels_swapped",
            "It looks like the loss with the labels swapped: it should be -[y log p + (1 - y) log(1 - p)].",
        ): np.mean((1 - y) * minus_log_p + y * minus_log_1mp) + 0.5 * l2 * ww,
        Mistake("missing_minus", "Cross-entropy is -[y log p + (1-y) log(1-p)]: check the minus sign."): -np.mean(ce)
        + 0.5 * l2 * ww,
        Mistake(
            "pm1_labels",
            "It looks like the formula for labels in {-1, +1}, log(1 + exp(-y z)); here the labels are 0 and 1: use "
            "log(1 + exp(z)) - y z (np.logaddexp(0, z) - y * z), or turn the labels into 2y - 1 first.",
        ): np.mean(np.logaddexp(0.0, -y * z)) + 0.5 * l2 * ww,
    }


@check("logistic_loss", "is computed from w, X and y", weight=0, gate=True)
def test_logistic_loss_gate(sub):
    w, X, y = _logistic_data(8, 3, "gate")
    expect_responds(sub, "logistic_loss", (w, X, y), _each_changed("logistic_loss", w, X, y, labels=True))


@check("logistic_loss", "matches the mean cross-entropy on random data", weight=3)
def test_logistic_loss_values(sub):
    for n, d in SHAPES:
        w, X, y = _logistic_data(n, d, "values")
        got = as_float("logistic_loss", call(sub, "logistic_loss", w, X, y))
        expect_close(
            "logistic_loss",
            got,
            _logistic_oracle(w, X, y),
            _logistic_loss_mistakes(w, X, y, 0.0),
            what="without regularisation",
            sizes={"n": n, "d": d},
        )


def expect_penalty(fn: str, penalty, oracle, mistakes: dict, what: str) -> None:
    """The L2 part alone (the answer with l2 minus the answer with l2 = 0), so this check fails
    for a penalty mistake and only for one; a mistake in the rest is the value check's."""
    try:
        expect_close(fn, penalty, oracle, mistakes, what=what, rtol=1e-6, atol=1e-9)
    except Fail as fail:
        raise Fail(str(fail), "failed", fail.cause) from None  # its own mistake, whatever the value check says


@check("logistic_loss", "adds the L2 penalty l2/2 * w @ w", weight=2)
def test_logistic_loss_l2(sub):
    for l2 in (0.1, 2.5):
        w, X, y = _logistic_data(30, 4, f"l2-{l2}")
        with_l2 = as_float("logistic_loss", call(sub, "logistic_loss", w, X, y, l2=l2))
        if close(with_l2, _logistic_oracle(w, X, y, l2)):
            continue
        without = as_float("logistic_loss", call(sub, "logistic_loss", w, X, y, l2=0.0))
        ww = float(w @ w)
        expect_penalty(
            "logistic_loss",
            with_l2 - without,
            0.5 * l2 * ww,
            {
                Mistake("l2_not_halved", "The penalty is l2 * w @ w: it should be l2/2 * w @ w."): l2 * ww,
                Mistake("l2_missing", "The regularisation term l2/2 * w @ w seems to be missing."): 0.0,
                Mistake("l2_wrong_sign", "The penalty has the wrong sign: l2/2 * w @ w is added to the loss."): -0.5
                * l2
                * ww,
                Mistake(
                    "l1_penalty",
                    "The penalty looks like l2/2 * sum(abs(w)) (L1); this course's penalty is l2/2 * w @ w.",
                ): 0.5 * l2 * float(np.sum(np.abs(w))),
            },
            what="for the penalty (your loss with l2 > 0 minus your loss with l2 = 0)",
        )


LOGISTIC_VALUES = "matches the mean cross-entropy on random data"


@check("logistic_loss", "returns one number", requires=LOGISTIC_VALUES)
def test_logistic_loss_scalar(sub):
    w, X, y = _logistic_data(9, 3, "scalar")
    as_float("logistic_loss", call(sub, "logistic_loss", w, X, y), strict=True)


@check("logistic_loss", "stays finite and exact when abs(X @ w) is huge", weight=2, requires=LOGISTIC_VALUES)
def test_logistic_loss_stable(sub):
    # Its value is checked here too: a loss made finite by clipping is wrong where it matters
    # (a confident wrong prediction costs about abs(X @ w), not -log(1e-12)).  A formula whose
    # mistake the value check names is judged by its own value: its stability is right.
    w, X, y = _logistic_data(20, 3, "stable", scale=300.0)
    got = as_float("logistic_loss", call(sub, "logistic_loss", w, X, y))
    if not np.isfinite(got):
        raise Fail(
            "`logistic_loss` returns inf or nan when abs(X @ w) is large: np.exp overflows, or log(0) appears "
            "when the sigmoid rounds to exactly 0 or 1. Compute the loss without forming sigmoid(z) at all: "
            "np.logaddexp(0, z) - y * z is exact for every z (clipping is not: it makes the loss finite but wrong).",
            cause="overflow",
        )
    if got < 0:
        raise Fail(
            "`logistic_loss` is negative for large abs(X @ w); cross-entropy is never negative.", cause="negative_loss"
        )
    if close(got, _logistic_oracle(w, X, y), rtol=1e-6, atol=1e-9) or diagnose(
        got, _logistic_loss_mistakes(w, X, y, 0.0)
    ):
        return
    w1, X1, y1 = _logistic_data(20, 3, "stable-control")
    if not close(as_float("logistic_loss", call(sub, "logistic_loss", w1, X1, y1)), _logistic_oracle(w1, X1, y1)):
        raise Fail(
            "`logistic_loss` gives the wrong value when abs(X @ w) is huge, as it does for small values.", "echo"
        )
    raise Fail(
        "`logistic_loss` is finite but wrong when abs(X @ w) is huge (right for small values): clipping the "
        "probabilities or X @ w caps what a confident wrong prediction costs. Compute the loss without forming "
        "sigmoid(z): np.logaddexp(0, z) - y * z is exact for every z.",
        cause="clipped_loss",
    )


@check("logistic_loss", "works with float32 inputs", requires=LOGISTIC_VALUES)
def test_logistic_loss_float32(sub):
    # l2 = 0: a mistake in the penalty is charged by the l2 check, not here again
    w, X, y = (a.astype(np.float32) for a in _logistic_data(30, 4, "f32"))
    oracle = _logistic_oracle(*(a.astype(float) for a in (w, X, y)))
    expect_float32_consistent(sub, "logistic_loss", (w, X, y), {}, oracle, (), rtol=1e-4, atol=1e-7)


@check("logistic_loss", "does not modify its inputs", requires=LOGISTIC_VALUES)
def test_logistic_loss_pure(sub):
    w, X, y = _logistic_data(12, 3, "pure")
    after = call_keeping_args(sub, "logistic_loss", w, X, y, l2=0.3)
    expect_unchanged("logistic_loss", (w, X, y), after, ("w", "X", "y"))


# ------------------------------------------------------------------------- logistic gradient


@check("logistic_gradient", "is computed from w, X and y", weight=0, gate=True)
def test_logistic_gradient_gate(sub):
    w, X, y = _logistic_data(8, 3, "gate")
    expect_responds(sub, "logistic_gradient", (w, X, y), _each_changed("logistic_gradient", w, X, y, labels=True))


def _logistic_grad_mistakes(w, X, y, l2):
    n = X.shape[0]
    p = np.exp(-np.logaddexp(0.0, -(X @ w)))
    g0 = X.T @ (p - y) / n
    return {
        Mistake(
            "pm1_labels",
            "It looks like the gradient for labels in {-1, +1}, -X.T @ (y * sigmoid(-y z)) / n; here the labels are 0 "
            "and 1: use X.T @ (sigmoid(X @ w) - y) / n.",
        ): X.T @ (y * (p - 1)) / n + l2 * w,
        Mistake(
            "opposite_sign",
            "It points the opposite way: the gradient is X.T @ (sigmoid(X @ w) - y) / n, prediction minus label.",
        ): -g0 + l2 * w,
        Mistake("factor_n", "It is n times too large: divide by the number of samples."): X.T @ (p - y) + l2 * w,
        Mistake("l2_missing", "The L2 part of the gradient seems to be missing: add l2 * w."): g0,
        Mistake("l2_halved", "The L2 part of the gradient should be l2 * w (the derivative of l2/2 * w @ w)."): g0
        + 0.5 * l2 * w,
        Mistake(
            "missing_sigmoid",
            "It looks like the linear-regression gradient X.T @ (X @ w - y) / n: the sigmoid is missing. The "
            "prediction is sigmoid(X @ w), so use X.T @ (sigmoid(X @ w) - y) / n.",
        ): X.T @ (X @ w - y) / n + l2 * w,
        Mistake("sigmoid_of_minus_z", "It uses sigmoid(-X @ w): the prediction is sigmoid(X @ w)."): X.T
        @ (1 - p - y)
        / n
        + l2 * w,
    }


@check("logistic_gradient", "matches the analytic gradient on random data", weight=3)
def test_logistic_gradient_values(sub):
    for n, d in SHAPES:
        w, X, y = _logistic_data(n, d, "values")
        got = as_array("logistic_gradient", call(sub, "logistic_gradient", w, X, y), (d,))
        expect_close(
            "logistic_gradient",
            got,
            _logistic_grad_oracle(w, X, y),
            _logistic_grad_mistakes(w, X, y, 0.0),
            what="without regularisation",
            sizes={"n": n, "d": d},
        )


LOGISTIC_GRAD_VALUES = "matches the analytic gradient on random data"


@check("logistic_gradient", "returns an array of shape (d,)", requires=LOGISTIC_GRAD_VALUES)
def test_logistic_gradient_shape(sub):
    w, X, y = _logistic_data(9, 4, "shape")
    as_array("logistic_gradient", call(sub, "logistic_gradient", w, X, y), (4,), strict=True)


@check("logistic_gradient", "adds l2 * w for the L2 penalty", weight=2)
def test_logistic_gradient_l2(sub):
    for l2 in (0.1, 2.5):
        w, X, y = _logistic_data(30, 4, f"l2-{l2}")
        with_l2 = as_array("logistic_gradient", call(sub, "logistic_gradient", w, X, y, l2=l2), (4,))
        if close(with_l2, _logistic_grad_oracle(w, X, y, l2)):
            continue
        without = as_array("logistic_gradient", call(sub, "logistic_gradient", w, X, y, l2=0.0), (4,))
        expect_penalty(
            "logistic_gradient",
            with_l2 - without,
            l2 * w,
            {
                Mistake("l2_missing", "The L2 part of the gradient seems to be missing: add l2 * w."): np.zeros_like(w),
                Mistake(
                    "l2_halved", "The L2 part of the gradient should be l2 * w (the derivative of l2/2 * w @ w)."
                ): 0.5 * l2 * w,
                Mistake("l2_wrong_sign", "The L2 part has the wrong sign: add + l2 * w."): -l2 * w,
                Mistake("l2_divided_by_n", "The L2 part of the gradient is l2 * w, not divided by n."): l2
                * w
                / X.shape[0],
            },
            what="for the L2 part (your gradient with l2 > 0 minus your gradient with l2 = 0)",
        )


@check(
    "logistic_gradient",
    "is accurate for confident predictions (sigmoid near 0 or 1)",
    requires=LOGISTIC_GRAD_VALUES,
)
def test_logistic_gradient_confident(sub):
    # Here every way of writing the sigmoid stays finite, and a gradient that is wrong where
    # the sigmoid saturates shows.  l2 = 0: a penalty mistake is the l2 check's, not this one's.
    w, X, y = _logistic_data(20, 3, "confident", scale=12.0)
    got = as_array("logistic_gradient", call(sub, "logistic_gradient", w, X, y), (3,))
    expect_close(
        "logistic_gradient",
        got,
        _logistic_grad_oracle(w, X, y),
        _logistic_grad_mistakes(w, X, y, 0.0),
        what="when the predictions are confident (sigmoid near 0 or 1)",
    )


@check("logistic_gradient", "stays finite and right when abs(X @ w) is huge", requires=LOGISTIC_GRAD_VALUES)
def test_logistic_gradient_huge(sub):
    # The gradient is used on the same data as the loss, so it must survive the same overflow:
    # exp(z) / (1 + exp(z)) is inf / inf = nan at z = 1000.  Rows with both signs of X @ w.
    w, X, y = _logistic_data(12, 3, "huge")
    # move each row along w until X @ w is exactly +-1000 (signs from the data), leaving the
    # rest of the row as it was, so no entry of X is larger than needed
    sign = np.where(X @ w >= 0, 1.0, -1.0)
    X = X + np.outer(1000.0 * sign - X @ w, w) / (w @ w)
    got = as_array("logistic_gradient", call(sub, "logistic_gradient", w, X, y), (3,))
    if not np.all(np.isfinite(got)):
        raise Fail(
            "`logistic_gradient` returns inf or nan when abs(X @ w) is very large (the loss there is fine). "
            "np.exp(z) overflows to inf, and exp(z) / (1 + exp(z)) becomes inf / inf = nan. Write the sigmoid as "
            "1 / (1 + np.exp(-z)) (it rounds to 0 or 1, which is right), or use scipy.special.expit.",
            cause="overflow",
        )
    expect_close(
        "logistic_gradient",
        got,
        _logistic_grad_oracle(w, X, y),
        _logistic_grad_mistakes(w, X, y, 0.0),
        what="when abs(X @ w) is very large (the sigmoid is exactly 0 or 1 there)",
        rtol=1e-6,
        atol=1e-8,
    )


@check("logistic_gradient", "works with float32 inputs", requires=LOGISTIC_GRAD_VALUES)
def test_logistic_gradient_float32(sub):
    w, X, y = (a.astype(np.float32) for a in _logistic_data(30, 4, "f32"))
    oracle = _logistic_grad_oracle(*(a.astype(float) for a in (w, X, y)))
    expect_float32_consistent(sub, "logistic_gradient", (w, X, y), {}, oracle, (4,), rtol=1e-3, atol=1e-5)


@check("logistic_gradient", "does not modify its inputs", requires=LOGISTIC_GRAD_VALUES)
def test_logistic_gradient_pure(sub):
    w, X, y = _logistic_data(12, 3, "pure")
    after = call_keeping_args(sub, "logistic_gradient", w, X, y, l2=0.3)
    expect_unchanged("logistic_gradient", (w, X, y), after, ("w", "X", "y"))


# ------------------------------------------------------------------------ numerical gradient


class _Smooth:
    """f(w) = sum(sin(a * w)) + 0.5 * w @ A @ w + (b @ w)^3: curved in every direction."""

    def __init__(self, d: int, tag: str):
        rng = seeded("smooth", tag, d)
        self.a = rng.uniform(0.5, 2.0, size=d)
        M = rng.normal(size=(d, d))
        self.A = M @ M.T
        self.b = rng.normal(size=d) / np.sqrt(d)
        self.d = d

    def f(self, w) -> float:
        w = _check_w(w, self.d)
        return float(np.sum(np.sin(self.a * w)) + 0.5 * w @ self.A @ w + (self.b @ w) ** 3)

    def grad(self, w) -> np.ndarray:
        w = np.asarray(w, dtype=float)
        return self.a * np.cos(self.a * w) + self.A @ w + 3 * (self.b @ w) ** 2 * self.b


def _cubic(w) -> float:
    w = np.asarray(w, dtype=float)
    return float(np.sum(w**3))


@check("numerical_gradient", "is computed from f and w", weight=0, gate=True)
def test_numerical_gradient_gate(sub):
    one, other = _Smooth(3, "gate"), _Smooth(3, "gate-other")
    w = seeded("ng-gate").normal(size=3)
    changes = {"f": (other.f, w), "w": (one.f, w + 0.5)}
    expect_responds(sub, "numerical_gradient", (one.f, w), changes)


@check("numerical_gradient", "approximates the true gradient of smooth functions", weight=3)
def test_numerical_gradient_values(sub):
    for d in (1, 4, 7):
        fun = _Smooth(d, "values")
        w = seeded("ng-w", d).normal(size=d)
        got = as_array("numerical_gradient", call(sub, "numerical_gradient", fun.f, w), (d,))
        g = fun.grad(w)
        expect_close(
            "numerical_gradient",
            got,
            g,
            {
                Mistake(
                    "divides_by_eps",
                    "It is twice too large: divide by 2 * eps, the distance between w - eps and w + eps.",
                ): 2 * g,
                Mistake("divides_by_4_eps", "It is half the gradient: divide by 2 * eps, not 4 * eps."): g / 2,
                Mistake(
                    "opposite_sign", "It has the opposite sign: (f(w + eps) - f(w - eps)) / (2 eps), plus side first."
                ): -g,
                Mistake(
                    "moves_all_coordinates",
                    "Every entry is the same sum: it seems to move every coordinate at once; perturb one coordinate "
                    "at a time (w + eps * e_j, where e_j is the j-th unit vector).",
                ): np.full(d, g.sum()),
            },
            what="for a smooth function",
            rtol=1e-5,
            atol=1e-6,
        )


NUMGRAD_VALUES = "approximates the true gradient of smooth functions"


@check("numerical_gradient", "returns an array of shape (d,)", requires=NUMGRAD_VALUES)
def test_numerical_gradient_shape(sub):
    fun = _Smooth(3, "shape")
    as_array(
        "numerical_gradient", call(sub, "numerical_gradient", fun.f, np.array([0.1, -0.4, 0.8])), (3,), strict=True
    )


@check("numerical_gradient", "uses central differences with the given eps", weight=2, requires=NUMGRAD_VALUES)
def test_numerical_gradient_eps(sub):
    # For f = sum(w^3): (f(w + e) - f(w - e)) / 2e = 3 w^2 + e^2 exactly, so eps is visible.
    w = seeded("ng-eps").normal(size=4)
    for eps in (0.1, 0.05):
        got = as_array("numerical_gradient", call(sub, "numerical_gradient", _cubic, w, eps=eps), (4,))
        central = 3 * w**2 + eps**2
        expect_close(
            "numerical_gradient",
            got,
            central,
            {
                Mistake(
                    "forward_difference",
                    "It looks like a forward difference (f(w + eps) - f(w)) / eps; use the central difference (f(w + eps) - f(w - eps)) / (2 eps).",
                ): 3 * w**2 + 3 * w * eps + eps**2,
                Mistake(
                    "backward_difference",
                    "It looks like a backward difference; use the central difference (f(w + eps) - f(w - eps)) / (2 eps).",
                ): 3 * w**2 - 3 * w * eps + eps**2,
                Mistake(
                    "divides_by_eps",
                    "It is twice too large: divide by 2 * eps, the distance between w - eps and w + eps.",
                ): 2 * central,
                Mistake("ignores_eps", "It ignores the eps argument: use the eps it is given, not a fixed step."): 3
                * w**2
                + 1e-12,
                Mistake(
                    "moves_all_coordinates",
                    "It seems to move every coordinate at once; perturb one coordinate at a time (w + eps * e_j, where e_j is the j-th unit vector).",
                ): np.full_like(w, np.sum(central)),
            },
            what="with a large eps (it should use the eps it is given, and central differences)",
            rtol=1e-6,
            atol=1e-8,
        )


@check("numerical_gradient", "does not modify w", requires=NUMGRAD_VALUES)
def test_numerical_gradient_pure(sub):
    fun = _Smooth(3, "pure")
    w = np.array([0.3, -1.2, 2.0])
    after = call_keeping_args(sub, "numerical_gradient", fun.f, w)
    # perturbing w in place and putting it back may leave the last bit changed: allow that much
    expect_unchanged("numerical_gradient", (None, w), after, ("f", "w"), rtol=1e-12)


# ---------------------------------------------------------------------------- gradient check


def _rel_error(a, b) -> float:
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    return float(np.max(np.abs(a - b) / np.maximum(np.abs(a) + np.abs(b), 1e-12)))


@check("gradient_check", "is computed from f, grad_f and w", weight=0, gate=True)
def test_gradient_check_gate(sub):
    fun = _Smooth(3, "gc-gate")
    w = seeded("gc-gate-w").normal(size=3)

    def off(v):  # a wrong gradient: for a right one the error may be about 0 everywhere
        return fun.grad(v) + np.array([0.0, 0.4, 0.0])

    def doubled(v):
        return 2 * fun.grad(v)

    changes = {"grad_f": (fun.f, doubled, w), "w": (fun.f, off, w + 0.5)}
    expect_responds(sub, "gradient_check", (fun.f, off, w), changes, standins=("numerical_gradient",))


@check(
    "gradient_check",
    "measures the relative error of a wrong gradient exactly",
    weight=3,
)
def test_gradient_check_wrong(sub):
    fun = _Smooth(4, "gc-wrong")
    w = seeded("gc-wrong-w").normal(size=4)
    wrong_grads = {
        "doubled": lambda v: 2 * fun.grad(v),
        "flipped": lambda v: -fun.grad(v),
        # one bad coordinate: max over coordinates differs from a norm-based or mean error
        "one coordinate": lambda v: fun.grad(v) + np.array([0.0, 0.0, 0.7, 0.0]),
        # a worst coordinate where a - b < 0: catches a missing abs() in the numerator
        "one coordinate too small": lambda v: fun.grad(v) - np.array([0.0, 1.3, 0.0, 0.0]),
    }
    for bad in wrong_grads.values():
        got = as_float("gradient_check", call(sub, "gradient_check", fun.f, bad, w, standins=("numerical_gradient",)))
        a, b = bad(w), fun.grad(w)
        # without abs(), the coordinate where grad_f is too small counts as negative and drops out
        # of the max; our numerical_gradient is the one it sees, so that value is exactly predictable
        numeric = reference.numerical_gradient(fun.f, w)
        signed = float(np.max((a - numeric) / np.maximum(np.abs(a) + np.abs(numeric), 1e-12)))
        no_abs = close(got, signed, rtol=1e-5, atol=1e-9) and not close(signed, _rel_error(a, b), 1e-5, 1e-9)
        if got < 0 or no_abs:  # an error is never negative, whatever the formula
            raise Fail(
                "`gradient_check` gives too small an error for a wrong gradient: the error of a coordinate where "
                "grad_f is too small comes out negative, so the max misses it. Take abs(a - b) in the numerator.",
                "echo",
                cause="missing_abs",
            )
        # the hidden case is not named: "which coordinate is off" is the test's secret
        expect_close(
            "gradient_check",
            got,
            _rel_error(a, b),
            _gradcheck_mistakes(a, b),
            what="for a gradient that is wrong",
            rtol=1e-5,
            atol=1e-9,
        )


def _gradcheck_mistakes(a, b) -> dict:
    """Wrong formulas for the relative error of ``a`` against ``b``, with the hint for each."""
    return {
        Mistake("mean_not_max", "It looks like the mean over coordinates; the check reports the maximum."): np.mean(
            np.abs(a - b) / np.maximum(np.abs(a) + np.abs(b), 1e-12)
        ),
        Mistake(
            "norm_based_error",
            "It looks like a norm-based error; this check is per coordinate: max of abs(a - b) / max(abs(a) + abs(b), 1e-12).",
        ): np.linalg.norm(a - b) / (np.linalg.norm(a) + np.linalg.norm(b)),
        Mistake(
            "max_in_denominator",
            "The denominator should be abs(a) + abs(b) (floored at 1e-12), not the larger of the two.",
        ): np.max(np.abs(a - b) / np.maximum(np.maximum(np.abs(a), np.abs(b)), 1e-12)),
        Mistake(
            "absolute_error", "It looks like the absolute error; divide by abs(a) + abs(b) to make it relative."
        ): np.max(np.abs(a - b)),
        Mistake(
            "missing_abs",
            "The error of a coordinate where grad_f is too small comes out negative (or too small): take "
            "abs(a - b) in the numerator.",
        ): np.max((a - b) / np.maximum(np.abs(a) + np.abs(b), 1e-12)),
    }


GRADCHECK_VALUES = "measures the relative error of a wrong gradient exactly"


@check("gradient_check", "returns one number", requires=GRADCHECK_VALUES)
def test_gradient_check_scalar(sub):
    fun = _Smooth(3, "gc-scalar")
    w = seeded("gc-scalar-w").normal(size=3)
    raw = call(sub, "gradient_check", fun.f, lambda v: 2 * fun.grad(v), w, standins=("numerical_gradient",))
    as_float("gradient_check", raw, strict=True)


@check(
    "gradient_check",
    "is tiny for a correct gradient",
    weight=2,
    requires=GRADCHECK_VALUES,
)
def test_gradient_check_correct(sub):
    for d in (2, 5):
        fun = _Smooth(d, "gc-correct")
        w = seeded("gc-w", d).normal(size=d)
        got = as_float(
            "gradient_check", call(sub, "gradient_check", fun.f, fun.grad, w, standins=("numerical_gradient",))
        )
        if -1e-6 < got < 0:
            raise Fail(
                "`gradient_check` returns a negative error for a correct gradient: take abs(a - b) in the numerator.",
                "echo",
                cause="missing_abs",
            )
        if not 0 <= got < 1e-6:
            raise Fail(
                "`gradient_check` reports a large error for a correct gradient. It should be the maximum over "
                "coordinates of abs(a - b) / max(abs(a) + abs(b), 1e-12), with a = grad_f(w) and "
                "b = numerical_gradient(f, w, eps)."
            )


@check(
    "gradient_check",
    "is 0, not nan, where both gradients are exactly 0",
    requires=GRADCHECK_VALUES,
)
def test_gradient_check_zero(sub):
    def f(w):
        w = np.asarray(w, dtype=float)
        return float(w @ w)

    def grad(w):
        return 2 * np.asarray(w, dtype=float)

    w = np.array([0.0, 1.5, 0.0])
    got = as_float("gradient_check", call(sub, "gradient_check", f, grad, w, standins=("numerical_gradient",)))
    if not np.isfinite(got):
        raise Fail(
            "`gradient_check` returns nan when both gradients are 0 in some coordinate: 0 / 0. "
            "Floor the denominator: max(abs(a) + abs(b), 1e-12).",
            cause="zero_over_zero",
        )
    if not got < 1e-6:
        raise Fail(
            "`gradient_check` reports a large error for a correct gradient with zero coordinates.",
            cause="zero_coordinates",
        )


@check("gradient_check", "passes its eps on to the numerical gradient")
def test_gradient_check_eps(sub):
    def grad(w):
        return 3 * np.asarray(w, dtype=float) ** 2

    # Only eps is judged here, whatever formula the answer uses (the formula is the check
    # above's business): for f = sum(w^3) the central difference is off by exactly eps^2, so a
    # gradient_check that passes eps on reports a clearly larger error for eps = 0.2 than for
    # the default eps, and one that drops eps reports the same tiny error for both.
    # Compared as sizes (abs): here the numerical gradient is above grad_f in every coordinate, so
    # an error without abs() comes out negative; that mistake is the value check's, not this one's.
    w = np.array([0.5, -1.0, 2.0])
    large = abs(
        as_float(
            "gradient_check", call(sub, "gradient_check", _cubic, grad, w, eps=0.2, standins=("numerical_gradient",))
        )
    )
    default = abs(
        as_float("gradient_check", call(sub, "gradient_check", _cubic, grad, w, standins=("numerical_gradient",)))
    )
    if not np.isfinite(large):
        raise Fail(
            "`gradient_check` returns inf or nan when given a large eps, for a correct gradient.", cause="not_finite"
        )
    if close(large, default, rtol=1e-3, atol=1e-9):
        raise Fail(
            "`gradient_check` reports the same error whatever eps it is given: it does not pass eps on. "
            "Call numerical_gradient(f, w, eps), not numerical_gradient(f, w).",
            cause="eps_not_passed_on",
        )
    # the error this eps causes is 0.026 with the course's formula; any measure of it is well above 1e-3
    if not large > 1e-3:
        raise Fail(
            "`gradient_check` reports almost no error when given a large eps, where the numerical gradient "
            "is visibly off: check that it compares grad_f(w) with numerical_gradient(f, w, eps).",
            cause="ignores_numerical_gradient",
        )


# ---------------------------------------------------------------------------------------
# Hints
# ---------------------------------------------------------------------------------------

#: why a function meant to return one number may have returned many (``as_float``)
suite.one_number_hints.update(
    {
        "mse_loss": "Did you forget to average over the samples?",
        "logistic_loss": "Did you forget to average over the samples?",
        "gradient_check": "Report the maximum over coordinates, one number.",
    }
)


# ---------------------------------------------------------------------------------------
# The feedback report's plots of the student's code (``plotting.py`` says what a plot is)
# ---------------------------------------------------------------------------------------


@reference_data
def _gradients_problem():
    """The plot's problem and the correct gradients on it (the same for every student)."""
    rng = seeded("feedback-gradients")
    X, y = regression(40, 4, rng)
    w = rng.normal(size=4)
    labels = (y > np.median(y)).astype(float)
    return X, y, w, labels, reference.mse_gradient(w, X, y), reference.logistic_gradient(w, X, labels, 0.0)


@suite.plot
def gradients_plot(sub) -> Plot:
    X, y, w, labels, mse_want, logistic_want = _gradients_problem()
    rows = [
        (
            "mse_gradient",
            lambda: as_array("mse_gradient", call(sub, "mse_gradient", w, X, y), (4,)),
            mse_want,
        ),
        (
            "logistic_gradient",
            # l2 = 0: with a penalty, a flipped data term does not mirror every bar
            lambda: as_array("logistic_gradient", call(sub, "logistic_gradient", w, X, labels, l2=0.0), (4,)),
            logistic_want,
        ),
    ]
    fig, axes = subplots(1, 2, figsize=(9, 3.2))
    notes = []
    for ax, (name, thunk, want) in zip(axes, rows):
        got, why = yours(name, thunk)
        idx = np.arange(4)
        ax.bar(idx - 0.2, want, width=0.4, label="correct", color="#999999")
        if got is not None:
            ax.bar(
                idx + 0.2,
                np.nan_to_num(got, nan=0.0, posinf=0.0, neginf=0.0),
                width=0.4,
                label="yours",
                color="#4C72B0",
            )
            notes.append(not_finite(name, got))
        notes.append(why)
        ax.axhline(0, color="black", lw=0.5)
        ax.set_xticks(idx, [f"w[{i}]" for i in idx])
        ax.set_title(name)
        ax.legend(fontsize=8)
    caption = (
        "Each bar is one partial derivative at the same weights. Bars of the opposite sign mean your "
        "gradient points the wrong way; bars of another height, a missing factor."
    )
    return Plot("gradients", "Your gradients next to the correct ones", with_notes(caption, notes), png(fig))
