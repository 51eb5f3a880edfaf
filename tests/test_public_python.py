"""tests/public_python.py: a Python that another uid can run, made without changing the machine."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from public_python import build_public_python, world_traversable_tempdir

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="acting as another uid needs root")

NOBODY = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--"]


def snapshot(path: Path) -> tuple:
    st = path.stat()
    return st.st_mode, st.st_uid, st.st_mtime_ns, st.st_size, path.read_bytes()


def test_nobody_runs_the_copy_with_our_packages(public_python, tmp_path):
    probe = "import sys, numpy, scipy, matplotlib, nbformat; print(sys.prefix)"
    tmp_path.chmod(0o777)  # matplotlib's cache
    done = subprocess.run(
        [*NOBODY, str(public_python), "-I", "-c", probe],
        env={"PATH": "/usr/bin:/bin", "HOME": "/nonexistent", "MPLCONFIGDIR": str(tmp_path)},
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    assert Path(done.stdout.strip()) == public_python.parent.parent  # the copy's venv, not ours


def test_building_it_changes_nothing_outside_its_folder():
    """Hard links share their file with the original: the copy of the binary (whose RUNPATH may be
    rewritten) must be a copy, and no mode above the interpreter may change."""
    binary = Path(os.path.realpath(getattr(sys, "_base_executable", None) or sys.executable))
    folders = [binary.parent, *binary.parent.parents]
    before = [snapshot(binary), *(p.stat().st_mode for p in folders)]
    top = world_traversable_tempdir(prefix="gd-public-python-test-")
    try:
        build_public_python(top / "python")
        assert [snapshot(binary), *(p.stat().st_mode for p in folders)] == before
    finally:
        shutil.rmtree(top)
