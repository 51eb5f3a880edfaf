"""Reference implementations of the student API (SPEC section 2).

They serve two purposes, never a third:

* stand-ins: when we grade ``gradient_descent``, the student's ``gd_step`` (and every other
  function of the assignment they wrote) is replaced by a proxy that calls *our* version here,
  in the grading process (this module is never loaded where student code runs), so that a
  bug in the student's ``gd_step`` costs points only once, on ``gd_step`` itself;
* replaying traces: the loop checks recompute what each update should have been.

Correctness checks use independent oracles (closed forms, ``np.linalg``, finite
differences in high precision) in the suites, not these functions.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np


def sigmoid(z: np.ndarray) -> np.ndarray:
    """Numerically stable logistic function (never overflows)."""
    z = np.asarray(z, dtype=float)
    out = np.empty_like(z)
    positive = z >= 0
    out[positive] = 1.0 / (1.0 + np.exp(-z[positive]))
    exp_z = np.exp(z[~positive])
    out[~positive] = exp_z / (1.0 + exp_z)
    return out


def mse_loss(w, X, y) -> float:
    r = X @ w - y
    return float(np.mean(r**2))


def mse_gradient(w, X, y) -> np.ndarray:
    return 2.0 / X.shape[0] * X.T @ (X @ w - y)


def logistic_loss(w, X, y, l2=0.0) -> float:
    z = X @ w
    # log(1 + e^z) - y z, computed without overflow
    return float(np.mean(np.logaddexp(0.0, z) - y * z) + l2 / 2 * w @ w)


def logistic_gradient(w, X, y, l2=0.0) -> np.ndarray:
    return X.T @ (sigmoid(X @ w) - y) / X.shape[0] + l2 * w


def numerical_gradient(f: Callable, w, eps=1e-6) -> np.ndarray:
    w = np.asarray(w, dtype=float)
    grad = np.zeros_like(w)
    for i in range(w.size):
        step = np.zeros_like(w)
        step[i] = eps
        grad[i] = (f(w + step) - f(w - step)) / (2 * eps)
    return grad


def gradient_check(f, grad_f, w, eps=1e-6) -> float:
    a = np.asarray(grad_f(w), dtype=float)
    b = numerical_gradient(f, w, eps)
    return float(np.max(np.abs(a - b) / np.maximum(np.abs(a) + np.abs(b), 1e-12)))


def gd_step(w, grad, lr) -> np.ndarray:
    return w - lr * grad


def gradient_descent(grad_f, w0, lr, n_steps) -> np.ndarray:
    path = [np.array(w0, dtype=float)]
    for _ in range(n_steps):
        path.append(gd_step(path[-1], grad_f(path[-1]), lr))
    return np.array(path)


def max_stable_lr(H) -> float:
    return float(2.0 / np.linalg.eigvalsh(H)[-1])


def find_global_minimum(f, grad_f, starts, lr, n_steps) -> np.ndarray:
    ends = [gradient_descent(grad_f, s, lr, n_steps)[-1] for s in starts]
    return ends[int(np.argmin([f(e) for e in ends]))]


def minibatches(n, batch_size, rng) -> list:
    order = rng.permutation(n)
    return [order[i : i + batch_size] for i in range(0, n, batch_size)]


def full_batch_gd(grad_fn, X, y, w0, lr, epochs) -> np.ndarray:
    history = [np.array(w0, dtype=float)]
    for _ in range(epochs):
        history.append(history[-1] - lr * grad_fn(history[-1], X, y))
    return np.array(history)


def minibatch_gd(grad_fn, X, y, w0, lr, epochs, batch_size, rng) -> np.ndarray:
    w = np.array(w0, dtype=float)
    history = [w.copy()]
    for _ in range(epochs):
        for batch in minibatches(X.shape[0], batch_size, rng):
            w = w - lr * grad_fn(w, X[batch], y[batch])
        history.append(w.copy())
    return np.array(history)


def sgd(grad_fn, X, y, w0, lr, epochs, rng) -> np.ndarray:
    return minibatch_gd(grad_fn, X, y, w0, lr, epochs, 1, rng)
