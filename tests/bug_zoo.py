"""The bug zoo: realistic student mistakes, and correct answers written differently.

Each ``Bug`` must lose points on its own function, with feedback that contains ``says``
(the words that name the mistake) and none of ``never_says`` (words that would contradict the
code), and must pass the checks in ``passes`` (checks about something else: one mistake, one
cause).  Each ``Variant`` is a correct alternative and must
keep full marks.  ``CHEATERS`` and ``LOOKUPS`` are answers that are not computed from their
inputs and must score 0 in every assignment.  Sources are whole answer cells, as a student
would write them.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Bug:
    id: str
    assignment: str
    function: str
    says: str
    source: str
    never_says: tuple[str, ...] = ()
    passes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Variant:
    id: str
    assignment: str
    function: str
    source: str


A1, A2, A3 = "01_gradients", "02_gradient_descent", "03_minibatch"

BUGS = [
    # ------------------------------------------------------------------ 01_gradients
    Bug(
        "mse-sum",
        A1,
        "mse_loss",
        "take the mean",
        """
def mse_loss(w, X, y):
    return float(np.sum((X @ w - y) ** 2))
""",
    ),
    Bug(
        "mse-half",
        A1,
        "mse_loss",
        "no 1/2",
        """
def mse_loss(w, X, y):
    return 0.5 * np.mean((X @ w - y) ** 2)
""",
    ),
    Bug(
        "mse-rmse",
        A1,
        "mse_loss",
        "square root",
        """
def mse_loss(w, X, y):
    return np.sqrt(np.mean((X @ w - y) ** 2))
""",
    ),
    Bug(
        "mse-square-of-mean",
        A1,
        "mse_loss",
        "square each error first",
        """
def mse_loss(w, X, y):
    return np.mean(X @ w - y) ** 2
""",
    ),
    Bug(
        "mse-per-sample",
        A1,
        "mse_loss",
        "single number",
        """
def mse_loss(w, X, y):
    return (X @ w - y) ** 2
""",
    ),
    Bug(
        "mse-divide-by-d",
        A1,
        "mse_loss",
        "number of features",
        """
def mse_loss(w, X, y):
    return np.sum((X @ w - y) ** 2) / X.shape[1]
""",
    ),
    Bug(
        "mse-grad-sign",
        A1,
        "mse_gradient",
        "sign",
        """
def mse_gradient(w, X, y):
    return 2 / X.shape[0] * X.T @ (y - X @ w)
""",
    ),
    Bug(
        "mse-grad-no-2",
        A1,
        "mse_gradient",
        "factor 2",
        """
def mse_gradient(w, X, y):
    return X.T @ (X @ w - y) / len(y)
""",
    ),
    Bug(
        "mse-grad-sum",
        A1,
        "mse_gradient",
        "n times too large",
        """
def mse_gradient(w, X, y):
    return 2 * X.T @ (X @ w - y)
""",
    ),
    Bug(
        "mse-grad-column",
        A1,
        "mse_gradient",
        "shape",
        """
def mse_gradient(w, X, y):
    r = (X @ w - y).reshape(-1, 1)
    return 2 / len(y) * X.T @ r
""",
    ),
    Bug(
        "logistic-naive-overflow",
        A1,
        "logistic_loss",
        "inf or nan",
        """
def logistic_loss(w, X, y, l2=0.0):
    p = 1 / (1 + np.exp(-(X @ w)))
    return -np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)) + l2 / 2 * w @ w
""",
    ),
    Bug(
        "logistic-no-l2",
        A1,
        "logistic_loss",
        "seems to be missing",
        """
def logistic_loss(w, X, y, l2=0.0):
    z = X @ w
    return float(np.mean(np.logaddexp(0, z) - y * z))
""",
        passes=("logistic_loss: works with float32 inputs",),
    ),
    Bug(
        "logistic-l2-no-half",
        A1,
        "logistic_loss",
        "l2/2 * w @ w",
        """
def logistic_loss(w, X, y, l2=0.0):
    z = X @ w
    return float(np.mean(np.logaddexp(0, z) - y * z) + l2 * w @ w)
""",
    ),
    Bug(
        "logistic-labels-swapped",
        A1,
        "logistic_loss",
        "labels swapped",
        """
def logistic_loss(w, X, y, l2=0.0):
    z = X @ w
    return float(np.mean(np.logaddexp(0, z) - (1 - y) * z) + l2 / 2 * w @ w)
""",
        passes=("logistic_loss: adds the L2 penalty l2/2 * w @ w",),
    ),
    Bug(
        "logistic-sum",
        A1,
        "logistic_loss",
        "take the mean",
        """
def logistic_loss(w, X, y, l2=0.0):
    z = X @ w
    return float(np.sum(np.logaddexp(0, z) - y * z) + l2 / 2 * w @ w)
""",
    ),
    Bug(
        "logistic-grad-sign",
        A1,
        "logistic_gradient",
        "opposite way",
        """
def logistic_gradient(w, X, y, l2=0.0):
    p = 1 / (1 + np.exp(-(X @ w)))
    return X.T @ (y - p) / len(y) + l2 * w
""",
        passes=("logistic_gradient: adds l2 * w for the L2 penalty",),
    ),
    Bug(
        "logistic-grad-exp-over-one-plus-exp",
        A1,
        "logistic_gradient",
        "inf or nan",
        """
def logistic_gradient(w, X, y, l2=0.0):
    z = X @ w
    p = np.exp(z) / (1 + np.exp(z))   # inf / inf = nan once z passes about 710
    return X.T @ (p - y) / len(y) + l2 * w
""",
    ),
    Bug(
        "logistic-grad-no-n",
        A1,
        "logistic_gradient",
        "n times too large",
        """
def logistic_gradient(w, X, y, l2=0.0):
    p = 1 / (1 + np.exp(-(X @ w)))
    return X.T @ (p - y) + l2 * w
""",
    ),
    Bug(
        "logistic-grad-no-l2",
        A1,
        "logistic_gradient",
        "add l2 * w",
        """
def logistic_gradient(w, X, y, l2=0.0):
    p = 1 / (1 + np.exp(-(X @ w)))
    return X.T @ (p - y) / len(y)
""",
        passes=(
            "logistic_gradient: is accurate for confident predictions (sigmoid near 0 or 1)",
            "logistic_gradient: works with float32 inputs",
        ),
    ),
    Bug(
        "logistic-grad-half-l2",
        A1,
        "logistic_gradient",
        "should be l2 * w",
        """
def logistic_gradient(w, X, y, l2=0.0):
    p = 1 / (1 + np.exp(-(X @ w)))
    return X.T @ (p - y) / len(y) + l2 / 2 * w
""",
    ),
    Bug(
        "logistic-grad-sigmoid-of-minus",
        A1,
        "logistic_gradient",
        "sigmoid(-X @ w)",
        """
def logistic_gradient(w, X, y, l2=0.0):
    p = 1 / (1 + np.exp(X @ w))
    return X.T @ (p - y) / len(y) + l2 * w
""",
    ),
    Bug(
        "numgrad-forward",
        A1,
        "numerical_gradient",
        "forward difference",
        """
def numerical_gradient(f, w, eps=1e-6):
    g = np.zeros_like(w, dtype=float)
    for i in range(len(w)):
        e = np.zeros_like(w, dtype=float)
        e[i] = eps
        g[i] = (f(w + e) - f(w)) / eps
    return g
""",
        passes=("numerical_gradient: approximates the true gradient of smooth functions",),
    ),
    Bug(
        "numgrad-no-2",
        A1,
        "numerical_gradient",
        "divide by 2 * eps",
        """
def numerical_gradient(f, w, eps=1e-6):
    g = np.zeros_like(w, dtype=float)
    for i in range(len(w)):
        e = np.zeros_like(w, dtype=float)
        e[i] = eps
        g[i] = (f(w + e) - f(w - e)) / eps
    return g
""",
    ),
    Bug(
        "numgrad-fixed-eps",
        A1,
        "numerical_gradient",
        "ignores the eps",
        """
def numerical_gradient(f, w, eps=1e-6):
    h = 1e-5
    g = np.zeros_like(w, dtype=float)
    for i in range(len(w)):
        e = np.zeros_like(w, dtype=float)
        e[i] = h
        g[i] = (f(w + e) - f(w - e)) / (2 * h)
    return g
""",
    ),
    Bug(
        "numgrad-no-restore",
        A1,
        "numerical_gradient",
        "in place",
        """
def numerical_gradient(f, w, eps=1e-6):
    g = np.zeros(len(w))
    for i in range(len(w)):
        w[i] += eps
        up = f(w)
        w[i] -= 2 * eps
        down = f(w)
        g[i] = (up - down) / (2 * eps)
    return g
""",
    ),
    Bug(
        "numgrad-all-at-once",
        A1,
        "numerical_gradient",
        "one coordinate at a time",
        """
def numerical_gradient(f, w, eps=1e-6):
    return (f(w + eps) - f(w - eps)) / (2 * eps) * np.ones_like(w)
