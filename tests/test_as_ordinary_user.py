"""The sandbox's tests once more, as an ordinary uid, when the suite runs as root (as CI runs it).

The sandbox must hold when the grader is an ordinary user too (README, "How grading works"): no
pids cgroup then, ``RLIMIT_NPROC`` counting, bwrap without privileges.  As root, this runs
``tests/test_jail.py``, ``test_hostile.py`` and ``test_sandbox.py`` in a pytest of their own as a
uid that no user and no process of the machine has (``.ci/run_as_ordinary_user.py``: no user is
created, no folder's mode changed).  It is one test of this suite, so xdist runs it beside the
others rather than after them.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest

from helpers import REPO

SANDBOX_TESTS = ("tests/test_jail.py", "tests/test_hostile.py", "tests/test_sandbox.py")


@pytest.mark.skipif(os.geteuid() != 0, reason="the suite runs as an ordinary user already")
@pytest.mark.skipif(not shutil.which("setpriv"), reason="setpriv (util-linux) is not installed")
def test_the_sandbox_tests_pass_as_an_ordinary_uid():
    done = subprocess.run(
        [sys.executable, str(REPO / ".ci" / "run_as_ordinary_user.py"), "-q", "-rs", *SANDBOX_TESTS],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-3000:]
    assert " passed" in done.stdout and " failed" not in done.stdout, done.stdout[-3000:]
