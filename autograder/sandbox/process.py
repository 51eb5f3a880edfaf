"""Process supervision for the sandbox: start the worker in its jail, watch it, kill it and all it started.

One ``Child`` is one run of the worker (``worker.py``): a process in the bubblewrap jail
(``jail.py``; or, where the operator turned the jail off, a plain process that is never root),
with pipes to it, a sealed shared-memory arena, a pids cgroup where one can be made, and its
printed output drained (kept up to a bound) so that it can never block on a full pipe.  Reads
and writes never wait past a deadline, and deadlines move later by the time the machine kept
the child (or this thread) waiting for a CPU, so load from a classmate cannot time out correct
code.  Killing a child kills every process it started, wherever they went.

It knows nothing of what is said over the pipes: the call protocol is ``client.py``'s.
"""

from __future__ import annotations

import fcntl
import os
import select
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from ..limits import Limits
from . import jail, unjailed

#: the only code of ours inside the jail, copied in: the worker and the codec (read, not imported:
#: a jail is started before the grader loads numpy)
SOURCES = {
    "/opt/gd/worker.py": (Path(__file__).parent / "worker.py").read_bytes(),
    "/opt/gd/wire.py": (Path(__file__).parents[1] / "wire.py").read_bytes(),
}
#: shared memory for the arrays whose in-place modification we check
ARENA_BYTES = 16 * 1024 * 1024


class Fatal(BaseException):
    """The child is gone or out of time; a BaseException so our callbacks' handlers pass it on."""


class Crashed(Fatal):
    pass


class TimedOut(Fatal):
    pass


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


def describe_exit(returncode: int | None) -> str:
    """How the child ended, in a learner's words."""
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


def home_files(folders: Sequence[str]) -> dict[str, bytes]:
    """The ``.py`` files of ``folders`` (the course's support module), as files of the jail's home:
    regular files only, never what a link names."""
    files = {}
    for folder in folders:
        for path in sorted(Path(folder).glob("*.py")):
            if path.is_file() and not path.is_symlink():
                files[f"{jail.HOME}/{path.name}"] = path.read_bytes()
    return files


def _arena() -> int:
    fd = os.memfd_create("gd-arena", os.MFD_ALLOW_SEALING)
    os.ftruncate(fd, ARENA_BYTES)
    # the child must not shrink it under us (reading a truncated mapping is SIGBUS)
    fcntl.fcntl(fd, fcntl.F_ADD_SEALS, fcntl.F_SEAL_SHRINK | fcntl.F_SEAL_GROW | fcntl.F_SEAL_SEAL)
    os.set_inheritable(fd, True)
    return fd


