"""The grading process's side of the sandbox: start the child in its jail, run the notebook, call functions.

Every wait has a deadline and every failure of the child becomes an ``Outcome`` with a
status, never an exception in the grader: a student's infinite loop, ``os._exit`` or
segfault costs the call that triggered it, and the next call gets a fresh child.  Nothing
the child sends is trusted: frames are size-limited, strings are cleaned before they can
reach a result, writes to the child have deadlines (a child that never reads cannot block
us), and "does not modify its inputs" is read back from shared memory by this process.
"""

from __future__ import annotations

import fcntl
import functools
import json
import os
import selectors
import signal
import struct
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .. import reference, wire
from . import jail

_SOURCES = {
    "/opt/gd/worker.py": (Path(__file__).parent / "worker.py").read_bytes(),
    "/opt/gd/wire.py": (Path(wire.__file__)).read_bytes(),
}
#: shared memory for the arrays whose in-place modification we check
ARENA_BYTES = 16 * 1024 * 1024
#: largest count (n, batch_size, epochs, n_steps) a stand-in accepts: our reference runs in the
#: grading process, so ``minibatches(10**9, 1, rng)`` must be refused, not computed
MAX_STANDIN_COUNT = 100_000
#: ... and the most work: a count times the largest array it is given (epochs * d, say)
MAX_STANDIN_WORK = 10_000_000


@dataclass(frozen=True)
class Limits:
    """Resource limits for one submission (course.yml ``time_limits``).

    ``function_seconds`` is each graded function's budget over all of its calls: a function
    that is slow on every call runs out of its own budget, never the other functions'.
    """

    call_seconds: float = 10.0
    cell_seconds: float = 20.0
    notebook_seconds: float = 120.0
    memory_mb: int = 2048
    output_bytes: int = 20_000
    function_seconds: float = 40.0


@dataclass
class Outcome:
    """What happened when we called one student function.

    status is one of ``ok``, ``error`` (it raised), ``missing`` (no such function),
    ``timeout``, ``crashed`` (the process died: exit, segfault, out of memory),
    ``unavailable`` (the notebook itself could not be run).
    """

    status: str
    value: Any = None
    error_type: str = ""
    message: str = ""
    where: str = ""
    args_after: list | None = None
    standins_used: set = field(default_factory=set)


@dataclass
class CellReport:
    index: int
    status: str
    error_type: str = ""
    message: str = ""
    where: str = ""


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


class _Fatal(BaseException):
    """The child is gone or out of time; a BaseException so our callbacks' handlers pass it on."""


class _Crashed(_Fatal):
    pass


class _TimedOut(_Fatal):
    pass


class _ChildFunctionError(Exception):
    """A function of the student's, called by one of our stand-ins, raised."""


