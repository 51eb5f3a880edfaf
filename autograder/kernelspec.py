"""The ``gd-sandbox`` Jupyter kernel: the kernel ``nbgrader autograde`` starts, in the jail.

``nbgrader autograde`` runs each submitted notebook, hidden test cells included, in a kernel.
With a plain ``python3`` kernel student code could rewrite the grader on disk, classmates'
notebooks and the gradebook.  ``nbgrader_config.py`` calls :func:`configure`, which makes
nbgrader start this kernel instead: ``python -m autograder.kernelspec -f CONNECTION_FILE``
(this module's :func:`main`), which starts ipykernel inside the jail of
``autograder/sandbox/jail.py`` (bubblewrap + seccomp), the same one the grader's child uses:

* it sees the interpreter, the packages student code may import plus ipykernel and what the
  hidden test cells import (pyyaml, jsonschema), **the grader package read-only** (nbgrader's
  hidden cells run ``from autograder.kernel import grade_function`` in the kernel: that is
  nbgrader's design, and why ``python -m autograder regrade`` is the trusted score), and a
  copy of course.yml and of ``support/gd_support.py``;
* its working folder is a private tmpfs holding a *copy* of the notebook's folder: what it
  writes there is thrown away.  The only host folder it can write is a private, per-run,
  empty folder for the kernel's ZeroMQ sockets; the launcher stays the jail's parent and
  stops a kernel that writes anything else there;
* it talks to nbgrader over ZeroMQ's ``ipc`` transport (Unix sockets in that folder), not
  TCP, so it keeps a network namespace of its own: no network at all.  For that the jail
  lets this kernel (and only it) create Unix and NETLINK_ROUTE sockets; in a private
  network namespace with nothing of the host's file system visible but that folder, they
  reach nothing outside the jail;
* nbgrader interrupts a cell that runs too long by a message (``interrupt_mode``), since
  the jail's ``--new-session`` keeps signals to nbgrader's process group away from it.

Nothing needs installing: :func:`configure` writes the kernelspec into a private temporary
folder and puts it on ``JUPYTER_PATH`` for the nbgrader process.  Without bubblewrap the
kernel refuses to start (fail closed), unless ``AUTOGRADER_SANDBOX=off`` says the machine
itself is the boundary (a throw-away container), in which case it is a plain ipykernel.
"""

from __future__ import annotations

import argparse
import atexit
import dataclasses
import json
import os
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
from pathlib import Path

from .config import Course, find_course_file, load_course

KERNEL_NAME = "gd-sandbox"
#: what the kernel may import besides the student packages: ipykernel, and what
#: ``autograder.kernel`` (the hidden test cells) needs
KERNEL_PACKAGES = ("ipykernel", "pyyaml", "jsonschema")
#: the sockets folder holds ZeroMQ's five sockets; a kernel that writes more there is stopped
MAX_SOCKET_ENTRIES = 8
MAX_SOCKET_BYTES = 64 * 1024
#: inside the jail: the connection file, course.yml, the support module (read-only copies) and
#: the grader package (read-only, under lib/): no path of the course is named inside
INSIDE = "/opt/gd"


def kernelspec(python: str = sys.executable) -> dict:
    """The kernel.json of ``gd-sandbox``."""
    return {
        "argv": [python, "-m", "autograder.kernelspec", "-f", "{connection_file}"],
        "display_name": "Python 3 (gd-course sandbox)",
        "language": "python",
        "interrupt_mode": "message",
        "metadata": {"debugger": False},
    }


def configure(c, course: Course) -> Path:
    """Make nbgrader (the traitlets config ``c``) run notebooks in the ``gd-sandbox`` kernel.

    Writes the kernelspec into a private temporary folder (removed when nbgrader exits),
    puts it on ``JUPYTER_PATH``, and has the kernel manager use ZeroMQ's ``ipc`` transport
    with its sockets in that folder's ``ipc/``.  Returns the folder.
    """
    private = Path(tempfile.mkdtemp(prefix="gd-nbgrader-"))  # main() recognises it by this name
    atexit.register(shutil.rmtree, private, True)
    spec_dir = private / "kernels" / KERNEL_NAME
    spec_dir.mkdir(parents=True)
    (spec_dir / "kernel.json").write_text(json.dumps(kernelspec(), indent=1))
    (private / "ipc").mkdir(mode=0o700)
    os.environ["JUPYTER_PATH"] = os.pathsep.join(filter(None, [str(private), os.environ.get("JUPYTER_PATH")]))
    # the kernel's grade_function reads this course.yml, not one a submission brings along
    os.environ["GD_COURSE_CONFIG"] = str(course.path)
    c.ExecutePreprocessor.kernel_name = KERNEL_NAME
    c.KernelManager.transport = "ipc"
    c.KernelManager.ip = str(private / "ipc" / "kernel")
    return private


def _our_sockets_folder(connection: dict) -> bool:
    """Is the connection's sockets folder one that :func:`configure` made?  Only that one is
    emptied and shown to the kernel (never, say, a Jupyter runtime folder of the user's)."""
    if connection.get("transport") != "ipc":
        return False
    folder = Path(connection.get("ip", "")).parent
    private = folder.parent
    return (
        folder.name == "ipc"
        and private.name.startswith("gd-nbgrader-")
        and (private / "kernels" / KERNEL_NAME / "kernel.json").is_file()
        and not folder.is_symlink()
        and folder.stat().st_uid == os.getuid()
    )


