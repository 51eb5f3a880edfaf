"""The sandbox's pieces: the plain-data codec, lazy lesson imports, cells that fail."""

from __future__ import annotations

import os
import struct
import sys
import tempfile
from pathlib import Path

import numpy as np
import pytest

from autograder.limits import Limits
from autograder.sandbox.client import Sandbox
from autograder.wire import Rng, Unencodable, decode, encode, encode_result, roundtrip

from bug_zoo import CALLEE_BUGS
from helpers import grade_sandboxed, replace_function, scores, solution_cells


def test_codec_round_trips_plain_data():
    value = {"a": [np.arange(3), (1.5, np.float32(2.0))], "b": None, "c": float("nan"), "r": Rng(4)}
    back = decode(encode(value))
    assert np.array_equal(back["a"][0], np.arange(3)) and back["a"][0].dtype == np.arange(3).dtype
    assert back["a"][1][1].dtype == np.float32 and isinstance(back["a"][1], tuple)
    assert np.isnan(back["c"]) and back["r"].seed == 4


@pytest.mark.parametrize(
    "value",
    [np.array([object()]), object(), (x for x in range(3)), {1: 2}],
    ids=["object-array", "object", "generator", "int-keys"],
)
def test_codec_refuses_objects(value):
    assert isinstance(decode(encode_result(value)), Unencodable)


def _array_bytes(dtype: bytes, shape: tuple, data: bytes) -> bytes:
    head = b"a" + bytes([len(dtype)]) + dtype + bytes([len(shape)])
    return head + struct.pack(f"<{len(shape)}Q", *shape) + data


@pytest.mark.parametrize(
    "message",
    [
        _array_bytes(b"|O", (1,), b"\0" * 8),
        _array_bytes(b"<f8", (4,), b"\0" * 8),  # fewer bytes than its shape says
        _array_bytes(b"<f8", (10**7, 10**7), b""),
        b"l" + struct.pack("<I", 10**9),  # more items than bytes
        b"m" + b"s" + struct.pack("<I", 10) + b"__pickle__" + b"N",  # a marker nobody asked for
        b"p" + b"\0" * 8,  # an unknown tag
        b"N" + b"N",  # something after the value
        b"s" + struct.pack("<I", 2) + b"\xff\xfe",  # not UTF-8
        (b"l" + struct.pack("<I", 1)) * 20 + b"N",  # nested past the limit
    ],
    ids=[
        "object-dtype",
        "short-array",
        "huge-shape",
        "count-past-end",
        "unknown-marker",
        "unknown-tag",
        "trailing-bytes",
        "bad-utf8",
        "too-deep",
    ],
)
def test_decode_refuses_anything_but_plain_data(message):
    with pytest.raises((ValueError, TypeError)):
        decode(message)


def test_decode_takes_only_bytes():
    with pytest.raises(TypeError):
        decode({"__ndarray__": {"dtype": "<f8", "shape": [1], "data": ""}})


def run(cells, fn, *args):
    with tempfile.TemporaryDirectory() as scratch:
        with Sandbox(cells, Path(scratch), [], Limits(call_seconds=5, cell_seconds=5)) as box:
            return box.call(fn, args), box.cell_reports


def test_lesson_plot_imports_are_lazy_but_work():
    cells = [
        {
            "index": 0,
            "source": "import matplotlib.pyplot as plt\nfrom matplotlib import cm\nplt.plot([1, 2])\n",
            "mode": "defs",
        },
        {
            "index": 1,
            "source": "import sys\ndef loaded():\n    return 'matplotlib.pyplot' in sys.modules\n"
            "def uses():\n    return float(len(plt.get_backend()) > 0 and cm is not None)\n",
            "mode": "full",
        },
    ]
    outcome, _ = run(cells, "loaded")
    assert outcome.value is False  # the lesson's plt.plot did not run, nothing was imported
    outcome, _ = run(cells, "uses")
    assert outcome.status == "ok" and outcome.value == 1.0


