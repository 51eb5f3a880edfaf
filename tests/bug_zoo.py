"""The bug zoo: realistic student mistakes, and correct answers written differently.

Each ``Bug`` must lose points on its own function, with feedback that contains ``says``
(the words that name the mistake) and none of ``never_says`` (words that would contradict the
code), and must pass the checks in ``passes`` (checks about something else: one mistake, one
cause).  Each ``Variant`` is a correct alternative and must
keep full marks.  Sources are whole answer cells, as a student would write them.
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
        "each update should be",
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
        "logistic-clipped",
        A1,
        "logistic_loss",
        """
def logistic_loss(w, X, y, l2=0.0):
    z = np.clip(X @ w, -500, 500)
    p = np.clip(1 / (1 + np.exp(-z)), 1e-12, 1 - 1e-12)
    return -np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)) + 0.5 * l2 * np.sum(w ** 2)
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
