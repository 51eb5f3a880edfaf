"""What a hidden suite and a hidden check are, and the helpers every suite uses.

A check is a function ``test_...(sub)`` that calls the student's code through ``sub``
(a ``StudentCode``: the sandbox, which returns plain data) and
raises ``Fail`` with words for the student when the answer is wrong.  Each suite module makes
its assignment's ``Suite`` and registers it (``register``); on it, checks are registered with
``@check(function, description, weight)`` and the feedback report's plotters with
``@suite.plot``; its ``one_number_hints`` say why a function meant to return one number may
have returned many.  A function's points from course.yml are shared among its checks in
proportion to their weights.  Each function's first check is its gate (``gate=True``, weight 0,
usually ``expect_responds``): no check of a function scores unless its answers are computed from
its inputs (README, "Points").
"""

from __future__ import annotations

import contextlib
import contextvars
import re
import zlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from ..bounds import callback_limit, passed_in
from ..calls import OK, CallOutcome
from ..verdicts import Verdict
from ..wire import Iterated, Rng, Unencodable

__all__ = ["SUITES", "Check", "Fail", "Mistake", "Rng", "StudentCode", "Suite", "course_seed", "register", "seeded"]


class Fail(Exception):
    """The student's answer is wrong.  ``str(exc)`` is shown to the student.

    ``verdict`` (a ``Verdict``, or its value) is ``failed`` for a wrong answer, ``error`` when their code raised,
    ``timeout`` / ``crashed`` when it hung or killed its process, ``missing`` when the
    function is not in the notebook, ``not_implemented`` for an untouched stub,
    ``unreadable`` when the notebook itself could not be read or run, ``grader_error`` when
    the grader failed (not the student).  ``echo`` marks a failure that a mistake already
    reported by another check explains (a wrong shape, a known wrong formula, a loop that never
    converges because its steps are wrong): the runner shows it as that check's echo when the
    check it ``requires`` failed, and as an ordinary failure otherwise.  (A failure in the very
    words an earlier check used is shown as that one's echo whatever its verdict.)

    ``cause`` names the mistake a check diagnosed, for machines: a short id such as
    ``"aliased_history"`` or ``"factor_n"``, the same wherever that mistake shows in the
    function's checks (results.json keeps it; the class report counts students by it).  ""
    when the check saw a wrong answer without knowing why.
    """

    def __init__(self, message: str, verdict: str = Verdict.FAILED, cause: str = ""):
        super().__init__(message)
        self.verdict = Verdict(verdict)
        self.cause = cause


class Mistake(str):
    """A known wrong answer's words (a key of ``expect_close``'s candidates) with its cause id:
    ``Mistake("mse_sum", "It looks like the sum of squared errors...")`` is those words, and
    ``expect_close`` gives its ``cause`` to the ``Fail`` it raises."""

    cause: str

    def __new__(cls, cause: str, words: str) -> Mistake:
        made = super().__new__(cls, words)
        made.cause = cause
        return made


class StudentCode(Protocol):
    """The student's functions, callable by name: the sandbox, or an
    unreadable submission.  Every call answers with a ``CallOutcome``, never an exception.

    The options: ``standins`` (names our versions replace during the call, besides those the
    stand-in rule gives), ``global_seed`` (``np.random``'s seed first), ``return_args`` (the
    array arguments as they were after the call, in ``args_after``) and ``seconds`` (its time limit).
    """

    def call(self, fn: str, args: Sequence = (), kwargs: dict | None = None, **options: Any) -> CallOutcome: ...


@dataclass(frozen=True)
class Check:
    function: str
    description: str
    weight: float
    run: Callable[[Any], None]
    #: the description of an earlier check of the same function whose failure explains this
    #: one's when both fail the same way (reported once, then as its echo)
    requires: str | None = None
    #: a gate: it separates an implementation (right or wrong) from a constant or memorised
    #: answer, and no check of the function scores unless its gates pass
    gate: bool = False

    @property
    def name(self) -> str:
        return f"{self.function}: {self.description}"


