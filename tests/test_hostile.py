"""Untrusted submissions: tampering never raises a score, a fault costs only its own function,
and every submission still gets a results.json."""

from __future__ import annotations

import dataclasses
import json
import os
import resource
from pathlib import Path

import numpy as np
import pytest

from autograder.grade import grade_all
from autograder.sandbox import jail
from autograder.sandbox.client import Sandbox
from autograder.submission import Submission, discover, grade_submission

from helpers import COURSE, write_notebook

FAST = dataclasses.replace(
    COURSE,
    assignments=[
        dataclasses.replace(
            a,
            limits=dataclasses.replace(
                a.limits, call_seconds=2, cell_seconds=3, notebook_seconds=30, function_seconds=8
            ),
        )
        for a in COURSE.assignments
    ],
)
A1, A2, A3 = "01_gradients", "02_gradient_descent", "03_minibatch"


def grade(tmp_path: Path, assignment: str, replace=None, extra=()):
    nb = write_notebook(assignment, tmp_path / "student" / assignment, replace, list(extra))
    graded = grade_submission(Submission(nb, "student", assignment), FAST)
    return graded, graded.functions()


def verdicts(graded, function: str) -> set[str]:
    return {t.verdict for t in graded.tests if t.function == function}


#: CPU seconds of the grading process for a submission whose stand-in counts are refused up front
#: (measured: about 1 s; before the bound, a 0-d count cost 25 s)
REFUSED_COUNT_CPU = 10.0
#: ... and for one that only keeps our stand-ins and callbacks (which run here) busy: at most the
#: function's time budget (8 s) of calls, each up to 2 s past its limit, and the checks' own work
CALLBACK_LOOP_CPU = 3 * FAST.assignment("03_minibatch").limits.function_seconds


def grading_cpu_seconds() -> float:
    """CPU time this process (the grader) has used so far.  What student code costs *us* is bounded
    in CPU, never asserted in wall time: a loaded machine stretches the wall clock, not this."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def assert_only(scores: dict, function: str) -> None:
    """``function`` scored 0; every other function full marks."""
    for fn, (got, out_of) in scores.items():
        if fn == function:
            assert got == 0, f"{function} should score 0"
        else:
            assert got == out_of, f"{fn} lost points for a fault in {function}"


# ----------------------------------------------------------------------------- tampering

SIGN_FLIPPED_STEP = "def gd_step(w, grad, lr):\n    return w + lr * grad\n"

TAMPERING = {
    "numpy-comparisons": """
import numpy as np
np.allclose = lambda *a, **k: True
np.isclose = lambda *a, **k: True
np.array_equal = lambda *a, **k: True
np.testing.assert_allclose = lambda *a, **k: None
np.testing.assert_array_equal = lambda *a, **k: None
""",
    "builtins": """
import builtins
builtins.abs = lambda x: 0
builtins.all = lambda x: True
builtins.isinstance = lambda *a: True
""",
    "pytest-and-grader": """
import sys, types
fake = types.ModuleType("pytest")
fake.approx = lambda *a, **k: True
sys.modules["pytest"] = fake
try:
    import autograder.suites.framework as fw
    fw.close = lambda *a, **k: True
except ImportError:
    pass
""",
    "caller-frames": """
import sys
def _rewrite_callers():
    frame = sys._getframe(1)
    while frame is not None:
        for name in list(frame.f_locals):
            if name in ("expected", "oracle", "want", "g"):
                frame.f_locals[name] = None
        frame = frame.f_back
_step = lambda w, grad, lr: w + lr * grad
def gd_step(w, grad, lr):
    _rewrite_callers()
    return _step(w, grad, lr)
""",
}


@pytest.fixture(scope="module")
def untampered_score(tmp_path_factory):
    _, scores = grade(tmp_path_factory.mktemp("plain"), A2, {"gd_step": SIGN_FLIPPED_STEP})
    return scores["gd_step"][0]


@pytest.mark.parametrize("name", sorted(TAMPERING))
def test_tampering_never_raises_a_score(tmp_path, untampered_score, name):
    graded, scores = grade(tmp_path, A2, {"gd_step": SIGN_FLIPPED_STEP}, [TAMPERING[name]])
    assert scores["gd_step"][0] <= untampered_score < scores["gd_step"][1]


def test_student_code_cannot_import_the_grader(tmp_path):
    cheat = (
        "def mse_gradient(w, X, y):\n"
        "    from autograder.reference import mse_gradient as answer\n"
        "    return answer(w, X, y)\n"
    )
    graded, scores = grade(tmp_path, A1, {"mse_gradient": cheat})
    assert scores["mse_gradient"][0] == 0
    assert "No module named 'autograder'" in " ".join(t.output for t in graded.tests if t.function == "mse_gradient")


def test_spy_record_cannot_be_silenced(tmp_path):
    # an unshuffled sgd that also tries to stop its grad_fn calls from being reported
    cheat = """
