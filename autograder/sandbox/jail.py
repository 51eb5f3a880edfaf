"""The jail that student code runs in: a bubblewrap command line and a seccomp filter.

One module builds both, for every front end that runs student code (the grader's child
process and the nbgrader kernel).  The child sees an allow-list, not the machine:

* the Python interpreter (its own prefix, read-only) and ``/usr`` (shared libraries);
* the packages student code may import (numpy, scipy, matplotlib and what they need),
  each bound read-only under ``/opt/gd/site``.  Nothing else from any site-packages folder:
  not the grader (installed or editable), not its ``.pth`` hooks, not the course tree;
  site-packages folders that ``/usr`` or the interpreter's prefix would show are masked;
* a private, size-limited tmpfs as its home and working folder (``/home/student``) into
  which the files of ``scratch`` are *copied*, and another as ``/tmp``; its own ``/dev``
  (null, zero, urandom...) with a private ``/dev/shm``; its own ``/proc`` (bwrap keeps
  ``/proc`` mounted read-only, so ``/proc/sys`` cannot be written);
* every folder it can write has a size: home 64 MB, ``/tmp`` 64 MB, ``/dev/shm`` 16 MB, so
  **144 MB in all** by default (``JailLimits.writable_mb``, always below the memory limit,
  2048 MB by default).  Everything else is read-only: the root tmpfs bwrap makes (and
  ``/opt/gd``, ``/home`` in it), ``/dev`` (bwrap's ``--size`` sizes only ``--tmpfs``, not
  ``--dev``), the empty tmpfs that mask site-packages folders.  ``--size`` needs bubblewrap
  0.5.0 (Debian 12 has 0.8.0, Ubuntu 22.04 0.6.1, 24.04 0.9.0); with an older one the jail is
  unavailable (fail closed, ``available``).  Memory no folder bounds (memfd, SysV shared memory
  and message queues) is refused by the filter.
* new user, PID, network, IPC, UTS, cgroup and mount namespaces (``--unshare-all``), uid
  and gid 65534 inside (mapped to the grading user outside: everything of the host it sees
  is mounted read-only, and it holds no capability), no further user namespaces,
  ``--die-with-parent``, ``--new-session`` (no TIOCSTI into our terminal), ``--clearenv``
  and a minimal environment;
* a seccomp filter, built with libseccomp (``pyseccomp``), that refuses every socket (the
  child may open none, of any family), kills a process that makes a system call through another ABI
  (i386's ``int 0x80``, x32), and refuses mount and friends, ptrace and cross-process memory
  access, keyrings, bpf, perf events, namespaces, personality changes, module loading,
  io_uring, memfd and SysV shared memory...

Running student code without the jail is refused (fail closed) unless the operator says
``AUTOGRADER_SANDBOX=off``: meant for a throw-away container per submission (Gradescope),
where the container itself is the boundary.  Nothing else turns the jail off.

Use::

    cmd = jail_command([python, "-I", "-S", "/opt/gd/worker.py"], scratch, files={...})
    proc = subprocess.Popen(cmd, pass_fds=cmd.pass_fds, preexec_fn=rlimits(...))
    cmd.close()   # our copies of the descriptors bwrap reads

``cmd`` is a plain ``list[str]`` (a ``JailCommand``) that also carries the descriptors bwrap
must inherit (the seccomp program, the copied files); they are read once by bwrap.
"""

from __future__ import annotations

import errno
import functools
import hashlib
import itertools
import json
import os
import re
import resource
import shutil
import site
import subprocess
import sys
import sysconfig
import tempfile
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import importlib.metadata as metadata

#: where the child's home, working folder and allow-listed packages are, inside the jail
HOME = "/home/student"
SITE = "/opt/gd/site"
#: the environment switch that turns the jail off (documented in README); nothing else does
SWITCH = "AUTOGRADER_SANDBOX"
#: what student code may import, with everything these need (found from their metadata)
STUDENT_PACKAGES = ("numpy", "scipy", "matplotlib")
#: uid and gid inside the jail ("nobody")
INSIDE_ID = 65534
#: largest file copied from ``scratch`` into the jail
MAX_COPIED_FILE = 5 * 1024 * 1024
#: the oldest bubblewrap with ``--size``: older ones cannot build the jail (fail closed, ``available``)
BWRAP_MINIMUM = (0, 5, 0)


