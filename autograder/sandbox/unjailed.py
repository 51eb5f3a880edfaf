"""Student code without the jail (``AUTOGRADER_SANDBOX=off``, Gradescope's fallback), where root trusts nothing it wrote.

Without the jail the worker is a plain process: as root we make it ``nobody`` (``jail.rlimits``'s
``demote``), and all it can write is hostile ground.  A symbolic link planted there turns any
file operation of root's that follows it into the student's: a ``chown`` hands the link's target
(the results folder, the bundle's sources, any file of root's) to ``nobody``, a write overwrites
it.  So root never does a file operation on anything the child could have written:

* ``ChildFolder``: the child's folder is built fresh for every start of the worker, from our own
  bytes, in a new private folder: every file made with ``O_CREAT | O_EXCL | O_NOFOLLOW`` relative
  to a directory descriptor we opened, and handed to the child's uid by ``fchown`` on descriptors
  we hold (never a path);
* it is removed by the child's uid (``chmod -R u+rwX`` and ``rm -rf``, run as that uid), so
  nothing root does follows what the child left there; root then only ``rmdir``\\ s the folders it
  made (``rmdir`` follows no link), and leaves them if the child's leftovers are in the way;
* ``sweep``: in a container that grades one submission (Gradescope), every process of the
  child's uid is killed, from that uid (``kill(-1, SIGKILL)``), after the last child and before
  the results are written: a process the student left behind (detached, in a session of its
  own) is not our descendant, and without cgroups nothing else finds it.
"""

from __future__ import annotations

import os
import shutil
import signal
import stat
import subprocess
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path

from .jail import MAX_COPIED_FILE

#: where files named ``/opt/gd/...`` go (our code, the worker and the codec: read-only to the child)
OURS = "gd"
#: the child's home and working folder (everything else, besides the scratch folder's files)
HOME = "home"
#: how long the child's uid gets to remove its folder
REMOVE_SECONDS = 30.0
#: folders that a process of the child's was still writing in when they were removed
_LEFT_BEHIND: list[ChildFolder] = []


def _write_new(dir_fd: int, name: str, data: bytes, mode: int, owner: int | None) -> None:
    """Create ``name`` in the folder ``dir_fd`` (it must not exist; no link is followed) holding ``data``."""
    fd = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, mode, dir_fd=dir_fd)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
        os.fchmod(fd, mode)  # whatever the umask
        if owner is not None:
            os.fchown(fd, owner, owner)
    finally:
        os.close(fd)


def _read_regular(folder: Path, name: str) -> bytes | None:
    """The bytes of ``folder/name`` if it is a regular file (not a link) of at most ``MAX_COPIED_FILE``."""
    try:
        fd = os.open(folder / name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode) or st.st_size > MAX_COPIED_FILE:
            return None
        with os.fdopen(os.dup(fd), "rb") as f:
            return f.read(MAX_COPIED_FILE + 1)[:MAX_COPIED_FILE]
    finally:
        os.close(fd)


def _mkdir(parent_fd: int, name: str, mode: int, owner: int | None) -> int:
    """Make the folder ``name`` in ``parent_fd`` and return a descriptor of it (no link followed)."""
    os.mkdir(name, mode, dir_fd=parent_fd)
    fd = os.open(name, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=parent_fd)
    os.fchmod(fd, mode)
    if owner is not None:
        os.fchown(fd, owner, owner)
    return fd