@dataclass
class Suite:
    """The hidden suite of one assignment: its checks, its feedback plotters, its hints."""

    assignment: str = ""
    checks: list[Check] = field(default_factory=list)
    #: each draws one ``plotting.Plot`` of the student's code for the feedback report, in order
    plotters: list[Callable[[Any], Any]] = field(default_factory=list)
    #: {function: why it may have returned many numbers where one was meant}
    one_number_hints: dict[str, str] = field(default_factory=dict)

    def plot(self, plotter: Callable) -> Callable:
        """Register ``plotter`` (a function of the student's code returning a ``Plot``)."""
        self.plotters.append(plotter)
        return plotter

    def check(
        self,
        function: str,
        description: str,
        weight: float = 1.0,
        requires: str | None = None,
        gate: bool = False,
    ):
        """Register ``fn`` as a hidden check of the student function ``function``.

        ``requires`` names (by description) an earlier check of the same function that reports
        the cause when both fail alike.  A ``gate`` comes before every other check of its function.
        """

        def register(fn: Callable) -> Callable:
            if requires is not None and not any(
                c.function == function and c.description == requires for c in self.checks
            ):
                raise ValueError(f"{function}: '{requires}' must be registered before the checks that require it")
            if gate and any(c.function == function and not c.gate for c in self.checks):
                raise ValueError(f"{function}: the gate '{description}' must come before its other checks")
            self.checks.append(Check(function, description, weight, fn, requires, gate))
            return fn

        return register


#: every assignment's suite, by assignment id (each suite module registers its own)
SUITES: dict[str, Suite] = {}


def register(suite: Suite) -> Suite:
    """Make ``suite`` the hidden suite of its assignment."""
    if SUITES.get(suite.assignment, suite) is not suite:
        raise ValueError(f"two hidden suites for {suite.assignment}")
    SUITES[suite.assignment] = suite
    return suite


#: The assignment's seed from course.yml, set by the runner: it salts every hidden input, so a
#: course can change all of its held-out data by changing one number.
COURSE_SEED: contextvars.ContextVar[int] = contextvars.ContextVar("COURSE_SEED", default=0)


@contextlib.contextmanager
def course_seed(seed: int) -> Iterator[None]:
    """Within this block every hidden input is salted with ``seed`` (an assignment's, from course.yml)."""
    token = COURSE_SEED.set(seed)
    try:
        yield
    finally:
        COURSE_SEED.reset(token)


def seeded(*names: object) -> np.random.Generator:
    """A generator whose seed depends only on ``names`` and the course seed: the same inputs on every run."""
    return np.random.default_rng([COURSE_SEED.get(), zlib.crc32(repr(names).encode())])


# ---------------------------------------------------------------------------------------
# Calling the student and turning failures into words
# ---------------------------------------------------------------------------------------


def bounded_callables(args: Sequence, kwargs: dict) -> tuple[tuple, dict]:
    """``args`` and ``kwargs`` with every function of ours among them bounded (``bounds.passed_in``):
    whatever the student's code gives it, at most a few times the numbers the call was given."""
    limit = callback_limit([*args, *kwargs.values()])

    def bounded(value):
        return passed_in(value, limit) if callable(value) else value

    return tuple(bounded(a) for a in args), {k: bounded(v) for k, v in kwargs.items()}


def call(sub, fn: str, *args, standins: Sequence[str] = (), global_seed: int | None = 0, **kwargs):
    """Call ``fn`` and return its value; raise ``Fail`` with a learner-facing reason otherwise."""
    args, kwargs = bounded_callables(args, kwargs)
    outcome = sub.call(fn, args, kwargs, standins=standins, global_seed=global_seed)
    return value_of(fn, outcome)


def call_keeping_args(sub, fn: str, *args, standins: Sequence[str] = (), **kwargs):
    """Call ``fn`` and return its arguments as they were after the call.

    Only the arguments are judged here: whether the value is right is another check's job
    (purity checks ``require`` it, so a function that returns nothing useful earns nothing
    for leaving its inputs alone, and a shape mistake is not reported as a purity one).
    """
    args, kwargs = bounded_callables(args, kwargs)
    outcome = sub.call(fn, args, kwargs, standins=standins, global_seed=0, return_args=True)
    value_of(fn, outcome)
    return outcome.args_after