""",
    ),
    Bug(
        "gradcheck-mean",
        A1,
        "gradient_check",
        "maximum",
        """
def gradient_check(f, grad_f, w, eps=1e-6):
    a, b = grad_f(w), numerical_gradient(f, w, eps)
    return float(np.mean(np.abs(a - b) / np.maximum(np.abs(a) + np.abs(b), 1e-12)))
""",
    ),
    Bug(
        "gradcheck-norm",
        A1,
        "gradient_check",
        "norm-based",
        """
def gradient_check(f, grad_f, w, eps=1e-6):
    a, b = grad_f(w), numerical_gradient(f, w, eps)
    return float(np.linalg.norm(a - b) / (np.linalg.norm(a) + np.linalg.norm(b)))
""",
        never_says=("pass eps on", "passes eps"),
        passes=("gradient_check: passes its eps on to the numerical gradient",),
    ),
    Bug(
        "gradcheck-no-floor",
        A1,
        "gradient_check",
        "nan",
        """
def gradient_check(f, grad_f, w, eps=1e-6):
    a, b = grad_f(w), numerical_gradient(f, w, eps)
    return float(np.max(np.abs(a - b) / (np.abs(a) + np.abs(b))))
""",
    ),
    Bug(
        "gradcheck-drops-eps",
        A1,
        "gradient_check",
        "pass eps on",
        """
def gradient_check(f, grad_f, w, eps=1e-6):
    a, b = grad_f(w), numerical_gradient(f, w)
    return float(np.max(np.abs(a - b) / np.maximum(np.abs(a) + np.abs(b), 1e-12)))
""",
    ),
    Bug(
        "gradcheck-ratio-of-maxima",
        A1,
        "gradient_check",
        "wrong value",
        """
def gradient_check(f, grad_f, w, eps=1e-6):
    a, b = grad_f(w), numerical_gradient(f, w, eps)
    return float(np.max(np.abs(a - b)) / max(np.max(np.abs(a) + np.abs(b)), 1e-12))
""",
        never_says=("pass eps on",),
        passes=("gradient_check: passes its eps on to the numerical gradient",),
    ),
    # ------------------------------------------------------------ 02_gradient_descent
    Bug(
        "step-uphill",
        A2,
        "gd_step",
        "uphill",
        """
def gd_step(w, grad, lr):
    return w + lr * grad
""",
    ),
    Bug(
        "step-no-lr",
        A2,
        "gd_step",
        "learning rate",
        """
def gd_step(w, grad, lr):
    return w - grad
""",
    ),
    Bug(
        "step-in-place",
        A2,
        "gd_step",
        "in place",
        """
def gd_step(w, grad, lr):
    w -= lr * grad
    return w
""",
    ),
    Bug(
        "gd-no-w0-row",
        A2,
        "gradient_descent",
        "one row too few",
        """
def gradient_descent(grad_f, w0, lr, n_steps):
    w, path = w0.copy(), []
    for _ in range(n_steps):
        w = gd_step(w, grad_f(w), lr)
        path.append(w)
    return np.array(path)
""",
        never_says=("changed its argument",),
    ),
    Bug(
        "gd-aliasing",
        A2,
        "gradient_descent",
        "same array",
        """
def gradient_descent(grad_f, w0, lr, n_steps):
    w = np.array(w0, dtype=float)
    path = [w0]
    for _ in range(n_steps):
        w -= lr * grad_f(w)
        path.append(w)
    return np.array(path)
""",
    ),
    Bug(
        "gd-grad-at-w0",
        A2,
        "gradient_descent",
        "at w0",
        """
def gradient_descent(grad_f, w0, lr, n_steps):
    path = [w0]
    for _ in range(n_steps):
        path.append(gd_step(path[-1], grad_f(w0), lr))
    return np.array(path)
""",
    ),
    Bug(
        "gd-final-only",
        A2,
        "gradient_descent",
        "only the final weights",
        """
def gradient_descent(grad_f, w0, lr, n_steps):
    w = w0
    for _ in range(n_steps):
        w = gd_step(w, grad_f(w), lr)
    return w
""",
    ),
    Bug(
        "gd-off-by-one",
        A2,
        "gradient_descent",
        "append after every step",
        """
def gradient_descent(grad_f, w0, lr, n_steps):
    path = [w0]
    for _ in range(n_steps - 1):
        path.append(gd_step(path[-1], grad_f(path[-1]), lr))
    return np.array(path)
""",
    ),
    Bug(
        "gd-early-stop",
        A2,
        "gradient_descent",
        "stop before running all",
        """
def gradient_descent(grad_f, w0, lr, n_steps):
    path = [w0.copy()]
    for _ in range(n_steps):
        g = grad_f(path[-1])
        if np.linalg.norm(g) < 1e-10:
            break   # already at the minimum
        path.append(path[-1] - lr * g)
    return np.array(path)
""",
        passes=("gradient_descent: each step uses the gradient at the current weights",),
    ),
    Bug(
        "lr-one-over",
        A2,
        "max_stable_lr",
        "1 / largest eigenvalue",
        """
def max_stable_lr(H):
    return 1 / np.max(np.linalg.eigvalsh(H))
""",
        never_says=("start vector", "order of np.linalg.eigvals", "smallest"),
    ),
    Bug(
        "lr-diagonal",
        A2,
        "max_stable_lr",
        "diagonal",
        """
def max_stable_lr(H):
    return 2 / np.max(np.diag(H))
""",
    ),
    Bug(
        "lr-power-iteration-from-ones",
        A2,
        "max_stable_lr",
        "structured",
        """
def max_stable_lr(H):
    v = np.ones(H.shape[0])
    for _ in range(500):
        v = H @ v
        v = v / np.linalg.norm(v)
    return 2 / (v @ H @ v)
""",
        passes=("max_stable_lr: is 2 / (largest eigenvalue) for symmetric positive definite matrices",),
    ),
    Bug(
        "lr-first-eigvals",
        A2,
        "max_stable_lr",
        "structured",
        """
def max_stable_lr(H):
    return 2 / np.linalg.eigvals(H)[0].real
""",
    ),
    Bug(
        "lr-smallest",
        A2,
        "max_stable_lr",
        "smallest eigenvalue",
        """
def max_stable_lr(H):
    return 2 / np.min(np.linalg.eigvalsh(H))
""",
        never_says=("start vector", "order of np.linalg.eigvals", "half the limit"),
    ),
    Bug(
        "global-argmax",
        A2,
        "find_global_minimum",
        "local minimum",
        """
def find_global_minimum(f, grad_f, starts, lr, n_steps):
    ends = [gradient_descent(grad_f, s, lr, n_steps)[-1] for s in starts]
    return ends[int(np.argmax([f(e) for e in ends]))]
""",
    ),
    Bug(
        "global-first-start",
        A2,
        "find_global_minimum",
        "local minimum",
        """
def find_global_minimum(f, grad_f, starts, lr, n_steps):
    return gradient_descent(grad_f, starts[0], lr, n_steps)[-1]
""",
    ),
    Bug(
        "global-run-from-lowest-start",
        A2,
        "find_global_minimum",
        "start with the lowest loss",
        """
def find_global_minimum(f, grad_f, starts, lr, n_steps):
    best = starts[int(np.argmin([f(s) for s in starts]))]
    return gradient_descent(grad_f, best, lr, n_steps)[-1]
""",
    ),
    Bug(
        "global-best-start",
        A2,
        "find_global_minimum",
        "starting point",
        """
def find_global_minimum(f, grad_f, starts, lr, n_steps):
    best = starts[int(np.argmin([f(s) for s in starts]))]
    return best
""",
    ),
    Bug(
        "global-returns-loss",
        A2,
        "find_global_minimum",
        "single number",
        """
def find_global_minimum(f, grad_f, starts, lr, n_steps):
    return min(f(gradient_descent(grad_f, s, lr, n_steps)[-1]) for s in starts)
""",
    ),
    # ------------------------------------------------------------------ 03_minibatch
    Bug(
        "batches-drop-last",
        A3,
        "minibatches",
        "drops the last",
        """
def minibatches(n, batch_size, rng):
    order = rng.permutation(n)
    return [order[i:i + batch_size] for i in range(0, n - batch_size + 1, batch_size)]
""",
    ),
    Bug(
        "batches-with-replacement",
        A3,
        "minibatches",
        "exactly once",
        """
def minibatches(n, batch_size, rng):
    order = rng.integers(0, n, size=n)
    return [order[i:i + batch_size] for i in range(0, n, batch_size)]
""",
    ),
    Bug(
        "batches-unshuffled",
        A3,
        "minibatches",
        "in order",
        """
def minibatches(n, batch_size, rng):
    order = np.arange(n)
    return [order[i:i + batch_size] for i in range(0, n, batch_size)]
""",
    ),
    Bug(
        "batches-global-rng",
        A3,
        "minibatches",
        "use the rng argument",
        """
def minibatches(n, batch_size, rng):
    order = np.random.permutation(n)
    return [order[i:i + batch_size] for i in range(0, n, batch_size)]
