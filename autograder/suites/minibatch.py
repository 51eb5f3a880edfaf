"""Hidden checks for 03_minibatch: batching, and the full-batch, stochastic and mini-batch loops.

The loops are checked with an instrumented oracle: ``BatchSpy`` is the ``grad_fn`` we
hand to the student's loop.  It lives in the grading process (the student's code reaches
it only through the sandbox's callback), identifies every batch it is given by its rows,
and records the weights of every call, so each rule of the algorithm can be checked
exactly: updates per epoch, batches that partition the data, a fresh order each epoch,
rows and labels that belong together, steps of ``lr * grad`` from the current weights,
and a history of copies taken after each epoch.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .. import reference
from ..bounds import NotNumbers, TooLarge, count_numbers
from ..landscapes import classification, regression
from .framework import (
    Fail,
    Iterated,
    Rng,
    Suite,
    as_array,
    as_history,
    call,
    call_keeping_args,
    close,
    container_words,
    expect_responds,
    expect_unchanged,
    last_weights,
    precision_of,
    register,
    same_rows,
    seeded,
)
from .plotting import Plot, name_axes, not_finite, png, reference_data, subplots, with_notes, yours
from .steps import scaled_step, step_factors

suite = register(Suite("03_minibatch"))
check = suite.check


def lsq_gradient(w, X, y) -> np.ndarray:
    """Mean gradient of the squared error over a batch."""
    return 2.0 / X.shape[0] * X.T @ (X @ w - y)


def lsq_loss(w, X, y) -> float:
    return float(np.mean((X @ w - y) ** 2))


@dataclass
class SpyCall:
    w: np.ndarray
    rows: np.ndarray  # indices into X; -1 for a row that is not in X
    labels_match: bool
    grad: np.ndarray
    precision: float = 0.0  # of the w the loop passed: a float32 loop is judged at float32 precision


class BatchSpy:
    """A ``grad_fn(w, X_batch, y_batch)`` that records which samples each call used.

    Bounded whatever the loop sends: the arguments are counted before anything is copied (a batch
    holds at most the rows of ``X``, a ``w`` the ``d`` numbers of ``w0``), rows are found all at
    once (``rows_of``), and it answers at most ``max_calls`` calls, far more than any loop needs.
    """

    def __init__(self, X: np.ndarray, y: np.ndarray, max_calls: int):
        self.X, self.y = X, y
        self.max_calls = max_calls
        self.calls: list[SpyCall] = []

    def __call__(self, w, X_batch, y_batch):
        n, d = self.X.shape
        problem = oversized_batch(w, X_batch, y_batch, n, d)
        if problem:
            raise ValueError(problem)
        if len(self.calls) >= self.max_calls:
            raise ValueError(
                "grad_fn was called far more often than the loop has updates: once per batch and update is enough."
            )
        precision = precision_of(w)
        w = np.array(w, dtype=float)
        X_batch = np.asarray(X_batch, dtype=float)
        y_batch = np.asarray(y_batch, dtype=float)
        problem = batch_problem(w, X_batch, y_batch, d)
        if problem:
            raise ValueError(problem)
        rows = rows_of(X_batch, self.X)
        labels_match = bool(np.all(rows >= 0)) and bool(np.allclose(y_batch, self.y[rows], rtol=1e-6, atol=1e-9))
        grad = lsq_gradient(w, X_batch, y_batch)
        self.calls.append(SpyCall(w, rows, labels_match, grad, precision))
        return grad


def oversized_batch(w, X_batch, y_batch, n: int, d: int) -> str:
    """Words for arguments of ``grad_fn`` larger than a batch of a data set of ``n`` rows of ``d``
    numbers can be ('' when they are not), found by counting, before anything is copied."""
    for value, most in ((w, d), (X_batch, n * d), (y_batch, n)):
        try:
            count_numbers(value, most)
        except TooLarge:
            return (
                "grad_fn was given more numbers than the whole data set holds: a batch is some rows of X and their "
                "labels (X[batch], y[batch]), and w an array like w0."
            )
        except NotNumbers as exc:
            return f"grad_fn takes NumPy arrays (w, X_batch, y_batch); it was given {exc}."
    return ""


def rows_of(batch: np.ndarray, X: np.ndarray, chunk: int = 1 << 16) -> np.ndarray:
    """The index in ``X`` of each row of ``batch`` (-1 for a row that is not one of X's), found
    vectorised: equal bytes first (a sort of X's rows), then the nearest row within 1e-6 (float32
    copies of a row still count), ``chunk`` numbers of distances at a time."""
    X = np.ascontiguousarray(X, dtype=float)
    batch = np.ascontiguousarray(batch, dtype=float)
    row = np.dtype((np.void, X.dtype.itemsize * X.shape[1]))
    keys, asked = X.view(row).ravel(), batch.view(row).ravel()
    order = np.argsort(keys)
    at = np.minimum(np.searchsorted(keys, asked, sorter=order), len(keys) - 1)
    found = np.where(keys[order[at]] == asked, order[at], -1)
    missing = np.flatnonzero(found < 0)
    step = max(1, chunk // max(1, X.size))
    for start in range(0, len(missing), step):
        which = missing[start : start + step]
        distance = np.abs(batch[which, None, :] - X[None, :, :]).max(axis=2)
        nearest = distance.argmin(axis=1)
        near = distance[np.arange(len(which)), nearest] <= 1e-6 * (1 + np.abs(batch[which]).max(axis=1))
        found[which] = np.where(near, nearest, -1)
    return found


def batch_problem(w: np.ndarray, X_batch: np.ndarray, y_batch: np.ndarray, d: int) -> str:
    """What is wrong with the arguments a student's loop gave our ``grad_fn``, in words the student
    reads as the reason their call failed ('' when they are fine): never the hidden sizes."""
    if X_batch.ndim == 1:
        return (
            "grad_fn(w, X_batch, y_batch) takes a batch: X_batch 2-D, one row per sample. It was given a single "
            "row. A batch of one sample i is X[i:i + 1], y[i:i + 1] (X[i] is a row, not a batch)."
        )
    if X_batch.ndim != 2 or X_batch.shape[1] != d or w.shape != (d,):
        return "grad_fn was given a w or an X_batch of the wrong shape: w is a (d,) array like w0, X_batch rows of X."
    if X_batch.shape[0] == 0:
        return (
            "grad_fn was given an empty batch (no samples). Every batch must hold at least one sample: check "
            "how the order is cut into batches (range(0, n, batch_size))."
        )
    if y_batch.shape != (X_batch.shape[0],):
        return (
            "grad_fn was given a y_batch without exactly one label per row of X_batch: take both with the same "
            "indices, X[batch] and y[batch]."
        )
    return ""


@dataclass
class Problem:
    X: np.ndarray
    y: np.ndarray
    w0: np.ndarray
    lr: float

    @property
    def n(self) -> int:
        return self.X.shape[0]


def problem(n: int, d: int, tag: str, lr: float = 0.05) -> Problem:
    rng = seeded("minibatch-problem", tag, n, d)
    X, y = regression(n, d, rng)
    return Problem(X, y, rng.normal(size=d), lr)


# ---------------------------------------------------------------------------- verification


def verify_run(fn: str, spy: BatchSpy, history, p: Problem, epochs: int, batch_size: int, shuffled: bool) -> None:
    """Check one run of a loop, call by call.  Raise ``Fail`` at the first broken rule."""
    n, d = p.n, p.X.shape[1]
    per_epoch = math.ceil(n / batch_size)
    shape = np.shape(history)
    if len(shape) == 2 and shape[1] == d and shape[0] == epochs * per_epoch + 1 and per_epoch > 1:
        raise Fail(
            f"`{fn}` records a row after every update; the history has one row per epoch (plus w0).",
            cause="row_per_update",
        )
    precision = precision_of(history)  # a float32 history is a valid answer
    history = as_history(fn, history, epochs + 1, p.w0)
    calls = spy.calls
    if any(np.any(c.rows < 0) for c in calls):
        raise Fail(
            f"`{fn}` passes grad_fn rows that are not rows of X; pass X[batch] for a batch of sample indices.",
            cause="bad_rows",
        )
    if not all(c.labels_match for c in calls):
        raise Fail(
            f"`{fn}` passes labels that do not belong to the rows: X_batch and y_batch must be taken with the "
            "same indices (X[batch], y[batch]). Shuffling X and y separately breaks the pairs.",
            cause="unpaired_labels",
        )
    if batch_size < n and any(len(c.rows) == n for c in calls):
        raise Fail(
            f"`{fn}` passes the whole dataset to grad_fn at some updates; each update should see only its "
            "batch: grad_fn(w, X[batch], y[batch]).",
            cause="whole_dataset_per_update",
        )
    expected = epochs * per_epoch
    if len(calls) != expected:
        raise Fail(f"`{fn}` {_CALL_RULE[fn]}; {_why_not(fn, calls, epochs, n, batch_size)}", cause="wrong_update_count")

    orders = []
    for e in range(epochs):
        epoch_calls = calls[e * per_epoch : (e + 1) * per_epoch]
        order = np.concatenate([c.rows for c in epoch_calls])
        if sorted(order.tolist()) != list(range(n)):
            raise Fail(
                f"`{fn}`: an epoch must use every sample exactly once. Some samples were used twice and others "
                "not at all: draw a random order (a permutation) rather than sampling with replacement.",
                cause="sampling_with_replacement",
            )
        sizes = [len(c.rows) for c in epoch_calls]
        if sizes[:-1] != [batch_size] * (per_epoch - 1):
            raise Fail(
                f"`{fn}`: batches should hold batch_size samples each; only the last one may be smaller "
                "(cut one random order into consecutive slices of batch_size).",
                cause="wrong_batch_sizes",
            )
        orders.append(order)
    if shuffled and n >= 6 and batch_size < n:
        if np.array_equal(orders[0], np.arange(n)):
            raise Fail(
                f"`{fn}` goes through the samples in their original order; shuffle them (with rng) every epoch.",
                cause="no_shuffle",
            )
        if epochs >= 2 and any(np.array_equal(orders[0], o) for o in orders[1:]):
            raise Fail(
                f"`{fn}` uses the same order in every epoch; draw a fresh random order at the start of each epoch. "
                "Use the rng as it is given, not a copy (copy.deepcopy(rng)) or a new generator from a seed: "
                "each epoch then continues its stream and gets a new order.",
                cause="same_order_every_epoch",
            )

    if not same_rows(calls[0].w, p.w0, calls[0].precision):
        raise Fail(f"`{fn}`: the first gradient must be taken at w0.", cause="first_gradient_not_at_w0")
    for prev, nxt in zip(calls, calls[1:]):
        expected_w = prev.w - p.lr * prev.grad
        if close(nxt.w, expected_w, rtol=1e-9, atol=1e-12) or same_rows(nxt.w, expected_w, nxt.precision):
            continue
        if close(nxt.w, prev.w + p.lr * prev.grad, rtol=1e-9, atol=1e-12):
            raise Fail(f"`{fn}` steps uphill: it adds the gradient. Update with w - lr * grad.", cause="steps_uphill")
        if close(nxt.w, prev.w - prev.grad, rtol=1e-9, atol=1e-12):
            raise Fail(f"`{fn}` ignores the learning rate: update with w - lr * grad.", cause="ignores_learning_rate")
        if all(np.array_equal(c.w, p.w0) for c in calls):
            raise Fail(
                f"`{fn}` always takes the gradient at w0: use the current weights for every update.",
                cause="gradient_at_w0",
            )
        if np.array_equal(nxt.w, prev.w):
            raise Fail(
                f"`{fn}` takes several gradients at the same weights: update w after every batch, "
                "not once at the end of the epoch.",
                cause="updates_once_per_epoch",
            )
        scaled = scaled_loop_step(fn, calls, p, batch_size)
        if scaled:
            raise Fail(scaled, cause=scaled.cause)
        raise Fail(f"`{fn}`: each update should be w - lr * grad_fn(w, X_batch, y_batch), with the current w.")

    after = [calls[(e + 1) * per_epoch - 1] for e in range(epochs)]
    after_w = np.array([c.w - p.lr * c.grad for c in after])
    if not close(history[1:], after_w, rtol=max(precision, 1e-9), atol=max(precision, 1e-12)):
        if epochs >= 2 and np.all(history[1:] == history[-1]):
            raise Fail(
                f"`{fn}`: every row of the history is the same array. Append a copy of w (w.copy()), "
                "not w itself, when you change w in place.",
                cause="aliased_history",
            )
        raise Fail(f"`{fn}`: row k of the history must be the weights at the end of epoch k.", cause="rows_not_epochs")


def scaled_loop_step(fn: str, calls: list[SpyCall], p: Problem, batch_size: int) -> str:
    """Words for a loop whose every step is one constant times lr * grad ('' otherwise): the
    learning rate twice, or a division (or product) by n or the batch size."""
    taken = [a.w - b.w for a, b in zip(calls, calls[1:])]
    factors = step_factors(taken, [p.lr * a.grad for a in calls[:-1]])
    lengths = [len(c.rows) for c in calls[:-1]]
    return scaled_step(fn, factors, p.lr, [("n", p.n), ("batch_size", batch_size), ("batch_size", lengths)])


#: how often each loop calls grad_fn, in the words of its own docstring
_CALL_RULE = {
    "full_batch_gd": "should make one update per epoch, from one call grad_fn(w, X, y) on all the data",
    "sgd": "should call grad_fn once per update, one sample per call: n times per epoch",
    "minibatch_gd": "should call grad_fn once per update, ceil(n / batch_size) times per epoch",
}


def _why_not(fn: str, calls: list[SpyCall], epochs: int, n: int, batch_size: int) -> str:
    """What the loop did instead, observed from the spy's calls (never a count from the hidden sizes)."""
    per_epoch = math.ceil(n / batch_size)
    updates = 1 + sum(not np.array_equal(a.w, b.w) for a, b in zip(calls, calls[1:])) if calls else 0
    if len(calls) > epochs * per_epoch and updates == epochs * per_epoch:
        whole = "on X and y" if fn == "full_batch_gd" else "per batch, grad_fn(w, X[batch], y[batch])"
        return (
            "it calls grad_fn several times at the same weights (say once per sample) and combines the results "
            "into one update. The update is the same, but grad_fn already averages over the rows it is given: "
            f"call it once, {whole}."
        )
    if len(calls) == epochs * (n // batch_size) and n % batch_size:
        return "the last, smaller batch seems to be dropped; it must be used too."
    if len(calls) == epochs and per_epoch > 1:
        return "it makes one update per epoch; it should make one per batch."
    if fn == "full_batch_gd":
        return f"it makes {'more' if len(calls) > epochs else 'fewer'} updates than one per epoch."
    if len(calls) > epochs * per_epoch:
        return "it makes more updates per epoch than there are batches (one grad_fn call per update)."
    return "it makes fewer updates per epoch than there are batches."


def run_spied(sub, fn: str, p: Problem, epochs: int, *extra, standins=()) -> tuple[BatchSpy, object]:
    spy = BatchSpy(p.X, p.y, max_calls=10 * epochs * p.n + 100)
    history = call(sub, fn, spy, p.X, p.y, p.w0, p.lr, epochs, *extra, standins=standins)
    return spy, history


def check_randomness(sub, fn: str, p: Problem, epochs: int, *extra, standins=()) -> None:
    """Same rng seed -> same history (whatever np.random's global state); another seed -> another."""

    def run(seed: int, global_seed: int):
        return call(
            sub,
            fn,
            reference_grad,
            p.X,
            p.y,
            p.w0,
            p.lr,
            epochs,
            *extra,
            Rng(seed),
            standins=standins,
            global_seed=global_seed,
        )

    first, again, other = run(7, 1), run(7, 2), run(8, 1)
    if not close(first, again, rtol=0, atol=0):
        raise Fail(
            f"`{fn}` gives different results for the same rng: take all randomness from the rng argument "
            "(rng.permutation, rng.shuffle...), never from np.random.* or the random module.",
            "echo",
            cause="global_randomness",
        )
    if close(first, other, rtol=0, atol=0):
        raise Fail(
            f"`{fn}` gives the same result for different rngs: the order of samples should come from rng.",
            "echo",
            cause="ignores_rng",
        )


def reference_grad(w, X, y):
    w, X, y = (np.asarray(a, dtype=float) for a in (w, X, y))
    problem = batch_problem(w, X, y, w.size)
    if problem:
        raise ValueError(problem)
    return lsq_gradient(w, X, y)


# ------------------------------------------------------------------------------- minibatches


def _batches(sub, n: int, batch_size: int, seed: int, global_seed: int = 0) -> list:
    raw = call(sub, "minibatches", n, batch_size, Rng(seed), global_seed=global_seed)
    if not isinstance(raw, (list, tuple)):
        raise Fail("`minibatches` should return a list of index arrays, one per batch.", cause="not_a_list")
    try:
        return [np.asarray(b).reshape(-1) for b in raw]
    except (TypeError, ValueError):
        raise Fail("`minibatches` should return a list of index arrays, one per batch.", cause="not_a_list") from None


@check("minibatches", "is computed from n: its batches hold the indices of range(n)", weight=0, gate=True)
def test_minibatches_gate(sub):
    # which indices come back must depend on n (sizes alone do not count: a batch of zeros has sizes)
    small, large = (np.concatenate([np.zeros(0), *_batches(sub, n, 4, seed=1)]) for n in (8, 12))
    if set(small.tolist()) == set(large.tolist()):
        raise Fail(
            "`minibatches` returns the same indices whatever n is, so its batches are not computed from range(n). "
            "Until they are, none of its checks count.",
            cause="not_computed_from_inputs",
        )


@check("minibatches", "every index exactly once, in batches of batch_size (the last may be smaller)", weight=3)
def test_minibatches_partition(sub):
    for n, batch_size in ((10, 3), (12, 4), (7, 7), (5, 10), (9, 1), (33, 8)):
        batches = _batches(sub, n, batch_size, seed=n)
        flat = np.concatenate(batches) if batches else np.array([])
        sizes = [b.size for b in batches]
        distinct = len(set(flat.tolist())) == flat.size
        if distinct and flat.size == n - n % batch_size and n % batch_size:
            raise Fail(
                "`minibatches` drops the last, smaller batch; every index must appear in some batch.",
                cause="drops_last_batch",
            )
        if sorted(flat.tolist()) != list(range(n)):
            raise Fail(
                "`minibatches`: every index of range(n) must appear exactly once. Shuffle one permutation and cut "
                "it, rather than drawing indices at random (with replacement).",
                cause="sampling_with_replacement",
            )
        expected = [batch_size] * (n // batch_size) + ([n % batch_size] if n % batch_size else [])
        if sizes != expected:
            raise Fail(
                "`minibatches`: each batch should hold batch_size indices, and only the last one fewer. "
                "(np.array_split balances the sizes instead: slice [i:i + batch_size] in steps of batch_size.)",
                cause="wrong_batch_sizes",
            )


@check("minibatches", "a fresh random order, drawn from rng", weight=2)
def test_minibatches_random(sub):
    n = 40
    first = np.concatenate(_batches(sub, n, 8, seed=3, global_seed=1))
    if np.array_equal(first, np.arange(n)):
        raise Fail("`minibatches` keeps the samples in order; shuffle them with rng first.", cause="no_shuffle")
    again = np.concatenate(_batches(sub, n, 8, seed=3, global_seed=2))
    if not np.array_equal(first, again):
        raise Fail(
            "`minibatches` gives different batches for the same rng: use the rng argument "
            "(rng.permutation(n)), not np.random or the random module.",
            cause="global_randomness",
        )
    other = np.concatenate(_batches(sub, n, 8, seed=4, global_seed=1))
    if np.array_equal(first, other):
        raise Fail(
            "`minibatches` gives the same order for different rngs: the order must come from rng.", cause="ignores_rng"
        )


@check(
    "minibatches",
    "returns a list of integer arrays",
    requires="every index exactly once, in batches of batch_size (the last may be smaller)",
)
def test_minibatches_types(sub):
    # the container counts here and only here: the checks above judge the batches in any sequence
    raw = call(sub, "minibatches", 10, 4, Rng(0))
    if isinstance(raw, (tuple, Iterated)):
        raise Fail(
            container_words("minibatches", raw, "a list", "return the batches in a list (list(...))"),
            cause="not_a_list",
        )
    if not isinstance(raw, list) or not all(isinstance(b, np.ndarray) for b in raw):
        raise Fail(
            "`minibatches` should return a Python list of numpy arrays (one array of indices per batch).",
            cause="not_a_list",
        )
    if not all(b.dtype.kind in "iu" for b in raw):
        raise Fail(
            "`minibatches`: the index arrays should hold integers (they are used as X[batch]).", cause="float_indices"
        )


# ----------------------------------------------------------------------------- full_batch_gd


FULL_STEPS = "one update per epoch on all the data, w - lr * grad"
SGD_STEPS = "one update per sample, each sample once per epoch"
MB_STEPS = "one update per batch; batches partition the data each epoch"


def expect_loop_responds(sub, fn: str, *extra, standins=()) -> None:
    """The gate of a training loop: its history depends on the data and on w0 (a history that stays
    at w0, or moves the same way whatever the data, is no loop)."""
    p = problem(8, 2, f"{fn}-gate")
    new_y = p.y + seeded("gate-y", fn).normal(size=p.n)
    changes = {
        "y": (reference_grad, p.X, new_y, p.w0, p.lr, 2, *extra),
        "w0": (reference_grad, p.X, p.y, p.w0 + 1.0, p.lr, 2, *extra),
    }
    args = (reference_grad, p.X, p.y, p.w0, p.lr, 2, *extra)
    expect_responds(sub, fn, args, changes, standins=standins)


def expect_history_form(sub, fn: str, *extra, standins=()) -> None:
    """The check about a loop's form: an array (or a list of rows) of shape (epochs + 1, d), also
    when it starts at the optimum (a loop that stops once the gradient vanishes shows there)."""
    p = problem(8, 2, f"{fn}-form")
    w_star = np.linalg.lstsq(p.X, p.y, rcond=None)[0]
    for w0 in (p.w0, w_star):
        raw = call(sub, fn, reference_grad, p.X, p.y, w0, p.lr, 3, *extra, standins=standins)
        as_history(fn, raw, 4, w0, strict=True)


@check("full_batch_gd", "is computed from the data and w0", weight=0, gate=True)
def test_full_batch_gd_gate(sub):
    expect_loop_responds(sub, "full_batch_gd")


@check("full_batch_gd", FULL_STEPS, weight=4)
def test_full_batch_gd_steps(sub):
    for n, d, epochs in ((12, 3, 5), (7, 1, 3)):
        p = problem(n, d, "full")
        spy, history = run_spied(sub, "full_batch_gd", p, epochs)
        verify_run("full_batch_gd", spy, history, p, epochs, batch_size=n, shuffled=False)


@check("full_batch_gd", "returns the history, shape (epochs + 1, d)", requires=FULL_STEPS)
def test_full_batch_gd_form(sub):
    expect_history_form(sub, "full_batch_gd")


@check("full_batch_gd", "reaches the least-squares solution", weight=2, requires=FULL_STEPS)
def test_full_batch_gd_converges(sub):
    # where the run ends is judged, whatever the history's length (that is the form check's business);
    # lr = 1 / (largest curvature) converges in few epochs, so a loop that makes one grad_fn call per
    # sample (the same update, n times the calls) is judged well inside its time budget
    p = problem(30, 3, "full-converge")
    lr = 1.0 / np.linalg.eigvalsh(2.0 * p.X.T @ p.X / p.n)[-1]
    raw = call(sub, "full_batch_gd", reference_grad, p.X, p.y, p.w0, lr, 60)
    w_star = np.linalg.lstsq(p.X, p.y, rcond=None)[0]
    if not close(last_weights("full_batch_gd", raw, p.w0), w_star, rtol=1e-6, atol=1e-6):
        raise Fail("`full_batch_gd` does not reach the least-squares solution on a well-conditioned problem.", "echo")


def logistic_l2_gradient(w, X, y, l2: float = 0.1) -> np.ndarray:
    """Mean gradient of the L2-regularised logistic loss over a batch."""
    w, X, y = (np.asarray(a, dtype=float) for a in (w, X, y))
    problem = batch_problem(w, X, y, w.size)
    if problem:
        raise ValueError(problem)
    p = np.exp(-np.logaddexp(0.0, -(X @ w)))
    return X.T @ (p - y) / X.shape[0] + l2 * w


def logistic_l2_optimum(X, y, l2: float = 0.1) -> np.ndarray:
    """The minimiser, by Newton's method (the loss is strictly convex for l2 > 0)."""
    w = np.zeros(X.shape[1])
    for _ in range(50):
        p = np.exp(-np.logaddexp(0.0, -(X @ w)))
        hessian = (X.T * (p * (1 - p))) @ X / X.shape[0] + l2 * np.eye(X.shape[1])
        w = w - np.linalg.solve(hessian, logistic_l2_gradient(w, X, y, l2))
    return w


@check("full_batch_gd", "reaches the optimum of L2-regularised logistic regression", requires=FULL_STEPS)
def test_full_batch_gd_logistic(sub):
    rng = seeded("full-logistic")
    X, y = classification(24, 3, rng)
    lr = 1.0 / (0.25 * np.linalg.eigvalsh(X.T @ X / len(y))[-1] + 0.1)  # 1 / (largest curvature)
    raw = call(sub, "full_batch_gd", logistic_l2_gradient, X, y, np.zeros(3), lr, 100)
    if not close(last_weights("full_batch_gd", raw, np.zeros(3)), logistic_l2_optimum(X, y), rtol=1e-5, atol=1e-6):
        raise Fail(
            "`full_batch_gd` does not reach the optimum of a regularised logistic regression (a convex problem).",
            "echo",
        )


@check("full_batch_gd", "does not modify its inputs", requires=FULL_STEPS)
def test_full_batch_gd_pure(sub):
    p = problem(8, 2, "full-pure")
    after = call_keeping_args(sub, "full_batch_gd", reference_grad, p.X, p.y, p.w0, p.lr, 3)
    expect_unchanged("full_batch_gd", (None, p.X, p.y, p.w0), after, ("grad_fn", "X", "y", "w0"))


# --------------------------------------------------------------------------------------- sgd


@check("sgd", "is computed from the data and w0", weight=0, gate=True)
def test_sgd_gate(sub):
    expect_loop_responds(sub, "sgd", Rng(1), standins=("minibatches",))


@check("sgd", SGD_STEPS, weight=4)
def test_sgd_steps(sub):
    for n, d, epochs in ((10, 2, 3), (6, 3, 2)):
        p = problem(n, d, "sgd", lr=0.02)
        spy, history = run_spied(sub, "sgd", p, epochs, Rng(n), standins=("minibatches",))
        verify_run("sgd", spy, history, p, epochs, batch_size=1, shuffled=True)


@check("sgd", "returns the history, shape (epochs + 1, d)", requires=SGD_STEPS)
def test_sgd_form(sub):
    expect_history_form(sub, "sgd", Rng(2), standins=("minibatches",))


@check("sgd", "randomness only from rng", weight=2, requires=SGD_STEPS)
def test_sgd_random(sub):
    check_randomness(sub, "sgd", problem(12, 2, "sgd-random", lr=0.02), 2, standins=("minibatches",))


@check(
    "sgd",
    "does not modify its inputs",
    requires=SGD_STEPS,
)
def test_sgd_pure(sub):
    p = problem(8, 2, "sgd-pure")
    after = call_keeping_args(sub, "sgd", reference_grad, p.X, p.y, p.w0, p.lr, 2, Rng(0), standins=("minibatches",))
    expect_unchanged("sgd", (None, p.X, p.y, p.w0), after, ("grad_fn", "X", "y", "w0"))


# ------------------------------------------------------------------------------ minibatch_gd


@check("minibatch_gd", "is computed from the data and w0", weight=0, gate=True)
def test_minibatch_gd_gate(sub):
    expect_loop_responds(sub, "minibatch_gd", 3, Rng(1), standins=("minibatches",))


@check("minibatch_gd", MB_STEPS, weight=4)
def test_minibatch_gd_steps(sub):
    for n, d, batch_size, epochs in ((10, 2, 3, 3), (16, 3, 4, 2), (9, 2, 1, 2)):
        p = problem(n, d, "mb", lr=0.03)
        spy, history = run_spied(
            sub, "minibatch_gd", p, epochs, batch_size, Rng(n + batch_size), standins=("minibatches",)
        )
        verify_run("minibatch_gd", spy, history, p, epochs, batch_size=batch_size, shuffled=True)


@check("minibatch_gd", "returns the history, shape (epochs + 1, d)", requires=MB_STEPS)
def test_minibatch_gd_form(sub):
    expect_history_form(sub, "minibatch_gd", 3, Rng(2), standins=("minibatches",))


@check(
    "minibatch_gd",
    "batch_size = n (or more) is full-batch descent",
    weight=2,
    requires=MB_STEPS,
)
def test_minibatch_gd_full(sub):
    p = problem(14, 3, "mb-full", lr=0.05)
    expected = reference.full_batch_gd(reference_grad, p.X, p.y, p.w0, p.lr, 6)
    for batch_size in (p.n, 3 * p.n):
        raw = call(
            sub,
            "minibatch_gd",
            reference_grad,
            p.X,
            p.y,
            p.w0,
            p.lr,
            6,
            batch_size,
            Rng(1),
            standins=("minibatches",),
        )
        got = as_history("minibatch_gd", raw, 7, p.w0)
        rtol = max(precision_of(raw), 1e-9)
        if not close(got, expected, rtol=rtol, atol=max(rtol, 1e-12)):
            raise Fail(
                "`minibatch_gd` with batch_size >= n should be exactly full-batch descent: one update per epoch on all samples.",
                "echo",
            )


@check("minibatch_gd", "randomness only from rng", weight=2, requires=MB_STEPS)
def test_minibatch_gd_random(sub):
    check_randomness(sub, "minibatch_gd", problem(12, 2, "mb-random", lr=0.03), 2, 4, standins=("minibatches",))


#: Starting at the minimum, any spread of the final loss is the noise of the updates.
#: benchmarks/measure_batch_noise.py measures the ratios of successive spreads over five valid
#: ways to shuffle and five course seeds: the smallest seen is 11.7, so requiring 4 is safe.
NOISE_SEEDS = range(10)
NOISE_BATCHES = (1, 4, 16)
NOISE_MARGIN = 4.0


@check(
    "minibatch_gd",
    "larger batches give less noisy results (spread across seeds shrinks)",
    weight=2,
    requires=MB_STEPS,
)
def test_minibatch_gd_noise(sub):
    spreads = batch_noise(
        lambda *args, global_seed=0: call(
            sub, "minibatch_gd", *args, standins=("minibatches",), global_seed=global_seed
        )
    )
    for small, large in zip(spreads, spreads[1:]):
        if not small > NOISE_MARGIN * large:
            if max(spreads) == 0:
                # no run differs from another: the order ignores the seed altogether, which is
                # the rng check's finding; say that rather than blame the averaging
                raise Fail(
                    "`minibatch_gd` gives the same result whatever rng it is given, so its runs show no "
                    "noise at any batch size: the random batch order must come from the rng argument.",
                    "echo",
                    cause="ignores_rng",
                )
            raise Fail(
                "`minibatch_gd`: the final loss should vary less across random seeds as the batch grows "
                "(averaging more samples gives a less noisy gradient). Yours does not; check that each update "
                "averages the gradient over its batch and uses a fresh random batch order.",
                "echo",
            )


def batch_noise(run) -> list[float]:
    """Spread (std over seeds) of the final training loss after one epoch started at the
    least-squares solution, for each batch size in NOISE_BATCHES.

    Each seed also seeds np.random and the random module, so a loop that (wrongly) ignores
    rng still shows its noise here: that mistake is the rng check's, and costs points once."""
    p = problem(48, 3, "noise", lr=0.05)
    w_star = np.linalg.lstsq(p.X, p.y, rcond=None)[0]
    spreads = []
    for batch_size in NOISE_BATCHES:
        finals = []
        for seed in NOISE_SEEDS:
            history = as_array(
                "minibatch_gd",
                run(reference_grad, p.X, p.y, w_star, p.lr, 1, batch_size, Rng(seed), global_seed=seed),
                (2, 3),
                "(epochs + 1, d)",
            )
            finals.append(lsq_loss(history[-1], p.X, p.y))
        spreads.append(float(np.std(finals)))
    return spreads


@check(
    "minibatch_gd",
    "does not modify its inputs",
    requires=MB_STEPS,
)
def test_minibatch_gd_pure(sub):
    p = problem(8, 2, "mb-pure")
    after = call_keeping_args(
        sub,
        "minibatch_gd",
        reference_grad,
        p.X,
        p.y,
        p.w0,
        p.lr,
        2,
        3,
        Rng(0),
        standins=("minibatches",),
    )
    expect_unchanged("minibatch_gd", (None, p.X, p.y, p.w0), after, ("grad_fn", "X", "y", "w0"))


# ---------------------------------------------------------------------------------------
# The feedback report's plots of the student's code (``plotting.py`` says what a plot is)
# ---------------------------------------------------------------------------------------


#: the history's shape in the docstring's words: a caption never gives the sizes of our inputs
HISTORY_SHAPE = "(epochs + 1, d)"


#: the plots' problem: samples and learning rate.  Few samples, so that an epoch of SGD calls our
#: gradient few times across the pipe (each call is a round trip); a larger step, so that an epoch
#: still goes as far as on more samples.  With these, for every random order (measured over 200),
#: all three curves fall, SGD fastest then noisy, and the spread falls with the batch size
#: (``tests/test_feedback.py`` checks it for the reference and every correct answer in the zoo).
PLOT_SAMPLES, PLOT_LR = 20, 0.06


def _regression():
    rng = seeded("feedback-minibatch")
    X, y = regression(PLOT_SAMPLES, 3, rng)
    return X, y, rng.normal(size=3) * 2, np.linalg.lstsq(X, y, rcond=None)[0]


#: the epochs plot's runs: label, the student's function, its extra arguments, and colour
EPOCH_RUNS = (
    ("full batch", "full_batch_gd", (), "#4C72B0"),
    ("mini-batch (5)", "minibatch_gd", (5, Rng(1)), "#55A868"),
    ("SGD", "sgd", (Rng(1),), "#C44E52"),
)


@reference_data
def _epochs_reference():
    """The plot's problem, its step and our loss curves of the three runs (for every student)."""
    X, y, w0, w_best = _regression()
    grad = reference.mse_gradient
    best = reference.mse_loss(w_best, X, y)
    lr, epochs = PLOT_LR, 8
    ours = (
        reference.full_batch_gd(grad, X, y, w0, lr, epochs),
        reference.minibatch_gd(grad, X, y, w0, lr, epochs, 5, np.random.default_rng(1)),
        reference.sgd(grad, X, y, w0, lr, epochs, np.random.default_rng(1)),
    )
    curves = [[reference.mse_loss(w, X, y) - best + 1e-12 for w in ref] for ref in ours]
    return X, y, w0, best, lr, epochs, curves


@suite.plot
def epochs_plot(sub) -> Plot:
    X, y, w0, best, lr, epochs, curves = _epochs_reference()
    grad = reference.mse_gradient
    fig, ax = subplots(figsize=(6, 3.5))
    notes = []
    for (label, fn, extra, color), ref_losses in zip(EPOCH_RUNS, curves):
        ax.semilogy(ref_losses, color=color, alpha=0.35, lw=4, label=f"{label} (reference)")
        mine, why = yours(
            fn,
            lambda fn=fn, extra=extra: as_array(
                fn, call(sub, fn, grad, X, y, w0, lr, epochs, *extra), (epochs + 1, 3), HISTORY_SHAPE
            ),
        )
        notes.append(why)
        if mine is None:
            continue
        losses = np.array([reference.mse_loss(w, X, y) - best + 1e-12 for w in mine])
        notes.append(not_finite(fn, losses))
        notes.append(_history_note(fn, mine, w0))
        ax.semilogy(losses, color=color, label=f"{label} (yours)")
    name_axes(ax, "epoch", "loss above the minimum")
    caption = (
        "Thin lines: yours; thick pale lines of the same colour: the reference (random orders differ, so "
        "stochastic curves need not match exactly). All three should fall; SGD fastest per epoch, then noisy."
    )
    return Plot("epochs", "Loss per epoch: full batch, mini-batch, SGD", with_notes(caption, notes), png(fig))


def _history_note(fn: str, history: np.ndarray, w0: np.ndarray) -> str:
    """A sentence when a history's curve is flat because its rows are one array."""
    if not np.all(history == history[-1]):
        return ""
    if np.allclose(history[-1], w0):
        return f"Your `{fn}` curve is flat at the start: its weights never move."
    return (
        f"Your `{fn}` curve is flat: every row of its history is the same array, the weights after the last "
        "epoch, appended and then changed in place (`w -= lr * grad`). Append a copy (`w.copy()`), or build a "
        "new array each epoch (`w = w - lr * grad`)."
    )


def _ignores_rng(sub, X, y, w0, lr) -> bool:
    """Whether the student's minibatch_gd takes its order from np.random or the random module:
    the same rng with another global seed gives another run."""
    runs = [
        call(sub, "minibatch_gd", reference.mse_gradient, X, y, w0, lr, 1, 4, Rng(0), global_seed=g) for g in (1, 2)
    ]
    return not np.array_equal(np.asarray(runs[0], dtype=float), np.asarray(runs[1], dtype=float))


#: the batch-size plot's batch sizes (the last is the whole data) and seeds
NOISE_PLOT_SIZES = (1, 4, 10, PLOT_SAMPLES)
NOISE_PLOT_SEEDS = range(6)


def _spreads(run, X, y) -> list[float]:
    """The spread (std over seeds) of the loss after one epoch, per batch size, of ``run(size, seed)``."""
    out = []
    for size in NOISE_PLOT_SIZES:
        finals = [reference.mse_loss(run(size, seed), X, y) for seed in NOISE_PLOT_SEEDS]
        out.append(float(np.std(finals)) + 1e-16)
    return out


@reference_data
def _batch_size_reference():
    """The plot's problem, its best weights and our spreads (for every student)."""
    X, y, _, w_best = _regression()
    grad, lr = reference.mse_gradient, PLOT_LR
    theirs = _spreads(
        lambda size, seed: reference.minibatch_gd(grad, X, y, w_best, lr, 1, size, np.random.default_rng(seed))[-1],
        X,
        y,
    )
    return X, y, w_best, lr, theirs


@suite.plot
def batch_size_plot(sub) -> Plot:
    X, y, w_best, lr, theirs = _batch_size_reference()
    grad, sizes = reference.mse_gradient, NOISE_PLOT_SIZES
    mine, why = yours(
        "minibatch_gd",
        lambda: np.array(
            _spreads(
                lambda size, seed: as_array(
                    "minibatch_gd",
                    call(sub, "minibatch_gd", grad, X, y, w_best, lr, 1, size, Rng(seed)),
                    (2, 3),
                    HISTORY_SHAPE,
                )[-1],
                X,
                y,
            )
        ),
    )
    fig, ax = subplots(figsize=(6, 3.5))
    ax.loglog(sizes, theirs, "o-", color="#999999", alpha=0.6, lw=4, label="reference")
    notes = [why]
    if mine is not None:
        ax.loglog(sizes, mine, "o-", color="#4C72B0", label="yours")
        notes.append(not_finite("minibatch_gd", mine))
        if np.all(mine <= 1e-15):
            try:
                ignores = _ignores_rng(sub, X, y, w_best, lr)
            except Fail:
                ignores = False
            notes.append(
                "Your spread is zero at every batch size: your runs ignore `rng` (they take their order from "
                "np.random or the random module), so every seed here gives the same run and the line lies on "
                "the bottom of the plot. Draw the order from rng (rng.permutation)."
                if ignores
                else "Your spread is zero at every batch size: your runs give the same result for every rng "
                "(or do not move at all), so the line lies on the bottom of the plot."
            )
    name_axes(ax, "batch size", "spread of the loss across seeds")
    ax.set_xticks(sizes, [str(size) for size in sizes])  # the batch sizes drawn, not decades
    caption = (
        "Starting at the best weights, one epoch with six seeds: the spread is the noise of using a batch instead "
        "of all the data. It should fall as the batch grows, like the reference, and vanish at the full batch "
        "(the last point sits on the bottom of the plot)."
    )
    return Plot("batch_size", "Batch size and noise", with_notes(caption, notes), png(fig))
