"""The grading process bounded whatever student code sends to our functions (issue 16).

Student code calls our spies (the gradient descent's ``grad_f``, the loops' ``grad_fn``), the
functions the checks pass in and our stand-ins with arguments it chooses: arrays as large as a
frame allows, as often as it likes.  Each must count what it is given before copying or walking
it, and refuse what is larger than the check needs with words for the student.

Measured in a process of its own that grades one function (``MEASURE``): its peak resident memory
(``RUSAGE_SELF``: the grading process, not the jail) and the CPU time of each callback, the spy's
part of it apart.  No wall time is asserted anywhere.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np
import pytest

from autograder.bounds import NotNumbers, TooLarge, count_numbers, passed_in
from autograder.standins import StandinRule
from autograder.suites.gradient_descent import PointSpy
from autograder.suites.minibatch import BatchSpy, problem

from helpers import COURSE, write_notebook

REPO = Path(__file__).resolve().parent.parent
#: the issue's bound on the grading process, whatever a student sends
MAX_GRADER_MB = 512

# Grades one function of a solution notebook whose cell is replaced, in a process of its own, and
# prints its peak memory and the CPU time of every callback (receiving it and answering it), and
# of the spies' own part of it.
MEASURE = """
import json, resource, sys, time
sys.path[:0] = [sys.argv[1], sys.argv[1] + "/tests"]
import helpers
from autograder.suites import gradient_descent, minibatch
from test_hostile_replies import time_callbacks
callbacks, spies = [], []
time_callbacks(callbacks)
for spy in (gradient_descent.PointSpy, minibatch.BatchSpy):
    def timed_spy(self, *a, __call__=spy.__call__, **k):
        at = time.process_time()
        try:
            return __call__(self, *a, **k)
        finally:
            spies.append(time.process_time() - at)
    spy.__call__ = timed_spy
assignment, function, source = sys.argv[2:]
cells = helpers.replace_function(helpers.solution_cells(assignment), function, source)
results = helpers.grade_sandboxed(assignment, cells, [function])
print(json.dumps({
    "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    "callbacks": len(callbacks), "callback_cpu": max(callbacks, default=0.0), "spy_cpu": max(spies, default=0.0),
    "score": sum(r.score for r in results),
}))
"""

# grad_f asked at an array of four million numbers, forty times per run: kept as float64, that was
# 32 MB a call, 1.3 GB a check
HUGE_POINTS = """
import numpy as np
def gradient_descent(grad_f, w0, lr, n_steps):
    point = np.ones(4_000_000, dtype=np.int8)
    for _ in range(40):
        try:
            grad_f(point)
        except Exception:
            pass
    return np.zeros((n_steps + 1, len(w0)))
"""

# grad_fn given a batch of random rows as large as a frame holds: found row by row, each one not in
# X scanned against all of X, that was 15 to 20 s of the grader's CPU for one callback
HUGE_BATCH = """
import numpy as np
def sgd(grad_fn, X, y, w0, lr, epochs, rng):
    rows = 3_600_000 // (X.shape[1] + 1)
    batch = np.random.default_rng(0).normal(size=(rows, X.shape[1]))
    for _ in range(2):
        try:
            grad_fn(w0, batch, np.zeros(rows))
        except Exception:
            pass
    return np.zeros((epochs + 1, len(w0)))