""",
    ),
    Bug(
        "batches-array-split",
        A3,
        "minibatches",
        "array_split",
        """
def minibatches(n, batch_size, rng):
    return np.array_split(rng.permutation(n), int(np.ceil(n / batch_size)))
""",
    ),
    Bug(
        "full-no-w0-row",
        A3,
        "full_batch_gd",
        "missing its first row",
        """
def full_batch_gd(grad_fn, X, y, w0, lr, epochs):
    w, history = w0.copy(), []
    for _ in range(epochs):
        w = w - lr * grad_fn(w, X, y)
        history.append(w)
    return np.array(history)
""",
    ),
    Bug(
        "full-aliasing",
        A3,
        "full_batch_gd",
        "same array",
        """
def full_batch_gd(grad_fn, X, y, w0, lr, epochs):
    w = w0.copy()
    history = [w0.copy()]
    for _ in range(epochs):
        w -= lr * grad_fn(w, X, y)
        history.append(w)
    return np.array(history)
""",
    ),
    Bug(
        "full-missing-last-row",
        A3,
        "full_batch_gd",
        "the row after the last epoch is missing",
        """
def full_batch_gd(grad_fn, X, y, w0, lr, epochs):
    history = [w0.copy()]
    for _ in range(epochs - 1):
        history.append(history[-1] - lr * grad_fn(history[-1], X, y))
    return np.array(history)
""",
        never_says=("first row",),
    ),
    Bug(
        "full-early-stop",
        A3,
        "full_batch_gd",
        "stop before running all",
        """
def full_batch_gd(grad_fn, X, y, w0, lr, epochs):
    history = [w0.copy()]
    for _ in range(epochs):
        g = grad_fn(history[-1], X, y)
        if np.linalg.norm(g) < 1e-8:
            break   # converged: no need to go on
        history.append(history[-1] - lr * g)
    return np.array(history)
""",
        passes=("full_batch_gd: one update per epoch on all the data, w - lr * grad",),
    ),
    Bug(
        "full-uphill",
        A3,
        "full_batch_gd",
        "uphill",
        """
def full_batch_gd(grad_fn, X, y, w0, lr, epochs):
    history = [w0.copy()]
    for _ in range(epochs):
        history.append(history[-1] + lr * grad_fn(history[-1], X, y))
    return np.array(history)
""",
    ),
    Bug(
        "sgd-same-order",
        A3,
        "sgd",
        "same order in every epoch",
        """
def sgd(grad_fn, X, y, w0, lr, epochs, rng):
    w, history = w0.copy(), [w0.copy()]
    order = rng.permutation(len(y))
    for _ in range(epochs):
        for i in order:
            w = w - lr * grad_fn(w, X[i:i + 1], y[i:i + 1])
        history.append(w.copy())
    return np.array(history)
""",
    ),
    Bug(
        "sgd-unshuffled",
        A3,
        "sgd",
        "original order",
        """
def sgd(grad_fn, X, y, w0, lr, epochs, rng):
    w, history = w0.copy(), [w0.copy()]
    for _ in range(epochs):
        for i in range(len(y)):
            w = w - lr * grad_fn(w, X[i:i + 1], y[i:i + 1])
        history.append(w.copy())
    return np.array(history)
""",
    ),
    Bug(
        "sgd-with-replacement",
        A3,
        "sgd",
        "exactly once",
        """
def sgd(grad_fn, X, y, w0, lr, epochs, rng):
    w, history = w0.copy(), [w0.copy()]
    for _ in range(epochs):
        for _ in range(len(y)):
            i = rng.integers(len(y))
            w = w - lr * grad_fn(w, X[i:i + 1], y[i:i + 1])
        history.append(w.copy())
    return np.array(history)
""",
    ),
    Bug(
        "sgd-history-per-sample",
        A3,
        "sgd",
        "after every update",
        """
def sgd(grad_fn, X, y, w0, lr, epochs, rng):
    w, history = w0.copy(), [w0.copy()]
    for _ in range(epochs):
        for i in rng.permutation(len(y)):
            w = w - lr * grad_fn(w, X[i:i + 1], y[i:i + 1])
            history.append(w.copy())
    return np.array(history)
""",
    ),
    Bug(
        "sgd-global-rng",
        A3,
        "sgd",
        "never from np.random",
        """
def sgd(grad_fn, X, y, w0, lr, epochs, rng):
    w, history = w0.copy(), [w0.copy()]
    for _ in range(epochs):
        for i in np.random.permutation(len(y)):
            w = w - lr * grad_fn(w, X[i:i + 1], y[i:i + 1])
        history.append(w.copy())
    return np.array(history)
""",
    ),
    Bug(
        "mb-drop-last",
        A3,
        "minibatch_gd",
        "last, smaller batch",
        """
def minibatch_gd(grad_fn, X, y, w0, lr, epochs, batch_size, rng):
    w, history = w0.copy(), [w0.copy()]
    n = len(y)
    for _ in range(epochs):
        order = rng.permutation(n)
        for start in range(0, n - batch_size + 1, batch_size):
            b = order[start:start + batch_size]
            w = w - lr * grad_fn(w, X[b], y[b])
        history.append(w.copy())
    return np.array(history)
""",
    ),
    Bug(
        "mb-separate-shuffles",
        A3,
        "minibatch_gd",
        "do not belong to the rows",
        """
def minibatch_gd(grad_fn, X, y, w0, lr, epochs, batch_size, rng):
    w, history = w0.copy(), [w0.copy()]
    n = len(y)
    for _ in range(epochs):
        Xs, ys = X[rng.permutation(n)], y[rng.permutation(n)]
        for start in range(0, n, batch_size):
            w = w - lr * grad_fn(w, Xs[start:start + batch_size], ys[start:start + batch_size])
        history.append(w.copy())
    return np.array(history)
""",
    ),
    Bug(
        "mb-update-once-per-epoch",
        A3,
        "minibatch_gd",
        "same weights",
        """
def minibatch_gd(grad_fn, X, y, w0, lr, epochs, batch_size, rng):
    w, history = w0.copy(), [w0.copy()]
    for _ in range(epochs):
        grads = [grad_fn(w, X[b], y[b]) for b in minibatches(len(y), batch_size, rng)]
        w = w - lr * np.mean(grads, axis=0)
        history.append(w.copy())
    return np.array(history)
""",
    ),
    Bug(
        "mb-ignores-batch",
        A3,
        "minibatch_gd",
        "whole dataset",
        """
def minibatch_gd(grad_fn, X, y, w0, lr, epochs, batch_size, rng):
    w, history = w0.copy(), [w0.copy()]
    for _ in range(epochs):
        for b in minibatches(len(y), batch_size, rng):
            w = w - lr * grad_fn(w, X, y)
        history.append(w.copy())
    return np.array(history)
""",
    ),
    Bug(
        "mb-scaled-step",
        A3,
        "minibatch_gd",
        "your steps are batch_size times too large",
        """
def minibatch_gd(grad_fn, X, y, w0, lr, epochs, batch_size, rng):
    w, history = w0.copy(), [w0.copy()]
    for _ in range(epochs):
        for b in minibatches(len(y), batch_size, rng):
            w = w - lr * len(b) * grad_fn(w, X[b], y[b])
        history.append(w.copy())
    return np.array(history)
""",
    ),
    Bug(
        "mb-mutates-w0",
        A3,
        "minibatch_gd",
        "changed its argument `w0`",
        """
def minibatch_gd(grad_fn, X, y, w0, lr, epochs, batch_size, rng):
    w = w0
    history = [w0.copy()]
    for _ in range(epochs):
        for b in minibatches(len(y), batch_size, rng):
            w -= lr * grad_fn(w, X[b], y[b])
        history.append(w.copy())
    return np.array(history)
""",
    ),
    # ------------------------------------- an outside reviewer's students (issue 9 follow-up)
    # each message must name the real cause, and no other: not "row 0", not a hidden input
    Bug(
        "gd-aliasing-every-row",
        A2,
        "gradient_descent",
        "every row of your history is the same array",
        """
def gradient_descent(grad_f, w0, lr, n_steps):
    w = np.array(w0, dtype=float)
    path = [w]
    for _ in range(n_steps):
        w -= lr * grad_f(w)          # in place: every row is the same array
        path.append(w)
    return np.array(path)
""",
        never_says=("row 0 must be", "differs from w0"),
    ),
    Bug(
        "gradcheck-no-abs",
        A1,
        "gradient_check",
        "take abs(a - b)",
        """
def gradient_check(f, grad_f, w, eps=1e-6):
    a = np.asarray(grad_f(w), dtype=float)
    b = numerical_gradient(f, w, eps)
    return float(np.max((a - b) / np.maximum(np.abs(a) + np.abs(b), 1e-12)))
""",
        never_says=("coordinate too small)", "one coordinate", "eps"),
        passes=("gradient_check: passes its eps on to the numerical gradient",),
    ),
    Bug(
        "full-aliasing-every-row",
        A3,
        "full_batch_gd",
        "every row of your history is the same array",
        """
