"""Deadlines: the late policy, extensions, nbgrader's timestamp.txt, and course.yml's new keys."""

from __future__ import annotations

import csv
import datetime as dt
import json
import os
import subprocess
import sys

import pytest

from autograder.config import CourseConfigError, load_course
from autograder.lateness import Extension, Lateness, LatePolicy, lateness, read_timestamp, student_deadline

from helpers import filled_release

UTC = dt.timezone.utc
DUE = dt.datetime(2027, 2, 5, 23, 59, tzinfo=UTC)
POLICY = LatePolicy(penalty_per_day=10, max_penalty=50, grace_minutes=30)


def after(**delta) -> dt.datetime:
    return DUE + dt.timedelta(**delta)


@pytest.mark.parametrize(
    "submitted, days, penalty",
    [
        (after(hours=-1), 0, 0),
        (after(minutes=30), 0, 0),  # the last minute of the grace period
        (after(minutes=31), 1, 10),  # after the grace, lateness counts from the deadline itself
        (after(hours=24), 1, 10),
        (after(hours=24, seconds=1), 2, 20),
        (after(days=30), 30, 50),  # the cap
    ],
)
def test_penalty_per_started_day_with_grace_and_cap(submitted, days, penalty):
    late = lateness(submitted, DUE, POLICY)
    assert (late.days_late, late.penalty_percent) == (days, penalty)


def test_final_score_and_what_the_student_reads():
    late = lateness(after(hours=30), DUE, POLICY)
    assert late.final_score(13.8571) == 11.0857
    assert late.sentence(13.8571, 15) == (
        "Submitted 2027-02-07 05:59 UTC; deadline 2027-02-05 23:59 UTC: 2 days late, a penalty of 20% of your "
        "autograded points, so they count 11.0857 / 15 (before the penalty: 13.8571)."
    )
    assert Lateness.from_json(json.loads(json.dumps(late.to_json()))) == late


def test_times_in_other_zones_are_compared_as_instants():
    pacific = dt.timezone(dt.timedelta(hours=-8))
    assert lateness(dt.datetime(2027, 2, 5, 16, 29, tzinfo=pacific), DUE, POLICY).days_late == 0  # 00:29 UTC
    assert lateness(dt.datetime(2027, 2, 5, 17, 0, tzinfo=pacific), DUE, POLICY).days_late == 1  # 01:00 UTC


def test_cutoff_after_which_commits_cannot_score():
    assert LatePolicy(0, 100, 15).cutoff(DUE) == after(minutes=15)  # no late work: the deadline (and grace)
    assert LatePolicy(25, 100, 0).cutoff(DUE) == after(days=3)  # the 4th day would cost 100%
    assert LatePolicy(10, 50, 0).cutoff(DUE) is None  # capped below 100%: late work always scores


def test_extensions_apply_to_their_student_and_assignment():
    extensions = [Extension("bob", 48, "02_gradient_descent"), Extension("carol", 24), Extension("carol", 72)]
    assert student_deadline(DUE, "02_gradient_descent", "bob", extensions) == after(hours=48)
    assert student_deadline(DUE, "01_gradients", "bob", extensions) == DUE
    assert student_deadline(DUE, "01_gradients", "carol", extensions) == after(hours=72)  # the longest
    assert student_deadline(DUE, "01_gradients", "alice", extensions) == DUE


def test_nbgrader_timestamps(tmp_path):
    (tmp_path / "timestamp.txt").write_text("2027-02-06 10:00:00.123456 UTC\n")
    assert read_timestamp(tmp_path) == dt.datetime(2027, 2, 6, 10, 0, 0, 123456, tzinfo=UTC)
    (tmp_path / "timestamp.txt").write_text("2027-02-06T11:00:00+01:00")
    assert read_timestamp(tmp_path) == dt.datetime(2027, 2, 6, 10, 0, tzinfo=UTC)
    (tmp_path / "timestamp.txt").write_text("Sat, 06 Feb 2027 05:00:00 -0500")  # another timestamp_format
    assert read_timestamp(tmp_path) == dt.datetime(2027, 2, 6, 10, 0, tzinfo=UTC)
    (tmp_path / "timestamp.txt").write_text("yesterday")
    assert read_timestamp(tmp_path) is None
    assert read_timestamp(tmp_path / "missing") is None


def test_course_yml_keys_are_read_and_checked(course_file):
    course = load_course(course_file(late_policy={"penalty_per_day": 5, "max_penalty": 20}, feedback_per_day=2))
    assert course.late_policy == LatePolicy(penalty_per_day=5, max_penalty=20) and course.feedback_per_day == 2
    path = course_file(extensions=[{"student": "bob", "assignment": "03_minibatch", "hours": 24}])
    assert load_course(path).extensions == [Extension("bob", 24.0, "03_minibatch")]
    bad = {
        "late_policy": {"penalty_per_day": -5},
        "feedback_per_day": 0,
        "extensions": [{"student": "bob", "assignment": "04_nope", "hours": 24}],
    }
    for key, value in bad.items():
        with pytest.raises(CourseConfigError, match=key):
            load_course(course_file(**{key: value}))


def test_grade_applies_the_penalty_from_timestamp_txt(tmp_path, course_file):
    """``grade`` on nbgrader's submitted/ tree: results.json, grades.csv and feedback show it."""
    policy = {"penalty_per_day": 15, "max_penalty": 25, "grace_minutes": 0}
    course = load_course(course_file(late_policy=policy))
    due = course.assignment("01_gradients").due
    points = course.assignment("01_gradients").max_score
    folder = tmp_path / "submitted" / "erin" / "01_gradients"
    filled_release("01_gradients", folder)
    stamp = due + dt.timedelta(days=1, hours=12)  # 1.5 days late: 2 started days, 30% capped at 25%
    (folder / "timestamp.txt").write_text(f"{stamp:%Y-%m-%d %H:%M:%S.%f} UTC\n")
    out = tmp_path / "graded"
    done = subprocess.run(
        [sys.executable, "-m", "autograder", "grade", "submitted", "--out", str(out), "--feedback"],
        cwd=tmp_path,
        env={**os.environ, "GD_COURSE_CONFIG": str(course.path)},
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    data = json.loads((out / "erin" / "01_gradients" / "results.json").read_text())
    assert data["extra_data"]["raw_score"] == points and data["extra_data"]["lateness"]["days_late"] == 2
    assert data["score"] == round(points * 0.75, 4)
    (row,) = csv.DictReader((out / "grades.csv").open())
    assert (row["auto_score"], row["days_late"], row["penalty_percent"]) == (f"{points:g}", "2", "25")
    assert (row["score"], row["status"]) == (f"{data['score']:g}", "manual pending")
    assert "a penalty of 25%" in (out / "erin" / "01_gradients" / "feedback.md").read_text()