@dataclass(frozen=True)
class JailLimits:
    """Sizes of the jail's private file systems and its resource limits.

    The three sized folders are all the child can write (``writable_mb``, 144 MB by default);
    their sum must stay below ``memory_mb``, the child's address-space limit.
    """

    home_mb: int = 64
    tmp_mb: int = 64
    shm_mb: int = 16
    memory_mb: int = 2048
    cpu_seconds: int = 400
    file_mb: int = 32  # RLIMIT_FSIZE: no single file written larger than this
    processes: int = 256  # RLIMIT_NPROC (counted per host uid; see ``rlimits``)
    pids: int = 64  # processes and threads of one jail, where a pids cgroup can be made (``PidsCgroup``)

    def __post_init__(self) -> None:
        if self.writable_mb >= self.memory_mb:
            raise ValueError(f"the jail's folders ({self.writable_mb} MB) must be smaller than its memory limit")

    @property
    def writable_mb(self) -> int:
        """All the child can write anywhere: the sum of its sized folders (home, /tmp, /dev/shm)."""
        return self.home_mb + self.tmp_mb + self.shm_mb


class JailCommand(list):
    """A bwrap command line (a ``list[str]``) plus the descriptors it must inherit."""

    def __init__(self, argv: Iterable[str] = (), fds: Iterable[int] = ()):
        super().__init__(argv)
        self.pass_fds: tuple[int, ...] = tuple(fds)

    def close(self) -> None:
        """Close our copies of the descriptors (after the child has started)."""
        for fd in self.pass_fds:
            try:
                os.close(fd)
            except OSError:
                pass
        self.pass_fds = ()


def sandbox_disabled() -> bool:
    """True when the operator turned the jail off (``AUTOGRADER_SANDBOX=off``)."""
    return os.environ.get(SWITCH, "").strip().lower() in ("off", "0", "no", "false")


def interpreter() -> str:
    """The real Python binary (not a venv's symlink), which finds its own standard library."""
    return os.path.realpath(getattr(sys, "_base_executable", None) or sys.executable)


# ---------------------------------------------------------------------------------------
# What is visible
# ---------------------------------------------------------------------------------------

_REQ_NAME = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)")


def _closure(names: Sequence[str]) -> list[metadata.Distribution]:
    """The distributions ``names`` and everything they require (extras left out)."""
    import importlib.metadata as metadata  # only when the package list is not in our cache

    seen: dict[str, metadata.Distribution] = {}
    todo = list(names)
    while todo:
        name = todo.pop()
        key = re.sub(r"[-_.]+", "-", name).lower()
        if key in seen:
            continue
        try:
            dist = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            continue
        seen[key] = dist
        for req in dist.requires or []:
            if "extra==" in req.replace(" ", ""):
                continue
            if ";" in req and "python_version" not in req and "sys_platform" not in req:
                continue
            match = _REQ_NAME.match(req)
            if match:
                todo.append(match.group(1))
    return list(seen.values())


def _is_editable(dist: metadata.Distribution) -> bool:
    files = dist.files or []
    return any(f.name.startswith("__editable__") or f.name.endswith(".pth") for f in files) or bool(
        dist.read_text("direct_url.json") and '"editable": true' in (dist.read_text("direct_url.json") or "")
    )


@functools.lru_cache(maxsize=4)
def package_entries(names: tuple[str, ...] = STUDENT_PACKAGES) -> tuple[tuple[str, str], ...]:
    """``(host path, name)`` of every top-level file or folder of the allowed distributions.

    Editable installs and ``.pth`` files are never included: they point outside the
    site-packages folder (an editable grader would point at our repository).  Reading every
    distribution's list of files takes a fifth of a second, so the answer is kept in our private
    cache folder, keyed by what it depends on (``_environment_key``).
    """
    cache = _cache_folder() / f"packages-{_environment_key(names)}.json"
    known = _read_cached(cache)
    if known is not None:
        return known
    entries = _package_entries(names)
    _write_cached(cache, entries)
    return entries


