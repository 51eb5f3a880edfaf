"""The call protocol, the grading process's side: run the notebook in the child, call its functions.

Every wait has a deadline and every failure of the child becomes a ``CallOutcome`` with a
status, never an exception in the grader: a student's infinite loop, ``os._exit`` or
segfault costs the call that triggered it, and the next call gets a fresh child.  Nothing
the child sends is trusted: frames are size-limited, strings are cleaned before they can
reach a result, writes to the child have deadlines (a child that never reads cannot block
us), and "does not modify its inputs" is read back from shared memory by this process.

The child process itself (spawning it in its jail, killing it and all it started, run-queue
wait) is ``process.py``'s; which of the student's functions our versions replace is the
stand-in rule's, handed in by whoever opens the sandbox.  The messages are listed in ``worker.py``.
"""

from __future__ import annotations

import os
import struct
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Protocol

import numpy as np

from .. import wire
from ..calls import OK, CallOutcome, CellReport
from ..limits import Limits
from ..verdicts import Verdict
from . import jail
from .process import ARENA_BYTES, Child, describe_exit, home_files
from .process import Crashed as _Crashed
from .process import Fatal as _Fatal
from .process import TimedOut as _TimedOut


class Standins(Protocol):
    """Which of the student's functions our versions replace during a call, and those versions
    (the grading rule, ``autograder.standins.StandinRule``, passed in by whoever opens the sandbox)."""

    def standins(
        self, fn: str, requested: Sequence[str], defined: Callable[[str], bool], guard: Callable[[], None]
    ) -> dict[str, Callable]: ...


class _ChildFunctionError(Exception):
    """A function of the student's, called by one of our stand-ins, raised."""


