"""Benchmark: the floor of grading, the same cells and the same hidden suites in one process.

No jail, no child process, no pipe: each notebook's cells run here as the sandbox's child runs them
(``worker.run_cells``: answer cells in full, lesson cells for their definitions), and the
assignment's hidden suites call its functions directly through the in-kernel front end
(``InProcessCode`` below, which copies what crosses as the codec would).  Imports are paid once.
What ``grade`` costs above this is the price of running student code safely::

    python benchmarks/floor.py PATH... [--assignment ID] [--repeat 3]

PATH is a notebook, an assignment folder or a ``submitted/`` tree (as for ``grade``).  It prints the
median seconds per submission (of ``--repeat`` passes over all of them) and, with ``--json``, a
line ``{"per_submission": s, "submissions": n}`` for ``ratios.py``.  ``GD_FLOOR_TREE=DIR`` measures
the grader of another checkout (``ratios.py --baseline``).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import sys
import time
import warnings
from pathlib import Path

import numpy as np

REPO = Path(os.environ.get("GD_FLOOR_TREE") or Path(__file__).resolve().parents[1])
sys.path.insert(0, str(REPO))

from autograder.calls import OK, CallOutcome  # noqa: E402
from autograder.config import Course, load_course  # noqa: E402
from autograder.notebook import read_cells  # noqa: E402
from autograder.runner import run_assignment  # noqa: E402
from autograder.sandbox import worker  # noqa: E402
from autograder.standins import StandinRule  # noqa: E402
from autograder.submission import Submission, discover  # noqa: E402
from autograder.suites.framework import course_seed  # noqa: E402
from autograder.verdicts import Verdict  # noqa: E402
from autograder.wire import RemoteError, Rng, roundtrip  # noqa: E402


class InProcessCode:
    """The student's functions called directly in this interpreter, with ``Sandbox.call``'s
    interface: the floor a grader in the student's own process could reach.  As in the sandbox,
    what crosses is copied as the codec would, callbacks raise as remote errors, and the stand-in
    rule replaces the functions our version of the graded one calls.  (The in-kernel front end
    that held this is gone: nothing grades in the student's process any more.)"""

    def __init__(self, namespace: dict, limits, standins: StandinRule):
        self.namespace, self.limits, self.standin_rule = namespace, limits, standins

    def _materialise(self, value):
        if isinstance(value, Rng):
            return np.random.default_rng(value.seed)
        if callable(value):
            return self._proxy(value)
        if isinstance(value, (list, tuple)) and any(callable(v) or isinstance(v, Rng) for v in value):
            return type(value)(self._materialise(v) for v in value)
        return roundtrip(value)

    @staticmethod
    def _proxy(callback):
        def proxy(*args):
            try:
                value = callback(*roundtrip(list(args)))
            except Exception as exc:  # noqa: BLE001 - reaches the student as in the sandbox
                raise RemoteError(str(exc)[:300]) from None
            return roundtrip(value)

        return proxy

    def call(self, fn, args=(), kwargs=None, *, standins=(), global_seed=None, return_args=False, seconds=None):
        if fn not in self.namespace:
            return CallOutcome(Verdict.MISSING)
        args = [self._materialise(a) for a in args]
        kwargs = {k: self._materialise(v) for k, v in (kwargs or {}).items()}
        if global_seed is not None:
            np.random.seed(global_seed)
        ours = self.standin_rule.standins(fn, standins, lambda name: callable(self.namespace.get(name)))
        try:
            value = worker.invoke(self.namespace, fn, args, kwargs, ours)
        except BaseException as exc:  # noqa: BLE001 - the solutions and classes benchmarked raise little
            info = worker.describe_exception(exc)
            return CallOutcome(Verdict.ERROR, error_type=info["type"], message=info["message"], where=info["where"])
        after = [None if callable(a) or isinstance(a, np.random.Generator) else roundtrip(a) for a in args]
        return CallOutcome(OK, value=roundtrip(value), args_after=after if return_args else None)


def floor_grade(submission: Submission, course: Course, cells: list[dict]) -> float:
    """Seconds to run ``cells`` and every hidden check of the submission, here; its score."""
    assignment = course.assignment(submission.assignment_id)
    folder = str(submission.notebook.parent)
    sys.path[:0] = [folder, str(course.root / "support")]
    namespace: dict = {"__name__": "__main__"}
    null = os.open(os.devnull, os.O_WRONLY)
    previous = signal.signal(signal.SIGALRM, worker._on_alarm)
    try:
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            worker.run_cells(namespace, cells, assignment.limits.cell_seconds, null)
            code = InProcessCode(namespace, assignment.limits, StandinRule(tuple(assignment.functions)))
            with course_seed(assignment.seed):
                results = run_assignment(code, assignment)
    finally:
        signal.signal(signal.SIGALRM, previous)
        os.close(null)
        del sys.path[:2]
        sys.modules.pop("gd_support", None)  # each notebook imports its own copy, as in its own process
    return sum(r.score for r in results)


def main() -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("paths", nargs="+")
    parser.add_argument("--assignment", default=None)
    parser.add_argument("--course", default=str(REPO / "course.yml"))
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--json", action="store_true", help="print one JSON line (for ratios.py)")
    args = parser.parse_args()
    course = load_course(args.course)
    submissions = [s for s in discover(args.paths, course, args.assignment) if not s.refused]
    cells = {s: read_cells(s.notebook) for s in submissions}  # reading notebooks is not grading
    passes = []
    for _ in range(args.repeat):
        started = time.perf_counter()
        for s in submissions:
            floor_grade(s, course, cells[s])
        passes.append((time.perf_counter() - started) / len(submissions))
    result = {"per_submission": statistics.median(passes), "submissions": len(submissions)}
    if args.json:
        print(json.dumps(result))
    else:
        print(f"floor: {result['per_submission']:.4f} s per submission ({len(submissions)} submissions, median of {args.repeat})")
    return result


if __name__ == "__main__":
    main()