def _package_entries(names: tuple[str, ...]) -> tuple[tuple[str, str], ...]:
    entries: dict[str, str] = {}
    for dist in _closure(names):
        if _is_editable(dist):
            continue
        base = Path(str(dist.locate_file(""))).resolve()
        for f in dist.files or []:
            parts = Path(f).parts
            if not parts or parts[0] in ("..", "__pycache__") or parts[0].endswith(".pth"):
                continue
            top = parts[0]
            host = base / top
            if host.exists() and not host.is_symlink():
                entries[top] = str(host)
    return tuple(sorted((path, name) for name, path in entries.items()))


def _environment_key(names: tuple[str, ...]) -> str:
    """What the package list depends on: the interpreter, the names asked for, and every
    distribution the interpreter can find (each folder on ``sys.path``: its ``*.dist-info`` and
    ``*.egg-info`` folders, with the times their folder and file list last changed).  Installing,
    upgrading or removing anything changes it."""
    stamps: list = [sys.version, os.path.realpath(sys.executable), sys.prefix, names]
    for folder in sys.path:
        try:
            found = sorted(n for n in os.listdir(folder or ".") if n.endswith((".dist-info", ".egg-info")))
        except OSError:
            continue
        for name in found:
            where = os.path.join(folder or ".", name)
            stamps.append((os.path.realpath(where), _mtime(where), _mtime(os.path.join(where, "RECORD"))))
    return hashlib.sha256(repr(stamps).encode()).hexdigest()[:24]


def _mtime(path: str) -> int | None:
    try:
        return os.stat(path).st_mtime_ns
    except OSError:
        return None


def _cache_folder() -> Path:
    """Our cache (the package list, the mirror of the packages): trusted only while ``_private``."""
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "gd-sandbox-site"


def _read_cached(path: Path) -> tuple[tuple[str, str], ...] | None:
    """The list kept in ``path``, if our private cache holds it (else None: it is made again)."""
    try:
        st = path.lstat()
        if not _private(path.parent) or not path.is_file() or st.st_uid != os.getuid() or st.st_mode & 0o022:
            return None
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, list) or not all(
        isinstance(e, list) and len(e) == 2 and all(isinstance(x, str) for x in e) for e in data
    ):
        return None
    return tuple((host, name) for host, name in data)


def _write_cached(path: Path, entries: tuple[tuple[str, str], ...]) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o755)
        if not _private(path.parent):
            return
        fd, tmp = tempfile.mkstemp(prefix=".packages-", dir=path.parent)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            json.dump([list(e) for e in entries], out)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except OSError:
        pass  # no cache: the list is read again next time


def _link_or_copy(src: str, dst: str) -> None:
    try:
        os.link(src, dst)  # instant, and no disk; refused across file systems or for others' files
    except OSError:
        shutil.copy2(src, dst)


@functools.lru_cache(maxsize=4)
def site_mirror(entries: tuple[tuple[str, str], ...]) -> str | None:
    """A folder outside our tree holding (hard links to) the allowed packages, made once per
    set of versions: bound instead of the originals, so that not even ``/proc/self/mountinfo``
    names the virtual environment in the course's checkout.  None if it cannot be made."""
    stamp = [(name, path, os.stat(path).st_mtime_ns) for path, name in entries]
    key = hashlib.sha256(repr((sys.version, stamp)).encode()).hexdigest()[:16]
    base = _cache_folder()
    target = base / key
    if _private(base) and _private(target):
        return str(target)
    try:
        base.mkdir(parents=True, exist_ok=True, mode=0o755)
        work = Path(tempfile.mkdtemp(prefix=".building-", dir=base))
        for path, name in entries:
            if os.path.isdir(path):
                shutil.copytree(path, work / name, symlinks=True, copy_function=_link_or_copy)
            else:
                _link_or_copy(path, str(work / name))
        work.chmod(0o755)
        try:
            work.rename(target)
        except OSError:  # another grader made it meanwhile
            shutil.rmtree(work, ignore_errors=True)
    except OSError:
        return None
    return str(target) if _private(base) and _private(target) else None


