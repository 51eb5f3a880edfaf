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

from helpers import COURSE, REPO, notebook_path

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


def run_autograder(bundle: Path, root: Path, notebook: Path, metadata: dict) -> dict:
    """Gradescope's steps: unzip into source/, copy run_autograder up, put the submission in place, run."""
    with zipfile.ZipFile(bundle) as z:
        z.extractall(root / "source")
    shutil.copy(root / "source" / "run_autograder", root / "run_autograder")
    (root / "submission").mkdir()
    shutil.copy(notebook, root / "submission" / NOTEBOOK)
    (root / "submission_metadata.json").write_text(json.dumps(metadata))
    (root / "results").mkdir()
    env = {
        **os.environ,
        "AUTOGRADER_ROOT": str(root),
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
    }
    env.pop("GD_COURSE_CONFIG", None)
    done = subprocess.run(["bash", str(root / "run_autograder")], cwd=root, env=env, capture_output=True, text=True)
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
