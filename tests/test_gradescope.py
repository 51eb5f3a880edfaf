"""The Gradescope bundle: built by the CLI, unpacked into a temporary ``/autograder``-shaped tree as
Gradescope does, and ``run_autograder`` run for a solution, the untouched release and a buggy notebook.

``setup.sh`` is not run (it installs system packages); ``run_autograder`` uses this environment's
python, which has the package installed, as Gradescope's image has after ``setup.sh``.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
import zipfile
from pathlib import Path

import jsonschema
import nbformat
import pytest

from helpers import COURSE, REPO, notebook_path, write_notebook

ASSIGNMENT = "02_gradient_descent"
NOTEBOOK = COURSE.assignment(ASSIGNMENT).notebook

# Gradescope's results.json (gradescope-autograders.readthedocs.io, "Autograder Specifications")
_TEST = {
    "type": "object",
    "required": ["name", "score", "max_score", "status", "output"],
    "properties": {
        "name": {"type": "string"},
        "score": {"type": "number"},
        "max_score": {"type": "number"},
        "status": {"enum": ["passed", "failed"]},
        "output": {"type": "string"},
        "output_format": {"enum": ["text", "html", "simple_format", "md", "ansi"]},
        "visibility": {"enum": ["hidden", "after_due_date", "after_published", "visible"]},
        "extra_data": {"type": "object"},
    },
}
RESULTS_SCHEMA = {
    "type": "object",
    "required": ["score", "tests", "output"],
    "properties": {
        "score": {"type": "number"},
        "execution_time": {"type": "number"},
        "output": {"type": "string"},
        "output_format": {"enum": ["text", "html", "simple_format", "md", "ansi"]},
        "visibility": {"enum": ["hidden", "after_due_date", "after_published", "visible"]},
        "stdout_visibility": {"enum": ["hidden", "after_due_date", "after_published", "visible"]},
        "extra_data": {"type": "object"},
        "tests": {"type": "array", "items": _TEST},
        "leaderboard": {"type": "array"},
    },
}


@pytest.fixture(scope="module")
def bundle(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("bundle") / "autograder.zip"
    done = subprocess.run(
        [sys.executable, "-m", "autograder", "gradescope", ASSIGNMENT, "--out", str(out)],
        cwd=REPO,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    return out


def test_bundle_holds_the_grader_not_the_solutions(bundle):
    with zipfile.ZipFile(bundle) as z:
        names = z.namelist()
        modes = {i.filename: i.external_attr >> 16 for i in z.infolist()}
    assert {"setup.sh", "run_autograder", "course.yml", "pyproject.toml", "support/gd_support.py"} <= set(names)
    assert "autograder/suites/gradient_descent.py" in names and "autograder/gradescope.py" in names
    assert not [n for n in names if n.startswith(("solutions/", "tests/", "examples/")) or "__pycache__" in n]
    assert modes["run_autograder"] & stat.S_IXUSR and modes["setup.sh"] & stat.S_IXUSR


def run_autograder(bundle: Path, root: Path, notebook: Path, metadata: dict, path: str | None = None) -> dict:
    """Gradescope's steps: unzip into source/, copy run_autograder up, put the submission in place, run.
    ``path`` replaces the PATH that run_autograder sees."""
    with zipfile.ZipFile(bundle) as z:
        z.extractall(root / "source")
    os.chmod(root / "source", 0o700)  # setup.sh: chmod -R go-rwx /autograder/source
    shutil.copy(root / "source" / "run_autograder", root / "run_autograder")
    (root / "submission").mkdir()
    shutil.copy(notebook, root / "submission" / NOTEBOOK)
    (root / "submission_metadata.json").write_text(json.dumps(metadata))
    (root / "results").mkdir()
    env = {
        **os.environ,
        "AUTOGRADER_ROOT": str(root),
        "PATH": path or f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
    }
    env.pop("GD_COURSE_CONFIG", None)
    done = subprocess.run(
        ["/bin/bash", str(root / "run_autograder")], cwd=root, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    data = json.loads((root / "results" / "results.json").read_text())
    jsonschema.validate(data, RESULTS_SCHEMA)
    return data


def metadata(created_at: str) -> dict:
    return {
        "id": 1,
        "created_at": created_at,
        "assignment": {"due_date": "2027-02-19T23:59:00.000000+00:00", "late_due_date": None, "title": ASSIGNMENT},
        "users": [{"email": "dana@example.org", "id": 7, "name": "Dana"}],
        "previous_submissions": [],
    }


def test_solution_gets_full_marks_on_time(bundle, tmp_path):
    data = run_autograder(
        bundle, tmp_path, notebook_path("solutions", ASSIGNMENT), metadata("2027-02-19T16:00:00.000000-07:00")
    )
    assert data["score"] == COURSE.assignment(ASSIGNMENT).max_score
    assert data["output_format"] == "md" and data["output"].startswith(f"# Feedback: {ASSIGNMENT}, Dana")
    assert "on time" in data["output"] and data["extra_data"]["lateness"]["days_late"] == 0
    # the written answer is kept for whoever grades it, and its points are pending, not 0
    (question,) = COURSE.assignment(ASSIGNMENT).manual
    assert data["extra_data"]["written"][question].strip() and data["extra_data"]["manual"][question]["score"] is None
    assert "**Score: 10 / 13** (auto only, manual pending)" in data["output"]


def test_untouched_release_gets_zero(bundle, tmp_path):
    data = run_autograder(
        bundle, tmp_path, notebook_path("assignments", ASSIGNMENT), metadata("2027-02-10T12:00:00+00:00")
    )
    assert data["score"] == 0 and {t["status"] for t in data["tests"]} == {"failed"}


def test_buggy_notebook_gets_partial_credit_and_the_late_penalty(bundle, tmp_path):
    sample = REPO / "examples" / "sample_student" / ASSIGNMENT / NOTEBOOK
    policy = COURSE.late_policy
    assert policy.penalty_per_day > 0, "the tests' late policy is what this test applies"
    penalty = min(2 * policy.penalty_per_day, policy.max_penalty)
    # 1 day and 12 hours after the due date: 2 started days
    data = run_autograder(bundle, tmp_path, sample, metadata("2027-02-21T11:59:00+00:00"))
    raw = data["extra_data"]["raw_score"]
    assert 0 < raw < COURSE.assignment(ASSIGNMENT).max_score
    late = data["extra_data"]["lateness"]
    assert late["days_late"] == 2 and late["penalty_percent"] == penalty
    assert data["score"] == pytest.approx(round(raw * (1 - penalty / 100), 4)) and data["score"] < raw
    assert f"2 days late, a penalty of {penalty:g}%" in data["output"]
    assert any(t["status"] == "failed" for t in data["tests"]) and any(t["status"] == "passed" for t in data["tests"])


@pytest.mark.skipif(os.geteuid() != 0, reason="Gradescope runs run_autograder as root; this is about leaving root")
def test_without_namespaces_student_code_runs_as_nobody(bundle, tmp_path, public_python):
    # Docker's default seccomp profile refuses the namespaces bwrap needs: with no jail to be had,
    # run_autograder still grades (the container is the boundary), but student code is not root:
    # it can neither write the results folder nor read the bundle that setup.sh made private.
    # (Python is a copy that nobody can run, as Gradescope's /autograder/venv is: ours may live in
    # a home folder nobody can enter.)
    root = tmp_path / "autograder"
    root.mkdir()
    os.chmod(tmp_path, 0o755)
    probe = Path("/tmp") / f"gd-gradescope-probe-{os.getpid()}"
    attack = f"""