def _private(folder: Path) -> bool:
    """Ours alone: a real folder, owned by us, that nobody else may write (else not trusted)."""
    try:
        st = folder.lstat()
    except OSError:
        return False
    return folder.is_dir() and not folder.is_symlink() and st.st_uid == os.getuid() and not st.st_mode & 0o022


def _site_folders() -> set[str]:
    """Every site-packages folder this interpreter knows: masked in the jail."""
    folders = set(site.getsitepackages()) | {site.getusersitepackages()}
    folders |= {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    for prefix in {sys.base_prefix, sys.prefix}:
        for sub in ("lib", "lib64", "local/lib"):
            for dirname in ("site-packages", "dist-packages"):
                folders.update(str(p) for p in Path(prefix, sub).glob(f"python3*/{dirname}"))
    folders.update(str(p) for p in Path("/usr/lib").glob("python3*/dist-packages"))
    folders.update(str(p) for p in Path("/usr/local/lib").glob("python3*/*-packages"))
    grader = Path(__file__).resolve().parent.parent  # autograder/, wherever it is installed
    folders.add(str(grader))
    return {os.path.realpath(f) for f in folders}


def _roots() -> list[tuple[str, str]]:
    """``(kind, path)``: the system folders every program needs, read-only."""
    roots: list[tuple[str, str]] = [("bind", "/usr")]
    for top in ("/bin", "/sbin", "/lib", "/lib64", "/lib32", "/libx32"):
        if os.path.islink(top):
            roots.append(("symlink", top))
        elif os.path.isdir(top):
            roots.append(("bind", top))
    prefix = os.path.realpath(sys.base_prefix)
    if not any(prefix == r or prefix.startswith(r + "/") for k, r in roots if k == "bind"):
        roots.append(("bind", prefix))
    return roots


# ---------------------------------------------------------------------------------------
# The seccomp filter
# ---------------------------------------------------------------------------------------

#: refused outright (EPERM): nothing a gradient descent exercise needs
DENIED_SYSCALLS = (
    "mount", "umount", "umount2", "pivot_root", "chroot", "move_mount", "open_tree", "fsopen", "fsconfig",
    "fsmount", "fspick", "mount_setattr",
    "ptrace", "process_vm_readv", "process_vm_writev", "kcmp", "pidfd_getfd",
    "keyctl", "add_key", "request_key",
    "bpf", "perf_event_open", "userfaultfd", "fanotify_init", "lookup_dcookie",
    "unshare", "setns", "personality",
    "init_module", "finit_module", "delete_module", "kexec_load", "kexec_file_load",
    "reboot", "swapon", "swapoff", "acct", "quotactl", "syslog", "uselib", "vhangup",
    "ioperm", "iopl", "open_by_handle_at", "name_to_handle_at",
    "io_uring_setup", "io_uring_enter", "io_uring_register",
    "settimeofday", "clock_settime", "clock_adjtime", "adjtimex",
    "sethostname", "setdomainname", "nfsservctl", "mbind", "migrate_pages", "move_pages",
    # memory that no folder's size and no address-space limit bounds: it lives in the kernel (host
    # shared memory) until the last descriptor closes or the IPC namespace ends
    "memfd_create", "memfd_secret", "shmget", "msgget",
)  # fmt: skip


@functools.lru_cache(maxsize=1)
def seccomp_program() -> bytes:
    """The BPF program (from libseccomp via ``pyseccomp``) that bwrap loads before the child runs.

    No sockets at all: ``socket`` and ``socketpair`` are refused (EAFNOSUPPORT) for every family.
    The rules are for the machine's own ABI (x86-64): a call through another ABI the kernel accepts (i386's ``int 0x80``, with its ``socketcall``; x32)
    kills the process (libseccomp's bad-architecture action).
    """
    import pyseccomp as seccomp

    deny = seccomp.ERRNO(errno.EPERM)
    flt = seccomp.SyscallFilter(defaction=seccomp.ALLOW)
    flt.set_attr(seccomp.Attr.ACT_BADARCH, seccomp.KILL_PROCESS)
    for name in DENIED_SYSCALLS:
        try:
            flt.add_rule(deny, name)
        except (OSError, ValueError):
            continue  # not a syscall on this architecture
    flt.add_rule(seccomp.ERRNO(errno.EAFNOSUPPORT), "socket")
    flt.add_rule(seccomp.ERRNO(errno.EAFNOSUPPORT), "socketpair")
    # clone/clone3 with namespace flags: --disable-userns already refuses new user namespaces;
    # this refuses the others too.  (clone3 passes flags in memory: refuse it, glibc falls back.)
    for bit in (0x00020000, 0x02000000, 0x04000000, 0x08000000, 0x10000000, 0x20000000, 0x40000000, 0x00000080):
        flt.add_rule(deny, "clone", seccomp.Arg(0, seccomp.MASKED_EQ, bit, bit))
    flt.add_rule(seccomp.ERRNO(errno.ENOSYS), "clone3")
    # ioctl(TIOCSTI) pushes characters into a terminal's input
    flt.add_rule(deny, "ioctl", seccomp.Arg(1, seccomp.MASKED_EQ, 0xFFFFFFFF, 0x5412))
    with tempfile.TemporaryFile() as out:
        flt.export_bpf(out)
        out.seek(0)
        return out.read()


def _data_fd(data: bytes) -> int:
    """A descriptor (inheritable, at offset 0) that reads ``data``: how bwrap takes files."""
    fd = os.memfd_create("gd-data", 0) if hasattr(os, "memfd_create") else os.open(tempfile.mkstemp()[1], os.O_RDWR)
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]
    os.lseek(fd, 0, os.SEEK_SET)
    os.set_inheritable(fd, True)
    return fd