class Sandbox:
    """One student's notebook, running in a child process in the jail (``jail.py``).

    Parameters
    ----------
    cells : list of dict
        ``{"index": int, "source": str, "mode": "full" | "defs"}`` in notebook order.
    workdir : Path
        A scratch folder whose files (``gd_support.py``, data) are copied into the jail.
    extra_paths : sequence of str
        Folders whose ``.py`` files are copied in as well (the course's support module).
    limits : Limits
    standins : Standins, optional
        The stand-in rule: while one function is graded, the student's versions of the functions
        it names are replaced by proxies to the versions it gives (ours).  Without it, none are.
    started : Child, optional
        Its first child, started already for these files and limits
        (``Child(workdir, home_files(extra_paths), limits)``): a grader that starts it before it
        loads the rest of itself (numpy, the suites) gains that time.
    """

    def __init__(
        self,
        cells: list[dict],
        workdir: Path,
        extra_paths: Sequence[str] = (),
        limits: Limits | None = None,
        standins: Standins | None = None,
        started: Child | None = None,
    ):
        self.cells = cells
        self.workdir = Path(workdir)
        self.extra_files = started.files if started is not None else home_files(extra_paths)
        self.limits = limits or Limits()
        self.standin_rule = standins
        self.skipped: dict[int, CellReport] = {}
        self.cell_reports: list[CellReport] = []
        self.names: dict[str, str] = {}
        self.restarts = 0
        self.load_failure: str = ""
        self.start_failure: str = ""  # set when the child never got to run a cell: our failure
        self.spent: dict[str, float] = {}
        self._standins_used: set[str] = set()
        self._child: Child | None = None
        self._started = started  # the first child, until it is taken up
        self._buffer = bytearray()  # what the child sent that is not a whole message yet
        self._started_at = time.monotonic()
        self._ahead: threading.Thread | None = None  # watching a start ahead (``start_ahead``)
        self._ahead_outcome: bool | BaseException | None = None
        self._ahead_done = 0.0

    # -- the child ------------------------------------------------------------------------

    def _spawn(self) -> None:
        started, self._started = self._started, None
        self._child = started or Child(self.workdir, self.extra_files, self.limits)
        self._buffer = bytearray()

    def _kill(self) -> None:
        child, self._child = self._child, None
        if child is not None:
            child.kill()

    def _returncode(self, wait: float = 0.0) -> int | None:
        return self._child.returncode(wait) if self._child is not None else None

    def close(self) -> None:
        # nothing in the child is worth a graceful shutdown: killing it is faster and certain
        if self._ahead is not None:
            child = self._child
            if child is not None:
                child.cancel()  # the watching thread gives up within a second, and returns
            self._ahead.join()
            self._ahead = None
        self._kill()
        started, self._started = self._started, None
        if started is not None:  # never taken up
            started.kill()

    def __enter__(self) -> Sandbox:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- messages ------------------------------------------------------------------------

    def _remaining(self, deadline: float) -> float:
        return self._child.remaining(deadline)

    def _send(self, message: dict, deadline: float) -> None:
        """Write one message, by ``deadline``."""
        try:
            data = wire.frame(message)
        except (ValueError, TypeError) as exc:
            raise _Crashed() from exc
        self._child.write(data, deadline)

    def _receive(self, deadline: float) -> wire.Message:
        """The next whole message from the child, or _TimedOut / _Crashed."""
        buffer = self._buffer
        while True:
            if len(buffer) >= 4:
                (length,) = struct.unpack_from(">I", buffer)
                if length > wire.MAX_FRAME:
                    raise _Crashed()  # before reading it: our memory stays bounded
                if len(buffer) >= 4 + length:
                    body = bytes(buffer[4 : 4 + length])
                    del buffer[: 4 + length]
                    try:
                        return wire.parse(body)
                    except ValueError as exc:
                        raise _Crashed() from exc
            buffer += self._child.read(deadline)

    # -- loading the notebook ------------------------------------------------------------

    def _start(self) -> None:
        """Spawn a child and run the notebook's cells in it, skipping cells that hang or kill it."""
        while True:
            self._launch()
            if self._load():
                return

    def _launch(self) -> None:
        """Spawn a fresh child.  Only from a thread that outlives it: bwrap's ``--die-with-parent``
        kills the jail when the *thread* that started it ends (the main thread, here)."""
        if time.monotonic() - self._started_at > self.limits.notebook_seconds * 2:
            self.load_failure = "your notebook took too long to run"
            raise _Crashed()
        self._spawn()

    def _load(self) -> bool:
        """Run the notebook's cells in the child just launched: True once they ran, False when a cell
        hung or killed it (that cell is skipped from now on: launch again), ``_Crashed`` when the
        notebook cannot be run at all."""
        self._child.begin_wait(self.limits.notebook_seconds)
        cells = [c for c in self.cells if c["index"] not in self.skipped]
        current = None
        try:
            notebook_deadline = time.monotonic() + self.limits.notebook_seconds
            request = {"op": "load", "cells": cells, "cell_seconds": self.limits.cell_seconds}
            request["arena"] = [self._child.arena_fd, ARENA_BYTES]
            self._send(request, notebook_deadline)
            while True:
                cell_deadline = time.monotonic() + self.limits.cell_seconds + 3
                message = self._receive(min(cell_deadline, notebook_deadline))
                if message.op == "cell_start":
                    current = int(message.value("index"))
                elif message.op == "loaded":
                    break
                else:
                    raise _Crashed()
        except (_TimedOut, _Crashed, ValueError, TypeError, KeyError) as exc:
            returncode = self._returncode()
            self._kill()
            self.restarts += 1
            if current is None:
                jail.require()  # a jail that stopped working since the probe says so
                # no cell had started: Python itself did not start (a machine out of processes
                # or memory), which is the grader's failure, not something in the notebook
                self.start_failure = "the grader could not start Python for this notebook: " + describe_exit(
                    returncode
                )
                self.load_failure = self.start_failure
                raise _Crashed() from exc
            if self.restarts > 6:
                self.load_failure = describe_exit(returncode)
                raise _Crashed() from exc
            status = "timeout" if isinstance(exc, _TimedOut) else "crashed"
            message = (
                "this cell did not finish in time"
                if status == "timeout"
                else "running this cell stopped Python: " + describe_exit(returncode)
            )
            self.skipped[current] = CellReport(current, status, message=message)
            return False
        self._read_cell_reports(message)
        return True

    # -- starting ahead ----------------------------------------------------------------

    def start_ahead(self) -> None:
        """Launch the child now and let a thread watch it run the notebook, while this thread grades
        another submission; the first call here waits for it.  The same limits and deadlines as a
        start on first use (the time nobody was watching a loaded child does not count)."""
        if self._child is not None or self.load_failure or self._ahead is not None:
            return
        try:
            self._launch()
        except _Crashed:
            return  # load_failure says why, as a start on first use would
        except Exception as exc:  # noqa: BLE001 - raised where a start on first use would raise it
            self._ahead_outcome = exc
            return
        self._ahead = threading.Thread(target=self._load_ahead, name="gd-start-ahead", daemon=True)
        self._ahead.start()

    def _load_ahead(self) -> None:
        try:
            self._ahead_outcome = self._load()
        except BaseException as exc:  # noqa: BLE001 - handed to the thread that takes over
            self._ahead_outcome = exc
        self._ahead_done = time.monotonic()

    def _take_over(self) -> bool | None:
        """Wait for the start ahead: True when loaded, None to carry on as a start on first use."""
        if self._ahead is not None:
            self._ahead.join()
            self._ahead = None
            self._started_at += time.monotonic() - self._ahead_done  # nobody was starting it meanwhile
        outcome, self._ahead_outcome = self._ahead_outcome, None
        if isinstance(outcome, _Crashed):
            return False
        if isinstance(outcome, BaseException):
            raise outcome
        return outcome or None

    def _read_cell_reports(self, message: wire.Message) -> None:
        try:
            cells, names = message.value("cells", []), message.value("names", {})
        except (ValueError, TypeError):
            cells, names = [], {}
        reports = {}
        for r in cells if isinstance(cells, list) else []:
            if isinstance(r, dict) and isinstance(r.get("index"), int):
                reports[r["index"]] = r
        for index, r in reports.items():
            if r.get("status") == "timeout":  # don't wait for it again after a restart
                self.skipped[index] = CellReport(index, "timeout", message="this cell did not finish in time")
        clean = wire.clean_text
        self.cell_reports = sorted(
            [
                CellReport(
                    i,
                    clean(r.get("status"), 20),
                    clean(r.get("type", ""), 60),
                    clean(r.get("message", "")),
                    clean(r.get("where", ""), 60),
                )
                for i, r in reports.items()
                if i not in self.skipped
            ]
            + list(self.skipped.values()),
            key=lambda r: r.index,
        )
        if isinstance(names, dict):
            self.names = {clean(k, 60): clean(v, 60) for k, v in list(names.items())[:2000]}

    def ensure_started(self) -> bool:
        """Start the child if needed; False when the notebook cannot be run at all."""
        if self._ahead is not None or self._ahead_outcome is not None:
            started = self._take_over()
            if started is not None:
                return started
        if self._child is not None:
            return True
        if self.load_failure:
            return False
        try:
            self._start()
        except _Crashed:
            return False
        return True

    # -- calling -------------------------------------------------------------------------

    def take_standins_used(self) -> set[str]:
        """The stand-ins (our reference functions) that student code really called since the last time."""
        used, self._standins_used = self._standins_used, set()
        return used

    def call(
        self,
        fn: str,
        args: Sequence = (),
        kwargs: dict | None = None,
        *,
        standins: Sequence[str] = (),
        global_seed: int | None = None,
        return_args: bool = False,
        seconds: float | None = None,
    ) -> CallOutcome:
        """Call the student's ``fn(*args, **kwargs)`` in the child.

        Callables among the arguments stay here: the child gets proxies that call back,
        so spies record in this process where student code cannot edit the record.  The
        student's functions that the stand-in rule names for ``fn`` (``standins`` among them)
        are replaced by proxies to the rule's versions while ``fn`` runs.
        """
        if not self.ensure_started():
            return CallOutcome(Verdict.UNREADABLE, message=self.load_failure)
        left = self.limits.function_seconds - self.spent.get(fn, 0.0)
        if left <= 0:
            return CallOutcome(Verdict.TIMEOUT, message="its time budget is used up")
        started = time.monotonic()
        call_seconds = min(seconds or self.limits.call_seconds, left)
        deadline = started + call_seconds + 2.0
        self._child.begin_wait(2 * call_seconds)
        try:
            return self._call(fn, args, kwargs or {}, standins, global_seed, return_args, call_seconds, deadline)
        finally:
            # what the call took, less what a loaded machine kept it waiting
            starved = self._child.starved() if self._child is not None else 0.0
            self.spent[fn] = self.spent.get(fn, 0.0) + time.monotonic() - started - starved

    def _call(self, fn, args, kwargs, standins, global_seed, return_args, call_seconds, deadline) -> CallOutcome:
        callbacks: list[Callable] = []
        shared: dict[int, tuple[int, np.ndarray]] = {}
        items, offset = [], 0
        for i, a in enumerate(args):
            if return_args and isinstance(a, np.ndarray) and a.dtype.kind in wire.SAFE_KINDS:
                a = np.array(a, order="C")
                if offset + a.nbytes <= ARENA_BYTES:
                    os.pwrite(self._child.arena_fd, a.tobytes(), offset)
                    shared[i] = (offset, a)
                    items.append(wire.Marker("__shared__", wire.encode([offset, a.dtype.str, list(a.shape)])))
                    offset += (a.nbytes + 63) // 64 * 64
                    continue
            items.append(a)
        encoded_args = wire.encode(items, callbacks)
        encoded_kwargs = wire.encode(dict(kwargs), callbacks)
        standin_ids = {}
        for name, impl in self._standins(fn, standins, deadline).items():
            callbacks.append(self._observed(name, impl))
            standin_ids[name] = len(callbacks) - 1
        request = {
            "op": "call",
            "fn": fn,
            "args": encoded_args,
            "kwargs": encoded_kwargs,
            "standins": standin_ids,
            "global_seed": global_seed,
            "seconds": call_seconds,
        }
        try:
            self._send(request, deadline)
            message = self._converse(callbacks, deadline)
            outcome = self._outcome(message)
        except _TimedOut:
            self._kill()
            return CallOutcome(Verdict.TIMEOUT)
        except _Crashed:
            returncode = self._returncode(wait=1.0)
            self._kill()
            return CallOutcome(Verdict.CRASHED, message=describe_exit(returncode))
        if return_args and outcome.status == OK:
            outcome.args_after = [self._read_back(*shared[i]) if i in shared else a for i, a in enumerate(args)]
        return outcome

    def _read_back(self, offset: int, original: np.ndarray) -> np.ndarray:
        """The argument as it is now in shared memory: what the student's function left there."""
        raw = os.pread(self._child.arena_fd, original.nbytes, offset)
        if len(raw) != original.nbytes:
            return np.full(original.shape, np.nan)
        return np.frombuffer(raw, dtype=original.dtype).reshape(original.shape).copy()

    def _standins(self, fn: str, requested: Sequence[str], deadline: float) -> dict[str, Callable]:
        """The rule's stand-ins for this call; what they call back must finish by ``deadline``."""
        if self.standin_rule is None:
            return {}

        def guard() -> None:
            if self._remaining(deadline) <= 0:
                raise _TimedOut()

        def defined(name: str) -> bool:
            return self.names.get(name) == "function"

        return self.standin_rule.standins(fn, requested, defined, guard)

    def _observed(self, name: str, standin: Callable) -> Callable:
        """``standin``, noting each time student code really calls it (feedback names it then)."""

        def observed(*args, **kwargs):
            self._standins_used.add(name)
            return standin(*args, **kwargs)

        return observed

    def _converse(self, callbacks: list[Callable], deadline: float) -> wire.Message:
        """Answer the child's callbacks until it sends something else (its answer)."""
        while True:
            message = self._receive(deadline)
            if message.op != "callback":
                return message
            self._answer_callback(callbacks, message, deadline)

    def _answer_callback(self, callbacks: list[Callable], message: wire.Message, deadline: float) -> None:
        generators: list[np.random.Generator] = []

        def in_hook(tag: str, value):
            if tag == "__generator__":
                gen = wire.make_generator(value)
                generators.append(gen)
                return gen
            if tag == "__childfn__":
                return self._child_function(int(value), callbacks, deadline)
            raise ValueError("malformed message")

        def callback(cb: int):
            if not 0 <= cb < len(callbacks):
                raise ValueError("no such callback")
            return callbacks[cb]

        try:
            cb = callbacks[int(message.value("cb"))]
            args = message.value("args", make_callback=callback, hook=in_hook)
            kwargs = message.value("kwargs", {}, make_callback=callback, hook=in_hook)
            if not isinstance(args, list) or not isinstance(kwargs, dict):
                raise ValueError("malformed arguments")
            value = cb(*args, **kwargs)
            reply = {"op": "callback_result", "value": wire.encode_result(value)}
            if generators:
                reply["generators"] = wire.encode_result([g.bit_generator.state for g in generators])
        except _Fatal:
            raise
        except Exception as exc:  # noqa: BLE001 - goes back to the student's code as an exception
            # the words of our spy or stand-in are the student's hint: send them, not the object
            reply = {"op": "callback_error", "message": wire.clean_text(str(exc) or type(exc).__name__)}
        self._send(reply, deadline)

    def _child_function(self, ref: int, callbacks: list[Callable], deadline: float) -> Callable:
        """A function of the student's that one of our stand-ins received: calling it asks the child."""

        def child_function(*args):
            self._send({"op": "child_call", "ref": ref, "args": wire.encode(list(args), callbacks)}, deadline)
            message = self._converse(callbacks, deadline)
            if message.op == "child_result":
                return message.value("value")
            if message.op == "child_error":
                raise _ChildFunctionError(wire.clean_text(message.value("message", "")))
            if message.op == "timeout":
                raise _TimedOut()
            raise _Crashed()

        return child_function

    @staticmethod
    def _outcome(message: wire.Message) -> CallOutcome:
        op = message.op
        clean = wire.clean_text
        try:
            if op == "result":
                return CallOutcome(OK, value=message.value("value"))
            if op == "error":
                return CallOutcome(
                    Verdict.ERROR,
                    error_type=clean(message.value("type", ""), 60),
                    message=clean(message.value("message", "")),
                    where=clean(message.value("where", ""), 60),
                )
        except (ValueError, TypeError, KeyError, RecursionError) as exc:
            return CallOutcome(Verdict.ERROR, error_type="BadReply", message=clean(str(exc)))
        if op == "missing":
            return CallOutcome(Verdict.MISSING)
        if op == "timeout":
            return CallOutcome(Verdict.TIMEOUT)
        return CallOutcome(Verdict.ERROR, error_type="BadReply", message="unexpected reply")
