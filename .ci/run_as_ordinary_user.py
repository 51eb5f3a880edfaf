"""Run tests as an ordinary uid, from root, without creating a user or changing any folder's mode.

The sandbox must hold when the grader is an ordinary user too (README, "How grading works"), so
``.ci/run``, as root, runs the sandbox's tests a second time as a uid that no user and no process of
the machine has (no passwd entry: nothing to create).  Everything that uid needs and might not reach
is made in one temporary folder (under /var/tmp: the jail has a /tmp of its own), removed afterwards:

* ``checkout/``: a copy of this checkout (its files as a fresh clone has them), owned by the uid;
* ``python/``: a Python it can run, with this environment's packages (``tests/public_python.py``),
  importing the grader from that copy;
* ``home/``: its home (the grader keeps its package mirror in ``~/.cache``);

and its TMPDIR is a folder of its own in /tmp (short: a Unix socket's path holds 107 bytes).

    python .ci/run_as_ordinary_user.py [PYTEST ARGUMENT...]
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

CHECKOUT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(CHECKOUT / "tests"))

from autograder.sandbox.unjailed import processes_of  # noqa: E402

from public_python import build_public_python, unused_uid, world_traversable_tempdir  # noqa: E402
from testcourse import copy_repo  # noqa: E402


def chown_tree(folder: Path, uid: int) -> None:
    """Give ``folder`` (our own copies, never links into the machine) to ``uid``."""
    for here, folders, files in os.walk(folder):
        for name in (here, *(os.path.join(here, f) for f in folders + files)):
            os.lchown(name, uid, uid)


def prepare(top: Path, tmp: Path, uid: int) -> tuple[Path, Path, dict[str, str]]:
    """The checkout copy, the Python and the environment the tests run with."""
    checkout = copy_repo(top / "checkout", repo=CHECKOUT, shipped_course=True)
    subprocess.run(["git", "init", "--quiet", str(checkout)], check=True)  # the tests copy it with git ls-files
    python = build_public_python(top / "python", checkout=checkout)
    home = top / "home"
    home.mkdir(mode=0o700)
    for folder in (checkout, home, tmp):
        chown_tree(folder, uid)
    env = {
        "PATH": os.pathsep.join([str(python.parent), "/usr/local/bin", "/usr/bin", "/bin"]),
        "HOME": str(home),
        "TMPDIR": str(tmp),
        "LANG": "C.UTF-8",
        **{k: v for k, v in os.environ.items() if k in ("CI", "TERM")},
    }
    return checkout, python, env


def main() -> int:
    if os.geteuid() != 0:
        raise SystemExit("run_as_ordinary_user.py: only root needs it (an ordinary user runs the tests as itself)")
    uid = unused_uid()
    top = world_traversable_tempdir(prefix="gd-ci-user-")
    tmp = Path(tempfile.mkdtemp(prefix="gd-ci-", dir="/tmp"))  # short: Unix socket paths hold 107 bytes
    try:
        checkout, python, env = prepare(top, tmp, uid)
        print(f"ci: as uid {uid} (no passwd entry), from {top}", flush=True)
        cmd = ["setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups", "--"]
        cmd += [str(python), "-m", "pytest", "-p", "no:cacheprovider", *sys.argv[1:]]
        return subprocess.run(cmd, cwd=checkout, env=env).returncode
    finally:
        for pid in processes_of(uid):  # the uid was unused: whatever runs as it is ours, and must not outlive us
            try:
                os.kill(pid, 9)
            except OSError:
                pass
        shutil.rmtree(top, ignore_errors=True)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