def test_failing_cells_are_reported_and_the_rest_still_runs():
    cells = [
        {"index": 0, "source": "def f(:\n", "mode": "full"},
        {"index": 1, "source": "x = 1 / 0\n", "mode": "full"},
        {"index": 2, "source": "%matplotlib inline\ndef g():\n    return 2.0\n", "mode": "full"},
    ]
    outcome, reports = run(cells, "g")
    assert outcome.value == 2.0
    assert [(r.index, r.status, r.error_type) for r in reports] == [
        (0, "error", "SyntaxError"),
        (1, "error", "ZeroDivisionError"),
        (2, "ok", ""),
    ]


def test_numpy_scalars_arrive_zero_dimensional():
    back = roundtrip([np.float64(1.5), np.float32(2.0), np.int64(3), np.array(4.0)])
    assert isinstance(back, list) and all(np.ndim(x) == 0 for x in back)
    assert back[0] == 1.5 and back[1].dtype == np.float32 and back[3].shape == ()


@pytest.mark.parametrize("bug", CALLEE_BUGS, ids=lambda b: b.id)
def test_buggy_callee_costs_only_itself(bug):
    cells = replace_function(solution_cells(bug.assignment), bug.caller, bug.caller_source)
    cells = replace_function(cells, bug.callee, bug.callee_source)
    results = grade_sandboxed(bug.assignment, cells, [bug.caller, bug.callee])
    got, out_of = scores(results)[bug.caller]
    assert got == out_of, [r.output for r in results if r.function == bug.caller and r.status == "failed"]
    assert scores(results)[bug.callee][0] < scores(results)[bug.callee][1]


def test_standin_note_only_when_the_standin_was_called():
    # a gradient_descent that never calls gd_step, and gets a step wrong: no "checked with our gd_step"
    source = (
        "def gradient_descent(grad_f, w0, lr, n_steps):\n"
        "    path = [np.array(w0, dtype=float)]\n"
        "    for _ in range(n_steps):\n"
        "        path.append(path[-1] + lr * grad_f(path[-1]))\n"
        "    return np.array(path)\n"
    )
    cells = replace_function(solution_cells("02_gradient_descent"), "gradient_descent", source)
    results = grade_sandboxed("02_gradient_descent", cells, ["gradient_descent"])
    failed = [r.output for r in results if r.status == "failed"]
    assert failed and not any("our own" in text for text in failed)


def test_no_jail_means_no_grading(monkeypatch, tmp_path, request):
    """Fail closed: without a working bwrap the grader refuses, in one line, unless turned off."""
    from autograder.grade import UsageError, grade_all
    from autograder.sandbox import jail

    from helpers import COURSE

    monkeypatch.delenv(jail.SWITCH, raising=False)
    monkeypatch.setattr(jail, "available", lambda: "bubblewrap (bwrap) is not installed")
    with pytest.raises(jail.SandboxUnavailable):
        jail.require()
    with pytest.raises(UsageError, match="refusing to run student code: bubblewrap") as info:
        grade_all([], COURSE, tmp_path)
    assert "\n" not in str(info.value)
    monkeypatch.setenv(jail.SWITCH, "off")  # the operator's container is the boundary
    if os.geteuid() == 0:  # student code then runs as nobody: from a Python that nobody can run
        monkeypatch.setattr(sys, "executable", str(request.getfixturevalue("public_python")))
    assert jail.require() is False
    outcome, _ = run([{"index": 0, "source": "def g():\n    return 2.0\n", "mode": "full"}], "g")
    assert outcome.value == 2.0


def test_a_child_that_cannot_start_leaves_nothing_behind(tmp_path, monkeypatch):
    """A start that fails (out of processes, a bad limit) gives back its cgroup, its shared-memory
    arena and its folder: a grader that retries does not pile them up."""
    from autograder.sandbox import jail, process

    removed = []

    class Cgroup:
        def remove(self):
            removed.append(True)

    def refuse(*args, **kwargs):
        raise OSError("no more processes")

    monkeypatch.setattr(jail.PidsCgroup, "create", classmethod(lambda cls, limits=None: Cgroup()))
    import subprocess
    import types

    monkeypatch.setattr(process, "subprocess", types.SimpleNamespace(Popen=refuse, PIPE=subprocess.PIPE))
    before = set(os.listdir("/proc/self/fd"))
    for _ in range(3):
        with pytest.raises(OSError):
            process.Child(tmp_path, {}, Limits())
    assert removed == [True, True, True]
    assert set(os.listdir("/proc/self/fd")) <= before
