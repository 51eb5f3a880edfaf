"""Hidden checks for 02_gradient_descent: the update, the loop, the stable step size, restarts.

The loop is checked with a spy ``grad_f`` that lives in the grading process and records
every point the student's code asks about; landscapes have known minima.
"""

from __future__ import annotations

import numpy as np

from .. import reference
from ..bounds import NotNumbers, TooLarge, count_numbers
from ..landscapes import Quadratic, random_spd, tilted_well
from .framework import (
    Fail,
    Mistake,
    Suite,
    as_array,
    as_float,
    as_history,
    call,
    call_keeping_args,
    close,
    describe,
    expect_close,
    expect_float32_consistent,
    expect_responds,
    expect_unchanged,
    last_weights,
    precision_of,
    register,
    seeded,
)
from .plotting import Plot, name_axes, not_finite, png, reference_data, subplots, with_notes, yours
from .steps import scaled_step, step_factors

suite = register(Suite("02_gradient_descent"))
check = suite.check


# ----------------------------------------------------------------------------------- gd_step


@check("gd_step", "is computed from w and grad", weight=0, gate=True)
def test_gd_step_gate(sub):
    rng = seeded("gd_step-gate")
    w, grad = rng.normal(size=3), rng.normal(size=3)
    changes = {"w": (w + 1.0, grad, 0.1), "grad": (w, grad + 1.0, 0.1)}
    expect_responds(sub, "gd_step", (w, grad, 0.1), changes)


@check("gd_step", "moves against the gradient by lr * grad", weight=3)
def test_gd_step_values(sub):
    # the last case is a long step (norm far above 1): a step clipped or normalised to a fixed
    # length shows there, and only there
    for d, lr, scale in ((3, 0.1, 1.0), (1, 0.5, 1.0), (6, 0.013, 1.0), (4, 0.8, 6.0)):
        rng = seeded("gd_step", d)
        w, grad = rng.normal(size=d), scale * rng.normal(size=d)
        got = as_array("gd_step", call(sub, "gd_step", w, grad, lr), (d,))
        expect_close(
            "gd_step",
            got,
            w - lr * grad,
            {
                Mistake(
                    "adds_gradient", "Your step moves uphill: it adds the gradient. Step against it: w - lr * grad."
                ): w + lr * grad,
                Mistake("ignores_learning_rate", "Your step ignores the learning rate: multiply the gradient by lr."): w
                - grad,
                Mistake(
                    "returns_step", "It returns only the step lr * grad; return the new weights w - lr * grad."
                ): -lr * grad,
                Mistake(
                    "returns_step", "It returns only the step lr * grad; return the new weights w - lr * grad. "
                ): lr * grad,
                Mistake("divides_by_lr", "It divides by the learning rate; multiply instead."): w - grad / lr,
                Mistake(
                    "clipped_step",
                    "Its step is shortened to length 1 when lr * grad is longer: gradient descent takes the whole step "
                    "w - lr * grad, however long (a smaller lr, not clipping, makes it shorter).",
                ): w - lr * grad / max(1.0, float(np.linalg.norm(lr * grad))),
                Mistake(
                    "normalised_step",
                    "Its step always has length lr (the gradient is normalised): the step is lr * grad, longer where the "
                    "slope is steeper.",
                ): w - lr * grad / np.linalg.norm(grad),
            },
            what="for random weights and gradients",
        )


GD_STEP_VALUES = "moves against the gradient by lr * grad"


@check("gd_step", "returns an array of shape (d,)", requires=GD_STEP_VALUES)
def test_gd_step_shape(sub):
    rng = seeded("gd_step-shape")
    as_array("gd_step", call(sub, "gd_step", rng.normal(size=3), rng.normal(size=3), 0.2), (3,), strict=True)


@check("gd_step", "returns a new array and leaves w unchanged", weight=2, requires=GD_STEP_VALUES)
def test_gd_step_pure(sub):
    rng = seeded("gd_step-pure")
    w, grad = rng.normal(size=4), rng.normal(size=4)
    after = call_keeping_args(sub, "gd_step", w, grad, 0.1)
    expect_unchanged("gd_step", (w, grad), after, ("w", "grad"))


