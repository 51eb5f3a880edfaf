"""An instructor's own term in course.yml cannot turn the suite red.

The tests read the course they are written against (``testcourse.py``), never the shipped file's
dates, late policy, extensions, reports per day, time limits or seeds.  Proof: the tests that read
those values run here, in a copy of the repository whose course.yml an instructor has set for
another term, and pass.
"""

from __future__ import annotations

import os
import subprocess
import sys

import yaml

from autograder.config import load_course

from helpers import COURSE
from testcourse import copy_repo

#: the tests that used to read the shipped course.yml's term (dates, policy, extensions, limits)
AFFECTED = ["tests/test_config.py", "tests/test_lateness.py", "tests/test_gradescope.py"]


def another_term(data: dict) -> dict:
    """course.yml's data with everything an instructor sets per term changed (not the assignments'
    points and written questions, which the notebooks fix)."""
    for i, a in enumerate(data["assignments"]):
        a["due"] = f"2031-{9 + i:02d}-0{1 + i}T08:15:00+02:00"
        a["seed"] = 7 + i
        a["time_limits"] = {"call_seconds": 20}
    data["time_limits"] = {"call_seconds": 15, "cell_seconds": 60, "notebook_seconds": 300, "memory_mb": 3072}
    data["late_policy"] = {"penalty_per_day": 0, "max_penalty": 100, "grace_minutes": 0}  # no late work at all
    data["extensions"] = [
        {"student": name, "hours": 72} for name in ("alice", "bob", "carol", "dana", "Dana", "erin", "student")
    ]
    data["feedback_per_day"] = 1
    return data


def test_the_suite_ignores_the_instructors_term(tmp_path):
    repo = copy_repo(tmp_path / "repo", shipped_course=True)
    subprocess.run(["git", "init", "--quiet", str(repo)], check=True)  # its tests copy it with git ls-files
    shipped = repo / "course.yml"
    shipped.write_text(yaml.safe_dump(another_term(yaml.safe_load(shipped.read_text())), sort_keys=False))
    theirs = load_course(shipped)
    assert theirs.late_policy != COURSE.late_policy and theirs.extensions and theirs.feedback_per_day == 1
    assert all(a.due.year == 2031 and a.seed != b.seed for a, b in zip(theirs.assignments, COURSE.assignments))
    env = {k: v for k, v in os.environ.items() if k != "GD_COURSE_CONFIG"}
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *AFFECTED],
        cwd=repo,
        env=env,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