def full_batch_gd(grad_fn, X, y, w0, lr, epochs):
    w = np.array(w0, dtype=float)
    hist = [w]
    for _ in range(epochs):
        w -= lr * grad_fn(w, X, y)                  # in place: history aliases one array
        hist.append(w)
    return np.array(hist)
""",
        never_says=("row 0 must be", "differs from w0"),
    ),
    Bug(
        "sgd-aliasing-every-row",
        A3,
        "sgd",
        "every row of your history is the same array",
        """
def sgd(grad_fn, X, y, w0, lr, epochs, rng):
    w = np.array(w0, dtype=float)
    hist = [w]
    for _ in range(epochs):
        for i in rng.permutation(len(y)):
            w -= lr * grad_fn(w, X[i:i + 1], y[i:i + 1])
        hist.append(w)
    return np.array(hist)
""",
        never_says=("row 0 must be", "differs from w0"),
    ),
    Bug(
        "full-one-epoch-too-many",
        A3,
        "full_batch_gd",
        "one epoch more than `epochs`",
        """
def full_batch_gd(grad_fn, X, y, w0, lr, epochs):
    w = np.array(w0, dtype=float)
    hist = [w.copy()]
    for _ in range(epochs + 1):                      # one epoch too many
        w = w - lr * grad_fn(w, X, y)
        hist.append(w.copy())
    return np.array(hist)
""",
        never_says=("rows too", "(9, 3)"),
    ),
    Bug(
        "mb-global-rng",
        A3,
        "minibatch_gd",
        "never from np.random",
        """
def minibatch_gd(grad_fn, X, y, w0, lr, epochs, batch_size, rng):
    hist = [np.array(w0, dtype=float)]
    w = hist[0].copy()
    n = len(X)
    for _ in range(epochs):
        order = np.random.permutation(n)            # global np.random
        for s in range(0, n, batch_size):
            b = order[s:s + batch_size]
            w = w - lr * grad_fn(w, X[b], y[b])
        hist.append(w.copy())
    return np.array(hist)
""",
        never_says=("averages the gradient over its batch",),
        passes=("minibatch_gd: larger batches give less noisy results (spread across seeds shrinks)",),
    ),
    Bug(
        "mb-one-epoch-short",
        A3,
        "minibatch_gd",
        "append after every epoch",
        """
def minibatch_gd(grad_fn, X, y, w0, lr, epochs, batch_size, rng):
    hist = [np.array(w0, dtype=float)]
    w = hist[0].copy()
    for _ in range(epochs - 1):                        # off by one
        for b in minibatches(len(X), batch_size, rng):
            w = w - lr * grad_fn(w, X[b], y[b])
        hist.append(w.copy())
    return np.array(hist)
""",
        never_says=("every update", "(2, 3)", "rows too"),
    ),
    # ------------------------------------------- issue 18: the third pass (words, partial credit)
    # the spy's own hint reaches the student on the sandbox route (it used to stop after the colon)
    Bug(
        "sgd-row-not-batch",
        A3,
        "sgd",
        "A batch of one sample i is X[i:i + 1], y[i:i + 1]",
        """
def sgd(grad_fn, X, y, w0, lr, epochs, rng):
    w, history = w0.copy(), [w0.copy()]
    for _ in range(epochs):
        for i in rng.permutation(len(y)):
            w = w - lr * grad_fn(w, X[i], y[i])     # a row, not a batch of one
        history.append(w.copy())
    return np.array(history)
""",
        never_says=("(2,)", "(3,)", "shapes"),
    ),
    Bug(
        "global-f-on-all-ends",
        A2,
        "find_global_minimum",
        "call it on one point at a time",
        """
def find_global_minimum(f, grad_f, starts, lr, n_steps):
    ends = np.array([gradient_descent(grad_f, s, lr, n_steps)[-1] for s in starts])
    return ends[np.argmin(f(ends))]                 # f takes one point, not a matrix of them
""",
        never_says=("(2,)", "(3,)", "got shape"),
    ),
    Bug(
        "step-clipped",
        A2,
        "gd_step",
        "shortened to length 1",
        """
def gd_step(w, grad, lr):
    step = lr * grad
    norm = np.linalg.norm(step)
    if norm > 1:
        step = step / norm                          # "safety": never move more than 1
    return w - step
""",
        passes=(
            "gd_step: returns an array of shape (d,)",
            "gd_step: returns a new array and leaves w unchanged",
            "gd_step: works with float32 weights",
        ),
    ),
    Bug(
        "batches-generator",
        A3,
        "minibatches",
        "returned a generator; its docstring asks for a list",
        """
def minibatches(n, batch_size, rng):
    order = rng.permutation(n)
    for start in range(0, n, batch_size):
        yield order[start:start + batch_size]
""",
        never_says=("numbers or numpy arrays",),
        passes=(
            "minibatches: every index exactly once, in batches of batch_size (the last may be smaller)",
            "minibatches: a fresh random order, drawn from rng",
        ),
    ),
    Bug(
        "batches-tuple",
        A3,
        "minibatches",
        "returned a tuple; its docstring asks for a list",
        """
def minibatches(n, batch_size, rng):
    order = rng.permutation(n)
    return tuple(order[start:start + batch_size] for start in range(0, n, batch_size))
""",
        passes=(
            "minibatches: every index exactly once, in batches of batch_size (the last may be smaller)",
            "minibatches: a fresh random order, drawn from rng",
        ),
    ),
    Bug(
        "batches-with-replacement-choice",
        A3,
        "minibatches",
        "exactly once",
        """
def minibatches(n, batch_size, rng):
    return [np.random.choice(n, batch_size) for _ in range(n // batch_size)]
""",
        never_says=("drops the last",),
    ),
    Bug(
        "mse-grad-divide-by-d",
        A1,
        "mse_gradient",
        "divides by d",
        """
def mse_gradient(w, X, y):
    return 2 * X.T @ (X @ w - y) / X.shape[1]
""",
        never_says=("wrong value on random data.  ",),
        passes=(
            "mse_gradient: returns an array of shape (d,)",
            "mse_gradient: is the slope of mse_loss: a small step against it lowers the loss",
            "mse_gradient: works with float32 inputs",
            "mse_gradient: does not modify its inputs",
        ),
    ),
    Bug(
        "mse-grad-sign-keeps-form",
        A1,
        "mse_gradient",
        "opposite way",
        """
def mse_gradient(w, X, y):
    residual = y - X @ w                           # the wrong way round
    return 2 * X.T @ residual / len(y)
""",
        passes=(
            "mse_gradient: returns an array of shape (d,)",
            "mse_gradient: works with float32 inputs",
            "mse_gradient: does not modify its inputs",
        ),
    ),
    Bug(
        "mse-grad-no-2-keeps-form",
        A1,
        "mse_gradient",
        "factor 2 is missing",
        """
def mse_gradient(w, X, y):
    return X.T.dot(X.dot(w) - y) / X.shape[0]
""",
        passes=(
            "mse_gradient: returns an array of shape (d,)",
            "mse_gradient: is the slope of mse_loss: a small step against it lowers the loss",
            "mse_gradient: works with float32 inputs",
            "mse_gradient: does not modify its inputs",
        ),
    ),
    Bug(
        "mse-var",
        A1,
        "mse_loss",
        "np.var",
        """
def mse_loss(w, X, y):
    return float(np.var(X @ w - y))
""",
        passes=(
            "mse_loss: returns one number, the loss over all samples",
            "mse_loss: works with float32 inputs",
            "mse_loss: does not modify its inputs",
        ),
    ),
    Bug(
        "mse-sum-keeps-form",
        A1,
        "mse_loss",
        "take the mean",
        """
def mse_loss(w, X, y):
    return float(((X @ w - y) ** 2).sum())
""",
        passes=(
            "mse_loss: returns one number, the loss over all samples",
            "mse_loss: works with float32 inputs",
            "mse_loss: does not modify its inputs",
        ),
    ),
    Bug(
        "logistic-pm1-labels",
        A1,
        "logistic_loss",
        "labels in {-1, +1}",
        """
def logistic_loss(w, X, y, l2=0.0):
    # the textbook formula for labels -1 and +1 (finite for every z)
    return float(np.mean(np.logaddexp(0, -y * (X @ w))) + l2 / 2 * w @ w)
""",
        passes=(
            "logistic_loss: adds the L2 penalty l2/2 * w @ w",
            "logistic_loss: returns one number",
            "logistic_loss: stays finite and exact when abs(X @ w) is huge",
            "logistic_loss: works with float32 inputs",
            "logistic_loss: does not modify its inputs",
        ),
    ),
    Bug(
        "logistic-grad-pm1-labels",
        A1,
        "logistic_gradient",
        "labels in {-1, +1}",
        """
def logistic_gradient(w, X, y, l2=0.0):
    s = 1 / (1 + np.exp(y * (X @ w)))               # sigmoid(-y z): the {-1, +1} formula
    return -X.T @ (y * s) / len(y) + l2 * w
""",
        passes=(
            "logistic_gradient: returns an array of shape (d,)",
            "logistic_gradient: adds l2 * w for the L2 penalty",
            "logistic_gradient: does not modify its inputs",
        ),
    ),
    Bug(
        "logistic-clipped",
        A1,
        "logistic_loss",
        "np.logaddexp(0, z) - y * z is exact",
        """
def logistic_loss(w, X, y, l2=0.0):
    z = np.clip(X @ w, -500, 500)
    p = np.clip(1 / (1 + np.exp(-z)), 1e-12, 1 - 1e-12)
    return -np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)) + 0.5 * l2 * np.sum(w ** 2)