@check("gd_step", "works with float32 weights", requires=GD_STEP_VALUES)
def test_gd_step_float32(sub):
    rng = seeded("gd_step-f32")
    w, grad = rng.normal(size=5).astype(np.float32), rng.normal(size=5).astype(np.float32)
    oracle = w.astype(float) - 0.25 * grad.astype(float)
    expect_float32_consistent(sub, "gd_step", (w, grad, 0.25), {}, oracle, (5,), rtol=1e-5, atol=1e-6)


# -------------------------------------------------------------------------- gradient_descent


class PointSpy:
    """A gradient that remembers where it was asked: the student cannot edit this record.

    It keeps one copy of each point, so it takes only what a point is (the ``d`` numbers of a ``w``
    like ``w0``, counted before anything is copied) and at most ``max_points`` of them: far more
    than any loop of ``n_steps`` steps asks for.
    """

    def __init__(self, grad, d: int, max_points: int):
        self.grad = grad
        self.d = d
        self.max_points = max_points
        self.points: list[np.ndarray] = []

    def __call__(self, w):
        try:
            size = count_numbers(w, self.d)
        except (TooLarge, NotNumbers):
            size = -1
        if size != self.d:
            raise ValueError(
                f"grad_f takes one point w, an array like w0 ({describe(w)} given): the gradient is asked "
                "at the current weights."
            )
        if len(self.points) >= self.max_points:
            raise ValueError("grad_f was called far more often than the loop has steps: once per step is enough.")
        w = np.array(w, dtype=float)
        self.points.append(w)
        return self.grad(w)


def _quadratic(d: int, tag: str) -> Quadratic:
    rng = seeded("quadratic", tag, d)
    return Quadratic(random_spd(d, rng, cond=8.0), rng.normal(size=d))


def _descend(sub, grad, w0, lr, n_steps, strict: bool = False) -> tuple[np.ndarray, PointSpy, float]:
    """The student's path (checked: shape, row 0 is w0), the spy, and the relative precision
    of the path's dtype (a float32 path is a valid answer).  ``strict``: the check about the
    answer's form, where an extra axis or a generator fails."""
    spy = PointSpy(grad, w0.size, max_points=100 * (n_steps + 1))
    raw = call(sub, "gradient_descent", spy, w0, lr, n_steps, standins=("gd_step",))
    if np.shape(raw) == (w0.size,) and n_steps > 0:
        raise Fail(
            "`gradient_descent` returns only the final weights; return the whole path, shape (n_steps + 1, d).",
            cause="returns_final_weights",
        )
    path = as_history("gradient_descent", raw, n_steps + 1, w0, count="n_steps", per="step", strict=strict)
    return path, spy, precision_of(raw)


@check("gradient_descent", "is computed from grad_f and w0", weight=0, gate=True)
def test_gradient_descent_gate(sub):
    one, other = _quadratic(2, "gate"), _quadratic(2, "gate-other")
    w0 = np.array([0.5, -1.0])
    changes = {"grad_f": (other.grad, w0, 0.1, 4), "w0": (one.grad, w0 + 1.0, 0.1, 4)}
    expect_responds(sub, "gradient_descent", (one.grad, w0, 0.1, 4), changes, standins=("gd_step",))


@check("gradient_descent", "returns the path: w0, then one row per step", weight=2)
def test_gradient_descent_shape(sub):
    w0 = np.array([1.0, -2.0, 0.5])
    q = _quadratic(3, "shape")
    path, _, _ = _descend(sub, q.grad, w0, 0.05, 7, strict=True)
    if np.all(path == path[0]):
        # a path that never leaves w0 has the right shape and is no answer: it earns nothing here
        raise Fail(
            "`gradient_descent` returns a path that never leaves w0: every row k should hold the weights after k steps.",
            cause="never_moves",
        )
    _descend(sub, q.grad, w0, 0.05, 0)
    # started at the minimum the path still has n_steps + 1 rows: a loop that stops early shows here
    _descend(sub, q.grad, q.c, 0.05, 5, strict=True)


GD_SHAPE = "returns the path: w0, then one row per step"
GD_STEPS = "each step uses the gradient at the current weights"


