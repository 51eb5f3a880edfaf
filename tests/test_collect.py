"""``collect``: a term replayed on three students' repositories (local bare git repositories).

One module-scoped story, run by the first test and read by the others, so that every notebook
is graded once: first grading, the daily report limit (and the grade at the deadline past it),
incremental runs, a late commit (and a back-dated one), an extension, the feedback branch.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
import yaml

from autograder.collect.ledger import submission_time
from autograder.collect.roster import read_roster
from autograder.collect.run import collect
from autograder.config import load_course

from helpers import REPO, filled_release, notebook_path, write_notebook

UTC = dt.timezone.utc
ASSIGNMENT = "01_gradients"
DUE = "2027-02-05T12:00:00+00:00"  # midday, so that a report day (UTC) can end after the deadline


def at(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=UTC)


def sh(*args: str, cwd: Path, when: str | None = None) -> str:
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("GIT_")},
        "GIT_CONFIG_GLOBAL": os.devnull,
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_AUTHOR_NAME": "Student",
        "GIT_AUTHOR_EMAIL": "student@example.org",
        "GIT_COMMITTER_NAME": "Student",
        "GIT_COMMITTER_EMAIL": "student@example.org",
    }
    if when:
        env["GIT_AUTHOR_DATE"] = env["GIT_COMMITTER_DATE"] = when + "+00:00"
    done = subprocess.run(["git", *args], cwd=cwd, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return done.stdout


class StudentRepo:
    """A student's clone (``work``) and the server's bare repository (``origin``)."""

    def __init__(self, root: Path, name: str):
        self.origin = root / "server" / f"{name}.git"
        self.work = root / "clones" / name
        self.origin.mkdir(parents=True)
        self.work.mkdir(parents=True)
        sh("init", "--bare", "--quiet", "--initial-branch=main", ".", cwd=self.origin)
        sh("init", "--quiet", "--initial-branch=main", ".", cwd=self.work)
        sh("remote", "add", "origin", str(self.origin), cwd=self.work)

    @property
    def notebook(self) -> Path:
        return self.work / notebook_path("assignments", ASSIGNMENT).name

    def push(self, when: str, message: str = "work") -> str:
        sh("add", "-A", cwd=self.work)
        sh("commit", "--quiet", "-m", message, cwd=self.work, when=when)
        sh("push", "--quiet", "origin", "main", cwd=self.work)
        return sh("rev-parse", "HEAD", cwd=self.work).strip()

    def show(self, what: str) -> str:
        return sh("show", what, cwd=self.origin)


def edit_notebook(path: Path, comment: str) -> None:
    """Change what is graded (a code cell the student added) without changing the answers."""
    nb = nbformat.read(str(path), as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell(f"# {comment}"))
    nbformat.write(nb, str(path))


@pytest.fixture(scope="module")
def term(tmp_path_factory):
    root = tmp_path_factory.mktemp("collect")
    course_dir = root / "course"
    shutil.copytree(REPO / "support", course_dir / "support")
    config = yaml.safe_load((REPO / "course.yml").read_text())
    for a in config["assignments"]:
        if a["id"] == ASSIGNMENT:
            a["due"] = DUE
    config.update(
        late_policy={"penalty_per_day": 10, "max_penalty": 50, "grace_minutes": 30},
        extensions=[{"student": "bob", "assignment": ASSIGNMENT, "hours": 48}],
        feedback_per_day=1,
    )
    (course_dir / "course.yml").write_text(yaml.safe_dump(config, sort_keys=False))
    course = load_course(course_dir / "course.yml")

    repos = {name: StudentRepo(root, name) for name in ("alice", "bob", "carol")}
    filled_release(ASSIGNMENT, repos["alice"].work)
    write_notebook(
        ASSIGNMENT,
        repos["bob"].work,
        {"gradient_check": "def gradient_check(f, grad_f, w, eps=1e-6):\n    return 0.0\n"},
    )
    shutil.copytree(REPO / "assignments" / ASSIGNMENT, repos["carol"].work, dirs_exist_ok=True)
    heads = {name: r.push("2027-02-04T10:00:00", "start") for name, r in repos.items()}
    roster = root / "roster.csv"
    roster.write_text("student,repo\n" + "".join(f"{n},{r.origin}\n" for n, r in repos.items()))
    out = root / "out"
    students = read_roster(roster)

    def run(now: str) -> dict[str, str]:
        outcomes = collect(course, students, out, push_feedback=True, now=at(now), new_ledger=not out.exists())
        return {o.student: o.status for o in outcomes}

    runs = {"first": run("2027-02-04T12:00:00")}
    edit_notebook(repos["carol"].notebook, "second try")
    heads["carol"] = repos["carol"].push("2027-02-04T13:00:00")
    runs["same day"] = run("2027-02-04T13:15:00")
    limited_status = repos["carol"].show("feedback:status.md")
    limited_push = heads["carol"]
    runs["next day"] = run("2027-02-05T01:00:00")
    edit_notebook(repos["carol"].notebook, "third try")
    heads["carol"] = repos["carol"].push("2027-02-05T10:00:00")
    runs["before the deadline"] = run("2027-02-05T10:30:00")
    second_limited_status = repos["carol"].show("feedback:status.md")
    runs["deadline"] = run("2027-02-05T13:00:00")  # the same UTC day, past the deadline and its grace
    runs["after the deadline"] = run("2027-02-06T09:00:00")
    # alice's clock says 11:00 on the due day, but the run at 09:00 the next day did not see it yet
    edit_notebook(repos["alice"].notebook, "one more thing")
    heads["alice"] = repos["alice"].push("2027-02-05T11:00:00")
    edit_notebook(repos["bob"].notebook, "inside my extension")
    heads["bob"] = repos["bob"].push("2027-02-06T10:00:00")
    runs["late pushes"] = run("2027-02-06T10:10:00")
    return {
        "runs": runs,
        "repos": repos,
        "heads": heads,
        "out": out,
        "roster": roster,
        "course": course,
        "limited_status": limited_status,
        "second_limited_status": second_limited_status,
        "limited_push": limited_push,
    }


def results(out: Path, student: str) -> dict:
    return json.loads((out / student / ASSIGNMENT / "results.json").read_text())


def test_first_run_grades_everyone_and_pushes_a_feedback_branch(term):
    assert term["runs"]["first"] == {"alice": "graded", "bob": "graded", "carol": "graded"}
    for name, repo in term["repos"].items():
        report = repo.show("feedback:feedback.md")
        assert report.startswith(f"# Feedback: {ASSIGNMENT}, {name}")
        log = sh("log", "--format=%an|%s", "feedback", cwd=repo.origin)
        assert log.splitlines()[-1].startswith("gd-course grader|Feedback for ")
        # the branch the student works on is exactly what they pushed
        assert sh("rev-parse", "main", cwd=repo.origin).strip() == term["heads"][name]
    first_bob = term["repos"]["bob"].show("feedback~1:feedback.md")
    assert "**Score: 15 / 15**" not in first_bob and "| `gradient_check` | 2 / 2 |" not in first_bob


def test_scores_of_the_last_commits(term):
    out = term["out"]
    alice, bob, carol = (results(out, n) for n in ("alice", "bob", "carol"))
    assert alice["extra_data"]["raw_score"] == 15
    assert 0 < bob["score"] < 15 and bob["extra_data"]["functions"]["gradient_check"]["score"] < 2
    assert carol["score"] == 0


def test_daily_report_limit_records_the_push_and_says_when(term):
    runs = term["runs"]
    assert runs["same day"] == {"alice": "unchanged", "bob": "unchanged", "carol": "limited"}
    status = term["limited_status"]
    assert f"Your push `{term['limited_push'][:7]}` is recorded" in status
    assert "next report comes with the first grading run after 2027-02-05 00:00 UTC" in status
    # the next day, only carol (whose notebook changed) is graded
    assert runs["next day"] == {"alice": "unchanged", "bob": "unchanged", "carol": "graded"}
    # a push over the limit on the due day is graded once the deadline has passed, the same day
    assert runs["before the deadline"]["carol"] == "limited"
    assert "next report comes with the first grading run after 2027-02-05 12:30 UTC" in term["second_limited_status"]
    assert runs["deadline"] == {"alice": "unchanged", "bob": "unchanged", "carol": "graded"}
    assert set(runs["after the deadline"].values()) == {"unchanged"}


def test_late_commit_is_penalised_even_when_back_dated(term):
    assert term["runs"]["late pushes"] == {"alice": "graded", "bob": "graded", "carol": "unchanged"}
    late_grading = json.loads((term["out"] / "slots" / "late" / "alice" / ASSIGNMENT / "results.json").read_text())
    late = late_grading["extra_data"]["lateness"]
    # first seen at 10:10, not there at 09:00: pushed after 09:00 on the day after the deadline
    assert late["submitted_at"] == "2027-02-06T09:00:00+00:00" and late["days_late"] == 1
    assert late["penalty_percent"] == 10 and late_grading["score"] == 13.5
    report = term["repos"]["alice"].show("feedback:feedback.md")
    assert "1 day late, a penalty of 10%, so your score is 13.5 / 15" in report


def test_the_default_policy_keeps_the_better_on_time_grade(term):
    """alice had 15/15 on time; her late commit is worth 13.5 after the penalty: 15 counts."""
    alice = results(term["out"], "alice")
    assert alice["score"] == 15 and alice["extra_data"]["lateness"]["days_late"] == 0
    status = term["repos"]["alice"].show("feedback:status.md")
    assert "Your on-time commit" in status and "(15) counts" in status and "(13.5)" in status
    rows = {r["student"]: r for r in csv.DictReader((term["out"] / "grades.csv").open())}
    assert rows["alice"]["score"] == "15" and rows["alice"]["days_late"] == "0"


def test_commit_inside_an_extension_is_not_penalised(term):
    bob = results(term["out"], "bob")
    late = bob["extra_data"]["lateness"]
    assert late["deadline"] == "2027-02-07T12:00:00+00:00" and late["days_late"] == 0
    assert bob["score"] == bob["extra_data"]["raw_score"]
    assert "on time" in term["repos"]["bob"].show("feedback:feedback.md")


def test_cli_run_skips_unchanged_students(term):
    done = subprocess.run(
        [sys.executable, "-m", "autograder", "--course", str(term["course"].path), "collect"]
        + ["--roster", str(term["roster"]), "--out", str(term["out"])],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    assert "3 students: 0 graded, 3 skipped (notebook unchanged)" in done.stdout


def test_cli_rejects_a_bad_roster(tmp_path):
    roster = tmp_path / "roster.csv"
    roster.write_text("name,url\nalice,/nowhere\n")
    done = subprocess.run(
        [sys.executable, "-m", "autograder", "collect", "--roster", str(roster), "--out", str(tmp_path / "o")],
        cwd=REPO,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 2 and "header must be 'student,repo'" in done.stderr


def test_commit_time_is_bounded_by_what_collect_saw():
    seen, before = at("2027-02-06T10:10:00"), at("2027-02-06T09:00:00")
    assert submission_time(at("2027-02-05T11:00:00"), seen, before) == before  # back-dated
    assert submission_time(at("2027-02-06T09:30:00"), seen, before) == at("2027-02-06T09:30:00")
    assert submission_time(at("2030-01-01T00:00:00"), seen, before) == seen  # dated in the future
    assert submission_time(at("2027-02-05T20:00:00"), seen, None) == at("2027-02-05T20:00:00")  # first fetch


# ------------------------------------------------------------------ descriptors in the jail's setup


FD_PROBE = """
import os, resource, sys
from pathlib import Path
from autograder.sandbox import jail

folder = Path(sys.argv[1])
resource.setrlimit(resource.RLIMIT_NOFILE, (200, 200))
before = len(os.listdir("/proc/self/fd"))
for attempt in range(3):
    try:
        jail.jail_command(["true"], folder)
    except OSError as exc:
        assert exc.errno == 24, exc  # EMFILE: more files than descriptors
print(len(os.listdir("/proc/self/fd")) - before)
"""


def test_a_folder_of_many_files_leaves_no_descriptor_open(tmp_path):
    """1,100 files beside a notebook: the jail's setup runs out of descriptors (one per file);
    what it had opened is closed, so the next student's grading still has its descriptors."""
    for i in range(1100):
        (tmp_path / f"f{i:04d}.txt").write_bytes(b"")
    done = subprocess.run([sys.executable, "-c", FD_PROBE, str(tmp_path)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "0"