def value_of(fn: str, outcome: CallOutcome) -> Any:
    """What the call returned, or ``Fail`` saying in a learner's words why there is nothing to check."""
    if outcome.status == OK:
        if isinstance(outcome.value, Unencodable):
            raise Fail(
                f"`{fn}` returned a {outcome.value.type_name}, which the grader cannot read: return what its "
                "docstring asks for.",
                cause="unreadable_return",
            )
        return outcome.value
    if outcome.status == Verdict.MISSING:
        raise Fail(
            f"We could not find a function named `{fn}` in your notebook. Did you rename it, or delete its cell?",
            Verdict.MISSING,
            cause="missing",
        )
    if outcome.status == Verdict.TIMEOUT:
        raise Fail(
            f"`{fn}` did not finish in time. Look for a loop that never ends "
            "(a `while` whose condition never changes) or far more iterations than needed.",
            Verdict.TIMEOUT,
            cause="timeout",
        )
    if outcome.status == Verdict.CRASHED:
        raise Fail(f"Calling `{fn}` stopped Python: {outcome.message}.", Verdict.CRASHED, cause="crashed")
    if outcome.status in (Verdict.UNREADABLE, Verdict.GRADER_ERROR):
        raise Fail(
            f"`{fn}` could not be graded: {outcome.message}.", outcome.status, cause=Verdict(outcome.status).value
        )
    if outcome.error_type == "NotImplementedError":
        raise Fail(
            f"`{fn}` is not implemented yet (it still raises NotImplementedError).",
            Verdict.NOT_IMPLEMENTED,
            cause="not_implemented",
        )
    where = f" (at {outcome.where})" if outcome.where else ""
    if outcome.error_type == "SystemExit":
        raise Fail(
            f"`{fn}` called exit(){where}. A function should return its result instead.", Verdict.ERROR, cause="exit"
        )
    if outcome.error_type == "RemoteError":
        raise Fail(
            f"`{fn}` called a function we passed in with arguments it could not use{where}: {outcome.message}",
            Verdict.ERROR,
            cause="bad_callback_arguments",
        )
    raise Fail(
        f"`{fn}` raised {outcome.error_type}: {outcome.message}{where}", Verdict.ERROR, cause=raised(outcome.error_type)
    )


def raised(error_type: str | None) -> str:
    """The cause id of an exception the student's code raised, e.g. ``raised_ValueError`` (the
    class name is the student's to choose: only letters, digits and _ of it, cut)."""
    return "raised_" + (re.sub(r"[^A-Za-z0-9_]", "", error_type or "")[:40] or "error")


# ---------------------------------------------------------------------------------------
# Comparing answers
# ---------------------------------------------------------------------------------------


def _one_number_hint(fn: str) -> str:
    """Why ``fn`` may have returned many numbers where one was meant: its suite's hint."""
    hints = [s.one_number_hints[fn] for s in SUITES.values() if fn in s.one_number_hints]
    return hints[0] if hints else "See its docstring for what to return."


def as_float(fn: str, value, strict: bool = False) -> float:
    """A single real number, or Fail: a loss is one number, not an array of per-sample losses.

    One number inside an array (shape (1,), (1, 1)) or a one-item list is read as that number,
    except by the check about the answer's form (``strict``), which fails it with the same words
    as an extra axis on any other answer; so does a generator there.
    """
    if strict and isinstance(value, Iterated):
        raise Fail(container_words(fn, value, "one number", "return the number itself"), "echo", "generator")
    arr = np.asarray(value) if not isinstance(value, (list, tuple)) else np.asarray(value, dtype=object)
    if arr.dtype == object and arr.size == 1:
        try:
            arr = np.asarray(value, dtype=float)  # [x]: one number in a list
        except (TypeError, ValueError):
            pass
    if arr.dtype.kind == "c" and np.all(np.abs(arr.imag) <= 1e-12 * np.abs(arr.real)):
        arr = arr.real  # e.g. from np.linalg.eigvals: a real number stored as complex
    if arr.dtype == object or arr.dtype.kind not in "biuf":
        raise Fail(f"`{fn}` should return a single number, but returned {describe(value)}.", "echo", "not_a_number")
    if arr.size != 1:
        raise Fail(
            f"`{fn}` should return a single number, but returned an array of {'several numbers' if arr.size else 'none'}. "
            + _one_number_hint(fn),
            "echo",
            "not_one_number",
        )
    if strict and (arr.ndim > 0 or isinstance(value, (list, tuple))):
        raise Fail(extra_axis_words(fn, arr.shape, (), "one number"), "echo", "extra_axis")
    return float(arr.reshape(()))