# ---------------------------------------------------------------------------------------
# The command line
# ---------------------------------------------------------------------------------------


def jail_command(argv: list[str], scratch: Path | None, **options) -> JailCommand:
    """``_jail_command`` (its docstring says what everything means), which never leaves a
    descriptor open when it fails part-way (EMFILE on a folder of many files, one per file)."""
    fds: list[int] = []
    try:
        return _jail_command(argv, scratch, fds, **options)
    except BaseException:
        JailCommand((), fds).close()
        raise


def _jail_command(
    argv: list[str],
    scratch: Path | None,
    fds: list[int],
    *,
    limits: JailLimits | None = None,
    files: Mapping[str, bytes] | None = None,
    env: Mapping[str, str] | None = None,
    packages: Sequence[str] = STUDENT_PACKAGES,
) -> JailCommand:
    """The bwrap command line that runs ``argv`` in the jail described in this module's docstring.

    Parameters
    ----------
    argv : list of str
        What to run inside, e.g. ``[interpreter(), "-I", "-S", "/opt/gd/worker.py"]``.
    scratch : Path or None
        A host folder whose regular files (not symlinks, at most 5 MB each) are copied into
        the jail's private home ``/home/student``, which is also the working folder.
        Nothing written inside comes back.
    fds : list of int
        Receives every descriptor opened, as it is opened (``jail_command`` closes them if
        this fails part-way).
    limits : JailLimits
        Sizes of the private tmpfs folders (the rlimits are set by ``rlimits``).
    files : mapping of str to bytes
        Read-only files created inside: ``{"/opt/gd/worker.py": source}``.  Our own code
        enters this way, so no path of ours is named inside.
    env : mapping
        Extra environment variables (the environment starts empty).
    packages : sequence of str
        Distributions student code may import (with what they require).

    Returns
    -------
    JailCommand
        The argv, with ``pass_fds`` to hand to ``subprocess.Popen``; call ``close()`` after.
    """
    limits = limits or JailLimits()
    cmd = [shutil.which("bwrap") or "bwrap", "--unshare-all", "--unshare-user", "--disable-userns"]
    cmd += ["--uid", str(INSIDE_ID), "--gid", str(INSIDE_ID), "--hostname", "sandbox"]
    cmd += ["--cap-drop", "ALL", "--die-with-parent", "--new-session", "--clearenv"]
    for kind, path in _roots():
        if kind == "symlink":
            cmd += ["--symlink", os.readlink(path), path]
        else:
            cmd += ["--ro-bind", path, path]
    for name in ("/etc/ld.so.cache", "/etc/ld.so.conf", "/etc/localtime", "/etc/fonts"):
        cmd += ["--ro-bind-try", name, name]
    bound = [p for k, p in _roots() if k == "bind"]
    for folder in sorted(_site_folders()):
        if os.path.isdir(folder) and any(folder == b or folder.startswith(b + "/") for b in bound):
            cmd += ["--tmpfs", folder, "--remount-ro", folder]  # hide whatever else is installed (the grader, too)
    entries = package_entries(tuple(packages))
    mirror = site_mirror(entries)
    if mirror:
        cmd += ["--ro-bind", mirror, SITE]
    else:
        for host, name in entries:
            cmd += ["--ro-bind", host, f"{SITE}/{name}"]
    # a read-only /proc: /proc/sys is global for the host uid the jail's uid maps to (bwrap's own
    # cover of /proc/sys is skipped on some kernels), and nothing here needs to write /proc
    cmd += ["--proc", "/proc", "--remount-ro", "/proc", "--dev", "/dev"]
    cmd += ["--size", str(limits.shm_mb << 20), "--tmpfs", "/dev/shm", "--remount-ro", "/dev"]  # --dev has no size
    cmd += ["--size", str(limits.tmp_mb << 20), "--tmpfs", "/tmp"]
    cmd += ["--size", str(limits.home_mb << 20), "--perms", "0755", "--tmpfs", HOME]
    if scratch is not None:
        for item in sorted(Path(scratch).iterdir()):
            if item.is_symlink() or not item.is_file() or item.stat().st_size > MAX_COPIED_FILE:
                continue
            fd = os.open(item, os.O_RDONLY | os.O_NOFOLLOW)
            fds.append(fd)
            os.set_inheritable(fd, True)
            cmd += ["--perms", "0644", "--file", str(fd), f"{HOME}/{item.name}"]
    for inner, data in (files or {}).items():
        fd = _data_fd(data)
        fds.append(fd)
        cmd += ["--ro-bind-data", str(fd), inner]
    cmd += ["--remount-ro", "/"]  # the root tmpfs bwrap makes (and /opt/gd, /home in it): last, once all is mounted
    environment = {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "HOME": HOME,
        "LANG": "C.UTF-8",
        "TMPDIR": "/tmp",
        "MPLBACKEND": "Agg",
        "MPLCONFIGDIR": f"{HOME}/.mpl",
        "OPENBLAS_NUM_THREADS": "1",
        "OMP_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
        "PYTHONHASHSEED": "0",
        "PYTHONDONTWRITEBYTECODE": "1",
        **(env or {}),
    }
    for key, value in environment.items():
        cmd += ["--setenv", key, value]
    cmd += ["--chdir", HOME]
    fd = _data_fd(seccomp_program())
    fds.append(fd)
    cmd += ["--seccomp", str(fd), "--", *argv]
    return JailCommand(cmd, fds)


