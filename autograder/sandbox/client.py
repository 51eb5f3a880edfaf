"""The grading process's side of the sandbox: start the child, run the notebook, call functions.

Every wait has a deadline and every failure of the child becomes an ``Outcome`` with a
status, never an exception in the grader: a student's infinite loop, ``os._exit`` or
segfault costs the call that triggered it, and the next call gets a fresh child.
"""

from __future__ import annotations

import functools
import json
import os
import resource
import selectors
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import worker
from .worker import decode, encode, encode_result

WORKER_PATH = Path(worker.__file__).resolve()
REFERENCE_PATH = WORKER_PATH.parent.parent / "reference.py"
MAX_FRAME = 256 * 1024 * 1024

#: environment variables passed on to the child; everything else is dropped
_KEEP_ENV = ("PATH", "LANG", "LC_ALL", "OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "SYSTEMROOT")


@dataclass(frozen=True)
class Limits:
    """Resource limits for one submission (course.yml ``time_limits``)."""

    call_seconds: float = 10.0
    cell_seconds: float = 20.0
    notebook_seconds: float = 120.0
    memory_mb: int = 2048
    output_bytes: int = 20_000


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


@dataclass
class CellReport:
    index: int
    status: str
    error_type: str = ""
    message: str = ""
    where: str = ""


class _Crashed(Exception):
    pass


class _TimedOut(Exception):
    pass


#: Run inside the child's new mount namespace, before Python: every mount read-only (so student
#: code cannot edit the grader, the course or other students' results), then the scratch folder
#: ($1) writable again.  /proc is the namespace's own (the grader's processes are not in it).
_READ_ONLY_FS = r"""
for m in $(cut -d" " -f2 /proc/self/mounts | sort -u); do
  case "$m" in /proc|/proc/*|/dev|/dev/*) continue ;; esac
  mount -o remount,bind,ro "$m" 2>/dev/null || { mount --bind "$m" "$m" && mount -o remount,bind,ro "$m"; } 2>/dev/null || true
done
mount --bind "$1" "$1" && mount -o remount,bind,rw "$1" || exit 97
shift
exec "$@"
"""


@functools.lru_cache(maxsize=1)
def isolation() -> tuple[tuple[str, ...], bool]:
    """How the child is isolated on this machine: an ``unshare`` prefix, and whether the
    read-only file system script can follow it.

    Best: its own PID, network and mount namespaces, its own /proc, and a read-only file system
    but for its scratch folder: it cannot signal or read the memory of the grader, reach the
    network, or write anywhere that matters.  Where that is not allowed, PID and network
    namespaces alone; where nothing is, the rlimits and the process group still apply.
    Set GD_SANDBOX_NAMESPACES=0 to turn namespaces off.
    """
    if os.environ.get("GD_SANDBOX_NAMESPACES", "1") == "0" or not shutil.which("unshare"):
        return (), False
    full = (
        "unshare",
        "--pid",
        "--fork",
        "--kill-child",
        "--net",
        "--mount",
        "--propagation",
        "private",
        "--mount-proc",
    )
    with tempfile.TemporaryDirectory(prefix="gd-probe-") as scratch:
        check = [
            *full,
            "sh",
            "-c",
            _READ_ONLY_FS,
            "sh",
            scratch,
            "sh",
            "-c",
            'touch "$0/ok" && ! touch /.gd-probe 2>/dev/null',
            scratch,
        ]
        if _runs(check):
            return full, True
    for prefix in (
        ("unshare", "--pid", "--fork", "--kill-child", "--net"),
        ("unshare", "--user", "--map-root-user", "--pid", "--fork", "--kill-child", "--net"),
    ):
        if _runs([*prefix, "true"]):
            return prefix, False
    return (), False


@functools.lru_cache(maxsize=1)
def _drop_capabilities() -> tuple[str, ...]:
    """``setpriv`` arguments that run the child without any capability, even as root: it cannot
    lift its resource limits, mount, or gain privileges through a setuid program."""
    cmd = ("setpriv", "--bounding-set", "-all", "--inh-caps", "-all", "--no-new-privs")
    if shutil.which("setpriv") and _runs([*cmd, "true"]):
        return cmd
    return ()


def namespace_prefix() -> tuple[str, ...]:
    return isolation()[0]


def _runs(cmd: list[str]) -> bool:
    try:
        return subprocess.run(cmd, capture_output=True, timeout=10).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


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
    """One student's notebook, running in a child process.

    Parameters
    ----------
    cells : list of dict
        ``{"index": int, "source": str, "mode": "full" | "defs"}`` in notebook order.
    workdir : Path
        Current directory of the child (a scratch copy of the submission's folder).
    extra_paths : sequence of str
        Appended to the child's ``sys.path`` (the course's support module).
    limits : Limits
    """

    def __init__(self, cells: list[dict], workdir: Path, extra_paths: Sequence[str], limits: Limits):
        self.cells = cells
        self.workdir = Path(workdir)
        self.extra_paths = [str(p) for p in extra_paths]
        self.limits = limits
        self.skipped: dict[int, CellReport] = {}
        self.cell_reports: list[CellReport] = []
        self.names: dict[str, str] = {}
        self.output = bytearray()
        self.output_dropped = 0
        self.restarts = 0
        self.load_failure: str = ""
        self._proc: subprocess.Popen | None = None
        self._started_at = time.monotonic()

    # -- process lifecycle -------------------------------------------------------------

    def _limit_resources(self) -> None:  # runs in the child, before exec
        mem = self.limits.memory_mb * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (mem, mem))
        cpu = int(self.limits.notebook_seconds * 3) + 30
        resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 5))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))

    def _spawn(self) -> None:
        req_r, req_w = os.pipe()
        resp_r, resp_w = os.pipe()
        env = {k: os.environ[k] for k in _KEEP_ENV if k in os.environ}
        env.update(
            MPLBACKEND="Agg",
            OPENBLAS_NUM_THREADS="1",
            OMP_NUM_THREADS="1",
            MKL_NUM_THREADS="1",
            PYTHONHASHSEED="0",
            PYTHONDONTWRITEBYTECODE="1",
            HOME=str(self.workdir),
            MPLCONFIGDIR=str(self.workdir / ".mpl"),
        )
        prefix, read_only = isolation()
        cmd = [
            *prefix,
            *(("sh", "-c", _READ_ONLY_FS, "sh", str(self.workdir)) if read_only else ()),
            *_drop_capabilities(),
            sys.executable,
            "-I",
            str(WORKER_PATH),
            str(req_r),
            str(resp_w),
            str(REFERENCE_PATH),
            str(self.workdir),
            *self.extra_paths,
        ]
        self._proc = subprocess.Popen(
            cmd,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            pass_fds=(req_r, resp_w),
            env=env,
            cwd=str(self.workdir),
            preexec_fn=self._limit_resources,
            start_new_session=True,
        )
        os.close(req_r)
        os.close(resp_w)
        self._req = req_w
        self._resp = resp_r
        self._buffer = bytearray()
        os.set_blocking(self._resp, False)
        os.set_blocking(self._proc.stdout.fileno(), False)

    def _kill(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None:
            return
        # Kill the Python under `unshare` first, so that unshare reaps it (no zombie is left),
        # then the whole process group, which holds anything the student started.
        for child in _children(proc.pid):
            _signal(child)
        try:
            proc.wait(timeout=1)
        except subprocess.TimeoutExpired:
            pass
        _signal(proc.pid, group=True)
        proc.wait()
        deadline = time.monotonic() + 2.0  # strays die with the group, but not instantly
        while _live_group_members(proc.pid) and time.monotonic() < deadline:
            _signal(proc.pid, group=True)
            time.sleep(0.01)
        self._drain_output(proc)
        proc.stdout.close()
        for fd in (self._req, self._resp):
            try:
                os.close(fd)
            except OSError:
                pass

    def close(self) -> None:
        # nothing in the child is worth a graceful shutdown: killing it is faster and certain
        self._kill()

    def __enter__(self) -> Sandbox:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- messages ------------------------------------------------------------------------

    def _drain_output(self, proc: subprocess.Popen) -> bool:
        """Keep the first ``output_bytes`` of what the student printed; False at end of file."""
        while True:
            try:
                chunk = os.read(proc.stdout.fileno(), 65536)
            except (BlockingIOError, InterruptedError):
                return True
            except (OSError, ValueError):
                return False
            if not chunk:
                return False
            room = self.limits.output_bytes - len(self.output)
            self.output += chunk[: max(room, 0)]
            self.output_dropped += max(len(chunk) - max(room, 0), 0)

    def _send(self, message: dict) -> None:
        try:
            worker.write_message(self._req, message)
        except (BrokenPipeError, OSError) as exc:
            raise _Crashed() from exc

    def _receive(self, deadline: float) -> dict:
        """The next whole message from the child, or _TimedOut / _Crashed."""
        proc = self._proc
        with selectors.DefaultSelector() as sel:
            sel.register(self._resp, selectors.EVENT_READ)
            sel.register(proc.stdout.fileno(), selectors.EVENT_READ)
            while True:
                if len(self._buffer) >= 4:
                    (length,) = struct.unpack(">I", self._buffer[:4])
                    if length > MAX_FRAME:
                        raise _Crashed()
                    if len(self._buffer) >= 4 + length:
                        data = bytes(self._buffer[4 : 4 + length])
                        del self._buffer[: 4 + length]
                        try:
                            return json.loads(data)
                        except ValueError as exc:
                            raise _Crashed() from exc
                remaining = deadline - time.monotonic()
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
                    elif not self._drain_output(proc):
                        sel.unregister(key.fd)
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
            cells = [c for c in self.cells if c["index"] not in self.skipped]
            current = None
            try:
                self._send({"op": "load", "cells": cells, "cell_seconds": self.limits.cell_seconds})
                notebook_deadline = time.monotonic() + self.limits.notebook_seconds
                while True:
                    cell_deadline = time.monotonic() + self.limits.cell_seconds + 3
                    message = self._receive(min(cell_deadline, notebook_deadline))
                    if message.get("op") == "cell_start":
                        current = int(message["index"])
                    elif message.get("op") == "loaded":
                        break
                    else:
                        raise _Crashed()
            except (_TimedOut, _Crashed) as exc:
                returncode = self._proc.poll() if self._proc else None
                self._kill()
                self.restarts += 1
                if current is None or self.restarts > 6:
                    self.load_failure = "your notebook could not be run: " + _describe_exit(returncode)
                    raise _Crashed() from exc
                status = "timeout" if isinstance(exc, _TimedOut) else "crashed"
                message = (
                    "this cell did not finish in time"
                    if status == "timeout"
                    else "running this cell stopped Python: " + _describe_exit(returncode)
                )
                self.skipped[current] = CellReport(current, status, message=message)
                continue
            reports = {int(r["index"]): r for r in message.get("cells", [])}
            for index, r in reports.items():
                if r.get("status") == "timeout":  # don't wait for it again after a restart
                    self.skipped[index] = CellReport(index, "timeout", message="this cell did not finish in time")
            self.cell_reports = sorted(
                [
                    CellReport(
                        i,
                        str(r.get("status")),
                        str(r.get("type", "")),
                        str(r.get("message", "")),
                        str(r.get("where", "")),
                    )
                    for i, r in reports.items()
                    if i not in self.skipped
                ]
                + list(self.skipped.values()),
                key=lambda r: r.index,
            )
            names = message.get("names", {})
            self.names = {str(k): str(v) for k, v in names.items()} if isinstance(names, dict) else {}
            return

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
        so spies record in this process where student code cannot edit the record.
        """
        if not self.ensure_started():
            return Outcome("unavailable", message=self.load_failure)
        callbacks: list[Callable] = []
        request = {
            "op": "call",
            "fn": fn,
            "args": encode(list(args), callbacks),
            "kwargs": encode(dict(kwargs or {}), callbacks),
            "standins": list(standins),
            "global_seed": global_seed,
            "seconds": seconds or self.limits.call_seconds,
            "return_args": return_args,
        }
        deadline = time.monotonic() + (seconds or self.limits.call_seconds) + 2.0
        try:
            self._send(request)
            while True:
                message = self._receive(deadline)
                op = message.get("op")
                if op == "callback":
                    self._answer_callback(callbacks, message)
                    continue
                return self._outcome(message)
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

    def _answer_callback(self, callbacks: list[Callable], message: dict) -> None:
        try:
            cb = callbacks[int(message["cb"])]
            args = decode(message["args"])
            value = cb(*args)
            reply = {"op": "callback_result", "value": encode_result(value)}
        except Exception as exc:  # noqa: BLE001 - goes back to the student's code as an exception
            reply = {"op": "callback_error", "message": str(exc)[:300]}
        self._send(reply)

    @staticmethod
    def _outcome(message: dict) -> Outcome:
        op = message.get("op")
        try:
            if op == "result":
                args_after = message.get("args_after")
                return Outcome(
                    "ok",
                    value=decode(message.get("value")),
                    args_after=decode(args_after) if args_after is not None else None,
                )
        except (ValueError, TypeError, KeyError) as exc:
            return Outcome("error", error_type="BadReply", message=str(exc))
        if op == "missing":
            return Outcome("missing")
        if op == "timeout":
            return Outcome("timeout")
        if op == "error":
            return Outcome(
                "error",
                error_type=str(message.get("type", "")),
                message=str(message.get("message", "")),
                where=str(message.get("where", "")),
            )
        return Outcome("error", error_type="BadReply", message="unexpected reply")

    @property
    def output_text(self) -> str:
        text = self.output.decode("utf-8", "replace")
        if self.output_dropped:
            text += f"\n... ({self.output_dropped} more bytes of output dropped)"
        return text
