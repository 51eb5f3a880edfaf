"""The in-kernel front end: what nbgrader's hidden-test regions call.

A graded test cell ends with::

    ### BEGIN HIDDEN TESTS
    from autograder.kernel import grade_function
    grade_function("mse_loss", globals())
    ### END HIDDEN TESTS

which runs the same hidden checks as ``python -m autograder grade``, prints the feedback,
and returns the cell's partial score as a plain float no larger than its points (nbgrader
reads it from the cell's result).  Nothing is written to stderr, since nbgrader scores any
stderr output as 0.

This path runs inside the student's own kernel, so student code can tamper with it (the
``gd-sandbox`` kernel keeps it from touching anything outside, see ``kernelspec.py``, but not
from patching numpy or this module in memory); the out-of-process regrade
(``python -m autograder regrade``) is the trusted score.
"""

from __future__ import annotations

import contextlib
import io
import signal
import sys
import threading
import warnings
from collections.abc import Sequence

import numpy as np

from .calls import OK, CallOutcome
from .config import load_course
from .limits import Limits
from .runner import run_function
from .sandbox.worker import describe_exception, invoke
from .standins import StandinRule
from .suites import SUITES
from .verdicts import Verdict
from .wire import RemoteError, Rng, roundtrip


class _TimeUp(BaseException):
    pass


class InProcessCode:
    """The student's functions, called directly in this interpreter (same interface as Sandbox).

    As in the sandbox, the stand-in rule (``standins.py``) replaces the student's functions that
    our version of the graded one calls by ours, so that one mistake costs points once.
    """

    def __init__(self, namespace: dict, limits: Limits, standins: StandinRule | None = None):
        self.namespace = namespace
        self.limits = limits
        self.standin_rule = standins or StandinRule()

    def _materialise(self, value):
        if isinstance(value, Rng):
            return np.random.default_rng(value.seed)
        if callable(value):
            return self._proxy(value)
        if isinstance(value, (list, tuple)) and any(callable(v) or isinstance(v, Rng) for v in value):
            return type(value)(self._materialise(v) for v in value)
        return roundtrip(value)  # a copy, exactly as the sandbox would deliver it

    @staticmethod
    def _proxy(cb):
        def proxy(*args):
            try:
                value = cb(*roundtrip(list(args)))
            except Exception as exc:  # noqa: BLE001 - reaches the student as in the sandbox
                raise RemoteError(str(exc)[:300]) from None
            return roundtrip(value)

        return proxy

    def _standins(self, fn: str, requested: Sequence[str]) -> dict:
        # the same rule as the sandbox's: what our reference of ``fn`` calls, if they wrote it
        return self.standin_rule.standins(fn, requested, lambda name: callable(self.namespace.get(name)))

    def call(self, fn, args=(), kwargs=None, *, standins=(), global_seed=None, return_args=False, seconds=None):
        if fn not in self.namespace:
            return CallOutcome(Verdict.MISSING)
        args = [self._materialise(a) for a in args]
        kwargs = {k: self._materialise(v) for k, v in (kwargs or {}).items()}
        if global_seed is not None:
            np.random.seed(global_seed)
        timer = threading.current_thread() is threading.main_thread()
        if timer:
            previous = signal.signal(signal.SIGALRM, _raise_time_up)
            signal.setitimer(signal.ITIMER_REAL, float(seconds or self.limits.call_seconds))
        try:
            value = invoke(self.namespace, fn, args, kwargs, self._standins(fn, standins))
        except _TimeUp:
            return CallOutcome(Verdict.TIMEOUT)
        except BaseException as exc:  # noqa: BLE001 - anything the student raises costs only this check
            info = describe_exception(exc)
            return CallOutcome(Verdict.ERROR, error_type=info["type"], message=info["message"], where=info["where"])
        finally:
            if timer:
                signal.setitimer(signal.ITIMER_REAL, 0)
                signal.signal(signal.SIGALRM, previous)
        after = [None if callable(a) or isinstance(a, np.random.Generator) else roundtrip(a) for a in args]
        return CallOutcome(OK, value=roundtrip(value), args_after=after if return_args else None)


def _raise_time_up(signum, frame):
    raise _TimeUp()


def begin() -> None:
    """Called first in a graded cell: visible checks report failures instead of raising."""
    support = sys.modules.get("gd_support")
    if support is not None:
        support.visible_checks.grading = True


def grade_function(function: str, namespace: dict) -> float:
    """Run the hidden checks of ``function``; print feedback; return the partial score."""
    course = load_course()
    for assignment in course.assignments:
        if function in assignment.points:
            break
    else:
        raise LookupError(f"no assignment in course.yml grades {function}")
    checks = [c for c in SUITES[assignment.id].checks if c.function == function]
    points = assignment.points[function]
    sub = InProcessCode(namespace, assignment.limits, StandinRule(tuple(assignment.functions)))
    with contextlib.ExitStack() as quiet:
        quiet.enter_context(warnings.catch_warnings())
        warnings.simplefilter("ignore")
        quiet.enter_context(np.errstate(all="ignore"))
        quiet.enter_context(contextlib.redirect_stderr(io.StringIO()))
        quiet.enter_context(contextlib.redirect_stdout(io.StringIO()))
        results = run_function(sub, function, points, checks, assignment.seed)
    # all passed: exactly the points (a sum of rounded shares could fall short by 1e-6)
    passed_all = all(r.status == "passed" for r in results)
    score = points if passed_all else min(points, round(sum(r.score for r in results), 6))
    for r in results:
        mark = "passed" if r.status == "passed" else "FAILED"
        print(f"[{mark}] {r.name}" + ("" if r.status == "passed" else f"\n    {r.output}"))
    print(f"{function}: {score:g} / {points:g} points")
    return float(score)