class PidsCgroup:
    """A pids cgroup of one jail: at most ``JailLimits.pids`` processes and threads, whoever runs it.

    RLIMIT_NPROC does not bind root (the jail's uid maps to the grading user), so a fork bomb would
    otherwise be bounded only in time, while it slows every other student's grading.  Made where
    the grading user may (root with cgroup v1's ``pids`` hierarchy or cgroup v2); elsewhere ``create``
    returns None and RLIMIT_NPROC, which binds ordinary users, is the bound.
    """

    def __init__(self, path: Path):
        self.path = path

    @classmethod
    def create(cls, limits: JailLimits | None = None) -> PidsCgroup | None:
        limits = limits or JailLimits()
        name = f"gd-jail-{os.getpid()}-{next(_cgroup_serial)}"
        for root in _cgroup_roots():
            path = root / name
            try:
                path.mkdir()
            except OSError:
                continue
            try:
                (path / "pids.max").write_text(str(limits.pids))
                return cls(path)
            except OSError:
                path.rmdir()
        return None

    def join(self) -> None:
        """Move the calling process in (from ``preexec_fn``: its descendants follow)."""
        (self.path / "cgroup.procs").write_text(str(os.getpid()))

    def remove(self) -> None:
        """Kill whatever is still in it and remove it."""
        deadline = time.monotonic() + 5.0
        while True:
            try:
                pids = (self.path / "cgroup.procs").read_text().split()
            except OSError:
                pids = []
            for pid in pids:
                try:
                    os.kill(int(pid), 9)
                except (ProcessLookupError, PermissionError, ValueError):
                    pass
            try:
                self.path.rmdir()
                return
            except OSError:
                if time.monotonic() > deadline:
                    return  # left for the machine to clean up; it holds no process of ours
                time.sleep(0.01)


