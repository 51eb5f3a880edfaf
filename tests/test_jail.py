"""The jail's own bounds (issue 16): every writable mount has a size and their sum is the documented
total, and the grader's child may open no socket of any family, by any system call ABI.

Each attack runs in the jail exactly as the grader builds it (``jail_command`` with the grader's
defaults, the rlimits of ``jail.rlimits``), twice: as the user running the tests, and, when that is
root, also as an unprivileged uid (``setpriv``), the way an ordinary grading user runs bwrap.  When the
tests already run as an ordinary user (CI's second half) that second run is the first one.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from autograder.sandbox import jail

REPO = Path(__file__).resolve().parent.parent
NOBODY = 65534

# Runs outside the jail, as the grading user: builds the grader's jail around a program and execs bwrap
# (the descriptors bwrap reads are inheritable, so they survive the exec).
DRIVER = """
import os, sys
from pathlib import Path
lib, scratch, mode, program = sys.argv[1:]
sys.path.insert(0, lib)
from autograder.sandbox import jail
argv = [jail.interpreter(), "-I", "-S", "-c", program]
cmd = jail.jail_command(argv, Path(scratch))
jail.rlimits(jail.JailLimits())()
os.execv(cmd[0], cmd)
"""


def _meminfo_shmem() -> int:
    """Host shared memory (tmpfs pages, memfd, SysV shm) in bytes, as ``free`` shows it."""
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("Shmem:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no Shmem in /proc/meminfo")


def _dev_shm_used() -> int:
    st = os.statvfs("/dev/shm")
    return (st.f_blocks - st.f_bfree) * st.f_frsize


@pytest.fixture(params=["self", "nobody"])
def jailed(request) -> Iterator:
    """``start(program, mode)``: a Popen of ``program`` in the grader's jail, as the test's user or as nobody."""
    private = Path(tempfile.mkdtemp(prefix="gd-jailtest-"))
    os.chmod(private, 0o755)
    (private / "scratch").mkdir()
    prefix: list[str] = []
    python = sys.executable
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": os.environ.get("HOME", "/tmp")}
    if request.param == "nobody":
        if os.geteuid() != 0:
            pytest.skip("the tests run as an ordinary user already: the 'self' run is that half")
        if not shutil.which("setpriv"):
            pytest.skip("setpriv (util-linux) is not installed")
        python = str(request.getfixturevalue("public_python"))  # ours may live in a private home folder
        # what the driver imports, copied where nobody can read it (the checkout may be private)
        shutil.copytree(REPO / "autograder", private / "autograder", ignore=shutil.ignore_patterns("__pycache__"))
        import pyseccomp

        shutil.copy(pyseccomp.__file__, private / "pyseccomp.py")
        for folder, _, files in os.walk(private):
            for name in (folder, *(os.path.join(folder, f) for f in files)):
                os.chown(name, NOBODY, NOBODY)
        prefix = ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups"]
        env = {"PATH": env["PATH"], "HOME": str(private), "XDG_CACHE_HOME": str(private / "cache")}
        lib = str(private)
    else:
        lib = str(REPO)
    procs = []

    def start(program: str, mode: str = "grader") -> subprocess.Popen:
        cmd = [*prefix, python, "-I", "-c", DRIVER, lib, str(private / "scratch"), mode, program]
        proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
        procs.append(proc)
        return proc

    yield start
    for proc in procs:
        proc.kill()
        proc.wait()
    shutil.rmtree(private, ignore_errors=True)


def _report(proc: subprocess.Popen) -> dict:
    """The first line the jailed program prints (a JSON object)."""
    line = proc.stdout.readline()
    if not line:
        proc.wait(timeout=60)
        raise AssertionError(f"the jailed program died: {proc.returncode} {proc.stderr.read().decode()[-2000:]}")
    return json.loads(line)


# ------------------------------------------------------------------------------- writable mounts

# Inside the jail: find every mount (and every folder of every tmpfs), write into each until it is
# full, also into memfd and SysV shared memory (host shared memory that no mount bounds); report the
# bytes each took, then hold them until told to stop.  CAP bounds the attack itself (the jail before
# the fix let it fill half the machine's RAM per mount).
FILL = """
import ctypes, json, os, sys
CAP, CHUNK, PER_FILE = {cap}, 1 << 20, 8 << 20
block = b"x" * CHUNK
total = 0

def unescape(path):
    return path.encode().decode("unicode_escape")

