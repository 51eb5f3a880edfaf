"""The gd-sandbox kernel (nbgrader's kernel in the jail) and regrade's rules, without nbgrader.

The end-to-end attack (a kernel rewriting the grader and a classmate's notebook during a real
``nbgrader autograde``, then ``regrade --write``) is in test_nbgrader_roundtrip.py, which
shares one autograde run.
"""

from __future__ import annotations

import dataclasses
import json
import os
import queue
import socket
from pathlib import Path

import pytest
from jupyter_client import KernelManager
from traitlets.config import Config

from autograder import kernelspec
from autograder.regrade import Comparison, submitted_notebooks
from autograder.sandbox import jail

from helpers import COURSE, REPO

needs_jail = pytest.mark.skipif(jail.available() is not None, reason=f"no bubblewrap jail here: {jail.available()}")

PROBE = r"""
import json, os, socket, autograder, autograder.kernel
report = {"uid": os.getuid(), "cwd_files": sorted(f for f in os.listdir(".") if not f.startswith("."))}
report["course_visible"] = os.path.exists(COURSE_ROOT)
report["host_socket_visible"] = os.path.exists(HOST_SOCKET)
try:
    open(autograder.kernel.__file__, "a").close()
    report["grader_writable"] = True
except OSError:
    report["grader_writable"] = False
try:
    with open("written_by_kernel.txt", "w") as f:
        f.write("x")
    report["workdir_writable"] = True
except OSError:
    report["workdir_writable"] = False
try:
    socket.create_connection(("1.1.1.1", 53), timeout=2).close()
    report["network"] = True
except OSError:
    report["network"] = False
print("REPORT" + json.dumps(report))
"""


@pytest.fixture()
def sandbox_kernel(tmp_path, monkeypatch):
    """A gd-sandbox kernel started the way nbgrader starts it (configure(), then a KernelManager)."""
    monkeypatch.setenv("JUPYTER_RUNTIME_DIR", str(tmp_path / "runtime"))  # the connection file
    monkeypatch.setenv("JUPYTER_PATH", "")  # configure() changes both, for nbgrader's process
    monkeypatch.setenv("GD_COURSE_CONFIG", "")
    c = Config()
    kernelspec.configure(c, COURSE)
    workdir = tmp_path / "autograded" / "someone" / "01_gradients"
    workdir.mkdir(parents=True)
    (workdir / "gd_support.py").write_text("# the student's copy\n")
    km = KernelManager(kernel_name=c.ExecutePreprocessor.kernel_name, config=c)
    km.start_kernel(cwd=str(workdir))
    client = km.client()
    client.start_channels()
    try:
        client.wait_for_ready(timeout=60)
        yield client, workdir, km
    finally:
        client.stop_channels()
        km.shutdown_kernel(now=True)


def run(client, code: str) -> str:
    out: list[str] = []
    client.execute_interactive(code, timeout=60, output_hook=lambda m: out.append(m["content"].get("text", "")))
    return "".join(out)


def test_configure_points_nbgrader_at_the_sandbox_kernel(monkeypatch):
    monkeypatch.setenv("JUPYTER_PATH", "")  # configure() changes both, for nbgrader's process
    monkeypatch.setenv("GD_COURSE_CONFIG", "")
    c = Config()
    private = kernelspec.configure(c, COURSE)
    assert c.ExecutePreprocessor.kernel_name == "gd-sandbox"
    assert c.KernelManager.transport == "ipc" and Path(c.KernelManager.ip).parent == private / "ipc"
    spec = json.loads((private / "kernels" / "gd-sandbox" / "kernel.json").read_text())
    assert spec["argv"][1:] == ["-m", "autograder.kernelspec", "-f", "{connection_file}"]
    assert spec["interrupt_mode"] == "message"  # signals cannot reach a kernel in its own session
    assert os.environ["JUPYTER_PATH"].split(os.pathsep)[0] == str(private)
    assert os.environ["GD_COURSE_CONFIG"] == str(COURSE.path)


@needs_jail
def test_kernel_sees_only_its_allow_list(sandbox_kernel, tmp_path):
    """Unprivileged, no network, no host Unix socket, the grader read-only, a private copy of its folder."""
    client, workdir, _ = sandbox_kernel
    host = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    host_socket = tmp_path / "host.sock"
    host.bind(str(host_socket))
    host.listen(1)
    try:
        code = f"COURSE_ROOT = {str(REPO)!r}\nHOST_SOCKET = {str(host_socket)!r}\n" + PROBE
        said = run(client, code)
    finally:
        host.close()
    report = json.loads(said.split("REPORT", 1)[1])
    assert report == {
        "uid": jail.INSIDE_ID,
        "cwd_files": ["gd_support.py"],
        "course_visible": False,
        "host_socket_visible": False,
        "grader_writable": False,
        "workdir_writable": True,
        "network": False,
    }
    assert not (workdir / "written_by_kernel.txt").exists()  # the kernel wrote its own copy
    # the grader it must import is a read-only copy that names no path of the course
    assert run(client, "print(autograder.kernel.__file__)").strip() == "/opt/gd/lib/autograder/kernel.py"


