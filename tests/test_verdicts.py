"""How a check's verdict becomes a score: a check that ``requires`` another earns nothing
until that one passes, and a failure it shares with that one is reported as its echo."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from autograder import wire
from autograder.calls import CallOutcome
from autograder.runner import run_function
from autograder.suites.framework import (
    Fail,
    Suite,
    as_array,
    as_float,
    as_history,
    expect_responds,
    scale_hint,
)


def grade(value_ok: bool, shape_echo: bool, pure: bool, computed: bool = True) -> dict[str, tuple[str, float, str]]:
    suite = Suite()

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
    suite = Suite()
    for name in ("first", "second"):
        suite.check("f", name)(lambda sub: (_ for _ in ()).throw(Fail("`f` returned None.")))
    first, second = run_function(None, "f", 2.0, suite.checks)
    assert first.verdict == "failed" and second.verdict == "gated", (first, second)
    assert 'The same cause as "first"' in second.output


def test_a_gate_comes_first():
    suite = Suite()
    suite.check("f", "value")(lambda sub: None)
    with pytest.raises(ValueError):
        suite.check("f", "gate", weight=0, gate=True)(lambda sub: None)


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


def test_an_extra_axis_reads_the_numbers_and_fails_only_the_form_check_in_the_same_words():
    one, row = np.array([2.5]), np.array([[1.0, 2.0, 3.0]])
    assert as_float("f", one) == 2.5 and np.array_equal(as_array("f", row, (3,)), row[0])
    for message in (
        _fail_message(as_float, "f", one, strict=True),
        _fail_message(as_array, "f", row, (3,), strict=True),
    ):
        assert "with an extra axis" in message, message
        assert "3" not in message, message  # the hidden size is named d, never given
    assert "shape (1, d) where (d,) is asked" in _fail_message(as_array, "f", row, (3,), strict=True)


def test_a_generator_crosses_as_its_items_and_only_the_form_check_minds():
    items = wire.read_out(x * np.ones(2) for x in range(3))
    back = wire.decode(wire.encode_result(items))
    assert isinstance(back, wire.Iterated) and back.type_name == "generator" and back.complete
    assert np.array_equal(as_array("f", back, (3, 2), "(k, d)"), [[0, 0], [1, 1], [2, 2]])
    assert "returned a generator" in _fail_message(as_array, "f", back, (3, 2), "(k, d)", strict=True)
    endless = wire.read_out(itertools.count())
    assert len(endless) == wire.MAX_ITEMS and not endless.complete
    assert wire.read_out([1, 2]) == [1, 2] and not isinstance(wire.read_out([1, 2]), wire.Iterated)


@pytest.mark.parametrize(
    "ratio, words",
    [
        (7.0, "n times the right value"),
        (7 / 3, "divides by d, the number of features"),
        (1 / 3, "divided by d"),
        (0.5, "a factor 2 is missing"),
        (2.0, "twice the right value"),
        (-1.0, "opposite sign"),
        (-7.0, "opposite sign, and it is n times"),
        (1.7, "times one constant factor"),
    ],
)
def test_a_constant_factor_is_named_from_the_data(ratio, words):
    oracle = np.array([0.3, -1.2, 2.0])
    hint = scale_hint(ratio * oracle, oracle, {"n": 7, "d": 3})
    assert words in hint, hint
    assert "7" not in hint and "3" not in hint, hint  # sizes are named by letter


def test_no_factor_is_named_where_the_sizes_cannot_tell_it_or_there_is_none():
    oracle = np.array([0.3, -1.2, 2.0])
    assert scale_hint(3 * oracle, oracle, {"n": 3, "d": 3}) == ""  # n or d?
    assert scale_hint(oracle + 1, oracle, {"n": 7, "d": 3}) == ""  # not a factor at all


def test_shape_messages_never_count_with_the_hidden_sizes():
    message = _fail_message(as_array, "f", np.ones((50, 3)), (3, 3), "(epochs + 1, d)")
    assert "too many rows" in message and "47" not in message and "50" not in message, message


class _Answers:
    """A submission whose function returns ``answer(*args)``: for the gates."""

    def __init__(self, answer):
        self.answer = answer

    def call(self, fn, args=(), kwargs=None, **_):
        return CallOutcome("ok", value=self.answer(*args))


def test_the_gate_passes_any_formula_of_the_inputs_and_fails_what_ignores_one():
    w, X, y = np.ones(2), np.arange(6.0).reshape(3, 2), np.arange(3.0)
    changes = {"w": (w + 1, X, y), "X": (w, X + 1, y), "y": (w, X, y + 1)}
    wrong_but_computed = _Answers(lambda w, X, y: float(np.sum(X @ w - y)))
    expect_responds(wrong_but_computed, "f", (w, X, y), changes)
    for name, ignores in (("w", lambda w, X, y: 0.0), ("y", lambda w, X, y: float(np.sum(X @ w)))):
        message = _fail_message(expect_responds, _Answers(ignores), "f", (w, X, y), changes)
        assert f"whatever {name} is" in message, message
    assert "forget the `return`" in _fail_message(expect_responds, _Answers(lambda *a: None), "f", (w, X, y), changes)
