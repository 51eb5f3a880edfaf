"""What our functions take from student code: numbers, counted before anything is copied.

The spies, stand-ins and functions the hidden checks pass in (``f``, ``grad_f``, ``grad_fn``) run
in the grading process, and student code chooses their arguments: arrays of up to
``wire.MAX_ELEMENTS`` numbers, lists as long as a frame allows.  What any of them needs is small
(a ``(d,)`` vector, some rows of ``X``), so each argument is counted first, without copying or
converting anything: a number, an array (its ``size``, of a numeric dtype), or lists and tuples of
these.  Past a limit, or for anything else, the call is refused (``TooLarge``, ``NotNumbers``) and
the student reads why; an argument larger than the check needs costs that check, never the
grader's memory or time.  numpy only.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable

import numpy as np

#: dtype kinds of numbers (bool, integers, floats, complex): what the boundary lets through
NUMERIC_KINDS = frozenset("biufc")
#: a function we pass in may be given this many times the numbers of the call's own arguments (and this many more)
SLACK_FACTOR, SLACK = 4, 64


class TooLarge(ValueError):
    """More numbers than the limit."""


class NotNumbers(ValueError):
    """Something that is not a number, an array of numbers, or a list or tuple of those."""


def count_numbers(value, limit: int) -> int:
    """How many numbers ``value`` holds, counted without copying; ``TooLarge`` as soon as they
    pass ``limit`` (a list longer than ``limit`` at once, and no list is walked past it, however
    few numbers its entries hold), ``NotNumbers`` for anything else."""
    count, entries = 0, 0
    todo = [iter((value,))]
    while todo:
        for item in todo[-1]:
            entries += 1
            if isinstance(item, np.ndarray):
                if item.dtype.kind not in NUMERIC_KINDS:
                    raise NotNumbers(f"an array of {item.dtype}")
                count += item.size
            elif isinstance(item, (list, tuple)):
                if len(item) > limit:
                    raise TooLarge()
                todo.append(iter(item))
                break  # its entries first, then on with this one's
            elif isinstance(item, (bool, int, float, complex, np.bool_, np.number)):
                count += 1
            else:
                raise NotNumbers(f"a {type(item).__name__}")
            if count > limit or entries > 2 * limit + 16:
                raise TooLarge()
        else:
            todo.pop()
    return count


def numbers_given(values: Iterable) -> int:
    """How many numbers our own arguments hold (whatever else is among them is not counted)."""
    total = 0
    for value in values:
        try:
            total += count_numbers(value, 1 << 40)
        except (TooLarge, NotNumbers):
            continue
    return total


FAR_MORE = (
    "it was given far more numbers than all the arrays of this call hold together: pass it arrays "
    "made from its inputs (w like w0, rows of X)"
)


def passed_in(fn: Callable, limit: int) -> Callable:
    """``fn`` as we pass it to student code: its arguments, all together, at most ``limit`` numbers,
    counted before ``fn`` sees them (a spy would copy them, an oracle compute on them)."""

    @functools.wraps(fn)
    def bounded(*args, **kwargs):
        try:
            count_numbers([*args, *kwargs.values()], limit)
        except TooLarge:
            raise ValueError(f"A function we passed in refused its arguments: {FAR_MORE}.") from None
        except NotNumbers as exc:
            raise ValueError(f"A function we passed in takes numbers (NumPy arrays); it was given {exc}.") from None
        return fn(*args, **kwargs)

    return bounded


def callback_limit(args: Iterable) -> int:
    """How many numbers a function passed in along with ``args`` may be given at once."""
    return SLACK_FACTOR * numbers_given(args) + SLACK