def fill(folder):
    global total
    written, n = 0, 0
    while total < CAP:
        try:
            fd = os.open(os.path.join(folder, ".fill-%d" % n), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except OSError:
            return written
        n += 1
        try:
            for _ in range(PER_FILE // CHUNK):
                if total >= CAP:
                    break
                done = os.write(fd, block)
                written += done
                total += done
        except OSError:
            return written
        finally:
            os.close(fd)
    return written

mounts = []
for line in open("/proc/self/mountinfo"):
    fields = line.split()
    mounts.append((unescape(fields[4]), fields[fields.index("-") + 1]))
points = {{m for m, _ in mounts}}
report = {{"mounts": {{}}, "memfd": 0, "sysv_shm": 0}}
libc = ctypes.CDLL(None, use_errno=True)
libc.shmat.restype = ctypes.c_void_p
libc.shmat.argtypes = (ctypes.c_int, ctypes.c_void_p, ctypes.c_int)
held = []
for _ in range(8):
    try:
        fd = os.memfd_create("fill")
        os.ftruncate(fd, PER_FILE)
        os.write(fd, block * (PER_FILE // CHUNK))
    except OSError:
        break
    held.append(fd)
    report["memfd"] += PER_FILE
for _ in range(8):
    segment = libc.shmget(0, PER_FILE, 0o1600)
    if segment < 0:
        break
    address = libc.shmat(segment, None, 0)
    if address in (None, ctypes.c_void_p(-1).value):
        break
    ctypes.memset(address, 1, PER_FILE)
    libc.shmdt(ctypes.c_void_p(address))
    report["sysv_shm"] += PER_FILE
total = report["memfd"] + report["sysv_shm"]
for point, fstype in mounts:
    folders = [point]
    if fstype == "tmpfs":
        for root, dirs, _ in os.walk(point):
            dirs[:] = [d for d in dirs if os.path.join(root, d) not in points]
            folders += [os.path.join(root, d) for d in dirs]
    for folder in folders:
        got = fill(folder)
        if got:
            report["mounts"][point] = report["mounts"].get(point, 0) + got
            break
print(json.dumps(report), flush=True)
sys.stdin.read()
"""


def test_filling_every_writable_mount_stops_at_the_documented_total(jailed):
    limits = jail.JailLimits()
    sized = {jail.HOME: limits.home_mb << 20, "/tmp": limits.tmp_mb << 20, "/dev/shm": limits.shm_mb << 20}
    documented = limits.writable_mb << 20
    assert documented == sum(sized.values()) < limits.memory_mb << 20
    shmem, dev_shm = _meminfo_shmem(), _dev_shm_used()
    proc = jailed(FILL.format(cap=documented + (128 << 20)))
    report = _report(proc)
    shmem_growth, dev_shm_growth = _meminfo_shmem() - shmem, _dev_shm_used() - dev_shm
    proc.stdin.close()
    proc.wait(timeout=60)
    written = sum(report["mounts"].values())
    assert report["memfd"] == report["sysv_shm"] == 0, report
    assert set(report["mounts"]) <= set(sized), report  # nothing else is writable
    assert all(got <= sized[point] for point, got in report["mounts"].items()), report
    assert documented - (4 << 20) <= written <= documented, report  # it really filled them
    # host shared memory: the jail's tmpfs pages (other graders on this machine add a little noise)
    assert shmem_growth <= documented + (32 << 20), (shmem_growth, report)
    assert dev_shm_growth <= documented, dev_shm_growth


# ------------------------------------------------------------------------------------- sockets

# Inside the jail: every address family 0..63 (AF_MAX is 46 on Linux 6.x), every socket type,
# every netlink protocol, socket() and socketpair(); families with high bits set (the kernel reads
# an int); i386's socket and socketcall through int 0x80 and x32's socket (other ABIs of this
# kernel); io_uring (whose IORING_OP_SOCKET opens sockets without the socket system call).
SOCKETS = r"""
import ctypes, json, mmap, os, socket, struct
libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long
opened = []
for family in range(64):
    for kind in (socket.SOCK_STREAM, socket.SOCK_DGRAM, socket.SOCK_SEQPACKET, socket.SOCK_RAW):
        for protocol in range(32) if family == socket.AF_NETLINK else (0,):
            try:
                socket.socket(family, kind, protocol).close()
                opened.append(["socket", family, kind, protocol])
            except OSError:
                pass
        try:
            for s in socket.socketpair(family, kind):
                s.close()
            opened.append(["socketpair", family, kind, 0])
        except OSError:
            pass
for family in (socket.AF_UNIX, socket.AF_INET, socket.AF_NETLINK, 40):
    fd = libc.syscall(ctypes.c_long(41), ctypes.c_long(1 << 32 | family), ctypes.c_long(2), ctypes.c_long(0))
    if fd >= 0:
        opened.append(["socket", 1 << 32 | family, 2, 0])

def in_child(call):
    pid = os.fork()
    if pid == 0:
        os._exit(0 if call() >= 0 else 1)
    _, status = os.waitpid(pid, 0)
    if os.WIFSIGNALED(status):
        return "killed by signal %d" % os.WTERMSIG(status)
    return "opened" if os.WEXITSTATUS(status) == 0 else "refused"

def i386(number, ebx, ecx_of):
    buf = mmap.mmap(-1, 4096, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS | 0x40,
                    prot=mmap.PROT_READ | mmap.PROT_WRITE | mmap.PROT_EXEC)
    base = ctypes.addressof(ctypes.c_char.from_buffer(buf))
    buf[256:268] = struct.pack("<3I", socket.AF_INET, socket.SOCK_DGRAM, 0)
    code = (b"\x53\xb8" + struct.pack("<I", number) + b"\xbb" + struct.pack("<I", ebx)
            + b"\xb9" + struct.pack("<I", ecx_of(base)) + b"\x31\xd2\xcd\x80\x5b\xc3")
    buf[:len(code)] = code
    return ctypes.CFUNCTYPE(ctypes.c_int)(base)()

report = {
    "opened": opened,
    "i386 socket": in_child(lambda: i386(359, socket.AF_INET, lambda base: socket.SOCK_DGRAM)),
    "i386 socketcall": in_child(lambda: i386(102, 1, lambda base: base + 256)),
    "x32 socket": in_child(lambda: libc.syscall(ctypes.c_long(0x40000000 | 41), 2, 2, 0)),
    "io_uring_setup": in_child(lambda: libc.syscall(ctypes.c_long(425), 8, ctypes.create_string_buffer(120))),
}
print(json.dumps(report), flush=True)
"""

FOREIGN = ("i386 socket", "i386 socketcall", "x32 socket", "io_uring_setup")


def _opened(report: dict) -> set[tuple]:
    """``(call, family, type, protocol)`` of every socket the probe could open."""
    return {tuple(entry) for entry in report["opened"]}


def test_probe_of_sockets_finds_them_outside_the_jail():
    """The probe below is able to open sockets: unjailed, it does (else the jailed runs prove nothing)."""
    proc = subprocess.run([sys.executable, "-I", "-S", "-c", SOCKETS], capture_output=True, text=True, timeout=120)
    report = json.loads(proc.stdout)
    opened = _opened(report)
    assert {("socket", 2, 1, 0), ("socketpair", 1, 1, 0), ("socket", 1 << 32 | 2, 2, 0)} <= opened, opened
    if platform.machine() == "x86_64":  # the probe's int 0x80 is x86 code
        assert report["i386 socket"] == report["i386 socketcall"] == "opened", report


def test_grader_child_opens_no_socket_of_any_family(jailed):
    report = _report(jailed(SOCKETS))
    assert report["opened"] == [], report
    assert all(report[way] != "opened" for way in FOREIGN), report


# ------------------------------------------------------------------------- where --size is missing


def test_bubblewrap_without_size_fails_closed(tmp_path, monkeypatch):
    """bubblewrap older than 0.5.0 (Ubuntu 20.04's 0.4.0) has no --size: the grader refuses, saying why."""
    fake = tmp_path / "bwrap"
    fake.write_text(
        '#!/bin/sh\n[ "$1" = --version ] && echo "bubblewrap 0.4.0" && exit 0\n'
        'echo "bwrap: Unknown option --size" >&2\nexit 1\n'
    )
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path}:{os.environ['PATH']}")
    monkeypatch.delenv(jail.SWITCH, raising=False)
    jail.available.cache_clear()
    try:
        assert jail.bwrap_version() == (0, 4, 0)
        assert "needs bubblewrap 0.5.0" in (jail.available() or "")
        with pytest.raises(jail.SandboxUnavailable, match="0.5.0"):
            jail.require()
    finally:
        jail.available.cache_clear()


def test_folders_larger_than_the_memory_limit_are_refused():
    assert jail.JailLimits().writable_mb == 144
    with pytest.raises(ValueError, match="memory limit"):
        jail.JailLimits(memory_mb=128)


@pytest.mark.parametrize("version", ["0.4.0", "0.8.0"])
def test_a_bwrap_that_runs_commands_without_the_jail_is_refused_before_any_student_code(tmp_path, version):
    """A ``bwrap`` first on PATH that runs what it is given without a jail (a wrapper that drops its
    options, a stub): the probe sees it got no jail (not the jail's uid and hostname), so ``grade``
    refuses in one line (exit 2), no student cell runs and nothing is filed."""
    from helpers import REPO, write_notebook

    fake = tmp_path / "bin" / "bwrap"
    fake.parent.mkdir()
    fake.write_text(
        f'#!/bin/sh\n[ "$1" = --version ] && echo "bubblewrap {version}" && exit 0\n'
        'while [ "$#" -gt 0 ] && [ "$1" != -- ]; do shift; done; shift; exec "$@"\n'
    )
    fake.chmod(0o755)
    marker = tmp_path / "ran-unjailed"
    nb = write_notebook("01_gradients", tmp_path / "s" / "01_gradients", extra=[f"open({str(marker)!r}, 'w').write('x')\n"])
    env = {k: v for k, v in os.environ.items() if k != jail.SWITCH}
    env["PATH"] = f"{fake.parent}:{env['PATH']}"
    env["XDG_CACHE_HOME"] = str(tmp_path / "cache")
    out = tmp_path / "out"
    done = subprocess.run(
        [sys.executable, "-m", "autograder", "grade", str(nb), "--out", str(out)],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 2, done.stderr
    assert done.stderr.startswith("error: refusing to run student code") and done.stderr.count("\n") == 1, done.stderr
    assert not marker.exists()
    assert not list(out.glob("**/results.json"))