class Child:
    """One run of the worker, started at once.

    Parameters
    ----------
    workdir : Path
        The scratch folder that becomes the child's home (its files are copied into the jail).
    files : dict
        ``{path inside the jail: content}`` copied in besides ``SOURCES`` (the course's support module).
    limits : Limits
    """

    def __init__(self, workdir: Path, files: dict[str, bytes], limits: Limits):
        self.workdir = workdir
        self.files = files
        self.limits = limits
        self.output = bytearray()  # the first ``limits.output_bytes`` the student printed
        self.output_dropped = 0
        self._folder: unjailed.ChildFolder | None = None  # without the jail: this start's own folder
        self._worker_pid: int | None = None
        self._wait_mark, self._wait_cap = 0.0, 0.0
        self._cancelled = False
        self.arena_fd = _arena()
        try:
            cmd, fds, close = self._command(files)  # SandboxUnavailable when the jail cannot work here
        except BaseException:
            os.close(self.arena_fd)
            raise
        home = self._folder.home if self._folder is not None else workdir
        env = {"MPLBACKEND": "Agg", "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "PYTHONHASHSEED": "0"}
        env.update(PYTHONDONTWRITEBYTECODE="1", HOME=str(home), MPLCONFIGDIR=str(home / ".mpl"))
        env["PATH"] = os.environ.get("PATH", "/usr/bin:/bin")
        self._pids = jail.PidsCgroup.create()
        try:
            self.proc = subprocess.Popen(
                cmd,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                pass_fds=fds,
                env=env,
                cwd=str(home),
                preexec_fn=jail.rlimits(
                    self._jail_limits(),
                    demote=jail.sandbox_disabled() and os.geteuid() == 0,
                    cgroup=self._pids,
                ),
                start_new_session=True,
            )
        except BaseException:  # nothing of this start is left: its folder, cgroup and arena
            if self._folder is not None:
                self._folder.remove()
            if self._pids is not None:
                self._pids.remove()
            os.close(self.arena_fd)
            raise
        finally:
            close()
        self._req = self.proc.stdin.fileno()
        self._resp = self.proc.stdout.fileno()
        self._out = self.proc.stderr.fileno()
        for fd in (self._req, self._resp, self._out):
            os.set_blocking(fd, False)
        # one poller each way per child: they serve every message (epoll itself, not ``selectors``:
        # a callback's round trip is a few system calls, and every layer above them counts)
        self._rpoll = select.epoll()
        self._rpoll.register(self._resp, select.EPOLLIN)
        self._rpoll.register(self._out, select.EPOLLIN)
        self._wpoll = select.epoll()
        self._wpoll.register(self._req, select.EPOLLOUT)

    def _jail_limits(self) -> jail.JailLimits:
        return jail.JailLimits(memory_mb=self.limits.memory_mb, cpu_seconds=int(self.limits.notebook_seconds * 3) + 30)

    def _command(self, files: dict[str, bytes]) -> tuple[list[str], tuple[int, ...], Callable[[], None]]:
        if jail.require():  # waits for the probe: no child starts before it says the jail works
            cmd = jail.jail_command(
                [jail.interpreter(), "-I", "-S", "/opt/gd/worker.py"],
                self.workdir,
                limits=self._jail_limits(),
                files={**SOURCES, **files},
            )
            return cmd, (*cmd.pass_fds, self.arena_fd), cmd.close
        # AUTOGRADER_SANDBOX=off: the operator's container is the boundary (README).  Still never
        # root: the child runs as "nobody", so it cannot write the results or read what the operator
        # made private (Gradescope's setup.sh hides the bundle), in a folder of its own made fresh
        # for this start, which root never acts on through a path (``unjailed``)
        owner = jail.INSIDE_ID if os.geteuid() == 0 else None
        self._folder = unjailed.ChildFolder(self.workdir, {**SOURCES, **files}, owner)
        argv = [sys.executable, "-I", "-B", str(self._folder.ours / "worker.py")]
        return argv, (self.arena_fd,), lambda: None

    # -- ending ----------------------------------------------------------------------------

    def returncode(self, wait: float = 0.0) -> int | None:
        """How the child ended (``Popen.returncode``), waiting up to ``wait`` seconds; None if it has not."""
        returncode = self.proc.poll()
        if returncode is None and wait:
            try:
                returncode = self.proc.wait(timeout=wait)
            except subprocess.TimeoutExpired:
                returncode = None
        return returncode

    def cancel(self) -> None:
        """Make every read and write give up within a second (``Crashed``): how another thread stops
        one that is waiting for this child, without signalling a process that may be gone."""
        self._cancelled = True

    def kill(self) -> None:
        """Kill the child and every process it started, and wait for them; free what it held."""
        proc = self.proc
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
        self.drain_output()
        self._rpoll.close()
        self._wpoll.close()
        for stream in (proc.stdin, proc.stdout, proc.stderr):
            try:
                stream.close()
            except OSError:
                pass
        try:
            os.close(self.arena_fd)
        except OSError:
            pass
        if self._folder is not None:
            self._folder.remove()  # once every process of the child is gone (or all we could find)
            self._folder = None

    # -- time ------------------------------------------------------------------------------

    def _worker_wait(self) -> float:
        """Run-queue wait of the process running student code (found once per child)."""
        if self._worker_pid is None:
            tree = [self.proc.pid, *_descendants(self.proc.pid)]
            self._worker_pid = next((p for p in tree if _is_python(p)), None)
        return _run_queue_wait(self._worker_pid) if self._worker_pid else 0.0

    def _waited(self) -> float:
        """Run-queue wait of the child and of this thread (which answers its callbacks) so far."""
        return self._worker_wait() + _run_queue_wait("thread-self")

    def begin_wait(self, cap: float) -> None:
        """From now on, deadlines move later by the run-queue wait, by at most ``cap`` seconds."""
        self._wait_mark, self._wait_cap = self._waited(), cap

    def starved(self) -> float:
        """Seconds of run-queue wait since ``begin_wait`` (at most its cap)."""
        return min(max(self._waited() - self._wait_mark, 0.0), self._wait_cap)

    def remaining(self, deadline: float) -> float:
        """Seconds left until ``deadline``, moved later by the run-queue wait."""
        now = time.monotonic()
        if now < deadline:
            return deadline - now
        return deadline + self.starved() - now

    # -- bytes -----------------------------------------------------------------------------

    def drain_output(self) -> bool:
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

    def write(self, data: bytes, deadline: float) -> None:
        """Write all of ``data`` without ever blocking past ``deadline`` (a child that never reads
        its replies fills the pipe; then it is out of time, not us): ``TimedOut`` or ``Crashed``."""
        view = memoryview(data)
        while view:
            try:
                view = view[os.write(self._req, view) :]
                continue
            except BlockingIOError:
                pass
            except OSError as exc:
                raise Crashed() from exc
            remaining = self.remaining(deadline)
            if remaining <= 0:
                raise TimedOut()
            if self._cancelled:
                raise Crashed()
            self._wpoll.poll(min(remaining, 0.5))
            self.drain_output()
            if self.proc.poll() is not None:
                raise Crashed()

    def read(self, deadline: float) -> bytes:
        """The next bytes the child answers (draining its printed output meanwhile), by
        ``deadline``: ``TimedOut``, or ``Crashed`` once it is dead and nothing is left to read."""
        poller, resp = self._rpoll, self._resp
        while True:
            remaining = self.remaining(deadline)
            if remaining <= 0:
                raise TimedOut()
            if self._cancelled:
                raise Crashed()
            answered = b""
            for fd, _ in poller.poll(min(remaining, 1.0)):
                if fd == resp:
                    try:
                        chunk = os.read(resp, 1 << 20)
                    except BlockingIOError:
                        continue
                    if not chunk:
                        raise Crashed()
                    answered += chunk
                elif not self.drain_output():
                    poller.unregister(fd)  # the child closed its output; its answers may follow
            if answered:
                return answered
            if self.proc.poll() is not None and not poller.poll(0):
                raise Crashed()  # dead, and nothing left to read