""",
        never_says=("clip the probabilities away",),
        passes=(
            "logistic_loss: matches the mean cross-entropy on random data",
            "logistic_loss: adds the L2 penalty l2/2 * w @ w",
            "logistic_loss: works with float32 inputs",
        ),
    ),
    Bug(
        "logistic-epsilon-in-log",
        A1,
        "logistic_loss",
        "finite but wrong",
        """
def sigmoid(z):
    return 1 / (1 + np.exp(-z))

def logistic_loss(w, X, y, l2=0.0):
    eps = 1e-15                                     # as in many tutorials
    h = sigmoid(X @ w)
    cost = -np.mean(y * np.log(h + eps) + (1 - y) * np.log(1 - h + eps))
    return cost + l2 / 2 * np.dot(w, w)
""",
        passes=("logistic_loss: matches the mean cross-entropy on random data",),
    ),
    Bug(
        "full-averages-per-sample-gradients",
        A3,
        "full_batch_gd",
        "several times at the same weights",
        """
def full_batch_gd(grad_fn, X, y, w0, lr, epochs):
    w = np.array(w0, dtype=float)
    history = [w.copy()]
    for _ in range(epochs):
        grads = [grad_fn(w, X[i:i + 1], y[i:i + 1]) for i in range(len(y))]
        w = w - lr * np.mean(grads, axis=0)        # the same update, from n calls
        history.append(w.copy())
    return np.array(history)
""",
        never_says=("batch_size", "more updates per epoch than there are batches"),
        passes=(
            "full_batch_gd: returns the history, shape (epochs + 1, d)",
            "full_batch_gd: reaches the least-squares solution",
            "full_batch_gd: reaches the optimum of L2-regularised logistic regression",
            "full_batch_gd: does not modify its inputs",
        ),
    ),
    Bug(
        "mse-loss-extra-axis",
        A1,
        "mse_loss",
        "with an extra axis",
        """
def mse_loss(w, X, y):
    return np.mean((X @ w - y) ** 2, keepdims=True)
""",
        passes=(
            "mse_loss: matches the mean squared error on random data of several shapes",
            "mse_loss: works with float32 inputs",
            "mse_loss: does not modify its inputs",
        ),
    ),
    Bug(
        "global-extra-axis",
        A2,
        "find_global_minimum",
        "with an extra axis",
        """
def find_global_minimum(f, grad_f, starts, lr, n_steps):
    ends = np.array([gradient_descent(grad_f, s, lr, n_steps)[-1] for s in starts])
    best = np.argmin([f(e) for e in ends])
    return ends[[best]]                             # a (1, d) slice, not the (d,) row
""",
        passes=(
            "find_global_minimum: finds the global minimum of a landscape with a local one",
            "find_global_minimum: does not modify starts",
        ),
    ),
    Bug(
        "lr-extra-axis",
        A2,
        "max_stable_lr",
        "with an extra axis",
        """
def max_stable_lr(H):
    return 2 / np.linalg.eigvalsh(H)[-1:]           # a slice: an array of one number
""",
        passes=(
            "max_stable_lr: is 2 / (largest eigenvalue) for symmetric positive definite matrices",
            "max_stable_lr: does not modify H",
        ),
    ),
    Bug(
        "gd-row-per-call",
        A2,
        "gradient_descent",
        "too many rows",
        """
def gradient_descent(grad_f, w0, lr, n_steps):
    path = [np.array(w0, dtype=float)]
    for _ in range(n_steps):
        g = grad_f(path[-1])
        path.append(path[-1] - lr * g / 2)          # two half steps, each recorded
        path.append(path[-1] - lr * g / 2)
    return np.array(path)
""",
    ),
    Bug(
        "gd-extra-grad-call",
        A2,
        "gradient_descent",
        "more than once at the same weights",
        """
def gradient_descent(grad_f, w0, lr, n_steps):
    w = np.array(w0, dtype=float)
    path = [w]
    for _ in range(n_steps):
        if np.linalg.norm(grad_f(w)) < 1e-300:      # a stopping test that never fires here
            pass
        w = w - lr * grad_f(w)
        path.append(w)
    return np.array(path)
""",
        passes=(
            "gradient_descent: returns the path: w0, then one row per step",
            "gradient_descent: each step uses the gradient at the current weights",
            "gradient_descent: converges to the minimum of a convex quadratic",
            "gradient_descent: does not modify w0",
        ),
    ),
    Bug(
        "gd-off-by-one-keeps-the-rest",
        A2,
        "gradient_descent",
        "one row too few",
        """
def gradient_descent(grad_f, w0, lr, n_steps):
    path = [np.array(w0, dtype=float)]
    for _ in range(1, n_steps):                    # one step short
        path.append(path[-1] - lr * grad_f(path[-1]))
    return np.array(path)
""",
        passes=(
            "gradient_descent: converges to the minimum of a convex quadratic",
            "gradient_descent: does not modify w0",
        ),
    ),
    Bug(
        "full-one-epoch-too-many-keeps-the-rest",
        A3,
        "full_batch_gd",
        "one row too many",
        """
def full_batch_gd(grad_fn, X, y, w0, lr, epochs):
    history = [np.array(w0, dtype=float)]
    for _ in range(epochs + 1):
        history.append(history[-1] - lr * grad_fn(history[-1], X, y))
    return np.array(history)
""",
        passes=(
            "full_batch_gd: reaches the least-squares solution",
            "full_batch_gd: reaches the optimum of L2-regularised logistic regression",
            "full_batch_gd: does not modify its inputs",
        ),
    ),
    Bug(
        "lr-min-plus-max",
        A2,
        "max_stable_lr",
        "smallest + largest eigenvalue",
        """
def max_stable_lr(H):
    eig = np.linalg.eigvalsh(H)
    return 2 / (eig[0] + eig[-1])                   # the optimal fixed step, not the limit
""",
        never_says=("equals 1 / largest eigenvalue",),
        passes=("max_stable_lr: returns one number", "max_stable_lr: does not modify H"),
    ),
    Bug(
        "mb-empty-last-batch",
        A3,
        "minibatch_gd",
        "empty batch",
        """
def minibatch_gd(grad_fn, X, y, w0, lr, epochs, batch_size, rng):
    w, history = np.array(w0, dtype=float), [np.array(w0, dtype=float)]
    n = len(y)
    for _ in range(epochs):
        order = rng.permutation(n)
        for start in range(0, n + batch_size, batch_size):   # one slice too many: it is empty
            b = order[start:start + batch_size]
            w = w - lr * grad_fn(w, X[b], y[b])
        history.append(w.copy())
    return np.array(history)
""",
        never_says=("ZeroDivisionError", "division by zero"),
    ),
    # ---------------------------------------------------------- held-out students (issue 18 follow-up)
    Bug(
        "mse-grad-zeros-placeholder",
        A1,
        "mse_gradient",
        "only zeros",
        """
def mse_gradient(w, X, y):
    return np.zeros_like(w)                          # placeholder, to fill in later
""",
        never_says=("constant factor", "form of the formula is right", "points downhill"),
    ),
    Bug(
        "logistic-grad-no-sigmoid",
        A1,
        "logistic_gradient",
        "the sigmoid is missing",
        """
def logistic_gradient(w, X, y, l2=0.0):
    return X.T @ (X @ w - y) / len(y) + l2 * w      # the linear-regression gradient
""",
    ),
    Bug(
        "gd-lr-twice",
        A2,
        "gradient_descent",
        "the learning rate is applied twice",
        """
def gradient_descent(grad_f, w0, lr, n_steps):
    path = [w0.copy()]
    w = w0.copy()
    for _ in range(n_steps):
        step = lr * grad_f(w)
        w = gd_step(w, step, lr)                     # gd_step multiplies by lr again
        path.append(w)
    return np.array(path)
""",
        never_says=("gives the wrong value along the path",),
    ),
    Bug(
        "fb-step-divided-by-n",
        A3,
        "full_batch_gd",
        "your steps are n times too small",
        """
def full_batch_gd(grad_fn, X, y, w0, lr, epochs):
    w = w0.copy()
    history = [w.copy()]
    for _ in range(epochs):
        w = w - lr * grad_fn(w, X, y) / len(X)       # "average over the samples" once more
        history.append(w.copy())
    return np.array(history)