def _asked_at(spy: PointSpy, path: np.ndarray, rtol: float, atol: float) -> list[np.ndarray]:
    """Where the gradient was asked, a point asked again at once counted once (a stopping test that
    evaluates the gradient a second time is the count check's business), and without a last, unused
    call at the final point (harmless)."""
    points: list[np.ndarray] = []
    for p in spy.points:
        if not points or not np.array_equal(p, points[-1]):
            points.append(p)
    if len(points) == len(path) and close(points[-1], path[-1], rtol=rtol, atol=atol):
        points.pop()
    return points


def _step_runs(sub):
    """The runs both step checks judge: (landscape, w0, lr, n_steps, path, spy, precision)."""
    for d, lr, n_steps in ((2, 0.1, 12), (4, 0.03, 25)):
        q = _quadratic(d, "steps")
        w0 = seeded("w0", d).normal(size=d)
        yield (q, w0, lr, n_steps, *_descend(sub, q.grad, w0, lr, n_steps))


#: the learning rate twice (gd_step(w, lr * grad, lr)): said first, as the cause, whichever gd_step ran
LR_TWICE = Mistake(
    "lr_applied_twice",
    "`gradient_descent`: the learning rate is applied twice, so each step is lr * lr * grad (far too small). "
    "gd_step(w, grad, lr) already multiplies by lr: pass it the gradient itself, gd_step(w, grad_f(w), lr).",
)


@check("gradient_descent", GD_STEPS, weight=2, requires=GD_SHAPE)
def test_gradient_descent_steps(sub):
    for q, w0, lr, n_steps, path, spy, precision in _step_runs(sub):
        rtol, atol = max(precision, 1e-12), max(precision, 1e-14)
        points = _asked_at(spy, path, rtol, atol)
        if n_steps > 1 and spy.points and all(np.array_equal(p, w0) for p in spy.points):
            raise Fail(
                "`gradient_descent` always evaluates the gradient at w0; evaluate it at the current weights.",
                cause="gradient_at_w0",
            )
        if n_steps > 1 and np.all(path[1:] == path[-1]):
            raise Fail(
                "`gradient_descent`: all rows of the path after w0 are the same array. You probably appended the "
                "same array object and then changed it in place; append a copy (or build a new array each step).",
                cause="aliased_history",
            )
        if len(points) != n_steps or any(not close(p, path[k], rtol=rtol, atol=atol) for k, p in enumerate(points)):
            raise Fail(
                "`gradient_descent`: row k of the path must be the weights at which step k+1 evaluates the gradient.",
                cause="rows_not_steps",
            )
        expected_steps = lr * np.array([q.grad(p) for p in path[:-1]])
        scaled = scaled_step("gradient_descent", step_factors(path[:-1] - path[1:], expected_steps), lr, ())
        if getattr(scaled, "cause", "") == LR_TWICE.cause:
            raise Fail(LR_TWICE, cause=LR_TWICE.cause)
        expect_close(
            "gradient_descent",
            path[1:],
            path[:-1] - expected_steps,
            what="along the path (each row should be gd_step of the previous one)",
            rtol=max(precision, 1e-10),
            atol=max(precision, 1e-12),
        )


@check(
    "gradient_descent",
    "asks for the gradient once per step",
    requires=GD_SHAPE,
)
def test_gradient_descent_one_call_per_step(sub):
    for _, _, _, n_steps, path, spy, precision in _step_runs(sub):
        calls = len(spy.points)
        if calls == n_steps + 1 and close(spy.points[-1], path[-1], rtol=max(precision, 1e-12), atol=1e-14):
            calls -= 1  # one last, unused gradient at the final point is harmless
        if calls == n_steps:
            continue
        if calls > n_steps and len(_asked_at(spy, path, max(precision, 1e-12), 1e-14)) == n_steps:
            raise Fail(
                "`gradient_descent` asks for the gradient more than once at the same weights. The notebook asks for "
                "one call of grad_f per step (a gradient can be costly): compute g = grad_f(w) once per step and "
                "reuse g, also for a stopping test or for printing its norm.",
                cause="extra_gradient_calls",
            )
        raise Fail(
            f"`gradient_descent` should ask for the gradient once per step ({'more' if calls > n_steps else 'fewer'} "
            "calls of grad_f than steps were made).",
            cause="wrong_gradient_count",
        )


