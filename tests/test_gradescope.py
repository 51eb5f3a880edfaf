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
    assert data["score"] == COURSE.assignment(ASSIGNMENT).max_score == 10
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
    assert policy.penalty_per_day > 0, "course.yml's late policy is what this test applies"
    penalty = min(2 * policy.penalty_per_day, policy.max_penalty)
    # 1 day and 12 hours after the due date: 2 started days
    data = run_autograder(bundle, tmp_path, sample, metadata("2027-02-21T11:59:00+00:00"))
    raw = data["extra_data"]["raw_score"]
    assert 0 < raw < 10
    late = data["extra_data"]["lateness"]
    assert late["days_late"] == 2 and late["penalty_percent"] == penalty
    assert data["score"] == pytest.approx(round(raw * (1 - penalty / 100), 4)) and data["score"] < raw
    assert f"2 days late, a penalty of {penalty:g}%" in data["output"]
    assert any(t["status"] == "failed" for t in data["tests"]) and any(t["status"] == "passed" for t in data["tests"])


@pytest.mark.skipif(os.geteuid() != 0, reason="Gradescope runs run_autograder as root; this is about leaving root")
def test_without_namespaces_student_code_runs_as_nobody(bundle, tmp_path):
    # Docker's default seccomp profile refuses the namespaces bwrap needs: with no jail to be had,
    # run_autograder still grades (the container is the boundary), but student code is not root:
    # it can neither write the results folder nor read the bundle that setup.sh made private.
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
    no_bwrap = str(Path(sys.executable).parent)  # python, but no bwrap on PATH: the jail is unavailable
    try:
        data = run_autograder(bundle, root, notebook, metadata("2027-02-10T12:00:00+00:00"), path=no_bwrap)
        assert data["score"] == COURSE.assignment(ASSIGNMENT).max_score
        assert eval(probe.read_text()) == {"uid": 65534, "forged": False, "leaked": False}
        assert not (root / "results" / "forged.json").exists()
    finally:
        probe.unlink(missing_ok=True)