def extra_axis_words(fn: str, got: tuple[int, ...], shape: tuple[int, ...], expected: str) -> str:
    """The words for right-sized answers with an extra axis, the same for one number and an array."""
    if not shape:
        return (
            f"`{fn}` returns its number inside an array of shape {_symbolic(got, shape, expected)}: the number is "
            "there, with an extra axis. Return one number (float(value) or value.item()), not an array."
        )
    return (
        f"`{fn}` returns an array of shape {_symbolic(got, shape, expected)} where {expected.split(':')[0]} is asked: the numbers "
        "are there, with an extra axis. Remove it (value.reshape(-1) for a vector, or index it away), or do not make "
        "it (a column such as y.reshape(-1, 1) or keepdims=True adds one)."
    )


def _symbolic(got: tuple[int, ...], shape: tuple[int, ...], expected: str) -> str:
    """``got`` in the docstring's names ("(1, d)"), never the hidden sizes: the axes of ``shape``
    are named by ``expected`` ("(n_steps + 1, d)"), every other axis has length 1."""
    inside = expected.split(")")[0].lstrip("(")  # "(n_steps + 1, d): w0, then..." -> "n_steps + 1, d"
    names = [n.strip() for n in inside.split(",") if n.strip()] if shape else []
    if len(names) != len(shape):
        return f"with {len(got)} axes"
    out, i = [], 0
    for size in got:
        if i < len(shape) and size == shape[i] and (size != 1 or len(got) - len(out) == len(shape) - i):
            out.append(names[i])
            i += 1
        else:
            out.append("1")
    return "(" + ", ".join(out) + ("," if len(out) == 1 else "") + ")"


def container_words(fn: str, value, asked: str, fix: str) -> str:
    """The words for the right kind of items in another container (a generator, a tuple)."""
    return f"`{fn}` returned {describe(value)}; its docstring asks for {asked}: {fix}."


def as_array(fn: str, value, shape: tuple[int, ...], expected: str = "", strict: bool = False) -> np.ndarray:
    """``value`` as a float array of ``shape``, or Fail naming the shape problem.

    ``expected`` says the shape in the docstring's words, e.g. "(n_steps + 1, d)"; feedback
    describes the difference without giving the hidden sizes.  The right numbers with an extra
    axis of length 1 are read as the answer, except by the check about the answer's form
    (``strict``), which fails them (``extra_axis_words``), and a generator.
    """
    # never the hidden sizes: a 2-D default names the docstring, not our (rows, d)
    expected = expected or ("(d,)" if len(shape) == 1 else "the one its docstring gives")
    if strict and isinstance(value, Iterated):
        asked = f"a numpy array of shape {expected}"
        raise Fail(container_words(fn, value, asked, "build the array, e.g. np.array(list(...))"), "echo", "generator")
    if isinstance(value, (list, tuple)) and len(shape) == 1 and len(value) == shape[0]:
        # a list of numbers is a fine (d,) answer, whether its items are floats, numpy
        # scalars, or numpy scalars that crossed the sandbox boundary as 1-element arrays
        # (the transport's old habit; once every front end sends them as scalars, this also
        # accepts a list of 1-element arrays, a rare form whose numbers are right)
        try:
            items = [np.asarray(v, dtype=float) for v in value]
        except (TypeError, ValueError):
            items = []
        if items and all(i.size == 1 for i in items):
            value = [float(i.reshape(())) for i in items]
    try:
        arr = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        raise Fail(
            f"`{fn}` should return a numpy array of shape {expected}, but returned {describe(value)}.",
            "echo",
            "not_an_array",
        ) from None
    if arr.shape == shape:
        return arr
    if arr.ndim == 0:
        raise Fail(
            f"`{fn}` returned a single number; it should return an array of shape {expected}.", "echo", "one_number"
        )
    if arr.ndim > len(shape) and [s for s in arr.shape if s != 1] == [s for s in shape if s != 1]:
        if strict:
            raise Fail(extra_axis_words(fn, arr.shape, shape, expected), "echo", "extra_axis")
        return arr.reshape(shape)
    if arr.ndim != len(shape):
        raise Fail(f"`{fn}` returned a {arr.ndim}-dimensional array; expected shape {expected}.", "echo", "wrong_ndim")
    axes = ["rows", "columns"] if len(shape) == 2 else ["entries"]
    diffs = []
    for axis, (got, want) in enumerate(zip(arr.shape, shape)):
        if got != want:
            name = axes[axis] if axis < len(axes) else f"entries along axis {axis}"
            # a count derived from the hidden sizes says more than the docstring: only "1 row" is said
            one = name.replace("entries", "entry") if name.startswith("entries") else name[:-1]
            more = "many" if got > want else "few"
            diffs.append(f"1 {one} too {more}" if abs(got - want) == 1 else f"too {more} {name}")
    raise Fail(
        f"`{fn}` returned an array of the wrong shape ({', '.join(diffs)}); expected shape {expected}.",
        "echo",
        "wrong_shape",
    )


