"""The next submission's jail starts while the current one is graded: a fresh child per submission,
only started earlier, with the same grade as a start on first use and nothing passed between students."""

from __future__ import annotations

import dataclasses
import os

from autograder.grade import grade_all
from autograder.results import results_json
from autograder.sandbox import process
from autograder.sandbox.client import Sandbox
from autograder.submission import discover, grade_submission

from helpers import COURSE, write_notebook

A1, A2 = "01_gradients", "02_gradient_descent"
FAST = dataclasses.replace(
    COURSE,
    assignments=[
        dataclasses.replace(
            a,
            limits=dataclasses.replace(a.limits, call_seconds=2, cell_seconds=3, notebook_seconds=30, function_seconds=8),
        )
        for a in COURSE.assignments
    ],
)


def test_the_next_jail_starts_while_this_one_is_graded(tmp_path, monkeypatch):
    for student in ("ann", "bob", "cy"):
        write_notebook(A2, tmp_path / "submitted" / student / A2)
    events: list[tuple[str, int]] = []
    launch, call = Sandbox._launch, Sandbox.call

    def logged_launch(self):
        events.append(("launch", id(self)))
        return launch(self)

    def logged_call(self, *args, **kwargs):
        events.append(("call", id(self)))
        return call(self, *args, **kwargs)

    monkeypatch.setattr(Sandbox, "_launch", logged_launch)
    monkeypatch.setattr(Sandbox, "call", logged_call)
    grade_all(discover([str(tmp_path / "submitted")], FAST), FAST, tmp_path / "graded")
    order = list(dict.fromkeys(box for _, box in events))
    assert len(order) == 3  # one fresh sandbox each: nothing is reused between students
    for this, following in zip(order, order[1:]):
        last_call = max(i for i, e in enumerate(events) if e == ("call", this))
        assert events.index(("launch", following)) < last_call, events


LEAVES_TRACES = """
import os, builtins
def gd_step(w, grad, lr):
    traces = [os.path.expanduser("~/trace"), "/tmp/trace"]
    found = [open(p).read() for p in traces if os.path.exists(p)]
    found += [getattr(builtins, "trace", ME), os.environ.get("TRACE", ME)]
    for path in traces:
        open(path, "w").write(ME)
    builtins.trace = os.environ["TRACE"] = ME
    return w - lr * grad + 100 * sum(trace != ME for trace in found)
"""


def test_nothing_passes_from_one_student_to_the_next(tmp_path):
    for student in ("ann", "bob", "cy"):
        folder = tmp_path / "submitted" / student / A2
        write_notebook(A2, folder, {"gd_step": LEAVES_TRACES}, extra=[f"ME = {student!r}"])
    graded = grade_all(discover([str(tmp_path / "submitted")], FAST), FAST, tmp_path / "graded")
    # none found a trace of another: files in its home or /tmp, builtins, the environment
    assert [g.functions()["gd_step"] for g in graded] == [(2.0, 2.0)] * 3


HANGS_ON_LOAD = "import time\ntime.sleep(30)\n"


def test_a_start_ahead_grades_exactly_as_a_start_on_first_use(tmp_path):
    """Good, buggy, a notebook with a cell that hangs (skipped after its deadline) and one whose
    cell kills Python: the same results.json whether each child started ahead or on first use."""
    root = tmp_path / "submitted"
    write_notebook(A1, root / "good" / A1)
    write_notebook(A1, root / "buggy" / A1, {"mse_loss": "def mse_loss(w, X, y):\n    return ((X @ w - y) ** 2).sum()\n"})
    write_notebook(A1, root / "hangs" / A1, extra=[HANGS_ON_LOAD])
    write_notebook(A1, root / "dies" / A1, extra=["import os\nos._exit(3)\n"])
    submissions = discover([str(root)], FAST)
    ahead = grade_all(submissions, FAST, tmp_path / "graded")
    alone = [grade_submission(s, FAST) for s in submissions]
    assert [results_json(g) for g in ahead] == [results_json(g) for g in alone]
    notes = {g.student: " ".join(g.notes) for g in ahead}
    assert "did not finish in time" in notes["hangs"] and "stopped Python" in notes["dies"]
    assert results_json(ahead[[g.student for g in ahead].index("good")])["score"] == 15.0


