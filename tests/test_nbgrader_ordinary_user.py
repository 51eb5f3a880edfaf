"""``nbgrader autograde`` run by an ordinary (non-root) instructor over hostile submissions: nothing
is left behind on the host, and no classmate loses a point.

The gd-sandbox kernel this replaces shared one host folder (its sockets) between the kernels of a
run: as an ordinary user, a student's kernel left read-only folders there and every later kernel
was killed at start (honest classmates 10/13 -> 0/13).  Here the hostile students, graded first,
leave read-only folders, files and background processes wherever they can and flood their jail's
folders; the classmates graded after them must keep full marks, and once nbgrader is done no
file, folder or process of the instructor's uid may remain outside the course's own folders.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from nbgrader.api import Gradebook

from autograder.sandbox.unjailed import processes_of

from helpers import COURSE, copy_repo, filled_release, write_notebook

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0 or not shutil.which("setpriv"), reason="needs root, to act as an unused uid (setpriv)"
)
public_python_module = pytest.importorskip("public_python")

GD = "02_gradient_descent"
NOTEBOOK = COURSE.assignment(GD).notebook
SCRATCH = ("/tmp", "/var/tmp", "/dev/shm")
#: leaves what it can wherever it can: read-only folders with files in them, big files, and a
#: process that outlives the notebook (sorted first, so that it is graded before its classmates)
SQUAT = """
import os, subprocess, sys, time
for top in ("/tmp", "/var/tmp", "/dev/shm", os.path.expanduser("~"), "."):
    for i in range(3):
        try:
            folder = os.path.join(top, f"squat-{i}")
            os.makedirs(os.path.join(folder, "inner"), exist_ok=True)
            with open(os.path.join(folder, "inner", "x"), "w") as f:
                f.write("x" * 1000)
            os.chmod(os.path.join(folder, "inner"), 0o555)
            os.chmod(folder, 0o555)
        except OSError:
            pass
    try:
        with open(os.path.join(top, "big"), "wb") as f:
            f.write(b"\\0" * (40 << 20))
    except OSError:
        pass
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        for _ in range(600):
            for top in ("/tmp", "/var/tmp", "/dev/shm"):
                try:
                    open(os.path.join(top, "late-%d" % os.getpid()), "w").close()
                except OSError:
                    pass
            time.sleep(1)
    os._exit(0)
subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"], start_new_session=True)
"""
FORK = """
import os, time
children = []
for _ in range(300):
    try:
        pid = os.fork()
    except OSError:
        break
    if pid == 0:
        time.sleep(600)
        os._exit(0)
    children.append(pid)
"""
MARK = "# written by a student"
WRITE = """
import glob
for path in {targets}:
    for target in glob.glob(path):
        try:
            with open(target, "a") as f:
                f.write("\\n{mark}\\n")
        except OSError:
            pass
"""


def leftovers(uid: int, ours: set[str]) -> list[str]:
    """What ``uid`` has on the host outside ``ours``: entries in the scratch folders, processes."""
    found = []
    for top in SCRATCH:
        for entry in os.scandir(top):
            try:
                if entry.stat(follow_symlinks=False).st_uid == uid and entry.path not in ours:
                    found.append(entry.path)
            except OSError:
                continue
    for pid in processes_of(uid):
        try:
            found.append(f"process {pid}: {Path(f'/proc/{pid}/cmdline').read_bytes()[:200]!r}")
        except OSError:
            continue
    return found


@pytest.fixture()
def instructor(public_python):
    """An unused uid with a world-traversable folder of its own (its home and the course)."""
    uid = public_python_module.unused_uid()
    folder = public_python_module.world_traversable_tempdir(prefix="gd-instructor-")
    yield uid, folder
    for pid in processes_of(uid):  # none if the test passed; that uid was unused before it
        os.kill(pid, signal.SIGKILL)
    shutil.rmtree(folder, ignore_errors=True)


def test_nbgrader_autograde_as_an_ordinary_user_leaves_nothing_and_costs_no_classmate(instructor, public_python):
    uid, folder = instructor
    root = copy_repo(folder / "course")
    home = folder / "home"
    (home / "bin").mkdir(parents=True)
    alembic = home / "bin" / "alembic"  # nbgrader runs `alembic` from PATH; the public venv has no scripts
    alembic.write_text(f'#!/bin/sh\nexec {public_python} -m alembic "$@"\n')
    alembic.chmod(0o755)
    sub = root / "submitted"
    targets = [str(root / "autograder" / "*.py"), str(root / "course.yml"), str(root / "gradebook.db"),
               str(sub / "*" / GD / NOTEBOOK), str(root / "autograded" / "*" / GD / NOTEBOOK)]  # fmt: skip
    write_notebook(GD, sub / "a_squatter" / GD, {}, [SQUAT])
    write_notebook(GD, sub / "b_forker" / GD, {}, [FORK])
    write_notebook(GD, sub / "c_writer" / GD, {}, [WRITE.format(targets=targets, mark=MARK)])
    for classmate in ("d_classmate", "e_classmate"):
        filled_release(GD, sub / classmate / GD)
    for path in (folder, *folder.rglob("*")):
        os.chown(path, uid, uid, follow_symlinks=False)
    ours = {str(folder)}
    before = leftovers(uid, ours)
    assert before == []

    env = {"PATH": f"{Path(public_python).parent}:{home / 'bin'}:/usr/bin:/bin", "HOME": str(home), "LANG": "C.UTF-8",
           "PYTHONPATH": str(root), "GD_COURSE_CONFIG": str(root / "course.yml"),
           "JUPYTER_PATH": str(Path(sys.prefix) / "share" / "jupyter")}  # fmt: skip
    # JUPYTER_PATH: nbconvert's templates (generate_feedback), which the public venv does not hold
    as_instructor = ["setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups", "--", str(public_python)]
    for argv in (["-m", "nbgrader", "generate_assignment", GD, "--force"], ["-m", "nbgrader", "autograde", GD],
                 ["-m", "nbgrader", "generate_feedback", GD], ["-m", "autograder", "grade", "submitted"]):  # fmt: skip
        done = subprocess.run([*as_instructor, *argv], cwd=root, env=env, capture_output=True, text=True)
        assert done.returncode == 0, (argv, done.stdout[-3000:], done.stderr[-3000:])

    assert leftovers(uid, ours) == []
    points = {f"test_{f}": p for f, p in COURSE.assignment(GD).points.items()}
    with Gradebook(f"sqlite:///{root / 'gradebook.db'}") as gb:
        for student in ("a_squatter", "b_forker", "c_writer", "d_classmate", "e_classmate"):
            nb = gb.find_submission_notebook(NOTEBOOK.removesuffix(".ipynb"), GD, student)
            scores = {g.name: g.auto_score for g in nb.grades if g.cell.cell_type == "code"}
            assert scores == points, student  # each wrote correct functions: nobody, classmate or not, lost a point
    written = [p for p in root.rglob("*") if p.is_file() and not p.is_symlink() and MARK.encode() in p.read_bytes()]
    # only its own submission holds its code (and this test's source, copied with the course)
    assert [p for p in written if not {"c_writer", "tests"} & set(p.relative_to(root).parts)] == []
    # what the squatter leaves where it can ("big", not the grader's package cache's big_endian.mat)
    assert not [p for p in folder.rglob("*") if p.name == "big" or p.name.startswith(("squat-", "late-"))]