@needs_jail
def test_kernel_that_fills_its_sockets_folder_is_stopped(sandbox_kernel):
    """The sockets folder is the one host folder the kernel can write: writing files there ends it."""
    client, _, km = sandbox_kernel
    code = (
        "import json, os\n"
        "folder = os.path.dirname(json.load(open('/opt/gd/kernel.json'))['ip'])\n"
        "for i in range(50):\n"
        "    open(os.path.join(folder, f'junk{i}'), 'w').write('x' * 4096)\n"
        "import time; time.sleep(30)\n"
    )
    assert km.is_alive()
    sent = client.execute(code)
    # wait until the kernel is stopped, or its code ends by itself (its 30 s sleep over): no wall-clock bound
    replied = False
    while km.is_alive() and not replied:
        try:
            replied = client.get_shell_msg(timeout=0.1)["parent_header"].get("msg_id") == sent
        except queue.Empty:
            continue
    assert not km.is_alive()
    folder = Path(km.ip).parent
    assert not any(p.name.startswith("junk") for p in folder.iterdir())


def test_kernel_refuses_to_start_without_the_jail(monkeypatch, capsys, tmp_path):
    monkeypatch.delenv(jail.SWITCH, raising=False)
    monkeypatch.setattr(jail, "available", lambda: "bubblewrap (bwrap) is not installed")
    (tmp_path / "kernel.json").write_text(json.dumps({"transport": "ipc", "ip": str(tmp_path / "k")}))
    assert kernelspec.main(["-f", str(tmp_path / "kernel.json")]) == 1
    assert "refusing to run student code: bubblewrap (bwrap) is not installed" in capsys.readouterr().err


def test_kernel_uses_only_the_sockets_folder_configure_made(monkeypatch, capsys, tmp_path):
    """Started with another ipc folder (a user's Jupyter runtime folder, say), it neither
    empties nor exposes it: it refuses."""
    monkeypatch.delenv(jail.SWITCH, raising=False)
    monkeypatch.setattr(jail, "available", lambda: None)
    runtime = tmp_path / "runtime"
    runtime.mkdir()
    (runtime / "other-kernel.json").write_text("{}")
    (tmp_path / "kernel.json").write_text(json.dumps({"transport": "ipc", "ip": str(runtime / "kernel-ipc")}))
    assert kernelspec.main(["-f", str(tmp_path / "kernel.json")]) == 1
    assert "sockets folder" in capsys.readouterr().err
    assert (runtime / "other-kernel.json").exists()


def test_sockets_folder_is_emptied_before_each_kernel(tmp_path):
    """What an earlier kernel left (a symlink on a socket's name, a folder) is gone for the next."""
    (tmp_path / "kernel-1").symlink_to("/etc/passwd")
    (tmp_path / "left").mkdir()
    (tmp_path / "left" / "x").write_text("x")
    kernelspec._clear(tmp_path)
    assert list(tmp_path.iterdir()) == [] and Path("/etc/passwd").exists()


def test_regrade_refuses_symlinked_notebooks_and_folders(tmp_path):
    submitted = tmp_path / "submitted"
    real = submitted / "honest" / "01_gradients" / "gradients.ipynb"
    real.parent.mkdir(parents=True)
    real.write_text("{}")
    linked = submitted / "linker" / "01_gradients" / "gradients.ipynb"
    linked.parent.mkdir(parents=True)
    linked.symlink_to(real)
    (submitted / "copycat").symlink_to(submitted / "honest")
    course = dataclasses.replace(COURSE, path=tmp_path / "course.yml")
    refused = {s.student: s.refused for s in submitted_notebooks(course, "01_gradients")}
    assert refused["honest"] == ""
    assert "gradients.ipynb is a symbolic link" in refused["linker"]
    assert "copycat is a symbolic link to a folder" in refused["copycat"]


@pytest.mark.parametrize(
    ("in_kernel", "trusted", "flag"),
    [(3.0, 1.0, "higher"), (0.0, 2.0, "lower"), (2.0, 2.0004, ""), (None, 2.0, "missing")],
)
def test_regrade_flags_both_directions(in_kernel, trusted, flag):
    comparison = Comparison("s", "02_gradient_descent", "gd_step", in_kernel, trusted, 2.0)
    assert comparison.flag == flag
    assert comparison.differs == (flag in ("higher", "lower"))