def _signal(pid: int, group: bool = False) -> None:
    try:
        (os.killpg if group else os.kill)(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def _proc_stat(pid: str) -> tuple[int, str, int, int] | None:
    """(pid, state, ppid, pgrp) from /proc/<pid>/stat, or None."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = text[text.rindex(")") + 2 :].split()
    return int(pid), fields[0], int(fields[1]), int(fields[2])


def _children(pid: int) -> list[int]:
    if not os.path.isdir("/proc"):
        return []
    stats = (_proc_stat(p) for p in os.listdir("/proc") if p.isdigit())
    return [s[0] for s in stats if s and s[2] == pid]


def _descendants(pid: int) -> list[int]:
    """``pid``'s children, their children, and so on (from one pass over /proc)."""
    if not os.path.isdir("/proc"):
        return []
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        stat = _proc_stat(entry) if entry.isdigit() else None
        if stat:
            children.setdefault(stat[2], []).append(stat[0])
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in found:
                found.append(child)
                todo.append(child)
    return found


def _run_queue_wait(pid: int | str) -> float:
    """Seconds ``pid`` (or ``"thread-self"``) has spent runnable but waiting for a CPU (``/proc/<pid>/schedstat``).

    That is time a loaded machine took from it, not time it used: deadlines are extended by it,
    so that a classmate's fork bomb, or a busy grading machine, cannot make correct code time out.
    """
    try:
        return int(Path(f"/proc/{pid}/schedstat").read_text().split()[1]) / 1e9
    except (OSError, ValueError, IndexError):
        return 0.0


def _is_python(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/comm").read_text().startswith("python")
    except OSError:
        return False


def _alive(pid: int) -> bool:
    stat = _proc_stat(str(pid))
    return stat is not None and stat[1] != "Z"


def _live_group_members(pgid: int) -> bool:
    """Is any process of group ``pgid`` still alive (zombies, already dead, do not count)?"""
    if not os.path.isdir("/proc"):
        return False
    for p in os.listdir("/proc"):
        if p.isdigit():
            stat = _proc_stat(p)
            if stat and stat[3] == pgid and stat[1] != "Z":
                return True
    return False


def _describe_exit(returncode: int | None) -> str:
    if returncode is None:
        return "the process stopped answering"
    if returncode < 0:
        name = signal.Signals(-returncode).name
        hints = {
            "SIGKILL": "it was killed, most often for using too much memory",
            "SIGSEGV": "a segmentation fault",
            "SIGXCPU": "it used too much CPU time",
            "SIGABRT": "it aborted",
        }
        return f"the process died with {name} ({hints.get(name, 'a signal')})"
    return f"the process exited with status {returncode} (sys.exit / os._exit in your code?)"


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
    spec_functions : sequence of str
        The assignment's functions: while one is graded, the student's versions of those it
        calls (in our reference) are replaced by proxies to our reference implementation.
    """

    def __init__(
        self,
        cells: list[dict],
        workdir: Path,
        extra_paths: Sequence[str] = (),
        limits: Limits = Limits(),
        spec_functions: Sequence[str] = (),
    ):
        self.cells = cells
        self.workdir = Path(workdir)
        self.extra_files: dict[str, bytes] = {}
        for folder in extra_paths:
            for path in sorted(Path(folder).glob("*.py")):
                if path.is_file() and not path.is_symlink():
                    self.extra_files[f"{jail.HOME}/{path.name}"] = path.read_bytes()
        self.limits = limits
        self.spec_functions = tuple(spec_functions)
        self.skipped: dict[int, CellReport] = {}
        self.cell_reports: list[CellReport] = []
        self.names: dict[str, str] = {}
        self.output = bytearray()
        self.output_dropped = 0
        self.restarts = 0
        self.load_failure: str = ""
        self.start_failure: str = ""  # set when the child never got to run a cell: our failure
        self.spent: dict[str, float] = {}
        self._standins_used: set[str] = set()
        self._proc: subprocess.Popen | None = None
        self._private: tempfile.TemporaryDirectory | None = None
        self._started_at = time.monotonic()
        self._worker_pid: int | None = None
        self._pids: jail.PidsCgroup | None = None
        self._wait_mark, self._wait_cap = 0.0, 0.0

    # -- process lifecycle -------------------------------------------------------------

    def _arena(self) -> int:
        fd = os.memfd_create("gd-arena", os.MFD_ALLOW_SEALING)
        os.ftruncate(fd, ARENA_BYTES)
        # the child must not shrink it under us (reading a truncated mapping is SIGBUS)
        fcntl.fcntl(fd, fcntl.F_ADD_SEALS, fcntl.F_SEAL_SHRINK | fcntl.F_SEAL_GROW | fcntl.F_SEAL_SEAL)
        os.set_inheritable(fd, True)
        return fd

    def _command(self, arena: int) -> tuple[list[str], tuple[int, ...], Callable[[], None]]:
        limits = jail.JailLimits(
            memory_mb=self.limits.memory_mb, cpu_seconds=int(self.limits.notebook_seconds * 3) + 30
        )
        if jail.require():
            files = {**_SOURCES, **self.extra_files}
            cmd = jail.jail_command(
                [jail.interpreter(), "-I", "-S", "/opt/gd/worker.py"], self.workdir, limits=limits, files=files
            )
            return cmd, (*cmd.pass_fds, arena), cmd.close
        # AUTOGRADER_SANDBOX=off: the operator's container is the boundary (README)
        self._private = tempfile.TemporaryDirectory(prefix="gd-worker-")
        for inner, data in {**_SOURCES, **self.extra_files}.items():
            target = Path(self._private.name if inner.startswith("/opt/gd/") else self.workdir) / Path(inner).name
            target.write_bytes(data)
        if os.geteuid() == 0:
            # Still never root: the child runs as "nobody", so it cannot write the results or
            # read what the operator made private (Gradescope's setup.sh hides the bundle).
            os.chmod(self._private.name, 0o755)
            for item in (self.workdir, *self.workdir.iterdir()):
                os.chown(item, jail.INSIDE_ID, jail.INSIDE_ID)
        argv = [sys.executable, "-I", str(Path(self._private.name) / "worker.py")]
        return argv, (arena,), lambda: None

    def _spawn(self) -> None:
        arena = self._arena()
        cmd, fds, close = self._command(arena)
        env = {"MPLBACKEND": "Agg", "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "PYTHONHASHSEED": "0"}
        env.update(PYTHONDONTWRITEBYTECODE="1", HOME=str(self.workdir), MPLCONFIGDIR=str(self.workdir / ".mpl"))
        env["PATH"] = os.environ.get("PATH", "/usr/bin:/bin")
        self._worker_pid = None
        self._pids = jail.PidsCgroup.create()
        try:
            self._proc = subprocess.Popen(
                cmd,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                pass_fds=fds,
                env=env,
                cwd=str(self.workdir),
                preexec_fn=jail.rlimits(
                    jail.JailLimits(
                        memory_mb=self.limits.memory_mb, cpu_seconds=int(self.limits.notebook_seconds * 3) + 30
                    ),
                    demote=jail.sandbox_disabled() and os.geteuid() == 0,
                    cgroup=self._pids,
                ),
                start_new_session=True,
            )
        finally:
            close()
        self._arena_fd = arena
        self._req = self._proc.stdin.fileno()
        self._resp = self._proc.stdout.fileno()
        self._out = self._proc.stderr.fileno()
        self._buffer = bytearray()
        for fd in (self._req, self._resp, self._out):
            os.set_blocking(fd, False)
        self._rsel = selectors.DefaultSelector()
        self._rsel.register(self._resp, selectors.EVENT_READ)
        self._rsel.register(self._out, selectors.EVENT_READ)
        self._wsel = selectors.DefaultSelector()
        self._wsel.register(self._req, selectors.EVENT_WRITE)

    def _kill(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None:
            return
        # The jail is a PID namespace whose init (bwrap) runs with --die-with-parent: once it is
        # gone the kernel kills everything the student started, but not instantly, and in
        # sessions of their own (--new-session).  So: every descendant, killed and waited for.
        tree = _descendants(proc.pid)
        for pid in tree:
            _signal(pid)
        _signal(proc.pid, group=True)
        proc.wait()
        deadline = time.monotonic() + 2.0
        while time.monotonic() < deadline and (_live_group_members(proc.pid) or any(_alive(p) for p in tree)):
            _signal(proc.pid, group=True)
            for pid in tree:
                _signal(pid)
            time.sleep(0.01)
        if self._pids is not None:
            self._pids.remove()  # kills whatever of the jail is left, wherever it went
            self._pids = None
        self._drain_output()
        self._rsel.close()
        self._wsel.close()
        for stream in (proc.stdin, proc.stdout, proc.stderr):
            try:
                stream.close()
            except OSError:
                pass
        try:
            os.close(self._arena_fd)
        except OSError:
            pass
        if self._private is not None:
            self._private.cleanup()
            self._private = None

    def close(self) -> None:
        # nothing in the child is worth a graceful shutdown: killing it is faster and certain
        self._kill()

    def __enter__(self) -> Sandbox:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- messages ------------------------------------------------------------------------

    def _drain_output(self) -> bool:
        """Keep the first ``output_bytes`` of what the student printed; False at end of file."""
        while True:
            try:
                chunk = os.read(self._out, 65536)
            except (BlockingIOError, InterruptedError):
                return True
            except (OSError, ValueError):
                return False
            if not chunk:
                return False
            room = max(self.limits.output_bytes - len(self.output), 0)
            self.output += chunk[:room]
            self.output_dropped += len(chunk) - min(room, len(chunk))

    def _worker_wait(self) -> float:
        """Run-queue wait of the process running student code (found once per child)."""
        if self._worker_pid is None and self._proc is not None:
            tree = [self._proc.pid, *_descendants(self._proc.pid)]
            self._worker_pid = next((p for p in tree if _is_python(p)), None)
        return _run_queue_wait(self._worker_pid) if self._worker_pid else 0.0

    def _waited(self) -> float:
        """Run-queue wait of the child and of this thread (which answers its callbacks) so far."""
        return self._worker_wait() + _run_queue_wait("thread-self")

    def _begin_wait(self, cap: float) -> None:
        """From now on, deadlines move later by the run-queue wait, by at most ``cap`` seconds."""
        self._wait_mark, self._wait_cap = self._waited(), cap

    def _starved(self) -> float:
        return min(max(self._waited() - self._wait_mark, 0.0), self._wait_cap)

    def _remaining(self, deadline: float) -> float:
        now = time.monotonic()
        if now < deadline:
            return deadline - now
        return deadline + self._starved() - now

    def _send(self, message: dict, deadline: float) -> None:
        """Write one frame without ever blocking past ``deadline`` (a child that never reads
        its replies fills the pipe; then it is out of time, not us)."""
        try:
            view = memoryview(wire.frame(message))
        except (ValueError, TypeError) as exc:
            raise _Crashed() from exc
        while view:
            try:
                view = view[os.write(self._req, view) :]
                continue
            except BlockingIOError:
                pass
            except OSError as exc:
                raise _Crashed() from exc
            remaining = self._remaining(deadline)
            if remaining <= 0:
                raise _TimedOut()
            self._wsel.select(min(remaining, 0.5))
            self._drain_output()
            if self._proc.poll() is not None:
                raise _Crashed()

    def _receive(self, deadline: float) -> dict:
        """The next whole message from the child, or _TimedOut / _Crashed."""
        proc = self._proc
        sel = self._rsel
        # one selector per child, made in _spawn: this runs for every message
        while True:
            if len(self._buffer) >= 4:
                (length,) = struct.unpack(">I", self._buffer[:4])
                if length > wire.MAX_FRAME:
                    raise _Crashed()  # before reading it: our memory stays bounded
                if len(self._buffer) >= 4 + length:
                    data = bytes(self._buffer[4 : 4 + length])
                    del self._buffer[: 4 + length]
                    try:
                        message = json.loads(data)
                    except (ValueError, RecursionError) as exc:
                        raise _Crashed() from exc
                    if not isinstance(message, dict):
                        raise _Crashed()
                    return message
            remaining = self._remaining(deadline)
            if remaining <= 0:
                raise _TimedOut()
            for key, _ in sel.select(min(remaining, 1.0)):
                if key.fd == self._resp:
                    try:
                        chunk = os.read(self._resp, 1 << 20)
                    except BlockingIOError:
                        continue
                    if not chunk:
                        raise _Crashed()
                    self._buffer += chunk
                elif not self._drain_output():
                    sel.unregister(key.fd)  # the child closed its output; its answers may follow
            if proc.poll() is not None and not sel.select(0):
                raise _Crashed()  # dead, and nothing left to read

    # -- loading the notebook ------------------------------------------------------------

    def _start(self) -> None:
        """Spawn a child and run the notebook's cells in it, skipping cells that hang or kill it."""
        while True:
            if time.monotonic() - self._started_at > self.limits.notebook_seconds * 2:
                self.load_failure = "your notebook took too long to run"
                raise _Crashed()
            self._spawn()
            self._begin_wait(self.limits.notebook_seconds)
            cells = [c for c in self.cells if c["index"] not in self.skipped]
            current = None
            try:
                notebook_deadline = time.monotonic() + self.limits.notebook_seconds
                request = {"op": "load", "cells": cells, "cell_seconds": self.limits.cell_seconds}
                request["arena"] = [self._arena_fd, ARENA_BYTES]
                self._send(request, notebook_deadline)
                while True:
                    cell_deadline = time.monotonic() + self.limits.cell_seconds + 3
                    message = self._receive(min(cell_deadline, notebook_deadline))
                    if message.get("op") == "cell_start":
                        current = int(message["index"])
                    elif message.get("op") == "loaded":
                        break
                    else:
                        raise _Crashed()
            except (_TimedOut, _Crashed, ValueError, TypeError, KeyError) as exc:
                returncode = self._proc.poll() if self._proc else None
                self._kill()
                self.restarts += 1
                if current is None:
                    # no cell had started: Python itself did not start (a machine out of processes
                    # or memory), which is the grader's failure, not something in the notebook
                    self.start_failure = "the grader could not start Python for this notebook: " + _describe_exit(
                        returncode
                    )
                    self.load_failure = self.start_failure
                    raise _Crashed() from exc
                if self.restarts > 6:
                    self.load_failure = _describe_exit(returncode)
                    raise _Crashed() from exc
                status = "timeout" if isinstance(exc, _TimedOut) else "crashed"
                message = (
                    "this cell did not finish in time"
                    if status == "timeout"
                    else "running this cell stopped Python: " + _describe_exit(returncode)
                )
                self.skipped[current] = CellReport(current, status, message=message)
                continue
            self._read_cell_reports(message)
            return

    def _read_cell_reports(self, message: dict) -> None:
        reports = {}
        for r in message.get("cells", []) if isinstance(message.get("cells"), list) else []:
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
        names = message.get("names", {})
        if isinstance(names, dict):
            self.names = {clean(k, 60): clean(v, 60) for k, v in list(names.items())[:2000]}

    def ensure_started(self) -> bool:
        """Start the child if needed; False when the notebook cannot be run at all."""
        if self._proc is not None:
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
    ) -> Outcome:
        """Call the student's ``fn(*args, **kwargs)`` in the child.

        Callables among the arguments stay here: the child gets proxies that call back,
        so spies record in this process where student code cannot edit the record.  The
        student's functions that our ``fn`` would call (``reference_callees``), and ``standins``,
        are replaced by proxies to our reference implementation while ``fn`` runs.
        """
        if not self.ensure_started():
            return Outcome("unavailable", message=self.load_failure)
        left = self.limits.function_seconds - self.spent.get(fn, 0.0)
        if left <= 0:
            return Outcome("timeout", message="its time budget is used up")
        started = time.monotonic()
        call_seconds = min(seconds or self.limits.call_seconds, left)
        deadline = started + call_seconds + 2.0
        self._begin_wait(2 * call_seconds)
        try:
            return self._call(fn, args, kwargs or {}, standins, global_seed, return_args, call_seconds, deadline)
        finally:
            # what the call took, less what a loaded machine kept it waiting
            starved = self._starved() if self._proc is not None else 0.0
            self.spent[fn] = self.spent.get(fn, 0.0) + time.monotonic() - started - starved

    def _call(self, fn, args, kwargs, standins, global_seed, return_args, call_seconds, deadline) -> Outcome:
        callbacks: list[Callable] = []
        shared: dict[int, tuple[int, np.ndarray]] = {}
        encoded_args, offset = [], 0
        for i, a in enumerate(args):
            if return_args and isinstance(a, np.ndarray) and a.dtype.kind in wire.SAFE_KINDS:
                a = np.array(a, order="C")
                if offset + a.nbytes <= ARENA_BYTES:
                    os.pwrite(self._arena_fd, a.tobytes(), offset)
                    shared[i] = (offset, a)
                    encoded_args.append({"__shared__": [offset, a.dtype.str, list(a.shape)]})
                    offset += (a.nbytes + 63) // 64 * 64
                    continue
            encoded_args.append(wire.encode(a, callbacks, 1))
        callees = reference_callees(fn) & set(self.spec_functions)
        names = set(standins) | {f for f in callees if self.names.get(f) == "function"}
        standin_ids = {}
        for name in sorted(names - {fn}):
            impl = getattr(reference, name, None)
            if callable(impl):
                callbacks.append(self._tracked(name, impl, deadline))
                standin_ids[name] = len(callbacks) - 1
        request = {
            "op": "call",
            "fn": fn,
            "args": {"__list__": encoded_args},
            "kwargs": wire.encode(dict(kwargs), callbacks),
            "standins": standin_ids,
            "global_seed": global_seed,
            "seconds": call_seconds,
        }
        before = set(self._standins_used)
        try:
            self._send(request, deadline)
            message = self._converse(callbacks, deadline)
            outcome = self._outcome(message)
        except _TimedOut:
            self._kill()
            return Outcome("timeout")
        except _Crashed:
            returncode = self._proc.poll() if self._proc else None
            if returncode is None and self._proc is not None:
                try:
                    returncode = self._proc.wait(timeout=1)
                except subprocess.TimeoutExpired:
                    returncode = None
            self._kill()
            return Outcome("crashed", message=_describe_exit(returncode))
        outcome.standins_used = self._standins_used - before
        if return_args and outcome.status == "ok":
            outcome.args_after = [self._read_back(*shared[i]) if i in shared else a for i, a in enumerate(args)]
        return outcome

    def _read_back(self, offset: int, original: np.ndarray) -> np.ndarray:
        """The argument as it is now in shared memory: what the student's function left there."""
        raw = os.pread(self._arena_fd, original.nbytes, offset)
        if len(raw) != original.nbytes:
            return np.full(original.shape, np.nan)
        return np.frombuffer(raw, dtype=original.dtype).reshape(original.shape).copy()

    def _tracked(self, name: str, impl: Callable, deadline: float) -> Callable:
        """Our reference ``impl`` as a stand-in: it runs here, in the grading process, so what the
        student passes it is bounded (counts, and the call's deadline for every function it calls)."""

        def in_time(f: Callable) -> Callable:
            def bounded(*a, **k):
                if self._remaining(deadline) <= 0:
                    raise _TimedOut()
                return f(*a, **k)

            return bounded

        def standin(*args, **kwargs):
            self._standins_used.add(name)
            counts, sizes = [1], [1]
            for value in (*args, *kwargs.values()):
                if isinstance(value, (int, np.integer, np.ndarray)) and not isinstance(value, bool):
                    array = np.asarray(value)
                    if array.ndim == 0 and array.dtype.kind in "iu":  # a count, even as a 0-d array
                        counts.append(abs(int(array)))
                    else:
                        sizes.append(array.size)
            if max(counts) > MAX_STANDIN_COUNT or max(counts) * max(sizes) > MAX_STANDIN_WORK:
                raise ValueError(f"{name} was called with far larger sizes than this exercise needs")
            args = tuple(in_time(a) if callable(a) else a for a in args)
            kwargs = {k: in_time(v) if callable(v) else v for k, v in kwargs.items()}
            return impl(*args, **kwargs)

        return standin

    def _converse(self, callbacks: list[Callable], deadline: float) -> dict:
        """Answer the child's callbacks until it sends something else (its answer)."""
        while True:
            message = self._receive(deadline)
            if message.get("op") != "callback":
                return message
            self._answer_callback(callbacks, message, deadline)

    def _answer_callback(self, callbacks: list[Callable], message: dict, deadline: float) -> None:
        generators: list[np.random.Generator] = []

        def in_hook(tag: str, value):
            if tag == "__generator__":
                gen = wire.make_generator(wire.decode(value))
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
            cb = callbacks[int(message["cb"])]
            args = wire.decode(message["args"], callback, hook=in_hook)
            kwargs = wire.decode(message.get("kwargs") or {"__dict__": {}}, callback, hook=in_hook)
            if not isinstance(args, list) or not isinstance(kwargs, dict):
                raise ValueError("malformed arguments")
            value = cb(*args, **kwargs)
            reply = {
                "op": "callback_result",
                "value": wire.encode_result(value),
                "generators": [wire.encode_result(g.bit_generator.state) for g in generators],
            }
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
            if message.get("op") == "child_result":
                return wire.decode(message.get("value"))
            if message.get("op") == "child_error":
                raise _ChildFunctionError(wire.clean_text(message.get("message", "")))
            if message.get("op") == "timeout":
                raise _TimedOut()
            raise _Crashed()

        return child_function

    @staticmethod
    def _outcome(message: dict) -> Outcome:
        op = message.get("op")
        clean = wire.clean_text
        try:
            if op == "result":
                return Outcome("ok", value=wire.decode(message.get("value")))
        except (ValueError, TypeError, KeyError, RecursionError) as exc:
            return Outcome("error", error_type="BadReply", message=clean(str(exc)))
        if op == "missing":
            return Outcome("missing")
        if op == "timeout":
            return Outcome("timeout")
        if op == "error":
            return Outcome(
                "error",
                error_type=clean(message.get("type", ""), 60),
                message=clean(message.get("message", "")),
                where=clean(message.get("where", ""), 60),
            )
        return Outcome("error", error_type="BadReply", message="unexpected reply")

    @property
    def output_text(self) -> str:
        text = wire.clean_text(self.output.decode("utf-8", "replace"), self.limits.output_bytes)
        if self.output_dropped:
            text += f"\n... ({self.output_dropped} more bytes of output dropped)"
        return text