"""


def time_callbacks(costs: list[float]) -> None:
    """From now on, the CPU time of each callback this process answers (receiving it and answering
    it) is appended to ``costs``."""
    from autograder.sandbox.client import Sandbox

    receive, answer, started = Sandbox._receive, Sandbox._answer_callback, {}

    def timed_receive(self, *args, **kwargs):
        started.setdefault("at", time.process_time())
        return receive(self, *args, **kwargs)

    def timed_answer(self, *args, **kwargs):
        try:
            return answer(self, *args, **kwargs)
        finally:
            costs.append(time.process_time() - started.pop("at"))

    Sandbox._receive, Sandbox._answer_callback = timed_receive, timed_answer


def measure(assignment: str, function: str, source: str) -> dict:
    done = subprocess.run(
        [sys.executable, "-c", MEASURE, str(REPO), assignment, function, source],
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.splitlines()[-1])


def test_huge_points_cost_the_gradient_spy_no_memory():
    got = measure("02_gradient_descent", "gradient_descent", HUGE_POINTS)
    assert got["callbacks"] >= 40  # the attack reached the spy
    assert got["peak_mb"] < MAX_GRADER_MB, got["peak_mb"]
    assert got["score"] == 0


def test_a_huge_batch_costs_the_minibatch_spy_no_time():
    got = measure("03_minibatch", "sgd", HUGE_BATCH)
    assert got["callbacks"] >= 2
    assert got["spy_cpu"] < 0.05, got  # was 15 to 20 s: a Python scan per row
    assert got["callback_cpu"] < 2.0, got  # all of one callback: the frame's decoding is most of it
    assert got["peak_mb"] < MAX_GRADER_MB, got["peak_mb"]
    assert got["score"] == 0


# ------------------------------------------------------------------- nothing copied before it is counted


def peak_allocation(fn) -> int:
    """Bytes allocated at the peak while ``fn()`` runs (numpy reports its buffers to tracemalloc)."""
    tracemalloc.start()
    try:
        fn()
    except ValueError:
        pass
    finally:
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    return peak


def test_the_gradient_spy_counts_a_point_before_copying_it():
    spy = PointSpy(lambda w: 2 * w, d=3, max_points=10)
    huge = np.ones(4_000_000, dtype=np.int8)  # 4 MB here; a float64 copy would be 32 MB
    assert peak_allocation(lambda: spy(huge)) < 1 << 20
    with pytest.raises(ValueError, match="grad_f takes one point w, an array like w0"):
        spy(huge)
    with pytest.raises(ValueError, match="an array like w0"):
        spy([1.0, 2.0])  # too few numbers: refused in our words (numpy's would name the hidden size)
    assert spy.points == []
    assert np.array_equal(spy(np.float32([1, 2, 3])), [2, 4, 6]) and spy([1, 2, 3]).shape == (3,)
    assert len(spy.points) == 2
    for _ in range(8):
        spy([0.0, 0.0, 0.0])
    with pytest.raises(ValueError, match="far more often than the loop has steps"):
        spy([0.0, 0.0, 0.0])
    assert len(spy.points) == 10


def test_the_batch_spy_counts_a_batch_before_copying_it_and_finds_rows_at_once():
    p = problem(12, 3, "bounds")
    spy = BatchSpy(p.X, p.y, max_calls=5)
    huge, labels = np.zeros((1_000_000, 3), dtype=np.float32), np.zeros(1_000_000, dtype=np.float32)
    assert peak_allocation(lambda: spy(p.w0, huge, labels)) < 1 << 20  # a float64 copy would be 32 MB
    with pytest.raises(ValueError, match="more numbers than the whole data set holds"):
        spy(p.w0, huge, labels)
    with pytest.raises(ValueError, match="takes NumPy arrays"):
        spy(p.w0, "X", p.y)
    assert spy.calls == []
    batch = [4, 0, 11, 4]
    spy(p.w0, p.X[batch].astype(np.float32), p.y[batch])  # float32 copies of rows are still rows
    spy(p.w0, p.X[batch] + 1.0, p.y[batch])  # not rows of X
    assert spy.calls[0].rows.tolist() == batch and spy.calls[0].labels_match
    assert spy.calls[1].rows.tolist() == [-1] * 4 and not spy.calls[1].labels_match


def test_functions_we_pass_in_take_a_few_times_the_numbers_of_their_call():
    seen = []
    bounded = passed_in(lambda *a: seen.append(a) or 0.0, limit=100)
    bounded(np.zeros(40), np.zeros((10, 6)))
    with pytest.raises(ValueError, match="far more numbers than all the arrays of this call hold"):
        bounded(np.zeros(101))
    with pytest.raises(ValueError, match="far more numbers"):
        bounded([0.0] * 10_000_000)  # a list as long as a frame holds: refused by its length, not walked
    with pytest.raises(ValueError, match="takes numbers"):
        bounded({"w": 1})
    assert len(seen) == 1
    assert count_numbers([np.zeros((2, 3)), (1, 2.0, np.float32(3), True, 1j)], 11) == 11
    with pytest.raises(TooLarge):
        count_numbers([[[]] * 3] * 100, 10)  # entries that hold no numbers count too
    with pytest.raises(NotNumbers):
        count_numbers(np.array(["a"]), 10)


def test_standins_count_a_list_before_numpy_reads_it():
    rule = StandinRule(("gradient_descent", "find_global_minimum"))
    standin = rule.standins("find_global_minimum", ["gradient_descent"], lambda name: True)["gradient_descent"]
    huge = [0.0] * 20_000_000
    # our gradient_descent would make a 160 MB array of it (np.array(w0)) before a single step
    assert peak_allocation(lambda: standin(lambda w: w, huge, 0.1, 1)) < 1 << 20
    with pytest.raises(ValueError, match="far larger sizes than this exercise needs"):
        standin(lambda w: w, huge, 0.1, 1)
    assert np.allclose(standin(lambda w: 2 * w, [1.0, 2.0], 0.25, 1), [[1.0, 2.0], [0.5, 1.0]])


# ------------------------------------------------------------------------------ the classmates


def test_honest_classmates_keep_full_marks_beside_hostile_replies(tmp_path):
    folder = tmp_path / "submitted"
    for student, assignment, replace in (
        ("honest02", "02_gradient_descent", {}),
        ("huge_points", "02_gradient_descent", {"gradient_descent": HUGE_POINTS}),
        ("honest03", "03_minibatch", {}),
        ("huge_batch", "03_minibatch", {"sgd": HUGE_BATCH}),
    ):
        write_notebook(assignment, folder / student / assignment, replace)
    done = subprocess.run(
        [sys.executable, "-m", "autograder", "grade", str(folder), "--out", str(tmp_path / "graded"), "--jobs", "2"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=1800,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    score = {
        path.parent.parent.name: json.loads(path.read_text())["score"]
        for path in (tmp_path / "graded").glob("*/*/results.json")
    }
    full = {a.id: a.max_score for a in COURSE.assignments}
    assert score["honest02"] == full["02_gradient_descent"] and score["honest03"] == full["03_minibatch"]
    assert score["huge_points"] < full["02_gradient_descent"] and score["huge_batch"] < full["03_minibatch"]