_cgroup_serial = itertools.count()


@functools.lru_cache(maxsize=1)
def _cgroup_roots() -> tuple[Path, ...]:
    """Where this process may make a pids cgroup: cgroup v1's pids hierarchy, or v2's root."""
    roots = []
    v1 = Path("/sys/fs/cgroup/pids")
    if (v1 / "cgroup.procs").exists() and os.access(v1, os.W_OK):
        roots.append(v1)
    v2 = Path("/sys/fs/cgroup")
    try:
        if "pids" in (v2 / "cgroup.controllers").read_text().split() and os.access(v2, os.W_OK):
            control = v2 / "cgroup.subtree_control"
            if "pids" not in control.read_text().split():
                control.write_text("+pids")
            roots.append(v2)
    except OSError:
        pass
    return tuple(roots)


def rlimits(
    limits: JailLimits | None = None, demote: bool = False, cgroup: PidsCgroup | None = None
) -> Callable[[], None]:
    """A ``preexec_fn`` setting the jail's resource limits (inherited through bwrap).

    RLIMIT_NPROC counts the processes of the *host* uid; the kernel does not enforce it
    for root, so as root the PID namespace and our kill of the whole jail bound a fork bomb.
    With ``demote`` (the jail turned off, the grader root) the child also becomes
    ``nobody`` (uid and gid ``INSIDE_ID``, no supplementary groups) before it runs.
    """
    limits = limits or JailLimits()

    def apply() -> None:
        if cgroup is not None:
            try:
                cgroup.join()
            except OSError:
                pass  # a cgroup we made but may not join (delegation rules): the rlimits still hold
        # under memory pressure the kernel kills student code first, never the grader
        with open("/proc/self/oom_score_adj", "w") as adj:
            adj.write("1000")
        if demote:
            os.setgroups([])
            os.setgid(INSIDE_ID)
            os.setuid(INSIDE_ID)
        mem = limits.memory_mb << 20
        resource.setrlimit(resource.RLIMIT_AS, (mem, mem))
        resource.setrlimit(resource.RLIMIT_CPU, (limits.cpu_seconds, limits.cpu_seconds + 5))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        resource.setrlimit(resource.RLIMIT_FSIZE, (limits.file_mb << 20, limits.file_mb << 20))
        if os.getuid() != 0:
            resource.setrlimit(resource.RLIMIT_NPROC, (limits.processes, limits.processes))

    return apply


