"""Run an assignment's hidden checks against one submission and score them.

Shared by every route (``grade``, ``collect``, Gradescope, nbgrader's autograde, the pytest
plugin), so the same submission gets the same verdicts on each.
"""

from __future__ import annotations

import re
import warnings

import numpy as np

from .config import Assignment
from .results import TestResult
from .suites import SUITES
from .suites.framework import Check, Fail, course_seed
from .verdicts import Verdict


def _standin_note(used: set[str]) -> str:
    """Named only when the student's code really called our version (observed by the grading
    process: stand-ins are proxies that call back to it), never because a check might."""
    if not used:
        return ""
    names = ", ".join(f"`{n}`" for n in sorted(used))
    return f" (Checked with our own {names}, so a mistake there does not cost points here.)"


def never_defined(sub, function: str) -> str:
    """Why ``function`` is missing when the cell that defines it stopped before its ``def`` ran (an
    error, a time-out), naming that cell as the notebook's banner does ('' when no such cell)."""
    stopped = {r.index: r for r in getattr(sub, "cell_reports", None) or [] if r.status != "ok"}
    defines = re.compile(rf"^\s*def\s+{re.escape(function)}\s*\(", re.MULTILINE)
    for cell in getattr(sub, "cells", None) or []:
        report = stopped.get(cell.get("index"))
        if report is not None and defines.search(cell.get("source", "")):
            why = {"timeout": "it did not finish in time", "crashed": "it stopped Python"}.get(
                report.status, f"it raised {report.error_type or 'an error'}"
            )
            return (
                f"`{function}` was never defined: cell {report.index + 1}, which defines it, stopped before its "
                f"`def` ran ({why}; see the note on that cell). Fix that cell, or move the code that stops it "
                f"below the function, and `{function}` is graded."
            )
    return ""


def split_points(points: float, weights: list[float], decimals: int = 4) -> list[float]:
    """Share ``points`` in proportion to ``weights``, rounded to ``decimals`` places, so that
    the shares add up to exactly ``points`` (largest remainders get the leftover units)."""
    unit = 10**decimals
    total_units = round(points * unit)
    exact = [total_units * w / sum(weights) for w in weights]
    units = [int(x) for x in exact]
    by_remainder = sorted(range(len(weights)), key=lambda i: (units[i] - exact[i], i))
    for i in by_remainder[: total_units - sum(units)]:
        units[i] += 1
    return [u / unit for u in units]


def run_function(sub, function: str, points: float, checks: list[Check], seed: int = 0) -> list[TestResult]:
    """Run ``checks`` of one function; its ``points`` are shared in proportion to check weights.
    ``seed`` (course.yml's) salts every hidden input."""
    with course_seed(seed):
        return _run_checks(sub, function, points, checks)


def _run_checks(sub, function: str, points: float, checks: list[Check]) -> list[TestResult]:
    """The rule for points (README, "Points"): a check scores when it passes and its function's
    gates pass (its answers are computed from its inputs); a failure that an earlier check already
    reported (the check it ``requires``, or the very same words) is shown as that one's echo."""
    shares = split_points(points, [c.weight for c in checks])
    results: list[TestResult] = []
    stopped: Fail | None = None
    stop_words = ""  # what the checks after a stop say (the stop's words, or a pointer to them)
    passed: set[str] = set()
    failed_as: dict[str, Verdict] = {}  # description -> verdict, for the checks that did not pass
    reported: dict[str, str] = {}  # message -> the description of the first check that said it
    closed_by: str | None = None  # the description of a gate that failed: nothing scores after it
    # front ends that observe which stand-ins were called (the sandbox) say so; others never claim one
    take_used = getattr(sub, "take_standins_used", lambda: set())
    for c, max_score in zip(checks, shares):
        if stopped is not None:
            results.append(TestResult(c.name, function, 0.0, max_score, stopped.verdict, stop_words, stopped.cause))
            continue
        gated = c.requires is not None and c.requires not in passed
        take_used()  # forget calls made by earlier checks
        try:
            # overflow in our oracles on a student's divergent answer is expected, not news
            with np.errstate(all="ignore"), warnings.catch_warnings():
                warnings.simplefilter("ignore")
                c.run(sub)
        except Fail as fail:
            verdict, message = fail.verdict, str(fail)
            failed_as[c.description] = verdict
            closed_by = closed_by or (c.description if c.gate else None)
            # an error the required check also hit is the same cause, not a new one
            echoed_error = verdict == Verdict.ERROR and gated and failed_as.get(c.requires) == Verdict.ERROR
            repeatable = (Verdict.ECHO, Verdict.ERROR, Verdict.FAILED)
            said_before = reported.get(message) if verdict in repeatable else None
            if (verdict == Verdict.ECHO or echoed_error) and gated:
                verdict = Verdict.GATED  # the check it requires failed first, and explains this
                message += f' (The same cause as "{c.requires}" above; this check counts once that one passes.)'
            elif said_before is not None:
                verdict = Verdict.GATED  # the very same finding, already reported (and charged) above
                message += f' (The same cause as "{said_before}" above; this check counts once that one passes.)'
            elif verdict == Verdict.ECHO:
                verdict = Verdict.FAILED
            reported.setdefault(str(fail), c.description)
            note = _standin_note(take_used())
            results.append(TestResult(c.name, function, 0.0, max_score, verdict, message + note, fail.cause))
            if fail.verdict.stops:
                stopped, stop_words = fail, str(fail)
                if fail.verdict == Verdict.MISSING and never_defined(sub, function):
                    results[-1].output = never_defined(sub, function)  # said once; the other checks point to it
                    stop_words = f"`{function}` was never defined (see above)."
            continue
        except Exception as exc:  # noqa: BLE001 - odd return values must cost points, not crash the grader
            closed_by = closed_by or (c.description if c.gate else None)
            message = f"`{function}` returned something we could not check ({type(exc).__name__}). See its docstring for what to return."
            results.append(TestResult(c.name, function, 0.0, max_score, Verdict.FAILED, message, "uncheckable_answer"))
            continue
        if closed_by is not None and not c.gate:
            # its own rule holds, but an answer that is not computed from its inputs (a constant,
            # a memorised value) earns nothing for its shape, dtype or for leaving its inputs alone
            message = (
                f"`{function}` gets this right, but it counts only once `{function}` passes "
                f'"{closed_by}" (see above): an answer that is not computed from its inputs earns nothing.'
            )
            results.append(TestResult(c.name, function, 0.0, max_score, Verdict.GATED, message))
            continue
        passed.add(c.description)
        results.append(TestResult(c.name, function, max_score, max_score, Verdict.PASSED, "Passed."))
    return results


def run_assignment(sub, assignment: Assignment, functions: list[str] | None = None) -> list[TestResult]:
    suite = SUITES[assignment.id]
    results: list[TestResult] = []
    for function in functions or assignment.functions:
        checks = [c for c in suite.checks if c.function == function]
        results += run_function(sub, function, assignment.points[function], checks, assignment.seed)
    return results
