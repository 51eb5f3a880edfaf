"""How a check's verdict becomes a score: a check that ``requires`` another earns nothing
until that one passes, and a failure it shares with that one is reported as its echo."""

from __future__ import annotations

import numpy as np
import pytest

from autograder.runner import run_function
from autograder.suites.framework import Fail, Suite, as_array, as_history


def grade(value_ok: bool, shape_echo: bool, pure: bool) -> dict[str, tuple[str, float, str]]:
    suite = Suite()

    @suite.check("f", "value", weight=2)
    def value(sub):
        if shape_echo:
            as_array("f", np.ones((2, 1)), (2,))
        if not value_ok:
            raise Fail("`f` gives the wrong value.")

    @suite.check("f", "shape", requires="value")
    def shape(sub):
        if shape_echo:
            as_array("f", np.ones((2, 1)), (2,))

    @suite.check("f", "pure", requires="value")
    def purity(sub):
        if not pure:
            raise Fail("`f` changed its argument `w` in place.")

    results = run_function(None, "f", 4.0, suite.checks)
    return {r.name.split(": ")[1]: (r.verdict, r.score, r.output) for r in results}


def test_right_answer_scores_everything():
    assert {k: v[:2] for k, v in grade(True, False, True).items()} == {
        "value": ("passed", 2.0),
        "shape": ("passed", 1.0),
        "pure": ("passed", 1.0),
    }


def test_wrong_answer_earns_nothing_for_its_form():
    got = grade(False, False, True)
    assert got["value"][:2] == ("failed", 0.0)
    assert got["shape"][:2] == ("gated", 0.0) and "counts only once `f` also passes" in got["shape"][2]


def test_a_genuine_second_mistake_is_still_named():
    got = grade(False, False, False)
    assert got["pure"][:2] == ("failed", 0.0) and "in place" in got["pure"][2]


def test_a_shared_cause_is_reported_once_and_echoed():
    got = grade(True, True, True)
    assert got["value"][0] == "failed" and "2-dimensional" in got["value"][2]
    assert got["shape"][0] == "gated" and 'The same cause as "value"' in got["shape"][2]


def test_requires_must_name_an_earlier_check():
    suite = Suite()
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