""",
        never_says=("with the current w",),
        passes=(
            "full_batch_gd: returns the history, shape (epochs + 1, d)",
            "full_batch_gd: does not modify its inputs",
        ),
    ),
    Bug(
        "fb-final-weights-only",
        A3,
        "full_batch_gd",
        "returns only the final weights",
        """
def full_batch_gd(grad_fn, X, y, w0, lr, epochs):
    w = w0.copy()
    for _ in range(epochs):
        w = w - lr * grad_fn(w, X, y)
    return w
""",
        never_says=("1-dimensional",),
    ),
    Bug(
        "sgd-lr-over-n",
        A3,
        "sgd",
        "your steps are n times too small",
        """
def sgd(grad_fn, X, y, w0, lr, epochs, rng):
    n = len(X)
    w = w0.copy()
    history = [w.copy()]
    for _ in range(epochs):
        for i in rng.permutation(n):
            w = w - (lr / n) * grad_fn(w, X[i:i + 1], y[i:i + 1])
        history.append(w.copy())
    return np.array(history)
""",
        never_says=("with the current w",),
        passes=("sgd: randomness only from rng", "sgd: does not modify its inputs"),
    ),
    Bug(
        "mb-step-divided-by-batch-size",
        A3,
        "minibatch_gd",
        "your steps are batch_size times too small",
        """
def minibatch_gd(grad_fn, X, y, w0, lr, epochs, batch_size, rng):
    w = w0.copy()
    history = [w.copy()]
    for _ in range(epochs):
        for batch in minibatches(len(X), batch_size, rng):
            w = w - lr * grad_fn(w, X[batch], y[batch]) / batch_size   # mean over the batch
        history.append(w.copy())
    return np.array(history)
""",
        never_says=("with the current w",),
        passes=("minibatch_gd: randomness only from rng", "minibatch_gd: does not modify its inputs"),
    ),
    Bug(
        "mb-lr-twice",
        A3,
        "minibatch_gd",
        "the learning rate is applied twice",
        """
def minibatch_gd(grad_fn, X, y, w0, lr, epochs, batch_size, rng):
    w = w0.copy()
    history = [w.copy()]
    for _ in range(epochs):
        for b in minibatches(len(X), batch_size, rng):
            grad = lr * grad_fn(w, X[b], y[b])
            w = w - lr * grad
        history.append(w.copy())
    return np.array(history)
""",
        never_says=("with the current w",),
        passes=("minibatch_gd: randomness only from rng",),
    ),
    Bug(
        "mb-deepcopy-rng",
        A3,
        "minibatch_gd",
        "not a copy (copy.deepcopy(rng))",
        """
import copy
def minibatch_gd(grad_fn, X, y, w0, lr, epochs, batch_size, rng):
    w = w0.copy()
    history = [w.copy()]
    for _ in range(epochs):
        # a copy of the generator, so that rng itself is not changed
        for b in minibatches(len(X), batch_size, copy.deepcopy(rng)):
            w = w - lr * grad_fn(w, X[b], y[b])
        history.append(w.copy())
    return np.array(history)
""",
    ),
]

#: Constant answers of the right shape for every graded function: they must score 0 in total.
#: Histories stay at w0 (row 0 right, nothing else), the strongest constant an outside attacker found.
CHEATERS = {
    A1: """
def mse_loss(w, X, y):
    return 0.0
def mse_gradient(w, X, y):
    return np.zeros_like(w)
def logistic_loss(w, X, y, l2=0.0):
    return 0.0
def logistic_gradient(w, X, y, l2=0.0):
    return np.zeros_like(w)
def numerical_gradient(f, w, eps=1e-6):
    return np.zeros_like(w)
def gradient_check(f, grad_f, w, eps=1e-6):
    return 0.0
""",
    A2: """
def gd_step(w, grad, lr):
    return np.array(w, dtype=float)
def gradient_descent(grad_f, w0, lr, n_steps):
    return np.tile(w0, (n_steps + 1, 1))
def max_stable_lr(H):
    return 1.0
def find_global_minimum(f, grad_f, starts, lr, n_steps):
    return np.zeros(starts.shape[1])
""",
    A3: """
def minibatches(n, batch_size, rng):
    return [np.zeros(min(batch_size, n - i), dtype=int) for i in range(0, n, batch_size)]
def full_batch_gd(grad_fn, X, y, w0, lr, epochs):
    return np.tile(w0, (epochs + 1, 1))
def sgd(grad_fn, X, y, w0, lr, epochs, rng):
    return np.tile(w0, (epochs + 1, 1))
def minibatch_gd(grad_fn, X, y, w0, lr, epochs, batch_size, rng):
    return np.tile(w0, (epochs + 1, 1))
""",
}

#: Answers computed from some of their inputs but not from one they must use, or looked up by
#: size: not implementations either, so they must score 0 in total too (the gates' other half).
LOOKUPS = {
    A1: """
def mse_loss(w, X, y):
    return {3: 1.25, 1: 0.5}.get(X.shape[1], float(len(y)))
def mse_gradient(w, X, y):
    return 2 * w
def logistic_loss(w, X, y, l2=0.0):
    return float(np.log(2) + l2 / 2 * w @ w)
def logistic_gradient(w, X, y, l2=0.0):
    return X.mean(axis=0) + l2 * w
def numerical_gradient(f, w, eps=1e-6):
    return np.full_like(w, eps)
def gradient_check(f, grad_f, w, eps=1e-6):
    return float(abs(f(w)) * 0)
""",
    A2: """
def gd_step(w, grad, lr):
    return w * (1 - lr)
def gradient_descent(grad_f, w0, lr, n_steps):
    return np.array([w0 * (1 - lr) ** k for k in range(n_steps + 1)])
def max_stable_lr(H):
    return 2.0 / len(H)
def find_global_minimum(f, grad_f, starts, lr, n_steps):
    return starts.mean(axis=0)
""",
    A3: """
def minibatches(n, batch_size, rng):
    return [np.arange(min(batch_size, n - i)) for i in range(0, n, batch_size)]
def full_batch_gd(grad_fn, X, y, w0, lr, epochs):
    return np.array([w0 * 0.5 ** k for k in range(epochs + 1)])
def sgd(grad_fn, X, y, w0, lr, epochs, rng):
    return np.array([w0 + k * lr for k in range(epochs + 1)])
def minibatch_gd(grad_fn, X, y, w0, lr, epochs, batch_size, rng):
    return np.array([w0 - k * lr * np.sign(w0) for k in range(epochs + 1)])
""",
}

VARIANTS = [
    Variant(
        "mse-grad-list-of-numpy-floats",
        A1,
        "mse_gradient",
        """
def mse_gradient(w, X, y):
    return list(2 / X.shape[0] * X.T @ (X @ w - y))
""",
    ),
    Variant(
        "mse-grad-list-of-floats",
        A1,
        "mse_gradient",
        """
def mse_gradient(w, X, y):
    r = X @ w - y
    return [2 * float(np.dot(X[:, j], r)) / len(y) for j in range(X.shape[1])]
""",
    ),
    Variant(
        "lr-power-iteration-random-start",
        A2,
        "max_stable_lr",
        """
def max_stable_lr(H):
    v = np.random.default_rng(0).normal(size=H.shape[0])
    for _ in range(500):
        v = H @ v
        v = v / np.linalg.norm(v)
    return 2 / (v @ H @ v)
""",
    ),
    Variant(
        "logistic-grad-clipped-probabilities",
        A1,
        "logistic_gradient",
        """
def logistic_gradient(w, X, y, l2=0.0):
    p = np.clip(1 / (1 + np.exp(-(X @ w))), 1e-12, 1 - 1e-12)
    return X.T @ (p - y) / X.shape[0] + l2 * w
""",
    ),
    Variant(
        "sgd-float32-history",
        A3,
        "sgd",
        """
def sgd(grad_fn, X, y, w0, lr, epochs, rng):
    hist = np.zeros((epochs + 1, w0.shape[0]), dtype=np.float32)
    hist[0] = w0
    w = w0.astype(float)
    for e in range(epochs):
        for i in rng.permutation(X.shape[0]):
            w = w - lr * grad_fn(w, X[[i]], y[[i]])
        hist[e + 1] = w
    return hist
""",
    ),
    Variant(
        "mb-history-as-list",
        A3,
        "minibatch_gd",
        """
def minibatch_gd(grad_fn, X, y, w0, lr, epochs, batch_size, rng):
    w, history = np.copy(w0), [np.copy(w0)]
    for _ in range(epochs):
        for b in minibatches(len(y), batch_size, rng):
            w = w - lr * grad_fn(w, X[b], y[b])
        history.append(np.copy(w))
    return history
""",
    ),
    Variant(
        "gd-float32-path",
        A2,
        "gradient_descent",
        """
def gradient_descent(grad_f, w0, lr, n_steps):
    path = np.zeros((n_steps + 1, len(w0)), dtype=np.float32)
    path[0] = w0
    w = w0.copy()
    for k in range(n_steps):
        w = gd_step(w, grad_f(w), lr)
        path[k + 1] = w
    return path
