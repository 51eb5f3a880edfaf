"""Student code without the jail (``AUTOGRADER_SANDBOX=off``, Gradescope's fallback): no file operation
of the grader's goes through anything the child could write (issue 16).

A first cell plants symbolic links where the grader used to act as root (its support module's
name, a folder's name), a FIFO, a deep tree and a locked folder, then kills Python, so the worker
starts again.  The restart must change no file the links point to (owner, mode, content), the
functions must still answer, and the child's folder must be gone once the sandbox is closed.

Twice: with the grader as root (its child is ``nobody``), and with the grader as an ordinary uid
(``setpriv``; its child is that uid), each through a Python that uid can run (``public_python``).
When the tests run as an ordinary user already, the second half is that run.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from public_python import build_public_python, unused_uid, world_traversable_tempdir

REPO = Path(__file__).resolve().parent.parent

# Runs as the grading user (root, or an ordinary uid): one sandbox without the jail, one call.
DRIVER = """
import json, os, sys
from pathlib import Path
lib, scratch, support, plant = sys.argv[1:]
sys.path.insert(0, lib)
os.environ["AUTOGRADER_SANDBOX"] = "off"
from autograder.sandbox.client import Sandbox
cells = [
    {"index": 0, "source": plant, "mode": "full"},
    {"index": 1, "source": "import gd_support\\ndef answer():\\n    return 42\\n", "mode": "full"},
]
with Sandbox(cells, Path(scratch), [support]) as sandbox:
    outcome = sandbox.call("answer")
    print(json.dumps({"status": str(outcome.status), "value": outcome.value, "restarts": sandbox.restarts}))
"""

# The first cell, in the child: links to the victims, and what a removal as root could trip over.
PLANT = """
import os, pathlib
pathlib.Path({drop!r}, "cwd").write_text(os.getcwd())
for name, target in {links!r}.items():
    if os.path.lexists(name):
        os.unlink(name)
    os.symlink(target, name)
os.mkfifo("a-fifo")
os.makedirs("/".join(["deep"] * 120))
os.mkdir("locked")
pathlib.Path("locked", "inside").write_text("x")
os.chmod("locked", 0)
os._exit(3)
"""


@pytest.fixture(scope="module")
def python() -> Iterator[Path]:
    """A Python (with this environment's packages) that every uid can run."""
    folder = world_traversable_tempdir("gd-unjailed-python-")
    try:
        yield build_public_python(folder / "python")
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _snapshot(paths: list[Path]) -> dict[str, tuple]:
    """Owner, group, mode and content of each path (not following a link)."""
    seen = {}
    for path in paths:
        st = path.lstat()
        content = path.read_bytes() if stat.S_ISREG(st.st_mode) else b""
        seen[str(path)] = (st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode), content)
    return seen


@pytest.mark.parametrize("grader", ["root", "ordinary"])
def test_a_restart_acts_on_nothing_the_child_planted(grader, python, tmp_path):
    if grader == "root" and os.geteuid() != 0:
        pytest.skip("the tests run as an ordinary user: the 'ordinary' half is this run")
    as_other = grader == "ordinary" and os.geteuid() == 0
    uid = unused_uid() if as_other else os.geteuid()
    top = world_traversable_tempdir("gd-unjailed-")
    try:
        lib, scratch, drop, victims = top / "lib", top / "scratch", top / "drop", top / "victims"
        shutil.copytree(REPO / "autograder", lib / "autograder", ignore=shutil.ignore_patterns("__pycache__"))
        shutil.copytree(REPO / "support", lib / "support")
        for folder in (scratch, drop, victims / "folder"):
            folder.mkdir(parents=True)
        (scratch / "data.csv").write_text("1,2\n")
        (victims / "file").write_text("the grader's own file\n")
        drop.chmod(0o1777)
        if as_other:  # what an ordinary grading user has: its own files
            for path in (top, *top.rglob("*")):
                os.chown(path, uid, uid, follow_symlinks=False)
        before = _snapshot([victims / "file", victims / "folder", victims])
        links = {
            "gd_support.py": str(victims / "file"),
            "data.csv": str(victims / "file"),
            "results": str(victims / "folder"),
        }
        plant = PLANT.format(drop=str(drop), links=links)
        prefix = ["setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups"] if as_other else []
        done = subprocess.run(
            [*prefix, str(python), "-I", "-c", DRIVER, str(lib), str(scratch), str(lib / "support"), plant],
            capture_output=True,
            text=True,
            timeout=300,
            env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(top)},
        )
        assert done.returncode == 0, done.stderr[-3000:]
        said = json.loads(done.stdout.splitlines()[-1])
        assert said == {"status": "ok", "value": 42, "restarts": 1}
        assert _snapshot([victims / "file", victims / "folder", victims]) == before
        assert not Path((drop / "cwd").read_text()).exists(), "the child's folder is left behind"
    finally:
        subprocess.run(["chmod", "-R", "u+rwX", str(top)], capture_output=True)
        shutil.rmtree(top, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-q"]))