class ChildFolder:
    """One start's folder: ``home`` (the child's, its working folder) and ``worker`` (our code, root's).

    Parameters
    ----------
    scratch : Path
        The grader's own scratch folder (the submission's neighbouring files): its regular files
        are copied into ``home``.  The child never gets this folder itself.
    files : mapping of str to bytes
        ``{path inside the jail: content}``: ``/opt/gd/...`` files go beside the worker, the rest
        into ``home``.
    owner : int or None
        The uid (and gid) the child runs as when that is not ours (root's child is ``nobody``):
        ``home`` and its files are handed to it; the rest stays ours.
    """

    def __init__(self, scratch: Path, files: Mapping[str, bytes], owner: int | None):
        self.owner = owner
        self.base = Path(tempfile.mkdtemp(prefix="gd-child-"))  # ours, 0700, in a folder nobody else renames in
        self.home = self.base / HOME
        self.ours = self.base / OURS
        base_fd = os.open(self.base, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC)
        try:
            self._fill(base_fd, scratch, files)
            os.fchmod(base_fd, 0o711)  # the child may pass through to its home, and list nothing here
        except BaseException:
            os.close(base_fd)
            shutil.rmtree(self.base, ignore_errors=True)  # no child has run: all in it is ours
            raise
        os.close(base_fd)

    def _fill(self, base_fd: int, scratch: Path, files: Mapping[str, bytes]) -> None:
        home = {
            name: data for name in sorted(os.listdir(scratch)) if (data := _read_regular(scratch, name)) is not None
        }
        ours = {}
        for inner, data in files.items():
            (ours if inner.startswith("/opt/gd/") else home)[Path(inner).name] = data
        for folder, content, mode, owner in ((OURS, ours, 0o755, None), (HOME, home, 0o700, self.owner)):
            fd = _mkdir(base_fd, folder, mode, owner)
            try:
                for name, data in content.items():
                    _write_new(fd, name, data, 0o644, owner)
            finally:
                os.close(fd)

    def remove(self) -> None:
        """Remove the folder: what the child could write by the child's uid, then our own folders."""
        if self.owner is None:  # the child runs as we do: all of the folder is as much its as ours
            _remove_as(None, self.base)
            return
        _remove_as(self.owner, self.home)
        try:
            base_fd = os.open(self.base, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC)
        except OSError:
            return
        try:
            _remove_ours(base_fd)
        finally:
            os.close(base_fd)
        try:
            os.rmdir(self.base)
        except FileNotFoundError:
            pass
        except OSError:  # a process the child left behind still writes there: after ``sweep``, again
            _LEFT_BEHIND.append(self)


def _remove_ours(base_fd: int) -> None:
    """Remove ``gd/`` (our files: a child of another uid cannot write there) and the emptied ``home``."""
    try:
        fd = os.open(OURS, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=base_fd)
    except OSError:
        fd = None
    if fd is not None:
        try:
            for name in os.listdir(fd):
                try:
                    os.unlink(name, dir_fd=fd)
                except OSError:
                    pass
        finally:
            os.close(fd)
    for name in (OURS, HOME):
        try:
            os.rmdir(name, dir_fd=base_fd)
        except OSError:
            pass


def _remove_as(uid: int | None, folder: Path) -> None:
    """Empty ``folder`` (and remove it where the uid may) as ``uid``: what it could write, it removes."""
    script = 'chmod -R u+rwX -- "$1" 2>/dev/null; rm -rf -- "$1" 2>/dev/null; exit 0'
    who = {} if uid is None else {"user": uid, "group": uid, "extra_groups": []}
    try:
        subprocess.run(
            ["/bin/sh", "-c", script, "sh", str(folder)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            timeout=REMOVE_SECONDS,
            env={"PATH": "/usr/bin:/bin"},
            **who,
        )
    except (OSError, subprocess.SubprocessError):
        pass


# ---------------------------------------------------------------------------------------
# Every process of the child's uid
# ---------------------------------------------------------------------------------------


def processes_of(uid: int) -> list[int]:
    """The live processes (not zombies) whose real uid is ``uid``, from /proc."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            status = Path(f"/proc/{entry}/status").read_text()
        except OSError:
            continue
        fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
        real_uid = int(fields.get("Uid", "-1").split()[0])
        if real_uid == uid and not fields.get("State", "").strip().startswith(("Z", "X")):
            found.append(int(entry))
    return found


def _kill_all_from(uid: int) -> None:
    """``kill(-1, SIGKILL)`` from a process of ``uid``: every process that uid may signal, but itself."""
    pid = os.fork()
    if pid == 0:  # the child: only system calls until _exit
        try:
            os.setgroups([])
            os.setgid(uid)
            os.setuid(uid)
            os.kill(-1, signal.SIGKILL)
        except BaseException:  # noqa: BLE001 - nothing may escape a forked child
            os._exit(1)
        os._exit(0)
    os.waitpid(pid, 0)


def sweep(uid: int, seconds: float = 10.0) -> bool:
    """Kill every process of ``uid`` (from that uid, so nothing else is touched) until none is left.

    Only where the machine grades one submission (Gradescope's container): there every process of
    ``uid`` is that student's.  True when none is left (within ``seconds``).
    """
    if uid == os.getuid() or os.geteuid() != 0:
        raise ValueError("the sweep is root's, of another uid")
    deadline = time.monotonic() + seconds
    while processes_of(uid):
        if time.monotonic() > deadline:
            return False
        _kill_all_from(uid)
        time.sleep(0.01)
    while _LEFT_BEHIND:  # nothing writes there any more
        _LEFT_BEHIND.pop().remove()
    return True
