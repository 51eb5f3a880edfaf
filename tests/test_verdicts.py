"""How a check's verdict becomes a score: a check that ``requires`` another earns nothing
until that one passes, and a failure it shares with that one is reported as its echo."""

from __future__ import annotations

import numpy as np
import pytest

from autograder.runner import run_function
from autograder.suites.framework import Fail, Registry, as_array, as_history


def grade(value_ok: bool, shape_echo: bool, pure: bool, computed: bool = True) -> dict[str, tuple[str, float, str]]:
    suite = Registry()

    @suite.check("f", "gate", weight=0, gate=True)
    def gate(sub):
        if not computed:
            raise Fail("`f` returns the same answer whatever w is.")

    @suite.check("f", "value", weight=2)
    def value(sub):
        if shape_echo:
            as_array("f", np.ones(3), (2,))
        if not value_ok:
            raise Fail("`f` gives the wrong value.")

    @suite.check("f", "shape", requires="value")
    def shape(sub):
        if shape_echo:
            as_array("f", np.ones(3), (2,))

    @suite.check("f", "pure", requires="value")
    def purity(sub):
        if not pure:
            raise Fail("`f` changed its argument `w` in place.")

    results = run_function(None, "f", 4.0, suite.checks)
    return {r.name.split(": ")[1]: (r.verdict, r.score, r.output) for r in results}


def test_right_answer_scores_everything():
    assert {k: v[:2] for k, v in grade(True, False, True).items()} == {
        "gate": ("passed", 0.0),
        "value": ("passed", 2.0),
        "shape": ("passed", 1.0),
        "pure": ("passed", 1.0),
    }


def test_a_wrong_answer_keeps_the_points_of_the_checks_it_passes():
    got = grade(False, False, True)
    assert got["value"][:2] == ("failed", 0.0)
    assert got["shape"][:2] == ("passed", 1.0) and got["pure"][:2] == ("passed", 1.0)


def test_an_answer_not_computed_from_its_inputs_earns_nothing():
    got = grade(True, False, True, computed=False)
    assert got["gate"][:2] == ("failed", 0.0)
    for name in ("value", "shape", "pure"):
        assert got[name][:2] == ("gated", 0.0), got[name]
        assert 'counts only once `f` passes "gate"' in got[name][2]


def test_a_genuine_second_mistake_is_still_named():
    got = grade(False, False, False)
    assert got["pure"][:2] == ("failed", 0.0) and "in place" in got["pure"][2]


def test_a_shared_cause_is_reported_once_and_echoed():
    got = grade(True, True, True)
    assert got["value"][0] == "failed" and "1 entry too many" in got["value"][2]
    assert got["shape"][0] == "gated" and 'The same cause as "value"' in got["shape"][2]


def test_the_same_words_from_a_later_check_are_its_echo():
    suite = Registry()
    for name in ("first", "second"):
        suite.check("f", name)(lambda sub: (_ for _ in ()).throw(Fail("`f` returned None.")))
    first, second = run_function(None, "f", 2.0, suite.checks)
    assert first.verdict == "failed" and second.verdict == "gated", (first, second)
    assert 'The same cause as "first"' in second.output


def test_a_gate_comes_first():
    suite = Registry()
    suite.check("f", "value")(lambda sub: None)
    with pytest.raises(ValueError):
        suite.check("f", "gate", weight=0, gate=True)(lambda sub: None)


def test_requires_must_name_an_earlier_check():
    suite = Registry()
    with pytest.raises(ValueError):
        suite.check("f", "shape", requires="value")(lambda sub: None)


def _fail_message(fn, *args, **kwargs) -> str:
    with pytest.raises(Fail) as caught:
        fn(*args, **kwargs)
    return str(caught.value)


def test_an_aliased_history_is_named_not_blamed_on_row_0():
    w0 = np.array([1.0, -2.0])
    aliased = np.tile([0.3, 0.1], (4, 1))  # every row the final weights: one array, changed in place
    for per in ("step", "epoch"):
        message = _fail_message(as_history, "f", aliased, 4, w0, per=per)
        assert "same array" in message and f"each {per}" in message, message
        assert "row 0" not in message, message


def test_a_missing_last_row_says_per_epoch_or_per_step():
    w0 = np.array([1.0, -2.0])
    short = np.array([w0, w0 + 1, w0 + 2])
    assert "append after every epoch" in _fail_message(as_history, "f", short, 4, w0)
    step = _fail_message(as_history, "f", short, 4, w0, count="n_steps", per="step")
    assert "append after every step" in step and "update" not in step, step


def test_shape_messages_never_give_the_hidden_sizes():
    message = _fail_message(as_array, "f", np.ones((5, 3)), (6, 3))
    assert "1 row too few" in message and "(6, 3)" not in message, message
    assert "(epochs + 1, d)" in _fail_message(as_array, "f", np.ones((5, 3)), (6, 3), "(epochs + 1, d)")
