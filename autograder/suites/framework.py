"""What a hidden check is, and the helpers every suite uses.

A check is a function ``test_...(sub)`` that calls the student's code through ``sub``
(a ``Submission``: the sandbox or the in-kernel front end, both return plain data) and
raises ``Fail`` with words for the student when the answer is wrong.  The suite modules
register checks with ``@check(function, description, weight)``; a function's points from
course.yml are shared among its checks in proportion to their weights.
"""

from __future__ import annotations

import contextvars
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from ..wire import Rng, Unencodable

__all__ = ["Check", "Fail", "Registry", "Rng", "Submission", "seeded"]


class Fail(Exception):
    """The student's answer is wrong.  ``str(exc)`` is shown to the student.

    ``verdict`` is ``failed`` for a wrong answer, ``error`` when their code raised,
    ``timeout`` / ``crashed`` when it hung or killed its process, ``missing`` when the
    function is not in the notebook, ``not_implemented`` for an untouched stub,
    ``unreadable`` when the notebook itself could not be read or run, ``grader_error`` when
    the grader failed (not the student).
    """

    def __init__(self, message: str, verdict: str = "failed"):
        super().__init__(message)
        self.verdict = verdict


class Submission(Protocol):
    def call(
        self,
        fn: str,
        args: Sequence = (),
        kwargs: dict | None = None,
        *,
        standins: Sequence[str] = (),
        global_seed: int | None = None,
        return_args: bool = False,
        seconds: float | None = None,
    ) -> Any: ...


@dataclass(frozen=True)
class Check:
    function: str
    description: str
    weight: float
    run: Callable[[Any], None]
    standins: tuple[str, ...] = ()

    @property
    def name(self) -> str:
        return f"{self.function}: {self.description}"


@dataclass
class Registry:
    checks: list[Check] = field(default_factory=list)

    def check(self, function: str, description: str, weight: float = 1.0, standins: Sequence[str] = ()):
        """Register ``fn`` as a hidden check of the student function ``function``."""

        def register(fn: Callable) -> Callable:
            self.checks.append(Check(function, description, weight, fn, tuple(standins)))
            return fn

        return register


#: The assignment's seed from course.yml, set by the runner: it salts every hidden input, so a
#: course can change all of its held-out data by changing one number.
COURSE_SEED: contextvars.ContextVar[int] = contextvars.ContextVar("COURSE_SEED", default=0)


def seeded(*names: object) -> np.random.Generator:
    """A generator whose seed depends only on ``names`` and the course seed: the same inputs on every run."""
    return np.random.default_rng([COURSE_SEED.get(), zlib.crc32(repr(names).encode())])


# ---------------------------------------------------------------------------------------
# Calling the student and turning failures into words
# ---------------------------------------------------------------------------------------

_CALLER_HINT = {
    "gradient_descent": "gd_step",
    "find_global_minimum": "gradient_descent",
    "gradient_check": "numerical_gradient",
    "sgd": "minibatches",
    "minibatch_gd": "minibatches",
}


def call(sub, fn: str, *args, standins: Sequence[str] = (), global_seed: int | None = 0, **kwargs):
    """Call ``fn`` and return its value; raise ``Fail`` with a learner-facing reason otherwise."""
    outcome = sub.call(fn, args, kwargs, standins=standins, global_seed=global_seed)
    return value_of(fn, outcome)


def call_keeping_args(sub, fn: str, *args, returns: tuple, standins: Sequence[str] = (), **kwargs):
    """Call ``fn`` and return its arguments as they were after the call.

    The value must have the shape ``returns`` (``()`` for a number): a function that returns
    nothing useful earns nothing for leaving its inputs alone.
    """
    outcome = sub.call(fn, args, kwargs, standins=standins, global_seed=0, return_args=True)
    value = value_of(fn, outcome)
    if returns == ():
        as_float(fn, value)
    else:
        as_array(fn, value, returns, "(d,)" if len(returns) == 1 else "given in the docstring")
    return outcome.args_after


def value_of(fn: str, outcome) -> Any:
    if outcome.status == "ok":
        if isinstance(outcome.value, Unencodable):
            raise Fail(
                f"`{fn}` returned a {outcome.value.type_name}; it should return numbers or "
                "numpy arrays (see the docstring for what to return)."
            )
        return outcome.value
    if outcome.status == "missing":
        raise Fail(
            f"We could not find a function named `{fn}` in your notebook. Did you rename it, or delete its cell?",
            "missing",
        )
    if outcome.status == "timeout":
        raise Fail(
            f"`{fn}` did not finish in time. Look for a loop that never ends "
            "(a `while` whose condition never changes) or far more iterations than needed.",
            "timeout",
        )
    if outcome.status == "crashed":
        raise Fail(f"Calling `{fn}` stopped Python: {outcome.message}.", "crashed")
    if outcome.status == "unavailable":
        raise Fail(f"`{fn}` could not be graded: {outcome.message}.", "unreadable")
    if outcome.status == "grader_error":
        raise Fail(f"`{fn}` could not be graded: {outcome.message}.", "grader_error")
    if outcome.error_type == "NotImplementedError":
        raise Fail(f"`{fn}` is not implemented yet (it still raises NotImplementedError).", "not_implemented")
    where = f" (at {outcome.where})" if outcome.where else ""
    if outcome.error_type == "SystemExit":
        raise Fail(f"`{fn}` called exit(){where}. A function should return its result instead.", "error")
    if outcome.error_type == "RemoteError":
        raise Fail(
            f"`{fn}` called a function we passed in with arguments it could not use{where}: {outcome.message}",
            "error",
        )
    raise Fail(f"`{fn}` raised {outcome.error_type}: {outcome.message}{where}", "error")