""",
    ),
    Variant(
        "full-float32-history",
        A3,
        "full_batch_gd",
        """
def full_batch_gd(grad_fn, X, y, w0, lr, epochs):
    w = w0.copy()
    history = np.empty((epochs + 1, len(w0)), dtype=np.float32)
    history[0] = w0
    for e in range(epochs):
        w = w - lr * grad_fn(w, X, y)
        history[e + 1] = w
    return history
""",
    ),
    Variant(
        "mse-loop",
        A1,
        "mse_loss",
        """
def mse_loss(w, X, y):
    total = 0.0
    for i in range(len(y)):
        total += (np.dot(X[i], w) - y[i]) ** 2
    return total / len(y)
""",
    ),
    Variant(
        "mse-float32-result",
        A1,
        "mse_loss",
        """
def mse_loss(w, X, y):
    return np.square(X.dot(w) - y).mean()
""",
    ),
    Variant(
        "mse-grad-loop",
        A1,
        "mse_gradient",
        """
def mse_gradient(w, X, y):
    g = np.zeros(X.shape[1])
    for i in range(X.shape[0]):
        g += 2 * (X[i] @ w - y[i]) * X[i]
    return g / X.shape[0]
""",
    ),
    Variant(
        "logistic-piecewise",
        A1,
        "logistic_loss",
        """
def logistic_loss(w, X, y, l2=0.0):
    z = X @ w
    log1pexp = np.where(z > 0, z + np.log1p(np.exp(-np.abs(z))), np.log1p(np.exp(-np.abs(z))))
    return float(np.mean(log1pexp - y * z) + l2 / 2 * np.dot(w, w))
""",
    ),
    Variant(
        "logistic-grad-plain-sigmoid",
        A1,
        "logistic_gradient",
        """
def sigmoid(z):
    return 1 / (1 + np.exp(-z))   # warns on overflow for large -z, but the value (0) is right

def logistic_gradient(w, X, y, l2=0.0):
    return X.T @ (sigmoid(X @ w) - y) / X.shape[0] + l2 * w
""",
    ),
    Variant(
        "logistic-scipy-expit",
        A1,
        "logistic_gradient",
        """
from scipy.special import expit

def logistic_gradient(w, X, y, l2=0.0):
    return X.T @ (expit(X @ w) - y) / X.shape[0] + l2 * w
""",
    ),
    Variant(
        "logistic-loss-log1p",
        A1,
        "logistic_loss",
        """
def logistic_loss(w, X, y, l2=0.0):
    z = X.dot(w)
    return np.mean(np.log1p(np.exp(-np.abs(z))) + np.maximum(z, 0) - y * z) + l2 * np.linalg.norm(w) ** 2 / 2
""",
    ),
    Variant(
        "numgrad-in-place-restore",
        A1,
        "numerical_gradient",
        """
def numerical_gradient(f, w, eps=1e-6):
    grad = np.zeros_like(w)
    for ix in range(w.size):
        old = w[ix]
        w[ix] = old + eps
        plus = f(w)
        w[ix] = old - eps
        minus = f(w)
        w[ix] = old
        grad[ix] = (plus - minus) / (2 * eps)
    return grad
""",
    ),
    Variant(
        "numgrad-eye",
        A1,
        "numerical_gradient",
        """
def numerical_gradient(f, w, eps=1e-6):
    E = eps * np.eye(len(w))
    return np.array([(f(w + e) - f(w - e)) / (2 * eps) for e in E])
""",
    ),
    Variant(
        "gradcheck-own-loop",
        A1,
        "gradient_check",
        """
def gradient_check(f, grad_f, w, eps=1e-6):
    a = grad_f(w)
    worst = 0.0
    for i in range(len(w)):
        e = np.zeros(len(w)); e[i] = eps
        b = (f(w + e) - f(w - e)) / (2 * eps)
        worst = max(worst, abs(a[i] - b) / max(abs(a[i]) + abs(b), 1e-12))
    return worst
""",
    ),
    Variant(
        "step-subtract",
        A2,
        "gd_step",
        """
def gd_step(w, grad, lr):
    return np.subtract(w, np.multiply(lr, grad))
""",
    ),
    Variant(
        "gd-preallocated",
        A2,
        "gradient_descent",
        """
def gradient_descent(grad_f, w0, lr, n_steps):
    path = np.empty((n_steps + 1, len(w0)))
    path[0] = w0
    for k in range(n_steps):
        path[k + 1] = path[k] - lr * grad_f(path[k])
    return path
""",
    ),
    Variant(
        "gd-gradient-ahead",
        A2,
        "gradient_descent",
        """
def gradient_descent(grad_f, w0, lr, n_steps):
    w = np.array(w0, dtype=float)
    path = [w]
    g = grad_f(w)
    for _ in range(n_steps):
        w = w - lr * g
        path.append(w)
        g = grad_f(w)      # computed one step ahead; the last one is not used
    return np.vstack(path)
""",
    ),
    Variant(
        "lr-spectral-norm",
        A2,
        "max_stable_lr",
        """
def max_stable_lr(H):
    return 2 / np.linalg.norm(H, 2)
""",
    ),
    Variant(
        "lr-eigvals",
        A2,
        "max_stable_lr",
        """
def max_stable_lr(H):
    return 2.0 / np.max(np.real(np.linalg.eigvals(H)))
""",
    ),
    Variant(
        "global-own-loop",
        A2,
        "find_global_minimum",
        """
def find_global_minimum(f, grad_f, starts, lr, n_steps):
    best, best_f = None, np.inf
    for s in starts:
        w = s.copy()
        for _ in range(n_steps):
            w = w - lr * grad_f(w)
        if f(w) < best_f:
            best, best_f = w, f(w)
    return best
""",
    ),
    Variant(
        "batches-shuffle",
        A3,
        "minibatches",
        """
def minibatches(n, batch_size, rng):
    idx = np.arange(n)
    rng.shuffle(idx)
    return [idx[i:i + batch_size] for i in range(0, n, batch_size)]
""",
    ),
    Variant(
        "batches-split",
        A3,
        "minibatches",
        """
def minibatches(n, batch_size, rng):
    return np.split(rng.permutation(n), np.arange(batch_size, n, batch_size))
""",
    ),
    Variant(
        "batches-argsort",
        A3,
        "minibatches",
        """
def minibatches(n, batch_size, rng):
    order = np.argsort(rng.random(n))
    batches = []
    start = 0
    while start < n:
        batches.append(order[start:start + batch_size])
        start += batch_size
    return batches
""",
    ),
    Variant(
        "full-preallocated",
        A3,
        "full_batch_gd",
        """
def full_batch_gd(grad_fn, X, y, w0, lr, epochs):
    history = np.zeros((epochs + 1, len(w0)))
    history[0] = w0
    for e in range(epochs):
        history[e + 1] = history[e] - lr * grad_fn(history[e], X, y)
    return history
""",
    ),
    Variant(
        "sgd-via-minibatches",
        A3,
        "sgd",
        """
def sgd(grad_fn, X, y, w0, lr, epochs, rng):
    w, history = w0.copy(), [w0.copy()]
    for _ in range(epochs):
        for batch in minibatches(X.shape[0], 1, rng):
            w = w - lr * grad_fn(w, X[batch], y[batch])
        history.append(w.copy())
    return np.array(history)
""",
    ),
    Variant(
        "sgd-choice",
        A3,
        "sgd",
        """
def sgd(grad_fn, X, y, w0, lr, epochs, rng):
    w = np.array(w0, dtype=float)
    history = [w.copy()]
    for _ in range(epochs):
        for i in rng.choice(len(y), size=len(y), replace=False):
            w -= lr * grad_fn(w, X[[i]], y[[i]])
        history.append(w.copy())
    return np.stack(history)
""",
    ),
    Variant(
        "sgd-is-minibatch-of-one",
        A3,
        "sgd",
        """
def sgd(grad_fn, X, y, w0, lr, epochs, rng):
    return minibatch_gd(grad_fn, X, y, w0, lr, epochs, 1, rng)   # batch size 1 is SGD
""",
    ),
    Variant(
        "mb-reused-shuffled-index",
        A3,
        "minibatch_gd",
        """
def minibatch_gd(grad_fn, X, y, w0, lr, epochs, batch_size, rng):
    idx = np.arange(X.shape[0])
    w = w0.copy()
    history = np.zeros((epochs + 1, w0.size))
    history[0] = w
    for e in range(epochs):
        rng.shuffle(idx)
        for k in range(int(np.ceil(len(idx) / batch_size))):
            b = idx[k * batch_size:(k + 1) * batch_size]
            w -= lr * grad_fn(w, X[b], y[b])
        history[e + 1] = w
    return history
""",
    ),
    Variant(
        "mb-inline-permutation",
        A3,
        "minibatch_gd",
        """