@check(
    "gradient_descent",
    "converges to the minimum of a convex quadratic",
    weight=2,
    requires=GD_STEPS,
)
def test_gradient_descent_converges(sub):
    # where the run ends is judged, whatever the path's length (that is the first check's business)
    q = _quadratic(3, "converge")
    lr = 0.9 * reference.max_stable_lr(q.H) / 2
    w0 = np.zeros(3) + 3.0
    raw = call(sub, "gradient_descent", q.grad, w0, lr, 300, standins=("gd_step",))
    if not close(last_weights("gradient_descent", raw, w0), q.c, rtol=1e-6, atol=1e-6):
        raise Fail("`gradient_descent` does not reach the minimum of a convex bowl with a safe learning rate.", "echo")


@check(
    "gradient_descent",
    "does not modify w0",
    requires=GD_STEPS,
)
def test_gradient_descent_pure(sub):
    q = _quadratic(2, "pure")
    w0 = np.array([1.5, -0.5])
    after = call_keeping_args(sub, "gradient_descent", q.grad, w0, 0.1, 5, standins=("gd_step",))
    expect_unchanged("gradient_descent", (None, w0), after, ("grad_f", "w0"))


# ----------------------------------------------------------------------------- max_stable_lr


def structured_spd(kind: str, d: int = 4) -> np.ndarray:
    """Matrices on which estimates that are right for random matrices go wrong.

    ``ones``: the leading eigenvector is the ones vector.  ``orthogonal-to-ones``: the ones
    vector is an eigenvector of the second eigenvalue (3% below the largest), so power
    iteration started from ones stays there until rounding errors grow by (1/0.97)^k, about
    1200 steps; from a random start, 250 steps give the largest eigenvalue to 1e-6.  ``basis``: diagonal, the
    largest entry neither first nor last, so ``np.linalg.eigvals(H)[0]`` is not the largest.
    """
    rng = seeded("structured-spd", kind, d)
    eig = np.geomspace(1.0, 9.0, d) * rng.uniform(0.5, 2.0)
    if kind == "basis":
        diagonal = eig.copy()
        diagonal[[1, -1]] = diagonal[[-1, 1]]  # the largest in second place, the smallest first
        return np.diag(diagonal)
    ones = np.ones(d) / np.sqrt(d)
    if kind == "ones":
        first = [ones]
    else:
        u = np.zeros(d)
        u[0], u[1] = 1 / np.sqrt(2), -1 / np.sqrt(2)
        first = [u, ones]
        eig[-2] = 0.97 * eig[-1]
    basis = np.column_stack([*first, rng.normal(size=(d, d - len(first)))])
    q, _ = np.linalg.qr(basis)  # columns: the given vectors (up to sign), then a random rest
    ordered = eig[::-1]  # largest eigenvalue on the first column
    return (q * ordered) @ q.T


STRUCTURED = ("ones", "orthogonal-to-ones", "basis")


@check("max_stable_lr", "is computed from H", weight=0, gate=True)
def test_max_stable_lr_gate(sub):
    H = random_spd(3, seeded("spd-gate"), cond=12.0)
    expect_responds(sub, "max_stable_lr", (H,), {"H": (H * 3.0 + np.eye(3),)})


