"""The verdicts a hidden check can give, each with the words a learner reads beside it.

One vocabulary for every module that speaks of verdicts: the suites raise them (``Fail``), the
call outcomes carry the ones a call can end in (``calls.CallOutcome``), the runner scores them,
the results store them and the feedback shows their words.  A ``str`` enum: a verdict compares,
hashes and serialises as its plain value (``"failed"``), so results.json holds the same text.
Imports nothing.
"""

from __future__ import annotations

import enum


class Verdict(str, enum.Enum):
    """What one hidden check found."""

    PASSED = "passed"
    FAILED = "failed"  # a wrong answer
    GATED = "gated"  # right by its own rule, but it counts only once the check it requires passes
    ECHO = "echo"  # raised only: a failure another check's mistake explains (the runner decides)
    ERROR = "error"  # the student's code raised
    TIMEOUT = "timeout"
    CRASHED = "crashed"  # the process died: exit, segfault, out of memory
    MISSING = "missing"  # no such function in the notebook
    NOT_IMPLEMENTED = "not_implemented"  # an untouched stub
    UNREADABLE = "unreadable"  # the notebook itself could not be read or run
    GRADER_ERROR = "grader_error"  # the grader failed, not the student

    def __str__(self) -> str:
        return self.value

    @property
    def words(self) -> str:
        """The verdict in a learner's words, shown next to a failed check."""
        return _WORDS.get(self, self.value)

    @property
    def stops(self) -> bool:
        """After this verdict the function's remaining checks are not worth running."""
        return self in _STOPPING


_WORDS = {
    Verdict.FAILED: "wrong answer",
    Verdict.GATED: "counts once the check it depends on passes",
    Verdict.ERROR: "your code raised an error",
    Verdict.TIMEOUT: "did not finish in time",
    Verdict.CRASHED: "stopped Python",
    Verdict.MISSING: "function not found",
    Verdict.NOT_IMPLEMENTED: "not implemented yet",
    Verdict.UNREADABLE: "notebook could not be run",
    Verdict.GRADER_ERROR: "the grader failed, not you",
}

_STOPPING = frozenset(
    {
        Verdict.MISSING,
        Verdict.NOT_IMPLEMENTED,
        Verdict.TIMEOUT,
        Verdict.CRASHED,
        Verdict.UNREADABLE,
        Verdict.GRADER_ERROR,
    }
)