def precision_of(value) -> float:
    """The relative error the dtype of a returned array allows: 0 for float64 (exact
    comparisons stay exact), a few float32 ulps for a float32 history, which is a valid answer."""
    dtype = getattr(value, "dtype", None)
    if dtype is not None and dtype.kind == "f" and dtype.itemsize < 8:
        return 4 * float(np.finfo(dtype).eps)
    return 0.0


def same_rows(a, b, rtol: float) -> bool:
    """Equal (``rtol`` 0), or equal to ``rtol`` relative to each row's size."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if rtol == 0:
        return bool(np.array_equal(a, b))
    scale = np.max(np.abs(b), axis=-1, keepdims=True) + 1e-30
    return a.shape == b.shape and bool(np.all(np.abs(a - b) <= rtol * scale))


def as_history(
    fn: str, value, rows: int, w0: np.ndarray, count: str = "epochs", per: str = "epoch", strict: bool = False
) -> np.ndarray:
    """``value`` as a history of shape ``(rows, d)`` whose row 0 is ``w0``, or Fail saying
    what is wrong with its rows: the first missing, the last missing, or a loop that stopped early.
    ``strict`` as for ``as_array``: the check about the answer's form."""
    d = w0.size
    expected = f"({count} + 1, d): w0, then one row per {per}"
    try:
        arr = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        arr = None
    rtol = max(precision_of(value), 1e-12)
    if arr is not None and arr.shape == (d,) and rows > 1:
        raise Fail(
            f"`{fn}` returns only the final weights; return the whole history, shape {expected}.",
            "echo",
            "returns_final_weights",
        )
    if arr is not None and arr.ndim == 2 and arr.shape[1] == d and 1 <= arr.shape[0] < rows:
        starts_at_w0 = same_rows(arr[0], w0, rtol)
        missing = rows - arr.shape[0]
        if missing == 1 and not starts_at_w0:
            raise Fail(
                f"`{fn}` returns one row too few, and its first row is not w0: the history is missing its first "
                f"row. Row 0 must be the starting point w0, then one row per {per}.",
                "echo",
                "history_without_w0",
            )
        if missing == 1:
            raise Fail(
                f"`{fn}` returns one row too few: it starts at w0 but the row after the last {per} is missing. "
                f"Expected shape {expected}, so {count} + 1 rows (check the range of your loop, and append after "
                f"every {per}).",
                "echo",
                "history_misses_last_row",
            )
        if starts_at_w0:
            raise Fail(
                f"`{fn}` returns a history that starts at w0 but is shorter than {count} + 1 rows: it seems to stop before "
                f"running all `{count}` (e.g. a `break` when the loss stops changing). Run exactly `{count}`: the "
                f"caller decides how long to train, and the history must have {count} + 1 rows.",
                "echo",
                "stops_early",
            )
    if arr is not None and arr.ndim == 2 and arr.shape == (rows + 1, d) and same_rows(arr[0], w0, rtol):
        raise Fail(
            f"`{fn}` returns one row too many: it starts at w0 but runs one {per} more than `{count}`. Expected "
            f"shape {expected}, so {count} + 1 rows (check the range of your loop: range({count})).",
            "echo",
            "one_row_too_many",
        )
    arr = as_array(fn, value, (rows, d), expected, strict)
    if rows > 1 and np.all(arr == arr[-1]) and not same_rows(arr[-1], w0, rtol):
        # the classic `w -= lr * g; history.append(w)`: row 0 is "wrong" only because every row
        # is one array, changed in place after it was appended; say that, not "row 0 differs"
        raise Fail(aliased_history(fn, per), "echo", "aliased_history")
    if not same_rows(arr[0], w0, precision_of(value)):
        raise Fail(
            f"`{fn}`: row 0 must be the starting weights w0, but your row 0 differs from w0.", "echo", "row0_not_w0"
        )
    return arr