def _clear(folder: Path) -> None:
    """Empty the sockets folder: what an earlier kernel left there (a planted symlink, a file
    on a socket's name) must not reach the next student's kernel or nbgrader."""
    for entry in folder.iterdir():
        if stat.S_ISDIR(entry.lstat().st_mode):
            shutil.rmtree(entry, ignore_errors=True)
        else:
            entry.unlink(missing_ok=True)


def _limits(course: Course):
    from .sandbox import jail

    memory = max(a.limits.memory_mb for a in course.assignments)
    seconds = int(max(a.limits.notebook_seconds for a in course.assignments) * 3) + 60
    return dataclasses.replace(jail.JailLimits(), memory_mb=memory, cpu_seconds=seconds)


def jailed_kernel(connection: dict, extra: list[str], workdir: Path, course: Course):
    """The jail command line (a ``jail.JailCommand``) that runs ipykernel for ``connection``."""
    from .sandbox import jail

    ipc_dir = Path(connection["ip"]).parent
    package = Path(__file__).resolve().parent  # this grader, the one nbgrader_config.py chose
    support = course.root / "support" / "gd_support.py"
    files = {
        f"{INSIDE}/kernel.json": json.dumps(connection).encode(),
        f"{INSIDE}/course.yml": course.path.read_bytes(),
    }
    if support.is_file():
        files[f"{INSIDE}/support/gd_support.py"] = support.read_bytes()
    argv = [jail.interpreter(), "-m", "ipykernel_launcher", "-f", f"{INSIDE}/kernel.json", *extra]
    return jail.jail_command(
        argv,
        workdir,
        ro_binds=[(package, f"{INSIDE}/lib/autograder")],
        files=files,
        rw_binds=[ipc_dir],
        env={
            "PYTHONPATH": os.pathsep.join([jail.SITE, f"{INSIDE}/lib", f"{INSIDE}/support"]),
            "GD_COURSE_CONFIG": f"{INSIDE}/course.yml",
            # our parent inside the jail is its init (pid 1): ipykernel then neither polls for
            # it (--die-with-parent ends the kernel with us) nor prints its terminal banner
            "JPY_PARENT_PID": "1",
        },
        packages=(*jail.STUDENT_PACKAGES, *KERNEL_PACKAGES),
        limits=_limits(course),
        allow_local_sockets=True,
    )


def main(argv: list[str] | None = None) -> int:
    """Start ipykernel in the jail, as nbgrader asked, and wait for it (guarding its sockets folder)."""
    parser = argparse.ArgumentParser(prog="python -m autograder.kernelspec", description=__doc__.splitlines()[0])
    parser.add_argument("-f", dest="connection_file", required=True, help="the connection file from Jupyter")
    args, extra = parser.parse_known_args(argv)
    from .sandbox import jail

    if jail.sandbox_disabled():
        plain = [sys.executable, "-m", "ipykernel_launcher", "-f", args.connection_file, *extra]
        os.execv(sys.executable, plain)
    reason = jail.available()
    if reason:
        print(f"{KERNEL_NAME}: refusing to run student code: {reason}", file=sys.stderr)
        return 1
    connection = json.loads(Path(args.connection_file).read_text())
    if not _our_sockets_folder(connection):
        print(f"{KERNEL_NAME}: needs the ipc transport and sockets folder nbgrader_config.py sets up", file=sys.stderr)
        return 1
    course = load_course(os.environ.get("GD_COURSE_CONFIG") or find_course_file())
    sockets = Path(connection["ip"]).parent
    _clear(sockets)
    cmd = jailed_kernel(connection, extra, Path.cwd(), course)
    # jupyter_client ends the kernel by a message, else by killing this process: bwrap's
    # --die-with-parent then ends the jail with us
    kernel = subprocess.Popen(cmd, pass_fds=cmd.pass_fds, preexec_fn=jail.rlimits(_limits(course)))
    cmd.close()
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # an interrupt is for the kernel (by message), not us
    return _guard(kernel, sockets)


def _guard(kernel: subprocess.Popen, sockets: Path, every: float = 0.2) -> int:
    """Wait for the kernel, stopping it if it fills its sockets folder (host disk) with more
    than ZeroMQ's sockets; return its exit status."""
    while True:
        try:
            return kernel.wait(timeout=every)
        except subprocess.TimeoutExpired:
            pass
        try:
            entries = list(os.scandir(sockets))
            used = sum(e.stat(follow_symlinks=False).st_size for e in entries)
        except OSError:
            entries, used = [], 0
        if len(entries) > MAX_SOCKET_ENTRIES or used > MAX_SOCKET_BYTES:
            kernel.kill()
            kernel.wait()
            _clear(sockets)
            print(f"{KERNEL_NAME}: stopped: the kernel wrote files into its sockets folder", file=sys.stderr)
            return 1


if __name__ == "__main__":
    raise SystemExit(main())
