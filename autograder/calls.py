"""What calling student code gives back: the outcome of one call, the report of one cell.

Whatever runs student code (the sandbox's client, or a submission that cannot be run at all)
answers in these types, and the suites read them.  A leaf: it imports only the verdicts.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .verdicts import Verdict

#: the status of a call that returned a value; every other status is the Verdict it gives
OK = "ok"


@dataclass
class CallOutcome:
    """What happened when we called one student function.

    ``status`` is ``OK`` (``value`` holds what it returned, and ``args_after`` its array
    arguments as they were after the call, when asked for), or the verdict the call ends in:
    ``Verdict.ERROR`` (it raised: ``error_type``, ``message``, ``where``), ``MISSING`` (no such
    function), ``TIMEOUT``, ``CRASHED`` (the process died: exit, segfault, out of memory),
    ``UNREADABLE`` (the notebook itself could not be read or run) or ``GRADER_ERROR``.
    """

    status: str
    value: Any = None
    error_type: str = ""
    message: str = ""
    where: str = ""
    args_after: list | None = None


@dataclass
class CellReport:
    """How one notebook cell ran: ``status`` ``ok``, ``error`` (with the exception), ``timeout``
    or ``crashed``."""

    index: int
    status: str
    error_type: str = ""
    message: str = ""
    where: str = ""


__all__ = ["OK", "CallOutcome", "CellReport", "Verdict"]
