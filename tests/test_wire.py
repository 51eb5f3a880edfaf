"""The binary wire protocol: what crosses is exactly what was sent, and abuse of the framing
costs only the call (the grader's memory and time stay bounded)."""

from __future__ import annotations

import resource
import time
from pathlib import Path

import numpy as np
import pytest

from autograder import wire
from autograder.limits import Limits
from autograder.sandbox.client import Sandbox

VALUES = [
    None,
    True,
    0,
    -(2**63),
    2**63,
    -(10**40),
    1.5,
    -0.0,
    float("inf"),
    "plain",
    "lone \ud800 surrogate and \u202e bidi",
    np.arange(6, dtype=np.int32).reshape(2, 3),
    np.ones((2, 3), dtype=">f4"),
    np.zeros((0, 4)),
    np.array(2.5),
    np.asfortranarray(np.arange(6.0).reshape(2, 3)),
    np.arange(10.0)[::3],
    np.float32(2.0),
    np.complex128(1 - 2j),
    np.bool_(False),
    [1, (2.0, [None])],
    {"a": [np.arange(3)], "b": {"c": "d"}},
    wire.Iterated([1, 2], "generator", complete=False),
    wire.Rng(7),
    wire.Unencodable("Thing", "why"),
]


@pytest.mark.parametrize("value", VALUES, ids=[f"v{i}" for i in range(len(VALUES))])
def test_codec_round_trips_exactly(value):
    back = wire.decode(wire.encode(value))
    assert _same(back, value), (back, value)


def _same(a, b) -> bool:
    if isinstance(b, np.ndarray):
        return type(a) is np.ndarray and a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()
    if isinstance(b, np.generic):
        return type(a) is type(b) and a.tobytes() == b.tobytes()
    if isinstance(b, (wire.Rng, wire.Unencodable)):
        return type(a) is type(b) and vars(a) == vars(b)
    if isinstance(b, wire.Iterated):
        return isinstance(a, wire.Iterated) and (a.type_name, a.complete) == (b.type_name, b.complete) and _same(
            list(a), list(b)
        )
    if isinstance(b, (list, tuple)):
        return type(a) is type(b) and len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    if isinstance(b, dict):
        return type(a) is dict and a.keys() == b.keys() and all(_same(a[k], b[k]) for k in b)
    if isinstance(b, float):
        return type(a) is float and (a == b or (a != a and b != b)) and str(a) == str(b)
    return type(a) is type(b) and a == b


def test_decoded_arrays_are_writable_copies():
    data = wire.encode([np.arange(3.0)])
    (array,) = wire.decode(data)
    array[0] = 9.0  # a read-only view of the message would raise here
    assert wire.decode(data)[0][0] == 0.0


def test_what_may_not_cross_is_refused():
    for value in (object(), np.array([object()]), {1: 2}, b"bytes", [[[[[[[[[[1]]]]]]]]]]):
        with pytest.raises((TypeError, ValueError)):
            wire.encode(value)
        assert isinstance(wire.decode(wire.encode_result(value)), wire.Unencodable)


def test_messages_carry_their_fields():
    framed = wire.frame({"op": "callback", "cb": 3, "args": wire.encode([np.ones(2)])})
    message = wire.parse(framed[4:])
    assert message.op == "callback" and message.value("cb") == 3 and message.value("kwargs", {}) == {}
    assert np.array_equal(message.value("args")[0], np.ones(2))
    for broken in (framed[4:-1], framed[4:] + b"x", b"{\"op\": \"callback\"}", b""):
        with pytest.raises(ValueError):
            wire.parse(broken)


# A child that asks for callbacks in the real framing and never reads the answers: the grader's
# replies fill the pipe, and its writes must give up at the call's deadline (the hostile tests'
# NEVER_READS writes JSON, which the grader now refuses at once, before any reply).
NEVER_READS = """
import gc, os, sys, time
def gradient_descent(grad_f, w0, lr, n_steps):
    channel = [o for o in gc.get_objects() if type(o).__name__ == "_Channel"][0]
    codec = sys.modules["wire"]
    frame = codec.frame({"op": "callback", "cb": 0, "args": codec.encode([list(range(2000))])})
    for _ in range(20000):
        os.write(channel.resp_fd, frame)
    time.sleep(1000)
"""


def test_a_child_that_never_reads_its_replies_costs_only_the_call(tmp_path: Path):
    cells = [{"index": 0, "source": NEVER_READS, "mode": "full"}]
    answered = []

    def grad_f(w):
        answered.append(1)
        return w

    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.monotonic()
    with Sandbox(cells, tmp_path, [], Limits(call_seconds=2, cell_seconds=3, notebook_seconds=30)) as box:
        outcome = box.call("gradient_descent", (grad_f, [1.0, 1.0], 0.1, 3))
    assert outcome.status == "timeout", outcome
    assert len(answered) > 1  # it was answered, in the real framing, until the pipe was full
    assert time.monotonic() - started < 15
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss < 200_000  # KiB