@check("max_stable_lr", "is 2 / (largest eigenvalue) for symmetric positive definite matrices", weight=3)
def test_max_stable_lr_values(sub):
    # the largest first, the 1x1 last: on a 1x1 matrix every formula built from eigenvalues, the
    # diagonal or norms agrees, and on a 2x2 one 2 / trace is 2 / (smallest + largest eigenvalue),
    # so a mistake is first seen (and named) where the formulas differ
    for d in (5, 2, 1):
        H = random_spd(d, seeded("spd", d), cond=12.0)
        eig = np.linalg.eigvalsh(H)
        got = as_float("max_stable_lr", call(sub, "max_stable_lr", H))
        expect_close(
            "max_stable_lr",
            got,
            2.0 / eig[-1],
            {
                Mistake(
                    "one_over_lambda",
                    "Your value equals 1 / largest eigenvalue; the threshold is 2 / largest eigenvalue.",
                ): 1.0 / eig[-1],
                Mistake(
                    "smallest_eigenvalue",
                    "Your value equals 2 / smallest eigenvalue; the largest eigenvalue (steepest direction) limits the step.",
                ): 2.0 / eig[0],
                Mistake(
                    "diagonal_not_eigenvalue",
                    "Your value equals 2 / largest diagonal entry of H; for a rotated bowl the diagonal is not the eigenvalues (use np.linalg.eigvalsh).",
                ): 2.0 / np.max(np.diag(H)),
                Mistake(
                    "trace_not_eigenvalue",
                    "Your value equals 2 / trace (the sum of the eigenvalues); use the largest eigenvalue.",
                ): 2.0 / np.trace(H),
                Mistake(
                    "frobenius_norm",
                    "Your value equals 2 / Frobenius norm of H; use the largest eigenvalue (or the 2-norm, np.linalg.norm(H, 2)).",
                ): 2.0 / np.linalg.norm(H),
                Mistake(
                    "best_fixed_rate",
                    "Your value equals 2 / (smallest + largest eigenvalue): that is the best fixed learning rate (the "
                    "fastest and the slowest direction shrink alike), not the largest stable one, which is 2 / largest "
                    "eigenvalue.",
                ): 2.0 / (eig[0] + eig[-1]),
            },
            what="for a random rotated bowl",
            rtol=1e-6,
        )


LR_VALUES = "is 2 / (largest eigenvalue) for symmetric positive definite matrices"


@check("max_stable_lr", "returns one number", requires=LR_VALUES)
def test_max_stable_lr_scalar(sub):
    as_float("max_stable_lr", call(sub, "max_stable_lr", random_spd(3, seeded("spd-scalar"))), strict=True)


@check(
    "max_stable_lr",
    "is exact for structured matrices too (eigenvector the ones vector, or a basis vector)",
    weight=2,
    requires=LR_VALUES,
)
def test_max_stable_lr_structured(sub):
    for kind in STRUCTURED:
        H = structured_spd(kind)
        eig = np.linalg.eigvalsh(H)
        got = as_float("max_stable_lr", call(sub, "max_stable_lr", H))
        if close(got, 2.0 / eig[-1], rtol=1e-6):
            continue
        side = "above" if got > 2.0 / eig[-1] else "below"
        # first what was observed: a known formula is named as such (it is the value check's
        # finding); the start-vector hint only fits an estimate that is right on random matrices
        known = {
            Mistake(
                "one_over_lambda",
                "its value is 1 / largest eigenvalue, half the limit; the threshold is 2 / largest eigenvalue.",
            ): 1.0 / eig[-1],
            Mistake(
                "smallest_eigenvalue",
                "its value is 2 / smallest eigenvalue; it uses the smallest eigenvalue, but the largest (the "
                "steepest direction) limits the step.",
            ): 2.0 / eig[0],
        }
        for words, value in known.items():
            if close(got, value, rtol=1e-6):
                raise Fail(
                    f"`max_stable_lr` returns a value {side} 2/λmax on a structured matrix: {words}",
                    "echo",
                    words.cause,
                )
        random_H = random_spd(3, seeded("spd-structured-control"), cond=12.0)
        right_on_random = close(
            as_float("max_stable_lr", call(sub, "max_stable_lr", random_H)),
            2.0 / np.linalg.eigvalsh(random_H)[-1],
            rtol=1e-6,
        )
        hint = (
            "It is right on random matrices, so it seems to be an estimate that depends on its start vector "
            "(power iteration from the ones vector) or on the order of np.linalg.eigvals: use "
            "np.linalg.eigvalsh(H).max() (or np.linalg.norm(H, 2))."
            if right_on_random
            else "The threshold is 2 / largest eigenvalue: np.linalg.eigvalsh(H).max() gives that eigenvalue."
        )
        raise Fail(
            f"`max_stable_lr` returns a value {side} 2/λmax on a structured matrix (a diagonal matrix, or one "
            f"whose eigenvectors include the ones vector). {hint}",
            "echo",
            cause="depends_on_start_vector" if right_on_random else "",
        )