def aliased_history(fn: str, per: str) -> str:
    """The words for a history whose rows are all one array, changed in place."""
    return (
        f"`{fn}`: every row of your history is the same array, the weights after the last {per}. You append "
        f"one array object and then change it in place (`w -= lr * grad`), which changes every row already "
        f"appended. Append a copy (`w.copy()`), or build a new array each {per} (`w = w - lr * grad`)."
    )


def describe(value) -> str:
    if isinstance(value, Iterated):
        return "a generator" if value.type_name == "generator" else f"an iterator ({value.type_name})"
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


#: how far float32 arithmetic may take an answer from ours, relative to the size of its values:
#: float32 keeps 7 digits, and sums and products of a few hundred numbers lose one or two of them
FLOAT32_RTOL = 1e-5


def close_to_scale(student, oracle, rtol: float, atol: float) -> bool:
    """Every entry within ``rtol`` times the largest entry of ``oracle`` (plus ``atol``): an
    entry near zero is judged against the size of the whole answer, as rounding errs."""
    s, o = np.asarray(student, dtype=float), np.asarray(oracle, dtype=float)
    if s.shape != o.shape or not (np.all(np.isfinite(s)) and np.all(np.isfinite(o))):
        return False
    return bool(np.all(np.abs(s - o) <= rtol * np.max(np.abs(o), initial=0.0) + atol))


def diagnose(student, candidates: dict[str, Any], rtol: float = 1e-6, atol: float = 1e-9) -> str:
    """The hint for the first known mistake that ``student`` matches, or ''.  (Where formulas
    coincide, on a 1x1 matrix say, a check asks first about a case where they differ.)"""
    found = matched(student, candidates, rtol, atol)
    return " " + found if found else ""


def matched(student, candidates: dict[str, Any], rtol: float = 1e-6, atol: float = 1e-9) -> str:
    """The first key of ``candidates`` (its words, a ``Mistake`` when it has a cause id) whose
    value ``student`` matches, or ''."""
    for hint, wrong in candidates.items():
        try:
            if close(student, wrong, rtol, atol):
                return hint
        except (TypeError, ValueError):
            continue
    return ""


#: factors between a student's answer and ours, in the words that name the usual cause; the
#: sizes are named by letter (n samples, d features), never given as numbers
_SCALE_WORDS = {
    "2": "It is exactly twice the right value: a factor 2 too many.",
    "1/2": "It is exactly half the right value: a factor 2 is missing.",
    "n": "It is n times the right value (n samples): average over the samples (divide by n) instead of summing.",
    "1/n": "It is the right value divided by n once more (n samples): divide by n only once.",
    "d": "It is d times the right value (d features): nothing here is summed or multiplied over the features.",
    "1/d": "It is the right value divided by d (d features): average over the n samples, not over the features.",
    "n/d": "It divides by d, the number of features (X.shape[1]), where it should divide by n, the number of "
    "samples (X.shape[0]).",
}


def scale_hint(student, oracle, sizes: dict[str, int]) -> str:
    """' It is twice the right value...' when ``student`` is ``oracle`` times one constant: the
    form of the formula is right and a factor (2, n, d) or the sign is off; '' otherwise.
    (``scale_mistake`` gives the same words with their cause id.)"""
    return scale_mistake(student, oracle, sizes)


