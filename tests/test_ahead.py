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