@check("max_stable_lr", "descent converges just below it and diverges just above it", requires=LR_VALUES)
def test_max_stable_lr_meaning(sub):
    q = _quadratic(4, "meaning")
    lr_max = as_float("max_stable_lr", call(sub, "max_stable_lr", q.H))
    start = q.c + 1.0
    below = reference.gradient_descent(q.grad, start, 0.95 * lr_max, 400)[-1]
    above = reference.gradient_descent(q.grad, start, 1.05 * lr_max, 400)[-1]
    converges = np.linalg.norm(below - q.c) < 1e-3
    diverges = np.linalg.norm(above - q.c) > 1.0
    if converges and diverges:
        return
    if not lr_max > 0:
        raise Fail(
            "`max_stable_lr` returned a learning rate that is not positive; it should be 2 / largest eigenvalue.",
            "echo",
            cause="not_positive",
        )
    if lr_max > reference.max_stable_lr(q.H):
        raise Fail(
            "`max_stable_lr` returns a value above 2/λmax: gradient descent with a learning rate just below your "
            "value still diverges, so it is not safe. The threshold is 2 / largest eigenvalue.",
            "echo",
            cause="above_limit",
        )
    raise Fail(
        "`max_stable_lr` returns a value below 2/λmax: gradient descent with a learning rate just above your value "
        "still converges, so it is not the threshold (it is too cautious). The threshold is 2 / largest eigenvalue.",
        "echo",
        cause="below_limit",
    )


@check(
    "max_stable_lr",
    "does not modify H",
    requires=LR_VALUES,
)
def test_max_stable_lr_pure(sub):
    H = random_spd(3, seeded("spd-pure"))
    after = call_keeping_args(sub, "max_stable_lr", H)
    expect_unchanged("max_stable_lr", (H,), after, ("H",))


# ------------------------------------------------------------------------ find_global_minimum


def _well_case(d: int, tag: str, global_first: bool):
    well = tilted_well(d, seeded("well", tag, d), tilt=0.5)
    glob, loc = well.minima()
    u = well.direction
    rng = seeded("starts", tag, d)
    near_local = [loc + 0.3 * rng.normal(size=d) * 0.3 + 0.2 * u for _ in range(2)]
    near_global = [glob + 0.3 * rng.normal(size=d) * 0.3 - 0.2 * u]
    starts = np.array(near_global + near_local if global_first else near_local + near_global)
    return well, starts, glob


def _low_start_in_local_basin(d: int):
    """Starts whose lowest-loss start lies in the local basin: one start close to the local
    minimum, one far out on the global side (high loss, but it rolls into the global well)."""
    well = tilted_well(d, seeded("well", "low-start", d), tilt=0.5)
    glob, loc = well.minima()
    u = well.direction
    rng = seeded("starts", "low-start", d)
    far_global = glob - 0.55 * u + 0.05 * rng.normal(size=d)
    near_local = loc + 0.05 * rng.normal(size=d)
    return well, np.array([far_global, near_local]), glob


@check(
    "find_global_minimum",
    "is computed from f, grad_f and starts",
    weight=0,
    gate=True,
)
def test_find_global_minimum_gate(sub):
    well, starts, _ = _well_case(2, "gate", True)
    other = tilted_well(2, seeded("well", "gate-other", 2), tilt=0.5)
    changes = {
        "the landscape (f and grad_f)": (other.f, other.grad, starts, 0.05, 40),
        "starts": (well.f, well.grad, starts + 0.3, 0.05, 40),
    }
    args = (well.f, well.grad, starts, 0.05, 40)
    expect_responds(sub, "find_global_minimum", args, changes, standins=("gradient_descent",))