def bwrap_version() -> tuple[int, ...] | None:
    """The version of the ``bwrap`` on PATH, e.g. ``(0, 8, 0)``; None if it does not say."""
    try:
        said = subprocess.run(["bwrap", "--version"], capture_output=True, text=True, timeout=30).stdout
    except (OSError, subprocess.TimeoutExpired):
        return None
    match = re.search(r"(\d+)\.(\d+)\.(\d+)", said)
    return tuple(int(part) for part in match.groups()) if match else None


@functools.lru_cache(maxsize=1)
def available() -> str | None:
    """None when the jail works on this machine, else a one-line reason why it does not (from the
    probe ``check_ahead`` started, if it did)."""
    probe = _probes.pop() if _probes else _probe()
    if isinstance(probe, str):
        return probe
    proc, cmd, scratch = probe
    try:
        stdout, stderr = proc.communicate(timeout=30)
    except subprocess.TimeoutExpired as exc:
        proc.kill()
        proc.wait()
        return f"bwrap could not be started: {exc}"
    finally:
        cmd.close()
        scratch.cleanup()
    if proc.returncode != 0:
        detail = stderr.decode("utf-8", "replace").strip().splitlines()
        return "bwrap cannot create the sandbox here: " + (detail[-1] if detail else f"exit {proc.returncode}")
    if stdout.decode("ascii", "replace").split() != PROBE_EXPECTED:
        return f"the bwrap on PATH ({shutil.which('bwrap')}) ran the probe without the jail (not its uid or hostname)"
    return None


#: what the probe runs inside the jail, and what it must print there: the jail's uid and gid and its
#: hostname (a ``bwrap`` that ran it without the jail, a wrapper that drops options, prints others)
PROBE_SCRIPT = "import os; print(os.getuid(), os.getgid(), os.uname().nodename)"
PROBE_EXPECTED = [str(INSIDE_ID), str(INSIDE_ID), "sandbox"]

#: the probe ``check_ahead`` started, for ``available`` to wait for
_probes: list = []


def check_ahead() -> None:
    """Start ``available``'s probe (a jail that runs the interpreter and exits) now, so that it runs
    while the grader loads its modules; ``available`` waits for its answer."""
    if sandbox_disabled() or _probes or available.cache_info().currsize:
        return
    _probes.append(_probe())


def _probe() -> str | tuple[subprocess.Popen, JailCommand, tempfile.TemporaryDirectory]:
    """Why the jail cannot work here, or the probe started: (process, its command, its scratch)."""
    if not shutil.which("bwrap"):
        return "bubblewrap (bwrap) is not installed (Debian/Ubuntu: apt-get install bubblewrap)"
    version = bwrap_version()
    if version is not None and version < BWRAP_MINIMUM:  # unknown: the probe below decides
        return (
            f"bubblewrap {'.'.join(map(str, version))} is too old: the jail sizes every folder it can write "
            f"(--size), which needs bubblewrap {'.'.join(map(str, BWRAP_MINIMUM))} or later (Debian 12, Ubuntu 22.04)"
        )
    try:
        seccomp_program()
    except (ImportError, OSError) as exc:
        return f"cannot build the seccomp filter (pip install pyseccomp; needs libseccomp2): {exc}"
    scratch = tempfile.TemporaryDirectory(prefix="gd-probe-")
    cmd = jail_command([interpreter(), "-I", "-S", "-c", PROBE_SCRIPT], Path(scratch.name))
    try:
        proc = subprocess.Popen(cmd, pass_fds=cmd.pass_fds, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    except OSError as exc:
        cmd.close()
        scratch.cleanup()
        return f"bwrap could not be started: {exc}"
    return proc, cmd, scratch


class SandboxUnavailable(RuntimeError):
    """Student code cannot be run safely on this machine (and the jail was not turned off)."""


def require() -> bool:
    """True when the jail is to be used, False when the operator turned it off; raises
    ``SandboxUnavailable`` (fail closed) when it is wanted but cannot work here."""
    if sandbox_disabled():
        return False
    reason = available()
    if reason:
        raise SandboxUnavailable(
            f"refusing to run student code: {reason} (or set {SWITCH}=off inside a throw-away container)"
        )
    return True