def test_a_jail_started_ahead_and_never_graded_is_ended(tmp_path, monkeypatch):
    import autograder.grade as grade_module

    for student in ("ann", "bob"):
        write_notebook(A1, tmp_path / "submitted" / student / A1, extra=[HANGS_ON_LOAD])

    def interrupted(submission, course, feedback=False):
        raise KeyboardInterrupt  # the operator stops the batch while bob's jail is starting

    monkeypatch.setattr(grade_module, "grade_submission", interrupted)
    try:
        grade_all(discover([str(tmp_path / "submitted")], FAST), FAST, tmp_path / "graded")
    except KeyboardInterrupt:
        pass
    assert process._descendants(os.getpid()) == []


def test_with_jobs_each_worker_starts_its_next_jail_while_grading(tmp_path, monkeypatch):
    """``--jobs 2``: each worker process grades its submissions one after another, the next one's
    fresh jail launched before the current one's last call; every student graded, once."""
    import multiprocessing

    for student in ("ann", "bob", "cy", "dee"):
        write_notebook(A1, tmp_path / "submitted" / student / A1)
    events = multiprocessing.Manager().list()
    launch, call = Sandbox._launch, Sandbox.call

    def logged_launch(self):
        events.append(("launch", os.getpid(), id(self)))
        return launch(self)

    def logged_call(self, *args, **kwargs):
        events.append(("call", os.getpid(), id(self)))
        return call(self, *args, **kwargs)

    monkeypatch.setattr(Sandbox, "_launch", logged_launch)
    monkeypatch.setattr(Sandbox, "call", logged_call)
    graded = grade_all(discover([str(tmp_path / "submitted")], FAST), FAST, tmp_path / "graded", jobs=2)
    assert sorted(g.student for g in graded) == ["ann", "bob", "cy", "dee"]
    assert [results_json(g)["score"] for g in graded] == [15.0] * 4
    log = list(events)
    lanes = {pid for _, pid, _ in log}
    assert len(lanes) == 2
    ahead = 0
    for lane in lanes:
        mine = [(kind, box) for kind, pid, box in log if pid == lane]
        order = list(dict.fromkeys(box for _, box in mine))
        for this, following in zip(order, order[1:]):
            last_call = max(i for i, e in enumerate(mine) if e == ("call", this))
            ahead += mine.index(("launch", following)) < last_call
    assert ahead == 2, log  # two lanes of two: each launched its second while grading its first


def test_a_worker_process_that_dies_costs_only_the_submissions_it_held(tmp_path, monkeypatch):
    import autograder.grade as grade_module

    for student in ("ann", "bob", "cy", "dee", "eve"):
        write_notebook(A1, tmp_path / "submitted" / student / A1)
    real = grade_module.grade_submission

    def dies_on_bob(submission, course, feedback=False):
        if submission.student == "bob":
            os._exit(7)  # the worker process itself dies (a bug of ours, or the OOM killer)
        return real(submission, course, feedback=feedback)

    monkeypatch.setattr(grade_module, "grade_submission", dies_on_bob)
    try:
        grade_all(discover([str(tmp_path / "submitted")], FAST), FAST, tmp_path / "graded", jobs=2)
        raise AssertionError("no GraderFailure")
    except grade_module.GraderFailure as exc:
        message, graded = exc.args
    assert "bob" in message and "died (exit 7)" in message
    scores = {g.student: results_json(g)["score"] for g in graded}
    assert sorted(scores) == ["ann", "bob", "cy", "dee", "eve"]
    assert scores["bob"] == 0 and scores["ann"] == 15.0  # a lost neighbour is graded 0, never skipped
    assert sum(score == 15.0 for score in scores.values()) >= 3
    assert process._descendants(os.getpid()) == []