def minibatch_gd(grad_fn, X, y, w0, lr, epochs, batch_size, rng):
    w = w0.astype(float)
    history = [w]
    n = X.shape[0]
    for _ in range(epochs):
        perm = rng.permutation(n)
        Xp, yp = X[perm], y[perm]
        for s in range(0, n, batch_size):
            w = w - lr * grad_fn(w, Xp[s:s + batch_size], yp[s:s + batch_size])
        history.append(w)
    return np.array(history)
""",
    ),
    # --------------------------------------- issue 18: unusual styles that are right (keep full marks)
    Variant(
        "mse-fsum",
        A1,
        "mse_loss",
        """
import math

def mse_loss(w, X, y):
    return math.fsum((float(x @ w) - t) ** 2 for x, t in zip(X, y)) / len(y)
""",
    ),
    Variant(
        "mse-float64-cast",
        A1,
        "mse_loss",
        """
def mse_loss(w, X, y):
    w, X, y = (np.asarray(a, dtype=np.float64) for a in (w, X, y))   # integer inputs too
    r = X @ w - y
    return r @ r / r.size
""",
    ),
    Variant(
        "mse-grad-einsum",
        A1,
        "mse_gradient",
        """
def mse_gradient(w, X, y):
    return 2.0 / X.shape[0] * np.einsum("ij,i->j", X, np.einsum("ij,j->i", X, w) - y)
""",
    ),
    Variant(
        "logistic-log-expit",
        A1,
        "logistic_loss",
        """
from scipy.special import log_expit

def logistic_loss(w, X, y, l2=0.0):
    z = X @ w
    return -np.mean(y * log_expit(z) + (1 - y) * log_expit(-z)) + 0.5 * l2 * (w @ w)
""",
    ),
    Variant(
        "logistic-grad-sigmoid-class",
        A1,
        "logistic_gradient",
        """
class Sigmoid:
    \"\"\"The logistic function, stable on both sides.\"\"\"

    def __call__(self, z):
        z = np.asarray(z, dtype=float)
        e = np.exp(-np.abs(z))
        return np.where(z >= 0, 1 / (1 + e), e / (1 + e))

sigmoid = Sigmoid()

def logistic_gradient(w, X, y, l2=0.0):
    return X.T @ (sigmoid(X @ w) - y) / len(y) + l2 * w
""",
    ),
    Variant(
        "numgrad-generator",
        A1,
        "numerical_gradient",
        """
def numerical_gradient(f, w, eps=1e-6):
    w = np.asarray(w, dtype=float)
    units = (np.eye(w.size)[j] for j in range(w.size))
    return np.fromiter(((f(w + eps * e) - f(w - eps * e)) / (2 * eps) for e in units), dtype=float, count=w.size)
""",
    ),
    Variant(
        "gradcheck-out",
        A1,
        "gradient_check",
        """
def gradient_check(f, grad_f, w, eps=1e-6):
    a = np.asarray(grad_f(w), dtype=float)
    b = numerical_gradient(f, w, eps)
    num = np.abs(np.subtract(a, b))
    den = np.maximum(np.add(np.abs(a), np.abs(b)), 1e-12)
    return float(np.max(np.divide(num, den, out=np.zeros_like(num))))
""",
    ),
    Variant(
        "step-out-float",
        A2,
        "gd_step",
        """
def gd_step(w, grad, lr):
    w = np.asarray(w, dtype=float)                 # integer weights work too
    return np.subtract(w, np.multiply(lr, grad), out=np.empty_like(w))
""",
    ),
    Variant(
        "gd-accumulate",
        A2,
        "gradient_descent",
        """
import itertools

def gradient_descent(grad_f, w0, lr, n_steps):
    steps = itertools.accumulate(range(n_steps), lambda w, _: gd_step(w, grad_f(w), lr), initial=np.array(w0, float))
    return np.array(list(steps))
""",
    ),
    Variant(
        "gd-tutorial-with-prints",
        A2,
        "gradient_descent",
        """
def gradient_descent(grad_f, w0, lr, n_steps):
    # in the style of many tutorials: keep a history, report progress now and then
    w = w0.astype(float).copy()
    w_history = [w.copy()]
    for i in range(n_steps):
        gradient = grad_f(w)
        w = w - lr * gradient
        w_history.append(w.copy())
        if i % 100 == 0:
            print(f"step {i}: |grad| = {np.linalg.norm(gradient):.3e}")
    return np.array(w_history)
""",
    ),
    Variant(
        "lr-scipy-eigh",
        A2,
        "max_stable_lr",
        """
import scipy.linalg

def max_stable_lr(H):
    return 2.0 / scipy.linalg.eigh(H, eigvals_only=True)[-1]
""",
    ),
    Variant(
        "global-min-key",
        A2,
        "find_global_minimum",
        """
def find_global_minimum(f, grad_f, starts, lr, n_steps):
    return min((gradient_descent(grad_f, s, lr, n_steps)[-1] for s in starts), key=f)
""",
    ),
    Variant(
        "batches-int32-from-a-generator",
        A3,
        "minibatches",
        """
def minibatches(n, batch_size, rng):
    order = rng.choice(n, n, replace=False).astype(np.int32)
    def pieces():
        for start in range(0, n, batch_size):
            yield order[start:start + batch_size]
    return list(pieces())
""",
    ),
    Variant(
        "mb-choice-tutorial",
        A3,
        "minibatch_gd",
        """
def minibatch_gd(grad_fn, X, y, w0, lr, epochs, batch_size, rng):
    # the loop of many tutorials: shuffle X and y together, then slice
    n_samples = X.shape[0]
    w = np.copy(w0).astype(float)
    history = [w.copy()]
    for epoch in range(epochs):
        indices = rng.choice(n_samples, n_samples, replace=False)
        X_shuffled, y_shuffled = X[indices], y[indices]
        for start_idx in range(0, n_samples, batch_size):
            X_batch = X_shuffled[start_idx:start_idx + batch_size]
            y_batch = y_shuffled[start_idx:start_idx + batch_size]
            w -= lr * grad_fn(w, X_batch, y_batch)
        history.append(w.copy())
    return np.array(history)
""",
    ),
    Variant(
        "full-float32-weights",
        A3,
        "full_batch_gd",
        """
def full_batch_gd(grad_fn, X, y, w0, lr, epochs):
    history = np.empty((epochs + 1, len(w0)), dtype=np.float32)
    w = np.asarray(w0, dtype=np.float64)
    history[0] = w
    for epoch in range(1, epochs + 1):
        w = w - lr * grad_fn(w, X, y)
        history[epoch] = w
    return history
""",
    ),
    Variant(
        "mse-grad-float32-inside",
        A1,
        "mse_gradient",
        """
def mse_gradient(w, X, y):
    X32, w32, y32 = X.astype(np.float32), w.astype(np.float32), y.astype(np.float32)
    return np.float32(2 / len(y)) * X32.T @ (X32 @ w32 - y32)
""",
    ),
    Variant(
        "mse-loss-float32-inside",
        A1,
        "mse_loss",
        """
def mse_loss(w, X, y):
    X32, w32, y32 = X.astype(np.float32), w.astype(np.float32), y.astype(np.float32)
    return float(np.mean((X32 @ w32 - y32) ** 2))
""",
    ),
    Variant(
        "mb-float32-inside",
        A3,
        "minibatch_gd",
        """
def minibatch_gd(grad_fn, X, y, w0, lr, epochs, batch_size, rng):
    X32, y32 = X.astype(np.float32), y.astype(np.float32)
    w = w0.astype(np.float32)
    history = np.zeros((epochs + 1, len(w0)), dtype=np.float32)
    history[0] = w
    for e in range(epochs):
        for b in minibatches(len(X), batch_size, rng):
            w = (w - lr * grad_fn(w, X32[b], y32[b])).astype(np.float32)
        history[e + 1] = w
    return history
""",
    ),
]


# --------------------------------------------------- issue #8: a buggy callee costs only itself


@dataclass(frozen=True)
class CalleeBug:
    """``caller`` is right but calls the student's own ``callee``, which is wrong: the caller is
    graded with our stand-in for the callee (a proxy to the grading process), so it keeps full
    marks and the mistake costs points only on ``callee``."""

    id: str
    assignment: str
    caller: str
    caller_source: str
    callee: str
    callee_source: str


CALLEE_BUGS = [
    CalleeBug(
        "sgd-via-unshuffled-minibatch-gd",
        A3,
        "sgd",
        """
def sgd(grad_fn, X, y, w0, lr, epochs, rng):
    return minibatch_gd(grad_fn, X, y, w0, lr, epochs, batch_size=1, rng=rng)
""",
        "minibatch_gd",
        """
def minibatch_gd(grad_fn, X, y, w0, lr, epochs, batch_size, rng):
    w = np.array(w0, dtype=float)
    history = [w.copy()]
    for _ in range(epochs):
        for start in range(0, X.shape[0], batch_size):  # forgot to shuffle
            w = w - lr * grad_fn(w, X[start:start + batch_size], y[start:start + batch_size])
        history.append(w.copy())
    return np.array(history)
""",
    ),
]
