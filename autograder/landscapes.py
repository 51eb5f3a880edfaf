"""Held-out problems for grading.  Students never see these (they are not in the release).

Each landscape is a loss with a known minimum, so a check can ask "did you get there?"
rather than "did you do exactly what we did?".
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def random_spd(d: int, rng: np.random.Generator, cond: float = 10.0) -> np.ndarray:
    """A random symmetric positive definite matrix with eigenvalues spread over ``[1, cond]``,
    rotated so that its diagonal says nothing about its eigenvalues."""
    q, _ = np.linalg.qr(rng.normal(size=(d, d)))
    eig = np.geomspace(1.0, cond, d) * rng.uniform(0.5, 2.0)
    return (q * eig) @ q.T


def regression(n: int, d: int, rng: np.random.Generator, noise: float = 0.5):
    """Least-squares data ``(X, y)`` with a unique minimiser (continuous, distinct rows and labels)."""
    X = rng.normal(size=(n, d))
    w_true = rng.normal(size=d)
    y = X @ w_true + noise * rng.normal(size=n)
    return X, y


def classification(n: int, d: int, rng: np.random.Generator, scale: float = 1.0):
    """Labels in {0, 1} from a noisy linear rule."""
    X = rng.normal(size=(n, d)) * scale
    w_true = rng.normal(size=d)
    p = 1.0 / (1.0 + np.exp(-(X @ w_true)))
    y = (rng.uniform(size=n) < p).astype(float)
    return X, y


def _check_w(w, d: int) -> np.ndarray:
    """``w`` as one point of shape ``(d,)``, or a ValueError in words for the student (who sees
    it as the reason their call failed): never the hidden sizes, only what kind of array came."""
    w = np.asarray(w, dtype=float)
    if w.shape != (d,):
        raise ValueError(f"{_POINT_RULE} {_what_came(w, d)}")
    return w


_POINT_RULE = "f and grad_f take one point w, an array of shape (d,) like w0;"


def _what_came(w: np.ndarray, d: int) -> str:
    if w.ndim == 2 and w.shape[1] == d:
        return (
            "this call gave a 2-D array of several points (one per row). Call it on one point at a "
            "time, e.g. [f(p) for p in points]."
        )
    if w.ndim == 0:
        return "this call gave a single number."
    if w.ndim == 1:
        return "this call gave a 1-D array of another length than w0's."
    return f"this call gave an array with {w.ndim} axes."


@dataclass(frozen=True)
class Quadratic:
    """f(w) = 0.5 (w - c) H (w - c): minimum at c, gradient H (w - c)."""

    H: np.ndarray
    c: np.ndarray

    def f(self, w) -> float:
        r = _check_w(w, self.c.size) - self.c
        return float(0.5 * r @ self.H @ r)

    def grad(self, w) -> np.ndarray:
        return self.H @ (_check_w(w, self.c.size) - self.c)


@dataclass(frozen=True)
class TiltedWell:
    """A non-convex landscape with one local and one global minimum along ``direction``.

    f(w) = (t^2 - 1)^2 + tilt * t + 0.5 * curvature * |w - t u|^2, with t = u.w.
    With tilt > 0 the well at t < 0 is the global one.
    """

    direction: np.ndarray
    tilt: float = 0.4
    curvature: float = 2.0

    def f(self, w) -> float:
        w = _check_w(w, self.direction.size)
        t = w @ self.direction
        rest = w - t * self.direction
        return float((t * t - 1) ** 2 + self.tilt * t + 0.5 * self.curvature * rest @ rest)

    def grad(self, w) -> np.ndarray:
        w = _check_w(w, self.direction.size)
        t = w @ self.direction
        rest = w - t * self.direction
        dt = 4 * t * (t * t - 1) + self.tilt
        return dt * self.direction + self.curvature * rest

    def minima(self) -> tuple[np.ndarray, np.ndarray]:
        """(global, local) minimisers, from the roots of 4t^3 - 4t + tilt."""
        roots = np.sort(np.roots([4.0, 0.0, -4.0, self.tilt]).real)
        return roots[0] * self.direction, roots[2] * self.direction


def tilted_well(d: int, rng: np.random.Generator, tilt: float = 0.4) -> TiltedWell:
    u = rng.normal(size=d)
    return TiltedWell(u / np.linalg.norm(u), tilt=tilt)
