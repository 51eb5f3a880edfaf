"""Steps that are the right step times one constant: the learning rate applied twice, a gradient
divided by n or by the batch size although ``grad_fn`` already averages, or multiplied by it.

A loop that makes each update ``k`` times the expected one (``k`` fixed, not 1) has the right
form and one wrong constant; a message that names the constant says more than "each update
should be w - lr * grad" (which such a loop already computes, at the current weights).  The
factor is measured from the steps the student's loop took; the words never give a hidden size.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .framework import Mistake

#: how exactly each update must be the same multiple of the expected one (float32 loops included)
FACTOR_RTOL = 1e-5


def step_factors(taken: Sequence[np.ndarray], expected: Sequence[np.ndarray]) -> np.ndarray | None:
    """``k`` for each update whose step is ``k`` times its expected step, or None when some step
    is not a multiple of its expected one (or an expected step is zero)."""
    factors = []
    for step, want in zip(taken, expected):
        step, want = np.asarray(step, dtype=float), np.asarray(want, dtype=float)
        scale = float(want @ want)
        if step.shape != want.shape or not scale > 0 or not np.all(np.isfinite(step)):
            return None
        k = float(step @ want) / scale
        if not np.all(np.abs(step - k * want) <= FACTOR_RTOL * np.max(np.abs(k * want))):
            return None
        factors.append(k)
    return np.array(factors) if factors else None


def _all_near(values: np.ndarray, target) -> bool:
    return bool(np.all(np.abs(values - target) <= FACTOR_RTOL * np.abs(target)))


#: why a step needs no division by a count, for each loop
_ALREADY_AVERAGED = {
    "sgd": "grad_fn(w, X[i:i + 1], y[i:i + 1]) is already the gradient of that one sample",
    "full_batch_gd": "grad_fn already averages over the rows it is given",
    "minibatch_gd": "grad_fn already averages over the batch it is given",
}


def scaled_step(fn: str, factors: np.ndarray | None, lr: float, counts: Sequence[tuple[str, object]]) -> Mistake | str:
    """The words for steps ``factors`` times the expected ones, or '' when they are not one fixed
    factor.  ``counts`` names, in the docstring's words, the counts a loop may wrongly divide or
    multiply by: ("n", n), ("batch_size", each update's batch length, or one number)."""
    if factors is None or _all_near(factors, 1.0):
        return ""
    if _all_near(factors, lr):
        return Mistake(
            "lr_applied_twice",
            f"`{fn}`: the learning rate is applied twice, so each step is lr * lr * grad (far too small). "
            "Multiply the gradient by lr once: w - lr * grad.",
        )
    why = _ALREADY_AVERAGED.get(fn, "grad_fn already averages over the rows it is given")
    for name, count in counts:
        count = np.asarray(count, dtype=float)
        if np.all(count == 1):
            continue
        if _all_near(factors, 1.0 / count):
            return Mistake(
                "step_divided_by_count",
                f"`{fn}`: your steps are {name} times too small: {why}, so do not divide by {name}. "
                "Each update is w - lr * grad.",
            )
        if _all_near(factors, count):
            return Mistake(
                "step_times_count",
                f"`{fn}`: your steps are {name} times too large: {why}, so do not multiply by {name}. "
                "Each update is w - lr * grad.",
            )
    if factors[0] > 0 and _all_near(factors, factors[0]):
        return Mistake(
            "scaled_step",
            f"`{fn}`: your steps are all the same factor too {'small' if factors[0] < 1 else 'large'}: each update "
            "is exactly w - lr * grad, with nothing else scaling it.",
        )
    return ""