import os, pathlib
_probe = {{"uid": os.getuid()}}
for _name, _try in (
    ("forged", lambda: pathlib.Path({str(root)!r}, "results", "forged.json").write_text("{{}}")),
    ("leaked", lambda: pathlib.Path({str(root)!r}, "source", "course.yml").read_text()),
):
    try:
        _try()
        _probe[_name] = True
    except OSError:
        _probe[_name] = False
pathlib.Path({str(probe)!r}).write_text(repr(_probe))
"""
    notebook = write_notebook(ASSIGNMENT, tmp_path / "student", extra=[attack])
    no_bwrap = str(public_python.parent)  # python, but no bwrap on PATH: the jail is unavailable
    try:
        data = run_autograder(bundle, root, notebook, metadata("2027-02-10T12:00:00+00:00"), path=no_bwrap)
        assert data["score"] == COURSE.assignment(ASSIGNMENT).max_score
        assert eval(probe.read_text()) == {"uid": 65534, "forged": False, "leaked": False}
        assert not (root / "results" / "forged.json").exists()
    finally:
        probe.unlink(missing_ok=True)


# ------------------------------------------------------------------- a container without namespaces

# The attack cell: links where root used to act (the results, the bundle, a file of root's, the
# support module's name), a detached process that forges the results and copies out the hidden suites
# whenever it can, for a minute, and an exit, so that the grader starts the worker again.
PLANTS_AND_LEAVES = """
import json, os, pathlib, time
_links = {links!r}
for _name, _target in _links.items():
    try:
        if os.path.lexists(_name):
            os.unlink(_name)
        os.symlink(_target, _name)
    except OSError:
        pass
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        _end = time.time() + 60
        while time.time() < _end:
            try:
                _suites = "\\n".join(p.read_text() for p in pathlib.Path("source/autograder/suites").glob("*.py"))
            except OSError:
                _suites = ""
            _forged = json.dumps({{"score": 10, "output": _suites, "tests": []}})
            for _target in ("results/results.json", "results.json", {root!r} + "/results/results.json"):
                try:
                    pathlib.Path(_target).write_text(_forged)
                except OSError:
                    pass
            time.sleep(0.01)
    os._exit(0)