# ---------------------------------------------------------------------------------------
# Comparing answers
# ---------------------------------------------------------------------------------------


def as_float(fn: str, value) -> float:
    """A single real number, or Fail: a loss is one number, not an array of per-sample losses."""
    arr = np.asarray(value) if not isinstance(value, (list, tuple)) else np.asarray(value, dtype=object)
    if arr.dtype.kind == "c" and np.all(np.abs(arr.imag) <= 1e-12 * np.abs(arr.real)):
        arr = arr.real  # e.g. from np.linalg.eigvals: a real number stored as complex
    if arr.dtype == object or arr.dtype.kind not in "biuf":
        raise Fail(f"`{fn}` should return a single number, but returned {describe(value)}.")
    if arr.size != 1:
        raise Fail(
            f"`{fn}` should return a single number, but returned an array of shape {arr.shape}. "
            "Did you forget to average over the samples?"
        )
    return float(arr.reshape(()))


def as_array(fn: str, value, shape: tuple[int, ...], expected: str = "") -> np.ndarray:
    """``value`` as a float array of ``shape``, or Fail naming the shape problem.

    ``expected`` says the shape in the docstring's words, e.g. "(n_steps + 1, d)"; feedback
    describes the difference without giving the hidden sizes.
    """
    expected = expected or ("(d,)" if len(shape) == 1 else "")
    try:
        arr = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        raise Fail(f"`{fn}` should return a numpy array of shape {expected}, but returned {describe(value)}.") from None
    if arr.shape == shape:
        return arr
    if arr.ndim != len(shape):
        hint = ""
        if arr.size == int(np.prod(shape)):
            hint = (
                " The numbers are there but in the wrong shape: check for an extra axis (e.g. (d, 1) instead of (d,))."
            )
        raise Fail(f"`{fn}` returned a {arr.ndim}-dimensional array; expected shape {expected}.{hint}")
    axes = ["rows", "columns"] if len(shape) == 2 else ["entries"]
    diffs = []
    for axis, (got, want) in enumerate(zip(arr.shape, shape)):
        if got != want:
            name = axes[axis] if axis < len(axes) else f"entries along axis {axis}"
            diffs.append(f"{abs(got - want)} {name} too {'many' if got > want else 'few'}")
    raise Fail(f"`{fn}` returned an array of the wrong shape ({', '.join(diffs)}); expected shape {expected}.")


def describe(value) -> str:
    if isinstance(value, np.ndarray):
        return f"an array of shape {value.shape} and dtype {value.dtype}"
    if isinstance(value, Unencodable):
        return f"a {value.type_name}"
    return f"a {type(value).__name__}"


def close(a, b, rtol: float = 1e-7, atol: float = 1e-10) -> bool:
    a = np.asarray(a, dtype=float)
    b = np.asarray(b, dtype=float)
    return (
        a.shape == b.shape
        and bool(np.all(np.isfinite(a) == np.isfinite(b)))
        and np.allclose(a, b, rtol=rtol, atol=atol, equal_nan=False)
    )


def diagnose(student, candidates: dict[str, Any], rtol: float = 1e-6, atol: float = 1e-9) -> str:
    """The hint for the first known mistake that ``student`` matches, or ''."""
    for hint, wrong in candidates.items():
        try:
            if close(student, wrong, rtol, atol):
                return " " + hint
        except (TypeError, ValueError):
            continue
    return ""


def expect_close(
    fn: str,
    student,
    oracle,
    candidates: dict[str, Any] | None = None,
    *,
    what: str,
    rtol: float = 1e-7,
    atol: float = 1e-10,
) -> None:
    """Fail unless ``student`` matches ``oracle``; name the likely mistake when we recognise it."""
    if close(student, oracle, rtol, atol):
        return
    student_arr = np.asarray(student, dtype=float)
    if not np.all(np.isfinite(student_arr)):
        raise Fail(f"`{fn}` returned inf or nan {what}.{diagnose(student, candidates or {}, rtol, atol)}")
    raise Fail(f"`{fn}` gives the wrong value {what}.{diagnose(student, candidates or {}, rtol, atol)}")


def expect_unchanged(
    fn: str, before: Sequence, after: Sequence | None, names: Sequence[str], rtol: float = 0.0
) -> None:
    """Fail if the function changed one of its array arguments in place."""
    if after is None:
        return
    for name, b, a in zip(names, before, after):
        if isinstance(b, np.ndarray):
            same = np.array_equal(a, b) if rtol == 0 else np.allclose(a, b, rtol=rtol, atol=0)
            if not same:
                raise Fail(
                    f"`{fn}` changed its argument `{name}` in place. Functions must not modify their "
                    "inputs: the caller may still need them. Work on a copy "
                    f"(`{name}.copy()`) or build a new array (`w - lr * grad` makes a new one; `w -= ...` does not)."
                )