@check(
    "find_global_minimum",
    "finds the global minimum of a landscape with a local one",
    weight=4,
)
def test_find_global_minimum(sub):
    cases = [_well_case(d, "global", global_first) for d, global_first in ((1, False), (2, True), (3, False))]
    for case, (well, starts, glob) in enumerate([*cases, _low_start_in_local_basin(2)]):
        lr, n_steps = 0.05, 300
        got = as_array(
            "find_global_minimum",
            call(sub, "find_global_minimum", well.f, well.grad, starts, lr, n_steps, standins=("gradient_descent",)),
            (glob.size,),
        )
        ends = [reference.gradient_descent(well.grad, s, lr, n_steps)[-1] for s in starts]
        local_end = max(ends, key=well.f)
        if close(got, glob, rtol=1e-4, atol=1e-4):
            continue
        hints = {}
        if case == len(cases):  # the earlier landscapes passed: only the lowest-loss start misleads here
            hints[
                Mistake(
                    "best_start_not_best_end",
                    "It returned the end of the run from the start with the lowest loss, which lies in a local "
                    "minimum's basin: a low start is not a low end. Run from every start and compare f at the end points.",
                )
            ] = local_end
        hints |= {
            Mistake(
                "local_minimum",
                "It returned an end point in the local minimum: compare f at the end of each run and keep the lowest.",
            ): local_end,
            Mistake("returns_start", "It returned a starting point; return where gradient descent ended."): starts[
                int(np.argmin([well.f(s) for s in starts]))
            ],
            Mistake("first_start_only", "It returned the result of the first start only; try every start."): ends[0],
            Mistake(
                "last_start_only", "It returned the result of the last start only; keep the best of all starts."
            ): ends[-1],
        }
        expect_close(
            "find_global_minimum",
            got,
            glob,
            hints,
            what="on a landscape with a local and a global minimum",
            rtol=1e-4,
            atol=1e-4,
        )


GLOBAL_VALUES = "finds the global minimum of a landscape with a local one"


@check(
    "find_global_minimum",
    "returns the end point, shape (d,), not the loss or the path",
    requires=GLOBAL_VALUES,
)
def test_find_global_minimum_shape(sub):
    well, starts, _ = _well_case(2, "shape", True)
    raw = call(sub, "find_global_minimum", well.f, well.grad, starts, 0.05, 50, standins=("gradient_descent",))
    if np.ndim(raw) == 0:
        raise Fail(
            "`find_global_minimum` returned a single number; return the weights (shape (d,)) where the loss is lowest.",
            "echo",
            cause="one_number",
        )
    as_array("find_global_minimum", raw, (2,), strict=True)


@check("find_global_minimum", "does not modify starts", requires=GLOBAL_VALUES)
def test_find_global_minimum_pure(sub):
    well, starts, _ = _well_case(2, "pure", False)
    after = call_keeping_args(
        sub, "find_global_minimum", well.f, well.grad, starts, 0.05, 30, standins=("gradient_descent",)
    )
    expect_unchanged("find_global_minimum", (None, None, starts), after, ("f", "grad_f", "starts"))


# ---------------------------------------------------------------------------------------
# Hints
# ---------------------------------------------------------------------------------------

#: why a function meant to return one number may have returned many (``as_float``)
suite.one_number_hints["max_stable_lr"] = "Use only the largest eigenvalue: 2 / (largest eigenvalue)."


# ---------------------------------------------------------------------------------------
# The feedback report's plots of the student's code (``plotting.py`` says what a plot is)
# ---------------------------------------------------------------------------------------


def _bowl():
    H = random_spd(2, seeded("feedback-descent"), cond=6.0)
    return Quadratic(H, np.zeros(2)), np.array([1.6, -1.2]), reference.max_stable_lr(H)


#: the path's shape in the docstring's words: a caption never gives the sizes of our inputs
PATH_SHAPE = "(n_steps + 1, d)"


@reference_data
def _path_reference():
    """The bowl, where both start, the step, our path and the bowl's contours (for every student)."""
    bowl, start, lr_max = _bowl()
    lr = 0.45 * lr_max
    xs = np.linspace(-2, 2, 120)
    Z = np.array([[bowl.f(np.array([a, b])) for a in xs] for b in xs])
    return bowl, start, lr, reference.gradient_descent(bowl.grad, start, lr, 15), xs, Z