#: the cause id of each factor of ``_SCALE_WORDS``
_SCALE_CAUSES = {
    "2": "factor_2",
    "1/2": "factor_half",
    "n": "factor_n",
    "1/n": "factor_1_over_n",
    "d": "factor_d",
    "1/d": "factor_1_over_d",
    "n/d": "divides_by_d_not_n",
}


#: an answer of zeros (a placeholder such as ``np.zeros_like(w)``): no constant factor explains it
_ZEROS_ONE = Mistake("returns_zeros", " It returns 0, a placeholder: compute the value from the inputs.")
_ZEROS_MANY = Mistake(
    "returns_zeros",
    " It returns only zeros, a placeholder such as np.zeros_like(w): zeros give no information about the slope. "
    "Compute it from the inputs.",
)


def scale_mistake(student, oracle, sizes: dict[str, int]) -> str:
    """``scale_hint``'s words as a ``Mistake`` (its cause: ``factor_n``, ``opposite_sign``,
    ``opposite_sign_factor_2``, ``constant_factor``...), or ''."""
    s, o = np.asarray(student, dtype=float).ravel(), np.asarray(oracle, dtype=float).ravel()
    if s.shape != o.shape or not (np.all(np.isfinite(s)) and np.all(np.isfinite(o))):
        return ""
    if not np.any(s) and np.any(o):  # a placeholder: no factor turns zeros into an answer
        return _ZEROS_ONE if o.size == 1 else _ZEROS_MANY
    big = np.abs(o) > 1e-9 * np.max(np.abs(o), initial=0.0)
    if not np.any(big) or np.any(s[~big] != 0):
        return ""
    ratio = float(s[big][0] / o[big][0])
    if not np.allclose(s[big] / o[big], ratio, rtol=1e-6, atol=0) or close(ratio, 1.0, 1e-6, 0):
        return ""
    n, d = sizes.get("n", 0), sizes.get("d", 0)
    values = {"2": 2.0, "1/2": 0.5, "n": n, "1/n": 1 / n if n else 0, "d": d, "1/d": 1 / d if d else 0}
    values["n/d"] = n / d if d else 0
    named = [k for k, v in values.items() if v and close(abs(ratio), v, 1e-6, 0)]
    sign = ratio < 0
    if len(named) == 1:  # sizes that coincide (n == d, n == 2) cannot tell the causes apart
        words, cause = _SCALE_WORDS[named[0]], _SCALE_CAUSES[named[0]]
        if sign:
            return Mistake(f"opposite_sign_{cause}", f" It has the opposite sign, and {words[0].lower()}{words[1:]}")
        return Mistake(cause, " " + words)
    if sign and close(ratio, -1.0, 1e-6, 0):
        return Mistake(
            "opposite_sign", " It is the right value with the opposite sign: a minus sign is missing or one too many."
        )
    if not named:
        return Mistake(
            "constant_factor",
            " It is the right value times one constant factor: the form of the formula is right, a constant is off "
            "(check the factor 2, what you divide by, and the sign).",
        )
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
    sizes: dict[str, int] | None = None,
) -> None:
    """Fail unless ``student`` matches ``oracle``; name the likely mistake when we recognise it:
    one of ``candidates``, or (given the case's ``sizes``) a constant factor such as 2, n or d.

    An answer computed in float32 (a valid style, whatever the inputs' dtype) passes within
    ``FLOAT32_RTOL`` of the scale of the values (its largest entry, not each entry alone)."""
    if close(student, oracle, rtol, atol) or close_to_scale(student, oracle, max(rtol, FLOAT32_RTOL), atol):
        return
    student_arr = np.asarray(student, dtype=float)
    found = matched(student, candidates or {}, rtol, atol)
    hint = " " + found if found else ""
    if not hint and sizes is not None:
        hint = found = scale_mistake(student, oracle, sizes)
    verdict = "echo" if hint else "failed"  # a recognised mistake is the same one wherever it shows
    cause = getattr(found, "cause", "")
    if not np.all(np.isfinite(student_arr)):
        raise Fail(f"`{fn}` returned inf or nan {what}.{hint}", verdict, cause or "not_finite")
    raise Fail(f"`{fn}` gives the wrong value {what}.{hint}", verdict, cause)