def sgd(grad_fn, X, y, w0, lr, epochs, rng):
    grad_fn.__globals__["write_message"] = lambda *a, **k: None
    w, history = w0.copy(), [w0.copy()]
    for _ in range(epochs):
        for i in range(len(y)):
            w = w - lr * grad_fn(w, X[i:i + 1], y[i:i + 1])
        history.append(w.copy())
    return history
"""
    graded, scores = grade(tmp_path, A3, {"sgd": cheat})
    assert scores["sgd"][0] < scores["sgd"][1]  # (purity points for a wrong sgd: issue #9's business)
    assert any("original order" in t.output for t in graded.tests if t.function == "sgd")  # the spy saw it
    assert all(got == out_of for fn, (got, out_of) in scores.items() if fn != "sgd")


def test_student_code_cannot_kill_the_grader(tmp_path):
    # Without a PID namespace the child could signal us: then this protection is missing, and the
    # test fails here rather than letting the killer below take pytest down with it.
    assert jail.available() is None, jail.available()
    killer = (
        "import os, signal\n"
        "def mse_loss(w, X, y):\n"
        "    os.kill(os.getppid(), signal.SIGKILL)\n"
        "    os.kill(-1, signal.SIGKILL)\n"
        "    return 0.0\n"
    )
    graded, scores = grade(tmp_path, A1, {"mse_loss": killer})
    assert_only(scores, "mse_loss")
    os.kill(os.getpid(), 0)  # still here


# -------------------------------------------------------------------------------- faults

FAULTS = [
    # (assignment, function, source, verdict)
    (A1, "mse_loss", "def mse_loss(w, X, y):\n    while True:\n        pass\n", "timeout"),
    (A1, "mse_gradient", "import sys\ndef mse_gradient(w, X, y):\n    sys.exit(1)\n", "error"),
    (A1, "logistic_loss", "import os\ndef logistic_loss(w, X, y, l2=0.0):\n    os._exit(3)\n", "crashed"),
    (
        A1,
        "numerical_gradient",
        "import ctypes\ndef numerical_gradient(f, w, eps=1e-6):\n    return ctypes.string_at(0)\n",
        "crashed",
    ),
    (
        A1,
        "gradient_check",
        "def gradient_check(f, grad_f, w, eps=1e-6):\n    big = np.ones(8 * 10**9)\n    return float(big.sum())\n",
        "error",
    ),
    (A2, "max_stable_lr", "def max_stable_lr(H)\n    return 2 / np.linalg.eigvalsh(H)[-1]\n", "missing"),
    (A2, "find_global_minimum", "def find_best(f, grad_f, starts, lr, n_steps):\n    return starts[0]\n", "missing"),
    (A1, "mse_loss", "def mse_loss(w, X, y):\n    return 'about two'\n", "failed"),
    # a generator is read out where it runs, at most wire.MAX_ITEMS items: an endless one is bounded
    (A2, "gd_step", "def gd_step(w, grad, lr):\n    while True:\n        yield 'w - lr * grad'\n", "failed"),
    (
        A2,
        "gradient_descent",
        "class Path:\n    pass\ndef gradient_descent(grad_f, w0, lr, n_steps):\n    return Path()\n",
        "failed",
    ),
    (
        A3,
        "minibatches",
        "import time\ndef minibatches(n, batch_size, rng):\n    while True:\n        try:\n            time.sleep(0.1)\n        except BaseException:\n            pass\n",
        "timeout",
    ),
]


@pytest.mark.parametrize("assignment,function,source,verdict", FAULTS, ids=[f"{f[1]}-{f[3]}" for f in FAULTS])
def test_fault_costs_only_its_function(tmp_path, assignment, function, source, verdict):
    graded, scores = grade(tmp_path, assignment, {function: source})
    assert_only(scores, function)
    assert verdict in verdicts(graded, function)


def test_output_flood_is_capped_and_graded(tmp_path):
    flood = "def gd_step(w, grad, lr):\n    print('x' * 10**7)\n    return w - lr * grad\n"
    _, scores = grade(tmp_path, A2, {"gd_step": flood})
    assert all(got == out_of for got, out_of in scores.values())


def test_alarm_ignored_still_times_out(tmp_path):
    source = (
        "import signal\nfor _s in (signal.SIGALRM, signal.SIGPROF, signal.SIGVTALRM):\n"
        "    signal.signal(_s, signal.SIG_IGN)\n"
        "def gd_step(w, grad, lr):\n    while True:\n        pass\n"
    )
    graded, scores = grade(tmp_path, A2, {"gd_step": source})
    assert_only(scores, "gd_step")
    assert "timeout" in verdicts(graded, "gd_step")


@pytest.mark.parametrize(
    "cell",
    [
        "import time\ntime.sleep(10**6)\n",
        "import os\nos._exit(0)\n",
        "raise RuntimeError('oops')\n",
        "import subprocess\nsubprocess.Popen(['sleep', '1000'])\n",
    ],
    ids=["sleeps-forever", "exits", "raises", "leaves-a-process"],
)
def test_bad_top_level_cell_is_skipped(tmp_path, cell):
    graded, scores = grade(tmp_path, A2, extra=[cell])
    assert all(got == out_of for got, out_of in scores.values())
    if "subprocess" not in cell:
        assert any("Cell" in note for note in graded.notes), graded.notes


UNREADABLE = {
    "corrupt": "{not json",
    "list": "[1, 2, 3]",
    "empty": "",
    "binary": "\x00\x01binary",
    "format-3": json.dumps({"nbformat": 3, "worksheets": [{"cells": []}]}),
    "no-cells": json.dumps({"nbformat": 4, "cells": {"0": {}}}),
    "source-not-text": json.dumps({"nbformat": 4, "cells": [{"cell_type": "code", "source": {"x": 1}}]}),
    "nested-too-deep": "[" * 200_000 + "]" * 200_000,
    "larger-than-50-MB": json.dumps({"nbformat": 4, "cells": [], "padding": "x" * (50 << 20)}),
    "code-over-8-MB": json.dumps({"nbformat": 4, "cells": [{"cell_type": "code", "source": "#" * (9 << 20)}]}),
}


@pytest.mark.parametrize("content", UNREADABLE.values(), ids=UNREADABLE.keys())
def test_unreadable_notebook_gets_results_with_a_reason(tmp_path, content):
    folder = tmp_path / "submitted" / "mallory" / A1
    folder.mkdir(parents=True)
    (folder / "gradients.ipynb").write_text(content)
    out = tmp_path / "graded"
    graded = grade_all(discover([str(tmp_path / "submitted")], FAST), FAST, out)
    results = json.loads((out / "mallory" / A1 / "results.json").read_text())
    assert results["score"] == 0 and graded[0].score == 0
    assert "could not be graded" in results["output"]
    assert all(t["status"] == "failed" for t in results["tests"])


def test_a_crowded_submission_folder_is_refused_with_a_reason(tmp_path):
    """Thousands of files beside the notebook (or more bytes than the jail's home holds) are the
    submission's problem, said to the student, never a grader failure that a regrade repeats."""
    folder = tmp_path / "submitted" / "mallory" / A1
    write_notebook(A1, folder)
    for i in range(250):
        (folder / f"f{i}.txt").write_text("x")
    write_notebook(A1, tmp_path / "submitted" / "ok" / A1)
    out = tmp_path / "graded"
    graded = {g.student: g for g in grade_all(discover([str(tmp_path / "submitted")], FAST), FAST, out)}
    results = json.loads((out / "mallory" / A1 / "results.json").read_text())
    assert results["score"] == 0 and "more than 200 files" in results["output"]
    assert graded["ok"].score == graded["ok"].max_score


def test_batch_of_hostile_submissions_finishes(tmp_path):
    submitted = tmp_path / "submitted"
    write_notebook(A2, submitted / "good" / A2)
    write_notebook(
        A2, submitted / "looper" / A2, {"gd_step": "def gd_step(w, grad, lr):\n    while True:\n        pass\n"}
    )
    write_notebook(A2, submitted / "exiter" / A2, extra=["import os\nos._exit(1)\n"])
    (submitted / "broken" / A2).mkdir(parents=True)
    (submitted / "broken" / A2 / "gradient_descent.ipynb").write_text("{")
    out = tmp_path / "graded"
    graded = grade_all(discover([str(submitted)], FAST), FAST, out, jobs=2)
    assert sorted(g.student for g in graded) == ["broken", "exiter", "good", "looper"]
    by = {g.student: g for g in graded}
    assert by["good"].score == by["good"].max_score == by["exiter"].score
    assert by["looper"].score == by["good"].score - COURSE.assignment(A2).points["gd_step"]
    assert by["broken"].score == 0
    assert (out / "grades.csv").read_text().count("\n") == 5


def test_no_process_left_behind(tmp_path):
    before = _sleepers()
    grade(tmp_path, A2, extra=["import subprocess\nsubprocess.Popen(['sleep', '4242'])\n"])
    assert _sleepers() == before


def _sleepers() -> int:
    count = 0
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            try:
                if b"4242" in Path(f"/proc/{pid}/cmdline").read_bytes():
                    count += 1
            except OSError:
                pass
    return count


def test_student_code_cannot_write_outside_its_scratch_folder(tmp_path):
    """The grader's code, the course and other results are not even visible to student code."""
    victim = tmp_path / "graded" / "alice" / A2 / "results.json"
    victim.parent.mkdir(parents=True)
    victim.write_text('{"score": 0}')
    framework = Path(__import__("autograder.suites.framework").suites.framework.__file__)
    before = framework.read_bytes()
    vandal = f"open({str(victim)!r}, 'w').write('{{\"score\": 10}}')\n"
    patcher = f"open({str(framework)!r}, 'a').write('\\nclose = lambda *a, **k: True\\n')\n"
    graded, scores = grade(tmp_path, A2, {"gd_step": SIGN_FLIPPED_STEP}, [vandal, patcher])
    assert victim.read_text() == '{"score": 0}'
    assert framework.read_bytes() == before
    assert sum("No such file or directory" in note for note in graded.notes) == 2, graded.notes
    assert scores["gd_step"][0] < scores["gd_step"][1]


def test_student_code_cannot_see_the_grader_process(tmp_path):
    spy = "import os\ndef max_stable_lr(H):\n    return float(len([p for p in os.listdir('/proc') if p.isdigit()]))\n"
    outcome_cells = write_notebook(A2, tmp_path / "s" / A2, {"max_stable_lr": spy})
    from autograder.notebook import read_cells
    from autograder.sandbox.client import Sandbox

    with Sandbox(read_cells(outcome_cells), tmp_path / "s" / A2, [], FAST.assignment(A2).limits) as box:
        visible = box.call("max_stable_lr", (None,)).value
    assert visible <= 2.0  # bwrap's init and itself: the grader is outside its PID namespace and its /proc


def test_a_grader_bug_on_one_submission_does_not_stop_the_batch(tmp_path, monkeypatch):
    import autograder.grade as grade_module
    from autograder.grade import GraderFailure

    submitted = tmp_path / "submitted"
    write_notebook(A1, submitted / "ok" / A1)
    write_notebook(A1, submitted / "trigger" / A1)
    real = grade_module.grade_submission

    def flaky(submission, course, feedback=False):
        if submission.student == "trigger":
            raise RuntimeError("a bug in the grader")
        return real(submission, course, feedback=feedback)

    monkeypatch.setattr(grade_module, "grade_submission", flaky)
    out = tmp_path / "graded"
    with pytest.raises(GraderFailure) as info:
        grade_all(discover([str(submitted)], FAST), FAST, out)
    failures, graded = info.value.args
    assert "a bug in the grader" in failures
    assert {g.student: g.score for g in graded} == {"ok": 15.0, "trigger": 0.0}
    trigger = json.loads((out / "trigger" / A1 / "results.json").read_text())
    assert "not your fault" in trigger["output"]
    assert {t["extra_data"]["verdict"] for t in trigger["tests"]} == {"grader_error"}


def test_student_code_cannot_lift_its_limits(tmp_path):
    lifter = (
        "import resource\n"
        "def gd_step(w, grad, lr):\n"
        "    resource.setrlimit(resource.RLIMIT_AS, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))\n"
        "    return w - lr * grad\n"
    )
    graded, scores = grade(tmp_path, A2, {"gd_step": lifter})
    assert_only(scores, "gd_step")
    assert "error" in verdicts(graded, "gd_step")


# ----------------------------------------------------------- issue #8: one test per attack family

REPO = Path(__file__).resolve().parent.parent


def probe(tmp_path: Path, source: str, fn: str, *args, spec=(), limits=None):
    """Run ``fn`` of a one-cell notebook in the sandbox, as grading would; its Outcome."""
    from autograder.sandbox.client import Sandbox
    from autograder.standins import StandinRule

    cells = [{"index": 0, "source": "import numpy as np\n" + source, "mode": "full"}]
    scratch = tmp_path / "scratch"
    scratch.mkdir(exist_ok=True)
    limits = limits or FAST.assignment(A2).limits
    with Sandbox(cells, scratch, [str(REPO / "support")], limits, StandinRule(tuple(spec))) as box:
        return box.call(fn, args)


LOOK_FOR_US = f"""
import gc, os, sys, types
REPO = {str(REPO)!r}
def gradient_descent(grad_f, w0, lr, n_steps):
    found = []
    texts = list(sys.argv) + list(os.environ.values()) + list(sys.path) + [os.getcwd()]
    for name in ("cmdline", "environ", "mountinfo"):
        texts.append(open("/proc/self/" + name, "rb").read().decode("latin-1"))
    for fd in os.listdir("/proc/self/fd"):
        try:
            texts.append(os.readlink("/proc/self/fd/" + fd))
        except OSError:
            pass
    found += [t[:80] for t in texts if REPO in t or "autograder" in t]
    for path in (REPO, REPO + "/solutions", REPO + "/autograder/reference.py", "/work", "/root/.cache"):
        if os.path.exists(path):
            found.append("exists: " + path)
    found += [m for m in sys.modules if "autograder" in m or "reference" in m]
    for obj in gc.get_objects():
        code = getattr(obj, "__code__", None) if callable(obj) else None
        if isinstance(code, types.CodeType) and ("reference" in code.co_filename or REPO in code.co_filename):
            found.append("function " + code.co_name)
    found += [k for k in gd_step.__globals__ if k in ("mse_gradient", "minibatch_gd", "reference")]
    return "; ".join(found)
def gd_step(w, grad, lr):
    return w
"""


def test_nothing_of_ours_is_reachable_inside(tmp_path):
    """gc, argv, environment, /proc/self, a stand-in's globals, the file system: no grader, no course."""
    outcome = probe(tmp_path, LOOK_FOR_US, "gradient_descent", lambda w: w, [0.0], 0.1, 1, spec=("gd_step",))
    assert outcome.status == "ok", outcome
    assert outcome.value == ""


def test_symlinked_notebook_is_refused(tmp_path):
    submitted = tmp_path / "submitted"
    (submitted / "mallory" / A1).mkdir(parents=True)
    (submitted / "mallory" / A1 / "gradients.ipynb").symlink_to(REPO / "solutions" / "01_gradients" / "gradients.ipynb")
    write_notebook(A1, submitted / "alice" / A1)
    (submitted / "eve" / A1).mkdir(parents=True)
    (submitted / "eve" / A1 / "gradients.ipynb").symlink_to(submitted / "alice" / A1 / "gradients.ipynb")
    targets = discover([str(submitted)], FAST)
    by = {t.student: t for t in targets}
    assert by["mallory"].refused and by["eve"].refused and not by["alice"].refused
    graded = grade_submission(by["mallory"], FAST)
    assert graded.score == 0 and any("symbolic link" in n for n in graded.notes)


def test_planted_copy_cannot_replace_a_classmates_notebook(tmp_path):
    submitted = tmp_path / "submitted"
    write_notebook(A1, submitted / "victim" / A1)
    write_notebook(
        A1, submitted / "mallory" / "extra" / "victim" / A1, {"mse_loss": "def mse_loss(w, X, y):\n    return 0.0\n"}
    )
    write_notebook(A1, submitted / "mallory" / A1 / "nested" / A1)  # and a copy one level too deep
    targets = discover([str(submitted)], FAST)
    by = {t.student: t for t in targets}
    assert by["victim"].notebook == submitted / "victim" / A1 / "gradients.ipynb" and not by["victim"].notes
    assert by["mallory"].refused and "extra/victim" in by["mallory"].refused
    assert len(targets) == 2


def test_children_share_no_scratch_tmp_or_shm(tmp_path):
    from autograder.sandbox.client import Sandbox

    writer = (
        "import os\ndef gd_step(w, grad, lr):\n"
        "    for d in ('/tmp', '/dev/shm', os.getcwd()):\n"
        "        open(d + '/note', 'w').write('from mallory')\n"
        "    return w\n"
    )
    reader = (
        "import os\ndef gd_step(w, grad, lr):\n"
        "    return float(sum(os.path.exists(d + '/note') for d in ('/tmp', '/dev/shm', os.getcwd())))\n"
    )
    cells = lambda src: [{"index": 0, "source": src, "mode": "full"}]  # noqa: E731
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    limits = FAST.assignment(A2).limits
    with (
        Sandbox(cells(writer), tmp_path / "a", [], limits) as a,
        Sandbox(cells(reader), tmp_path / "b", [], limits) as b,
    ):
        assert a.call("gd_step", (1.0, 1.0, 1.0)).status == "ok"
        assert b.call("gd_step", (1.0, 1.0, 1.0)).value == 0.0
    assert not (tmp_path / "a" / "note").exists()  # its scratch is a private copy, too


KERNEL_ATTACKS = """
import os, socket
def max_stable_lr(H):
    found = []
    if os.getuid() == 0 or os.geteuid() == 0:
        found.append("uid 0")
    caps = [l for l in open("/proc/self/status") if l.startswith("CapEff")][0].split()[1]
    if int(caps, 16):
        found.append("capabilities " + caps)
    for f in ("/proc/sys/kernel/hostname", "/proc/sys/vm/drop_caches", "/proc/sysrq-trigger"):
        try:
            open(f, "w").write("1")
            found.append("wrote " + f)
        except OSError:
            pass
    for family in (socket.AF_UNIX, socket.AF_NETLINK):
        try:
            socket.socket(family)
            found.append("socket %d" % family)
        except OSError:
            pass
    try:
        socket.socketpair()
        found.append("socketpair")
    except OSError:
        pass
    try:
        s = socket.create_connection(("127.0.0.1", PORT), timeout=1)
        found.append("loopback reached the host")
    except OSError:
        pass
    import ctypes
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.unshare(0x10000000) == 0:
        found.append("unshare")
    return "; ".join(found)
"""


def test_child_is_unprivileged_and_cut_off(tmp_path):
    """Not uid 0, no capabilities, /proc/sys read-only, no Unix or netlink sockets, no host loopback."""
    import socket

    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        source = KERNEL_ATTACKS.replace("PORT", str(server.getsockname()[1]))
        outcome = probe(tmp_path, source, "max_stable_lr", None)
    assert outcome.status == "ok" and outcome.value == "", outcome


def test_spoofed_args_after_keeps_no_points(tmp_path):
    """The child's report of its inputs is not asked for: they are read back from shared memory."""
    spoof = """
import sys
worker = sys.modules["__main__"]
real = worker._answer_call
def lying(namespace, request, channel):
    reply = real(namespace, request, channel)
    reply["args_after"] = []
    return reply
worker._answer_call = lying
def gd_step(w, grad, lr):
    w -= lr * grad
    return w.copy()
"""
    graded, _ = grade(tmp_path, A2, {"gd_step": spoof})
    purity = [t for t in graded.tests if t.function == "gd_step" and "unchanged" in t.name]
    assert purity and all(t.verdict == "failed" for t in purity)


def test_hostile_strings_are_cut_and_cleaned(tmp_path):
    from xml.etree import ElementTree

    from autograder.reports import junit_xml

    nasty = (
        "def mse_loss(w, X, y):\n"
        "    raise type('Secret' * 5000, (Exception,), {})('course.yml seeds ' * 2000)\n"
        "def mse_gradient(w, X, y):\n"
        "    raise ValueError('bell \\x01 and a lone surrogate \\ud800 and \\x1b[31m')\n"
    )
    submitted = tmp_path / "submitted"
    write_notebook(A1, submitted / "mallory" / A1, {"mse_loss": nasty, "mse_gradient": ""})
    out = tmp_path / "graded"
    graded = grade_all(discover([str(submitted)], FAST), FAST, out)
    raw = (out / "mallory" / A1 / "results.json").read_bytes()
    raw.decode("ascii")  # ASCII-safe
    results = json.loads(raw)
    outputs = [t["output"] for t in results["tests"]]
    assert (
        max(len(o) for o in outputs) < 1000
        and "SecretSecretSecretSecretSecretSecretSecretSecretSecretSecretSecret" not in raw.decode()
    )
    assert not any(ch in o for o in outputs for ch in "\x01\x1b\ud800")
    ElementTree.fromstring(junit_xml(graded))  # well-formed
    assert (out / "grades.csv").read_text().count("\n") == 2


NEVER_READS = """
import gc, json, os, struct, time
def gradient_descent(grad_f, w0, lr, n_steps):
    channel = [o for o in gc.get_objects() if type(o).__name__ == "_Channel"][0]
    frame = json.dumps({"op": "callback", "cb": 0, "args": {"__list__": [[0.0, 0.0]]}}).encode()
    for _ in range(20000):  # ask, and never read an answer: the grader's replies fill the pipe
        os.write(channel.resp_fd, struct.pack(">I", len(frame)) + frame)
    time.sleep(1000)
"""

HUGE_FRAME = """
import gc, os, struct, time
def gradient_descent(grad_f, w0, lr, n_steps):
    channel = [o for o in gc.get_objects() if type(o).__name__ == "_Channel"][0]
    os.write(channel.resp_fd, struct.pack(">I", 2**31))
    chunk = b"x" * 2**20
    while True:
        os.write(channel.resp_fd, chunk)
"""


@pytest.mark.parametrize("source", [NEVER_READS, HUGE_FRAME], ids=["never-reads-its-replies", "huge-frame"])
def test_protocol_abuse_costs_only_the_call(tmp_path, source):
    import resource

    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    outcome = probe(tmp_path, source, "gradient_descent", lambda w: w, [1.0, 1.0], 0.1, 3)
    assert outcome.status in ("timeout", "crashed"), outcome  # the call's deadline or the frame limit ended it
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss < 200_000  # KiB: no 2 GB buffer


def test_slow_function_cannot_starve_the_others(tmp_path):
    """9.5 s per call used to stretch one submission to 612 s: each function has its own budget.
    Every call here stays within the call limit (it sleeps 1.5 s of 2 s), and gd_step's checks make
    five calls: only a budget of 4 s over all of them can stop its checks (at the fourth call, once
    4.5 s are spent); the other functions keep theirs."""
    slow = "import time\ndef gd_step(w, grad, lr):\n    time.sleep(1.5)\n    return w - lr * grad\n"
    a2 = FAST.assignment(A2)
    budgeted = dataclasses.replace(a2, limits=dataclasses.replace(a2.limits, call_seconds=2, function_seconds=4))
    course = dataclasses.replace(FAST, assignments=[budgeted])
    nb = write_notebook(A2, tmp_path / "student" / A2, {"gd_step": slow})
    graded = grade_submission(Submission(nb, "student", A2), course)
    scores = graded.functions()
    assert "timeout" in verdicts(graded, "gd_step") and scores["gd_step"][0] < scores["gd_step"][1]
    assert all(got == out_of for fn, (got, out_of) in scores.items() if fn != "gd_step")


def test_standins_cannot_answer_for_the_function_graded(tmp_path):
    """gd_step written as a call to our gradient_descent stand-in (and gradient_descent as a call to
    gd_step: a pair that would only call each other for ever) earns nothing on gd_step."""
    step = "def gd_step(w, grad, lr):\n    return gradient_descent(lambda v: grad, w, lr, 1)[-1]\n"
    descent = (
        "def gradient_descent(grad_f, w0, lr, n_steps):\n"
        "    path = [np.asarray(w0, dtype=float)]\n"
        "    for _ in range(n_steps):\n"
        "        path.append(gd_step(path[-1], grad_f(path[-1]), lr))\n"
        "    return np.array(path)\n"
    )
    graded, scores = grade(tmp_path, A2, {"gradient_descent": descent, "gd_step": step})
    assert scores["gd_step"][0] == 0
    assert scores["gradient_descent"][0] == scores["gradient_descent"][1]  # with our gd_step it is right


FORK_BOMB = """
import os
def gd_step(w, grad, lr):
    forks = 0
    for _ in range(1000):
        try:
            if os.fork() == 0:
                while True:
                    pass
            forks += 1
        except OSError:
            break
    return w * 0 + forks
"""


@pytest.mark.skipif(not jail._cgroup_roots(), reason="needs a pids cgroup (root)")
def test_fork_bomb_is_capped_by_its_jail(tmp_path):
    """Root is exempt from RLIMIT_NPROC: a pids cgroup per jail caps a fork bomb in number, not only time."""
    cells = write_cells(tmp_path, A2, {"gd_step": FORK_BOMB})
    # the course's own time limits, not FAST's: 63 spinning children share the CPU with the
    # forking parent, and on a loaded machine 2 s is not always enough to reach the cap
    with Sandbox(cells, tmp_path, [], COURSE.assignment(A2).limits) as box:
        outcome = box.call("gd_step", (np.zeros(1), np.zeros(1), 0.1))
    assert outcome.status == "ok"
    forks = float(np.asarray(outcome.value)[0])
    assert 0 < forks < jail.JailLimits().pids, forks


def test_a_loaded_machine_does_not_time_out_correct_code(tmp_path):
    """A classmate's fork bomb (or any load) starves this child of CPU: its time limits count the CPU
    it got, and the grading process's deadlines move by the time it waited for a CPU."""
    import subprocess
    import sys

    hogs = [subprocess.Popen([sys.executable, "-c", "while True: pass"], start_new_session=True) for _ in range(10)]
    try:
        slow_but_correct = (
            "def gd_step(w, grad, lr):\n"
            "    import time\n"
            "    spin = time.process_time() + 0.8\n"  # 0.8 s of CPU: under 2 s, but 10 hogs make it ~4.5 s wall
            "    while time.process_time() < spin:\n"
            "        pass\n"
            "    return w - lr * grad\n"
        )
        cells = write_cells(tmp_path, A2, {"gd_step": slow_but_correct})
        with Sandbox(cells, tmp_path, [], FAST.assignment(A2).limits) as box:
            outcome = box.call("gd_step", (np.ones(2), np.ones(2), 0.5))
        assert outcome.status == "ok", outcome
        assert np.allclose(outcome.value, 0.5)
    finally:
        for hog in hogs:
            hog.kill()
            hog.wait()


def write_cells(tmp_path: Path, assignment: str, replace: dict) -> list[dict]:
    from autograder.notebook import read_cells

    return read_cells(write_notebook(assignment, tmp_path / "student" / assignment, replace))


def test_python_that_never_starts_is_the_graders_failure(tmp_path, monkeypatch):
    """A child that dies before running any cell (a machine out of processes or memory) is our
    failure: the submission is marked for regrading, not given 0 for a notebook that never ran."""
    from autograder.grade import GraderFailure
    from autograder.submission import SandboxStartFailure

    write_notebook(A1, tmp_path / "submitted" / "unlucky" / A1)
    monkeypatch.setattr(jail, "interpreter", lambda: "/bin/false")
    monkeypatch.setattr("sys.executable", "/bin/false")  # the same without the jail
    with pytest.raises(SandboxStartFailure):
        grade_submission(Submission(tmp_path / "submitted" / "unlucky" / A1 / "gradients.ipynb", "unlucky", A1), FAST)
    out = tmp_path / "graded"
    with pytest.raises(GraderFailure):
        grade_all(discover([str(tmp_path / "submitted")], FAST), FAST, out)
    results = json.loads((out / "unlucky" / A1 / "results.json").read_text())
    assert "not your fault" in results["output"]


@pytest.mark.parametrize(
    "source, cpu_bound",
    [
        (
            "def minibatch_gd(grad_fn, X, y, w0, lr, epochs, batch_size, rng):\n"
            "    minibatches(3 * 10**7, 1, rng)\n"
            "    return None\n",
            REFUSED_COUNT_CPU,
        ),
        (
            "def sgd(grad_fn, X, y, w0, lr, epochs, rng):\n    return minibatch_gd(grad_fn, X, y, w0, lr, 10**5, 1, rng)\n",
            CALLBACK_LOOP_CPU,
        ),
    ],
    ids=["huge-count", "endless-loop-of-our-own-callbacks"],
)
def test_standins_run_here_but_within_bounds(tmp_path, source, cpu_bound):
    """Our stand-ins run in the grading process: a huge count is refused (not a 10 GB allocation),
    and a loop that only calls our own callbacks (10**5 epochs) still ends at the call's deadline."""
    function = "minibatch_gd" if "def minibatch_gd" in source else "sgd"
    peak_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    cpu_before = grading_cpu_seconds()
    graded, scores = grade(tmp_path, A3, {function: source})
    spent = grading_cpu_seconds() - cpu_before
    assert spent < cpu_bound, spent
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - peak_before < 500_000  # KiB
    assert_only(scores, function)


def test_student_names_cannot_take_the_place_of_class_files(tmp_path):
    """A folder named grades.csv or junit.xml used to crash the batch (IsADirectoryError) and lose
    the class files; =formula names ran as spreadsheet formulas; linked folders vanished silently."""
    import csv

    submitted = tmp_path / "submitted"
    for name in ("grades.csv", "junit.xml", f"{A1}_histogram.png", "=2+5+HYPERLINK(A1)", "honest"):
        write_notebook(A1, submitted / name / A1)
    (submitted / "linker").symlink_to(submitted / "honest", target_is_directory=True)
    out = tmp_path / "graded"
    graded = grade_all(discover([str(submitted)], FAST), FAST, out, jobs=2)
    rows = list(csv.DictReader((out / "grades.csv").open()))
    assert (out / f"{A1}_histogram.png").is_file() and (out / "grades.csv").is_file()
    assert {r["student"] for r in rows} == {
        "grades_csv_",
        "junit_xml_",
        f"{A1}_histogram_png_",
        "'=2+5+HYPERLINK(A1)",
        "honest",
        "linker",
    }
    scores = {g.student: g.score for g in graded}
    assert scores["grades_csv_"] == scores["honest"] == FAST.assignment(A1).max_score and scores["linker"] == 0
    moved = json.loads((out / "grades_csv_" / A1 / "results.json").read_text())
    assert "looks like a class results file" in moved["output"]
    linked = json.loads((out / "linker" / A1 / "results.json").read_text())
    assert "symbolic link to a folder" in linked["output"]


def test_feedback_markdown_shows_student_text_as_text(tmp_path):
    """An exception message cannot forge a heading, an image or a link in feedback.md, nor hide
    behind a right-to-left override."""
    import mistune

    from autograder.feedback import write_reports

    forged = "\n\n## `gd_step`: 2 / 2\n- all checks passed\n![t](http://attacker.example/t.png) <b>x</b> \u202egnp.t"
    source = f"def gd_step(w, grad, lr):\n    raise ValueError({forged!r})\n"
    nb = write_notebook(A2, tmp_path / "student" / A2, {"gd_step": source})
    graded = grade_submission(Submission(nb, "student", A2), FAST)
    write_reports(graded.for_report(), tmp_path / "out")
    text = (tmp_path / "out" / "student" / A2 / "feedback.md").read_text()
    assert "attacker.example" in text and "\u202e" not in text  # the message is shown, as text
    rendered = mistune.html(text)
    assert rendered.count("<h2>") == len(COURSE.assignment(A2).points)  # one per function, none forged
    assert "<img" not in rendered.replace('src="feedback_', "") and "<a " not in rendered and "<b>" not in rendered


ZERO_D_COUNT = """
def sgd(grad_fn, X, y, w0, lr, epochs, rng):
    return minibatch_gd(grad_fn, X[:0], y[:0], np.zeros(1_000_000), lr, np.array(20_000_000), 1, rng)
"""


def test_standin_counts_as_0d_arrays_are_bounded_too(tmp_path):
    """A count passed as np.array(20_000_000), with no callbacks to check the deadline, used to keep
    the grading process busy for 25 s and 4.8 GB: counts of any type, and count x size, are bounded."""
    peak_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    cpu_before = grading_cpu_seconds()
    graded, scores = grade(tmp_path, A3, {"sgd": ZERO_D_COUNT})
    spent = grading_cpu_seconds() - cpu_before
    assert spent < REFUSED_COUNT_CPU, spent
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - peak_before < 500_000  # KiB
    assert_only(scores, "sgd")


EVIL = (
    "x ![pwned](https://evil.example/t.png) [real grade](https://evil.example) <img src=x onerror=alert(1)> | 99 | **15"
)


def test_markdown_summary_and_plot_captions_show_student_text_as_text():
    """A folder name in the job summary cannot forge score cells, links or HTML; nor can an
    exception message that reaches a plot's caption in feedback.md."""
    import mistune

    from autograder.feedback import Plot, markdown_report
    from autograder.reports import markdown_summary
    from autograder.results import GradedSubmission, TestResult

    tests = [TestResult("gd_step: works", "gd_step", 2.0, 2.0, "passed", "Passed.")]
    graded = GradedSubmission(EVIL.replace("`", ""), A2, "gradient_descent.ipynb", tests)
    summary = mistune.create_markdown(plugins=["table"])(markdown_summary([graded]))
    row = summary.split("<tbody>")[1]
    assert row.count("<td") == 3 and "99" not in row.split("</td>")[1]  # name, gd_step, total
    report = markdown_report(graded, [Plot("path", "Your path", f"Your gd_step failed: ValueError: {EVIL}", b"")], [])
    html = mistune.html(report)
    assert "evil.example" in report and "<a " not in html and "<img src=x" not in html
    assert html.count("<img") == 1  # the plot itself, nothing the student wrote
