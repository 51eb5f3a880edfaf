"""course.yml: validated against its schema; a bad file stops every command with one line."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import fastjsonschema
import jsonschema
import nbformat
import pytest
import yaml

from autograder.assign import tool_env
from autograder.config import SCHEMA_PATH, CourseConfigError, _fast_validator, _stringify_dates, load_course

from helpers import COURSE, REPO


def test_the_shipped_course_file_is_valid_and_agrees_with_the_notebooks():
    """Whatever term the instructor set: the file loads, and its points and written questions
    are the ones nbgrader reads from the source notebooks (the points of each graded cell)."""
    shipped = load_course(REPO / "course.yml")  # raises (naming the key) when invalid
    for a in shipped.assignments:
        nb = nbformat.read(str(REPO / "solutions" / a.id / a.notebook), as_version=4)
        graded = {
            c.metadata["nbgrader"]["grade_id"]: c.metadata["nbgrader"]["points"]
            for c in nb.cells
            if c.metadata.get("nbgrader", {}).get("grade")
        }
        assert graded == {**{f"test_{f}": p for f, p in a.points.items()}, **a.manual}, a.id


def test_the_tests_course_is_the_shipped_structure_with_a_term_of_its_own():
    shipped = load_course(REPO / "course.yml")
    assert COURSE.path != shipped.path
    assert [(a.id, a.notebook, a.points, a.manual) for a in COURSE.assignments] == [
        (a.id, a.notebook, a.points, a.manual) for a in shipped.assignments
    ]
    assert [(a.due.isoformat(), a.seed) for a in COURSE.assignments] == [
        ("2027-02-05T23:59:00+00:00", 101),
        ("2027-02-19T23:59:00+00:00", 202),
        ("2027-03-05T23:59:00+00:00", 303),
    ]


def broken(tmp_path: Path, change) -> Path:
    data = yaml.safe_load(COURSE.path.read_text())
    change(data)
    path = tmp_path / "course.yml"
    path.write_text(yaml.safe_dump(data))
    return path


CASES = {
    "negative-points": (lambda d: d["assignments"][1]["points"].update(gd_step=-1), "assignments[1].points.gd_step"),
    "missing-title": (lambda d: d["course"].pop("title"), "course"),
    "unknown-key": (lambda d: d["assignments"][0].update(deadline="soon"), "assignments[0]"),
    "bad-date": (lambda d: d["assignments"][2].update(due="next tuesday"), "assignments[2].due"),
    "duplicate-id": (lambda d: d["assignments"][1].update(id="01_gradients"), "assignments[1].id"),
    "ungraded-function": (lambda d: d["assignments"][0]["points"].update(mystery=1), "assignments[0].points.mystery"),
    "bad-limit": (lambda d: d["time_limits"].update(call_seconds="ten"), "time_limits.call_seconds"),
    # past the schema: YAML's .nan and .inf are numbers to it, and Python's `$` matches before a final newline
    "nan-points": (lambda d: d["assignments"][1]["points"].update(gd_step=float("nan")), "assignments[1].points.gd_step"),
    "infinite-limit": (lambda d: d["time_limits"].update(call_seconds=float("inf")), "time_limits.call_seconds"),
    "id-with-a-newline": (lambda d: d["assignments"][0].update(id="01_gradients\n"), "assignments[0].id"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_value_names_the_key(tmp_path, case):
    change, key = CASES[case]
    with pytest.raises(CourseConfigError) as info:
        load_course(broken(tmp_path, change))
    message = str(info.value)
    assert "\n" not in message and key in message


def test_yaml_syntax_error(tmp_path):
    path = tmp_path / "course.yml"
    path.write_text("course: [unclosed\n")
    with pytest.raises(CourseConfigError, match="not valid YAML"):
        load_course(path)


def test_every_command_stops_with_one_line(tmp_path):
    path = broken(tmp_path, CASES["negative-points"][0])
    env = {**tool_env(), "GD_COURSE_CONFIG": str(path)}
    done = subprocess.run(
        [sys.executable, "-m", "autograder", "grade", "solutions"], cwd=REPO, env=env, capture_output=True, text=True
    )
    assert done.returncode == 2
    assert done.stderr.strip().count("\n") == 0 and "gd_step" in done.stderr
    # points for a function no hidden check grades: grade checks that once its first jail is starting
    (tmp_path / "ungraded").mkdir()
    ungraded = broken(tmp_path / "ungraded", CASES["ungraded-function"][0])
    out = tmp_path / "graded"
    for jobs in ("1", "2"):
        done = subprocess.run(
            [sys.executable, "-m", "autograder", "grade", "solutions", "--out", str(out), "--jobs", jobs],
            cwd=REPO,
            env={**env, "GD_COURSE_CONFIG": str(ungraded)},
            capture_output=True,
            text=True,
        )
        assert done.returncode == 2, done.stderr
        assert done.stderr.strip() == "error: course.yml: assignments[0].points.mystery: no hidden checks grade 'mystery'"
        assert not list(out.glob("**/results.json"))  # nothing graded, nothing filed
    # nbgrader reads the same file through nbgrader_config.py
    course_copy = tmp_path / "course"
    course_copy.mkdir()
    (course_copy / "nbgrader_config.py").write_text((REPO / "nbgrader_config.py").read_text())
    (course_copy / "course.yml").write_text(path.read_text())
    done = subprocess.run(
        [sys.executable, "-m", "nbgrader", "generate_assignment", "01_gradients"],
        cwd=course_copy,
        env={**tool_env(), "PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
    )
    assert done.returncode != 0
    assert "error: course.yml: assignments[1].points.gd_step" in done.stderr


def _set(*path_and_value):
    *path, key, value = path_and_value

    def change(d):
        for step in path:
            d = d[step]
        d[key] = value

    return change


#: files at and past every bound of the schema, both sides: the fast check must judge each as
#: jsonschema does (a file it let through that jsonschema refuses would be graded with nonsense)
AGREEMENT = [
    _set("time_limits", "call_seconds", 0),
    _set("time_limits", "call_seconds", 600),
    _set("time_limits", "call_seconds", 600.5),
    _set("time_limits", "memory_mb", 255),
    _set("time_limits", "memory_mb", 256.5),
    _set("time_limits", "memory_mb", True),
    _set("time_limits", "surprise", 1),
    _set("late_policy", "counts", "worst"),
    _set("late_policy", "counts", "last"),
    _set("late_policy", "penalty_per_day", 100),
    _set("late_policy", "penalty_per_day", 100.01),
    _set("late_policy", "grace_minutes", -1),
    _set("late_policy", "final_cutoff_days", 0),
    _set("extensions", [{"student": "ada", "hours": 0}]),
    _set("extensions", [{"student": "ada", "hours": 48}]),
    _set("extensions", [{"student": "ada", "days": 2}]),
    _set("extensions", [{"student": "", "hours": 1}]),
    _set("extensions", [{"student": "ada", "hours": 1, "assignment": "a/b"}]),
    _set("extensions", {"student": "ada", "hours": 1}),
    _set("feedback_per_day", 0),
    _set("feedback_per_day", 2.5),
    _set("feedback_per_day", 3),
    _set("course", "id", "has space"),
    _set("course", "title", ""),
    _set("course", "term", "spring"),
    _set("assignments", []),
    _set("assignments", 0, "notebook", "sub/dir.ipynb"),
    _set("assignments", 0, "notebook", "gradients.py"),
    _set("assignments", 0, "seed", -1),
    _set("assignments", 0, "seed", 1.5),
    _set("assignments", 0, "points", {}),
    _set("assignments", 0, "points", "mse_loss", 0),
    _set("assignments", 0, "points", "mse_loss", "two"),
    _set("assignments", 0, "manual", {"9lives": 1}),
    _set("assignments", 0, "manual", {"explain": 2}),
    _set("assignments", 0, "lms_id", 1234),
    _set("assignments", 0, "lms_id", [1]),
    _set("assignments", 0, "due", 20270205),
    _set("assignments", 0, "due", "2027-02-05 23:59"),
    _set("assignments", 0, "time_limits", {"cell_seconds": 3601}),
    lambda d: d["assignments"][0].pop("seed"),
    lambda d: d.pop("course"),
    lambda d: d.update(unknown=1),
]


@pytest.mark.parametrize("index", range(len(AGREEMENT)))
def test_the_fast_check_judges_every_file_as_jsonschema_does(tmp_path, index):
    data = _stringify_dates(yaml.safe_load(broken(tmp_path, AGREEMENT[index]).read_text()))
    valid = jsonschema.Draft202012Validator(json.loads(SCHEMA_PATH.read_text())).is_valid(data)
    try:
        _fast_validator()(data)
        fast = True
    except fastjsonschema.JsonSchemaException:
        fast = False
    assert fast == valid


def test_a_whole_number_written_as_a_float_is_a_whole_number(tmp_path):
    """memory_mb: 2048.0 is an integer to the schema; the jail's limits shift it, so it must be one."""
    course = load_course(broken(tmp_path, _set("time_limits", "memory_mb", 2048.0)))
    assert all(type(a.limits.memory_mb) is int and a.limits.memory_mb == 2048 for a in course.assignments)