def expect_float32_consistent(sub, fn: str, args32: tuple, kwargs: dict, oracle, shape: tuple, rtol, atol) -> None:
    """Float32 inputs must give the float64 answer to float32 precision.

    Compared with the oracle and with the student's own float64 run on the same numbers, so
    this check fails only for a dtype problem: a wrong formula is the value check's business
    (this check ``requires`` it, so it earns nothing on its own).
    """

    def run(args):
        value = call(sub, fn, *args, **kwargs)
        return as_float(fn, value) if shape == () else as_array(fn, value, shape)

    args64 = tuple(a.astype(float) if isinstance(a, np.ndarray) else a for a in args32)
    try:
        got = run(args32)
    except Fail as fail:
        try:
            run(args64)
        except Fail:  # float64 fails too: not a float32 problem
            raise Fail(str(fail), "echo", fail.cause) from None
        raise
    if close(got, oracle, rtol, atol):
        return
    try:
        own = run(args64)
    except Fail:
        own = None
    if own is not None and close(got, own, rtol, atol):
        return
    if not np.all(np.isfinite(got)):
        raise Fail(
            f"`{fn}` returns inf or nan for float32 inputs, where the same numbers in float64 are fine.",
            cause="float32_overflow",
        )
    raise Fail(
        f"`{fn}` gives a different answer for float32 inputs than for the same numbers in float64 (more than "
        "float32 rounding). Avoid fixed dtypes (np.zeros(d, dtype=int), np.float16) and integer arrays for results.",
        cause="float32_differs",
    )


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
                    f"(`{name}.copy()`) or build a new array (`w - lr * grad` makes a new one; `w -= ...` does not).",
                    cause="modifies_input",
                )


# ---------------------------------------------------------------------------------------
# Gates: an implementation, right or wrong, and not a constant or a memorised answer
# ---------------------------------------------------------------------------------------


def expect_responds(sub, fn: str, args: tuple, changes: dict[str, tuple], *, standins=(), **kwargs) -> None:
    """Fail unless ``fn``'s answer changes when each argument named in ``changes`` does
    (``changes[name]`` is ``args`` with that argument changed, nothing else).

    The gate of every function: any formula computed from its inputs passes it, right or off by
    a factor, a sign or a row; an answer that ignores an input it must use (a constant, a value
    looked up by size) fails, and then none of the function's checks count.
    """
    first = _numbers(fn, call(sub, fn, *args, standins=standins, **kwargs))
    for name, changed in changes.items():
        other = _numbers(fn, call(sub, fn, *changed, standins=standins, **kwargs))
        # compared as bytes: exact, and untouched by any patched np.array_equal
        if first.shape == other.shape and first.tobytes() == other.tobytes():
            raise Fail(
                f"`{fn}` returns the same answer whatever {name} is, so its answer is not computed from its "
                "inputs. Until it is, none of its checks count (not even its shape or leaving its inputs alone).",
                cause="not_computed_from_inputs",
            )


def _numbers(fn: str, value) -> np.ndarray:
    """All the numbers in an answer, flat, to compare two answers; Fail for an answer that holds none."""
    if value is None:
        raise Fail(f"`{fn}` returned None: did you forget the `return`?", cause="returns_none")
    try:
        return np.asarray(value, dtype=float).ravel()
    except (TypeError, ValueError):
        pass
    try:  # a list of arrays of different lengths (batches)
        return np.concatenate([np.zeros(0), *(np.asarray(v, dtype=float).ravel() for v in value)])
    except (TypeError, ValueError):
        raise Fail(
            f"`{fn}` returned {describe(value)}, not numbers: see its docstring for what to return.",
            cause="not_numbers",
        ) from None


def last_weights(fn: str, value, w0: np.ndarray) -> np.ndarray:
    """The weights a run ended at, read from its history however many rows it has (or from the
    final weights alone): checks of where a loop arrives judge that, not the history's length."""
    try:
        arr = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        arr = None
    if arr is not None and arr.shape == (w0.size,):
        return arr
    if arr is not None and arr.ndim == 2 and arr.shape[1] == w0.size and arr.shape[0] >= 1:
        return arr[-1]
    raise Fail(
        f"`{fn}` should return its history, one row of weights (shape (d,)) per row, as a 2-D array.",
        "echo",
        "not_a_history",
    )