os._exit(0)
"""

# PID 1 of a new PID and mount namespace, as root: Gradescope's container as far as the grader can
# tell (no bwrap on PATH, cgroups read-only), and afterwards which processes of nobody are left.
CONTAINER = """
import json, os, subprocess, sys
root, path = sys.argv[1:]
subprocess.run(["mount", "-t", "tmpfs", "-o", "ro,size=64k", "gd-no-cgroups", "/sys/fs/cgroup"], check=True)
env = {"PATH": path, "AUTOGRADER_ROOT": root, "HOME": "/root", "LANG": "C.UTF-8"}
done = subprocess.run(["/bin/bash", root + "/run_autograder"], cwd=root, env=env, capture_output=True, text=True)
left = []
for pid in filter(str.isdigit, os.listdir("/proc")):
    try:
        status = open(f"/proc/{pid}/status").read()
    except OSError:
        continue
    fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
    if fields["Uid"].split()[0] == "65534" and not fields["State"].strip().startswith("Z"):
        left.append(pid)
print(json.dumps({"rc": done.returncode, "stdout": done.stdout, "stderr": done.stderr, "left": left}))
"""


@pytest.fixture(scope="module")
def container_python() -> Path:
    """Gradescope's image after setup.sh: a Python any uid can run, whose grader package (imported
    from a folder of root's, mode 0700) nobody else can read."""
    from public_python import build_public_python, world_traversable_tempdir

    folder = world_traversable_tempdir("gd-gradescope-python-")
    grader = folder / "grader"
    grader.mkdir(mode=0o700)
    shutil.copytree(REPO / "autograder", grader / "autograder", ignore=shutil.ignore_patterns("__pycache__"))
    try:
        yield build_public_python(folder / "python", checkout=grader)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _owners_and_contents(top: Path, skip: set[Path]) -> dict[str, tuple]:
    """Owner, group and content of every file and folder under ``top`` (links not followed)."""
    seen = {}
    for path in (top, *sorted(top.rglob("*"))):
        if path in skip or any(parent in skip for parent in path.parents):
            continue
        st = path.lstat()
        content = path.read_bytes() if stat.S_ISREG(st.st_mode) else os.readlink(path) if path.is_symlink() else ""
        seen[str(path)] = (st.st_uid, st.st_gid, content)
    return seen


