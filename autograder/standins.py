"""The stand-in rule: while one function is graded, which of the student's other functions are
replaced by our reference versions, and the bounds those versions run within.

A grading rule, not transport: what calls student code (the sandbox's client) is handed a
``StandinRule`` and asks it, per call, which names to replace and with what; it never imports
``reference``.  So one bug costs points once: grading
``gradient_descent``, the student's ``gd_step`` is ours.

Our versions run in the grading process, so what student code passes them is bounded: counts
(``n``, ``batch_size``, ``epochs``, ``n_steps``) up to ``MAX_STANDIN_COUNT``, a count times the
largest array (or list, counted without copying: ``bounds``) up to ``MAX_STANDIN_WORK``, and every
function they call back first asks the caller's ``guard`` (the sandbox's: is the call still within
its deadline).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from . import reference
from .bounds import NotNumbers, TooLarge, count_numbers

#: largest count (n, batch_size, epochs, n_steps) a stand-in accepts: our reference runs in the
#: grading process, so ``minibatches(10**9, 1, rng)`` must be refused, not computed
MAX_STANDIN_COUNT = 100_000
#: ... and the most work: a count times the largest array it is given (epochs * d, say)
MAX_STANDIN_WORK = 10_000_000


@functools.lru_cache(maxsize=64)
def reference_callees(fn: str) -> frozenset[str]:
    """The functions our reference ``fn`` calls, directly or not (``gradient_descent``: ``gd_step``).

    Only these get stand-ins while ``fn`` is graded: the call graph of a working
    implementation has no cycles, so a student cannot get full marks for ``gd_step`` by
    calling our ``gradient_descent`` from it (and for ``gradient_descent`` by calling our
    ``gd_step``) with a pair of functions that would only call each other for ever.
    """
    seen: set[str] = set()
    todo = [fn]
    while todo:
        impl = getattr(reference, todo.pop(), None)
        codes = [impl.__code__] if hasattr(impl, "__code__") else []
        names: set[str] = set()
        while codes:  # comprehensions and lambdas are code objects of their own
            code = codes.pop()
            names.update(code.co_names)
            codes += [c for c in code.co_consts if hasattr(c, "co_names")]
        for name in sorted(names):
            if name not in seen and name != fn and callable(getattr(reference, name, None)):
                if getattr(getattr(reference, name), "__module__", "") == reference.__name__:
                    seen.add(name)
                    todo.append(name)
    return frozenset(seen)


def _no_guard() -> None:
    return None


@dataclass(frozen=True)
class StandinRule:
    """The stand-in rule of one assignment, whose graded functions are ``functions``."""

    functions: tuple[str, ...] = ()

    def standins(
        self,
        fn: str,
        requested: Sequence[str],
        defined: Callable[[str], bool],
        guard: Callable[[], None] = _no_guard,
    ) -> dict[str, Callable]:
        """Our bounded versions of the functions that stand in while the student's ``fn`` runs.

        Those a check ``requested``, and those of the assignment our ``fn`` calls
        (``reference_callees``) that the student wrote (``defined``).  ``guard()`` runs before
        every function a stand-in calls back, and may raise to stop it.
        """
        callees = reference_callees(fn) & set(self.functions)
        names = set(requested) | {f for f in callees if defined(f)}
        return {
            name: _bounded(name, getattr(reference, name), guard)
            for name in sorted(names - {fn})
            if callable(getattr(reference, name, None))
        }


def _bounded(name: str, impl: Callable, guard: Callable[[], None]) -> Callable:
    """Our reference ``impl`` as a stand-in: counts and work bounded, callbacks guarded."""

    def in_time(f: Callable) -> Callable:
        def guarded(*a, **k):
            guard()
            return f(*a, **k)

        return guarded

    def standin(*args, **kwargs):
        counts, sizes = [1], [1]
        for value in (*args, *kwargs.values()):
            if isinstance(value, (int, np.integer, np.ndarray)) and not isinstance(value, bool):
                array = np.asarray(value)
                if array.ndim == 0 and array.dtype.kind in "iu":  # a count, even as a 0-d array
                    counts.append(abs(int(array)))
                else:
                    sizes.append(array.size)
            elif isinstance(value, (list, tuple)):  # counted, not copied: it may be as long as a frame
                try:
                    sizes.append(count_numbers(value, MAX_STANDIN_WORK))
                except TooLarge:
                    sizes.append(MAX_STANDIN_WORK + 1)
                except NotNumbers:
                    pass  # ours says what is wrong with it
        if max(counts) > MAX_STANDIN_COUNT or max(counts) * max(sizes) > MAX_STANDIN_WORK:
            raise ValueError(f"{name} was called with far larger sizes than this exercise needs")
        args = tuple(in_time(a) if callable(a) else a for a in args)
        kwargs = {k: in_time(v) if callable(v) else v for k, v in kwargs.items()}
        return impl(*args, **kwargs)

    return standin