@suite.plot
def path_plot(sub) -> Plot:
    bowl, start, lr, ref, xs, Z = _path_reference()
    path, why = yours(
        "gradient_descent",
        lambda: as_array(
            "gradient_descent", call(sub, "gradient_descent", bowl.grad, start, lr, 15), (16, 2), PATH_SHAPE
        ),
    )
    fig, ax = subplots(figsize=(5, 4.2))
    ax.contour(xs, xs, Z, levels=20, cmap="viridis", linewidths=0.7)
    ax.plot(ref[:, 0], ref[:, 1], "o-", color="#999999", ms=3, label="reference")
    notes = [why]
    if path is not None:
        ax.plot(path[:, 0], path[:, 1], ".-", color="#C44E52", label="yours")
        notes.append(_path_note(path, start))
    ax.plot(*start, "ks")
    ax.set_xlim(-2, 2)
    ax.set_ylim(-2, 2)
    ax.legend(fontsize=8)
    caption = (
        "Both start at the black square with the same learning rate; a correct implementation follows the "
        "grey path to the centre."
    )
    return Plot("path", "Your descent path on a bowl", with_notes(caption, notes), png(fig))


def _path_note(path: np.ndarray, start: np.ndarray) -> str:
    """A sentence when the student's path cannot look like a path."""
    if not np.all(np.isfinite(path)):
        return "Your path contains inf or nan, so only part of it is drawn."
    if np.all(path == path[0]):
        if np.allclose(path[0], start):
            return (
                "Your path is a single dot at the start: your weights never move. Check that each step's "
                "result is kept and used for the next step (w = gd_step(w, grad_f(w), lr))."
            )
        return (
            "Your path is a single dot: every row of it is the point where your last step ended, so all rows "
            "are one array, appended and then changed in place (`w -= lr * grad`). Append a copy (`w.copy()`), "
            "or build a new array each step (`w = w - lr * grad`)."
        )
    if np.all(path[1:] == path[-1]):
        return (
            "Your path jumps from the start to one point and stays there: every row after the first is the same "
            "array, changed in place. Store a new array each step (gd_step should return w - lr * grad)."
        )
    if np.max(np.abs(path)) > 2:
        return "Your path leaves the picture (it moves away from the centre)."
    return ""


#: the learning rates of the loss plot, as factors of 2/λmax, and their colours
LR_FACTORS = ((0.1, "#4C72B0"), (0.9, "#55A868"), (1.05, "#C44E52"))


@reference_data
def _learning_rate_reference():
    """The bowl, the start, 2/λmax and our loss curve at each learning rate (for every student)."""
    bowl, start, lr_max = _bowl()
    curves = [
        [bowl.f(p) + 1e-16 for p in reference.gradient_descent(bowl.grad, start, factor * lr_max, 30)]
        for factor, _ in LR_FACTORS
    ]
    return bowl, start, lr_max, curves


@suite.plot
def learning_rate_plot(sub) -> Plot:
    bowl, start, lr_max, curves = _learning_rate_reference()
    fig, ax = subplots(figsize=(6, 3.5))
    notes = []
    for (factor, color), theirs in zip(LR_FACTORS, curves):
        label = "reference (thick, pale)" if factor == 0.1 else None
        ax.semilogy(theirs, color=color, alpha=0.35, lw=4, label=label)
        mine, why = yours(
            "gradient_descent",
            lambda f=factor: as_array(
                "gradient_descent",
                call(sub, "gradient_descent", bowl.grad, start, f * lr_max, 30),
                (31, 2),
                PATH_SHAPE,
            ),
        )
        notes.append(why)
        if mine is None:
            continue
        losses = np.array([bowl.f(p) if np.all(np.isfinite(p)) else np.inf for p in mine])
        notes.append(not_finite("gradient_descent", losses))
        if np.all(mine == mine[0]):
            notes.append(
                "Your curves are flat: every row of your path is the same point (see the path plot for why), "
                "so the loss never changes."
            )
        ax.semilogy(losses + 1e-16, color=color, label=f"lr = {factor:g} x 2/λmax")
    name_axes(ax, "step", "loss")
    caption = "Thin lines: yours; thick pale lines: the reference. Below 2/λmax the loss falls; above it, it grows."
    return Plot("loss", "Loss per step, three learning rates", with_notes(caption, notes), png(fig))