def _suite_lines() -> set[str]:
    lines = set()
    for path in (REPO / "autograder" / "suites").glob("*.py"):
        lines |= {line.strip() for line in path.read_text().splitlines() if len(line.strip()) >= 25}
    return lines


@pytest.mark.skipif(os.geteuid() != 0, reason="Gradescope runs run_autograder as root; this is about root's fallback")
@pytest.mark.skipif(not shutil.which("unshare"), reason="needs unshare (util-linux) to make the container")
def test_a_container_without_namespaces_gives_the_student_nothing(bundle, container_python):
    from public_python import world_traversable_tempdir

    top = world_traversable_tempdir("gd-gradescope-")
    root = top / "autograder"
    root.mkdir(mode=0o755)
    try:
        victim = top / "roots-own-file"
        victim.write_text("a file of root's\n")
        links = {
            "results": str(root / "results"),
            "results.json": str(root / "results" / "results.json"),
            "source": str(root / "source"),
            "gd_support.py": str(victim),
            "victim": str(victim),
        }
        attack = PLANTS_AND_LEAVES.format(links=links, root=str(root))
        release = nbformat.read(notebook_path("assignments", ASSIGNMENT), as_version=4)  # untouched: worth 0
        first_code = next(i for i, c in enumerate(release.cells) if c.cell_type == "code")
        release.cells.insert(first_code + 1, nbformat.v4.new_code_cell(attack))
        with zipfile.ZipFile(bundle) as z:
            z.extractall(root / "source")
        os.chmod(root / "source", 0o700)  # setup.sh: chmod -R go-rwx /autograder/source
        shutil.copy(root / "source" / "run_autograder", root / "run_autograder")
        (root / "submission").mkdir()
        nbformat.write(release, str(root / "submission" / NOTEBOOK))
        (root / "submission_metadata.json").write_text(json.dumps(metadata("2027-02-10T12:00:00+00:00")))
        (root / "results").mkdir()
        skip = {root / "submission", root / "results" / "results.json"}
        before = _owners_and_contents(root, skip) | _owners_and_contents(victim, set())
        done = subprocess.run(
            ["unshare", "--mount", "--pid", "--fork", "--mount-proc", "--propagation", "private",
             sys.executable, "-I", "-c", CONTAINER, str(root), str(container_python.parent)],
            capture_output=True, text=True, timeout=600,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr[-3000:]
        ran = json.loads(done.stdout.splitlines()[-1])
        assert "without the jail" in ran["stdout"], ran  # the fallback, not the jail, is what was tested
        after = _owners_and_contents(root, skip) | _owners_and_contents(victim, set())
        data = json.loads((root / "results" / "results.json").read_text())
        said = "\n".join([str(data.get("output")), *(str(t.get("output")) for t in data.get("tests", []))])
        wrong = {
            "the grader failed": ran["stderr"][-500:] if ran["rc"] else "",
            "processes of nobody outlived the grading": ran["left"],
            "files outside the submission changed": sorted(k for k in before if before[k] != after.get(k)),
            "score": data["score"] if data["score"] != 0 else "",
            "lines of a suite in the output": len([line for line in _suite_lines() if line in said]),
        }
        assert not {k: v for k, v in wrong.items() if v}
        jsonschema.validate(data, RESULTS_SCHEMA)
        assert data["tests"] and {t["status"] for t in data["tests"]} == {"failed"}
    finally:
        shutil.rmtree(top, ignore_errors=True)
