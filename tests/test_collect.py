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
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import nbformat
import pytest
import yaml

from autograder.collect.ledger import submission_time
from autograder.collect.roster import CollectError, read_roster
from autograder.collect.sweep import Outcome, collect
from autograder.config import load_course

from helpers import COURSE, REPO, filled_release, notebook_path, write_notebook
from public_python import unused_uid

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


POLICY = {"penalty_per_day": 10, "max_penalty": 50, "grace_minutes": 30}
WRONG_CHECK = {"gradient_check": "def gradient_check(f, grad_f, w, eps=1e-6):\n    return 0.0\n"}


def make_course(root: Path, extensions: tuple = (), feedback_per_day: int | None = None, **late_policy):
    """A course.yml of our own (an instructor's term must not turn the tests red) in ``root/course``."""
    course_dir = root / "course"
    shutil.copytree(REPO / "support", course_dir / "support")
    config = yaml.safe_load(COURSE.path.read_text())  # the tests' course, not the shipped one
    for a in config["assignments"]:
        if a["id"] == ASSIGNMENT:
            a["due"] = DUE
    config.update(late_policy={**POLICY, **late_policy}, extensions=list(extensions))
    config.pop("feedback_per_day", None)
    if feedback_per_day:
        config["feedback_per_day"] = feedback_per_day
    (course_dir / "course.yml").write_text(yaml.safe_dump(config, sort_keys=False))
    return load_course(course_dir / "course.yml")


@pytest.fixture(scope="module")
def term(tmp_path_factory):
    root = tmp_path_factory.mktemp("collect")
    course = make_course(root, [{"student": "bob", "assignment": ASSIGNMENT, "hours": 48}], feedback_per_day=1)

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
    assert "**Score: 13 / 17** (auto only, manual pending)" in first_bob  # gradient_check: 0
    assert "| `gradient_check` | 0 / 2 |" in first_bob


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
    penalty = "1 day late, a penalty of 10% of your autograded points, so they count 13.5 / 15"
    assert penalty in term["repos"]["alice"].show("feedback:status.md")  # her on-time grade counts (the report's)
    report = (term["out"] / "slots" / "late" / "alice" / ASSIGNMENT / "feedback.md").read_text()  # kept, should it count
    assert penalty in report
    assert "**Score: 13.5 / 17** (auto only, manual pending)" in report  # the final grade, in the heading


def test_the_default_policy_keeps_the_better_on_time_grade(term):
    """alice had 15/15 on time; her late commit is worth 13.5 after the penalty: 15 counts."""
    alice = results(term["out"], "alice")
    assert alice["score"] == 15 and alice["extra_data"]["lateness"]["days_late"] == 0
    status = term["repos"]["alice"].show("feedback:status.md")
    assert "Your on-time commit" in status and "(15) counts" in status and "(13.5)" in status
    rows = {r["student"]: r for r in csv.DictReader((term["out"] / "grades.csv").open())}
    assert rows["alice"]["score"] == "15" and rows["alice"]["days_late"] == "0"


def test_every_output_shows_the_on_time_grade_that_counts(tmp_path, capsys):
    """erin: a mistake on time, the fix 4 days late; dave: the same mistake on time, a fix dated
    before the deadline but pushed 2 days after it.  Each late fix is worth less after the penalty
    than the on-time mistake, so the on-time grade counts (the default policy): grades.csv, the
    terminal table, the job summary (its mean) and the report on the feedback branch all show it,
    and status.md says that the late commit was graded for information only."""
    from autograder.reports import markdown_summary
    from autograder.tables import print_tables

    course = make_course(tmp_path)
    assert course.late_policy.counts == "best"
    repos = {name: StudentRepo(tmp_path, name) for name in ("dave", "erin")}
    on_time = {}
    for name, repo in repos.items():
        write_notebook(ASSIGNMENT, repo.work, WRONG_CHECK)
        on_time[name] = repo.push("2027-02-04T10:00:00", "a mistake")
    students = [read_roster_row(name, repo.origin) for name, repo in repos.items()]
    out = tmp_path / "out"
    collect(course, students, out, push_feedback=True, now=at("2027-02-04T12:00:00"), new_ledger=True)
    collect(course, students, out, push_feedback=True, now=at("2027-02-06T23:00:00"))  # nothing new
    late = {}
    for name, repo in repos.items():
        filled_release(ASSIGNMENT, repo.work)
        late[name] = repo.push("2027-02-05T11:00:00" if name == "dave" else "2027-02-09T10:00:00", "the fix")
    outcomes = collect(course, students, out, push_feedback=True, now=at("2027-02-09T11:00:00"))
    assert [o.status for o in outcomes] == ["graded", "graded"], outcomes

    rows = {r["student"]: r for r in csv.DictReader((out / "grades.csv").open())}
    graded = {o.student: o.graded for o in outcomes}
    for name, repo in repos.items():
        row, grade = rows[name], graded[name].grade
        late_grading = json.loads((out / "slots" / "late" / name / ASSIGNMENT / "results.json").read_text())
        assert row["days_late"] == "0" and float(row["score"]) == results(out, name)["score"] == grade.score
        assert late_grading["extra_data"]["raw_score"] == 15 and late_grading["score"] < grade.score
        report, status = repo.show("feedback:feedback.md"), repo.show("feedback:status.md")
        assert sh("log", "-1", "--format=%s", "feedback", cwd=repo.origin).strip() == f"Feedback for {late[name][:7]}"
        assert f"**Score: {grade.score:g} / {grade.max_score:g}**" in report and ": on time." in report
        assert f"{late_grading['score']:g} /" not in report
        plots = set(re.findall(r"feedback_\w+\.png", report))  # the plots of the report that counts, with it
        assert plots and plots <= set(sh("ls-tree", "--name-only", "feedback", cwd=repo.origin).split())
        assert status.splitlines()[2] == f"Your grade: {grade.words()}, from your on-time commit `{on_time[name][:7]}`."
        assert f"Graded commit `{late[name][:7]}`, shown for information (it does not count)" in status
    print_tables(list(graded.values()))
    table = capsys.readouterr().out
    for name in repos:
        assert f"{float(rows[name]['score']):g}/{float(rows[name]['max_score']):g}" in table.split(name, 1)[1]
    mean = sum(float(r["score"]) for r in rows.values()) / len(rows)
    assert f"mean final score {mean:.2f} /" in markdown_summary(list(graded.values()))


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


def test_hand_graded_scores_reach_the_grade_and_the_feedback_branch(tmp_path):
    """collect keeps the written answers for whoever grades them; their scores, given later, join the
    final grade (results.json, grades.csv) and the report is pushed again, with no new commit; the
    same scores the next run push nothing."""
    course = make_course(tmp_path)
    repo = StudentRepo(tmp_path, "dora")
    filled_release(ASSIGNMENT, repo.work)
    repo.push("2027-02-04T10:00:00")
    roster = tmp_path / "roster.csv"
    roster.write_text(f"student,repo\ndora,{repo.origin}\n")
    students, out = read_roster(roster), tmp_path / "out"
    collect(course, students, out, push_feedback=True, now=at("2027-02-04T12:00:00"), new_ledger=True)
    (question,) = course.assignment(ASSIGNMENT).manual
    written = results(out, "dora")["extra_data"]["written"][question]
    assert written.strip() and written.strip() in (out / f"{ASSIGNMENT}_written.md").read_text()
    assert "**Score: 15 / 17** (auto only, manual pending)" in repo.show("feedback:feedback.md")
    book = {("dora", ASSIGNMENT): {question: 1.5}}
    outcomes = collect(course, students, out, push_feedback=True, now=at("2027-02-04T13:00:00"), manual=book)
    assert [o.status for o in outcomes] == ["unchanged"]
    data = results(out, "dora")
    assert data["score"] == 16.5 and data["extra_data"]["grade"]["status"] == "final"
    (row,) = csv.DictReader((out / "grades.csv").open())
    assert (row["score"], row[question], row["status"]) == ("16.5", "1.5", "final")
    assert "**Score: 16.5 / 17**" in repo.show("feedback:feedback.md") and "16.5 / 17" in repo.show(
        "feedback:status.md"
    )
    pushed = sh("rev-parse", "feedback", cwd=repo.origin)
    collect(course, students, out, push_feedback=True, now=at("2027-02-04T14:00:00"), manual=book)
    assert sh("rev-parse", "feedback", cwd=repo.origin) == pushed


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


# ------------------------------------------------------------------------------ hostile students


def push_dated_beyond_9999(repo: StudentRepo) -> str:
    """A commit whose committer date is in the year 10000 (git and git fsck accept it)."""
    sh("add", "-A", cwd=repo.work)
    tree = sh("write-tree", cwd=repo.work).strip()
    parent = sh("rev-parse", "HEAD", cwd=repo.work).strip()
    stamp = "253402300800 +0000"  # 10000-01-01
    body = f"tree {tree}\nparent {parent}\nauthor M <m@x.org> {stamp}\ncommitter M <m@x.org> {stamp}\n\nfuture\n"
    done = subprocess.run(
        ["git", "hash-object", "-t", "commit", "-w", "--stdin"],
        cwd=repo.work,
        input=body,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    sha = done.stdout.strip()
    sh("update-ref", "refs/heads/main", sha, cwd=repo.work)
    sh("push", "--quiet", "origin", "main", cwd=repo.work)
    return sha


def change_metadata_only(path: Path) -> None:
    """What opening and re-running the notebook changes: outputs, execution counts, metadata."""
    nb = nbformat.read(str(path), as_version=4)
    for i, cell in enumerate(nb.cells):
        cell.metadata["collapsed"] = True
        if cell.cell_type == "code":
            cell.execution_count = i + 100
            cell.outputs = [nbformat.v4.new_output("stream", text="ran again\n")]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, str(path))


@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    """Attackers first, honest classmates after them; a missing repository; a spreadsheet's roster."""
    root = tmp_path_factory.mktemp("hostile")
    course = make_course(root)
    names = ["ghost", "path", "module", "future", "dave", "files1100", "files5000", "meta", "erin"]
    repos = {n: StudentRepo(root, n) for n in names if n != "ghost"}
    write_notebook(ASSIGNMENT, repos["path"].work, WRONG_CHECK)
    # the answer to mse_loss lives in a module beside the notebook; on time it is wrong
    nb_path = write_notebook(ASSIGNMENT, repos["module"].work, {"mse_loss": "from answers import mse_loss\n"})
    (repos["module"].work / "answers.py").write_text("def mse_loss(w, X, y):\n    return 0.0\n")
    for name in ("future", "dave", "files1100", "files5000", "meta", "erin"):
        filled_release(ASSIGNMENT, repos[name].work)
    for name, count in (("files1100", 1100), ("files5000", 5000)):
        for i in range(count):
            (repos[name].work / f"empty{i:04d}.txt").write_bytes(b"")
    for repo in repos.values():
        repo.push("2027-02-04T10:00:00", "start")
    roster = root / "roster.csv"
    rows = [f"{n},{root / 'server' / 'ghost.git' if n == 'ghost' else repos[n].origin}\r\n" for n in names]
    roster.write_bytes("\ufeffStudent,Repo\r\n".encode() + "".join(rows).encode())  # Excel's "CSV UTF-8"
    students = read_roster(roster)
    out = root / "out"

    def run(now: str) -> dict[str, Outcome]:
        outcomes = collect(course, students, out, now=at(now), new_ledger=not out.exists())
        return {o.student: o for o in outcomes}

    runs = {"first": run("2027-02-04T12:00:00")}
    # before the deadline: the notebook moves into a folder whose name is pathspec magic
    (repos["path"].work / ":!*").mkdir()
    for name in ("gradients.ipynb", "gd_support.py"):
        (repos["path"].work / name).rename(repos["path"].work / ":!*" / name)
    repos["path"].push("2027-02-05T09:00:00", "tidy")
    edit_notebook(repos["future"].notebook, "from the future")
    push_dated_beyond_9999(repos["future"])
    runs["before the deadline"] = run("2027-02-05T10:00:00")
    runs["after the deadline"] = run("2027-02-06T09:00:00")
    # five days late: path fixes its answer; module fixes answers.py and puts back the early notebook
    filled = filled_release(ASSIGNMENT, root / "filled")
    shutil.copy(filled, repos["path"].work / ":!*" / "gradients.ipynb")
    repos["path"].push("2027-02-10T10:00:00", "fix")
    early = (repos["module"].work / "gradients.ipynb").read_bytes()
    (repos["module"].work / "answers.py").write_text(
        "import numpy as np\n\ndef mse_loss(w, X, y):\n    r = X @ w - y\n    return float(np.mean(r ** 2))\n"
    )
    edit_notebook(nb_path, "an edit, undone below")
    repos["module"].push("2027-02-10T09:00:00", "fix")
    (repos["module"].work / "gradients.ipynb").write_bytes(early)
    repos["module"].push("2027-02-10T10:00:00", "the early notebook again")
    change_metadata_only(repos["meta"].notebook)
    repos["meta"].push("2027-02-10T10:00:00", "opened it again")
    runs["five days late"] = run("2027-02-10T10:30:00")
    return {"runs": runs, "out": out, "repos": repos, "course": course}


def slot(out: Path, name: str, student: str) -> dict:
    return json.loads((out / "slots" / name / student / ASSIGNMENT / "results.json").read_text())


def test_a_spreadsheet_roster_is_read(hostile):
    assert list(hostile["runs"]["first"]) == ["ghost", "path", "module", "future", "dave"] + [
        "files1100",
        "files5000",
        "meta",
        "erin",
    ]


def test_a_missing_repository_is_said_and_gets_a_row(hostile):
    ghost = hostile["runs"]["first"]["ghost"]
    assert ghost.status == "missing" and "could not be fetched" in ghost.message
    assert "does not exist" in ghost.message or "not found" in ghost.message
    rows = {r["student"]: r for r in csv.DictReader((hostile["out"] / "grades.csv").open())}
    assert rows["ghost"]["score"] == "0"
    assert "could not be fetched" in results(hostile["out"], "ghost")["output"]


def test_honest_classmates_after_the_attackers_get_full_marks(hostile):
    for run in hostile["runs"].values():
        assert all(o.status in ("graded", "unchanged", "missing") for o in run.values()), run
    for name in ("dave", "erin", "meta", "future"):
        assert results(hostile["out"], name)["score"] == 15, name


def test_a_pathspec_folder_does_not_choose_the_time(hostile):
    """Moved into ':!*' on time, fixed five days late: the fix is five days late."""
    assert hostile["runs"]["five days late"]["path"].status == "graded"
    late = slot(hostile["out"], "late", "path")
    assert late["extra_data"]["lateness"]["days_late"] == 5
    assert late["extra_data"]["lateness"]["submitted_at"] == "2027-02-10T10:00:00+00:00"
    assert late["score"] == 7.5  # 15 raw, -50%
    counted = results(hostile["out"], "path")  # its on-time grade (13) is better: it counts
    assert counted["extra_data"]["lateness"]["days_late"] == 0 and counted["score"] == 13


def test_a_late_module_beside_an_early_notebook_is_late(hostile):
    late = slot(hostile["out"], "late", "module")
    assert late["extra_data"]["lateness"]["days_late"] == 5
    assert late["extra_data"]["functions"]["mse_loss"]["score"] == 2
    on_time = slot(hostile["out"], "on_time", "module")
    assert on_time["extra_data"]["functions"]["mse_loss"]["score"] == 0


def test_a_commit_dated_in_the_year_10000_counts_when_it_was_seen(hostile):
    assert hostile["runs"]["before the deadline"]["future"].status == "graded"
    future = results(hostile["out"], "future")
    assert future["extra_data"]["lateness"]["submitted_at"] == "2027-02-05T10:00:00+00:00"


@pytest.mark.parametrize("name,count", [("files1100", 1100), ("files5000", 5000)])
def test_thousands_of_files_beside_the_notebook_are_refused_with_a_reason(hostile, name, count):
    outcome = hostile["runs"]["first"][name]
    assert outcome.status == "graded" and f"holds {count + 1} files" in outcome.message
    graded = results(hostile["out"], name)
    assert graded["score"] == 0 and "move the rest into a subfolder" in graded["output"]
    assert hostile["runs"]["after the deadline"][name].status == "unchanged"  # refused once, not every run


def test_a_metadata_only_push_after_the_deadline_changes_nothing(hostile):
    assert hostile["runs"]["five days late"]["meta"].status == "unchanged"
    meta = results(hostile["out"], "meta")
    assert meta["score"] == 15 and meta["extra_data"]["lateness"]["days_late"] == 0
    assert not (hostile["out"] / "slots" / "late" / "meta").exists()


# ------------------------------------------------------------------------------ state between runs


def one_student_course(tmp_path: Path, **extra):
    course = make_course(tmp_path)
    repo = StudentRepo(tmp_path, "alice")
    filled_release(ASSIGNMENT, repo.work)
    repo.push("2027-02-04T10:00:00")
    return course, repo


def test_a_lost_ledger_stops_the_run_and_says_so(tmp_path):
    course, repo = one_student_course(tmp_path)
    students = [read_roster_row("alice", repo.origin)]
    out = tmp_path / "out"
    with pytest.raises(CollectError, match="state of earlier runs is lost.*seen.json is missing"):
        collect(course, students, out, now=at("2027-02-04T12:00:00"))  # no ledger, and no new one asked for
    (out / "seen.json").unlink(missing_ok=True)
    assert collect(course, students, out, now=at("2027-02-04T12:00:00"), new_ledger=True)[0].status == "graded"
    with pytest.raises(CollectError, match="seen.json exists"):
        collect(course, students, out, now=at("2027-02-04T12:15:00"), new_ledger=True)
    (out / "seen.json").write_text("{not json")
    with pytest.raises(CollectError, match="seen.json is damaged"):
        collect(course, students, out, now=at("2027-02-04T12:30:00"))


def read_roster_row(name: str, repo: Path):
    from autograder.collect.roster import Student

    return Student(name, str(repo))


def test_a_grader_failure_is_tried_three_times_then_said(tmp_path, monkeypatch):
    import autograder.submission

    course, repo = one_student_course(tmp_path)
    students = [read_roster_row("alice", repo.origin)]

    def broken(submission, course, feedback=False, cells=None):
        raise RuntimeError("a grader bug")

    monkeypatch.setattr(autograder.submission, "grade_submission", broken)
    out = tmp_path / "out"
    messages = [
        collect(course, students, out, now=at(f"2027-02-04T1{i}:00:00"), new_ledger=i == 0)[0].message for i in range(5)
    ]
    assert [m.split(";")[-1].strip() for m in messages[:3]] == ["try 1", "try 2", "try 3"]
    assert "RuntimeError: a grader bug" in messages[0]
    assert messages[3].startswith("not tried again: the grader failed 3 times") and messages[4] == messages[3]
    heads = json.loads((out / "heads.json").read_text())
    assert heads["wake_at"] is None  # no longer due: a scheduled run need not start for it
    state = json.loads((out / "seen.json").read_text())
    assert len(state) == 1  # the ledger was saved through every failure


@pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("setpriv"), reason="root only")
def test_state_written_as_root_is_saved_by_the_runner_user_and_holds(tmp_path, monkeypatch, public_python):
    """The workflow's grader runs as root (sudo); the runner's user saves the state on the branch
    and the next runner pulls it: the next run grades only what changed, with the day's report
    count and the ledger as they were; a missing repository did not stop either run.  (The runner's
    user: a uid of no user, so nothing is created; its Python: one any uid can run, with ``-S``,
    standard library only, as before anything is installed.)"""
    cleanup = []
    uid = gid = unused_uid()
    try:
        course = make_course(tmp_path, grace_minutes=30)
        repos = {n: StudentRepo(tmp_path, n) for n in ("alice", "bob")}
        for repo in repos.values():
            filled_release(ASSIGNMENT, repo.work)
            repo.push("2027-02-04T10:00:00")
        students = [read_roster_row(n, r.origin) for n, r in repos.items()]
        students.append(read_roster_row("ghost", tmp_path / "nowhere.git"))
        machine = Path(tempfile.mkdtemp(prefix="gd-runner-"))  # pytest's own folders are private to root
        machine.chmod(0o755)
        cleanup.append(machine)
        state_repo = machine / "course-state.git"
        sh("init", "--bare", "--quiet", str(state_repo), cwd=machine)
        for runner in ("runner1", "runner2"):
            (machine / runner).mkdir()
        # the package the runner's python -m finds in its working folder (the checkout may be private)
        ignore = shutil.ignore_patterns("__pycache__")
        shutil.copytree(REPO / "autograder", machine / "lib" / "autograder", ignore=ignore)
        subprocess.run(["chown", "-R", f"{uid}:{gid}", str(machine)], check=True)
        monkeypatch.setenv("SUDO_UID", str(uid))
        monkeypatch.setenv("SUDO_GID", str(gid))

        def as_runner(action: str, folder: Path) -> str:
            done = subprocess.run(
                ["setpriv", f"--reuid={uid}", f"--regid={gid}", "--clear-groups", "--", str(public_python), "-S"]
                + ["-m", "autograder.collect.statebranch", action, str(folder), "--remote", str(state_repo)],
                cwd=machine / "lib",
                env={"PATH": "/usr/bin:/bin", "HOME": str(machine)},
                capture_output=True,
                text=True,
            )
            assert done.returncode == 0, done.stderr
            return done.stdout

        first = machine / "runner1" / "collected"
        outcomes = collect(course, students, first, now=at("2027-02-04T12:00:00"), new_ledger=True)
        assert [o.status for o in outcomes] == ["graded", "graded", "missing"]
        assert "saved" in as_runner("push", first)

        second = machine / "runner2" / "collected"
        assert "state of" in as_runner("pull", second)
        edit_notebook(repos["alice"].notebook, "again")
        repos["alice"].push("2027-02-04T13:00:00")
        outcomes = collect(course, students, second, now=at("2027-02-04T13:15:00"))
        assert [o.status for o in outcomes] == ["graded", "unchanged", "missing"]
        state = json.loads((second / "collect-state.json").read_text())
        assert len(state["entries"][f"alice/{ASSIGNMENT}"]["reports"]) == 2  # the day's count held
        ledger = json.loads((second / "seen.json").read_text())
        first_commit = next(iter(json.loads((first / "seen.json").read_text())[students[0].key]["commits"]))
        assert ledger[students[0].key]["commits"][first_commit]["seen"] == "2027-02-04T12:00:00+00:00"
        assert "saved" in as_runner("push", second)
    finally:
        for folder in cleanup:
            shutil.rmtree(folder, ignore_errors=True)


def test_a_branch_too_long_to_read_still_moves_the_clock(tmp_path):
    """A branch of more commits than the grader reads is refused, but what was fetched is still
    observed: after the deadline the student cannot swap in a clean history whose back-dated
    commit would count from the last run that read the branch (before the deadline)."""
    course, repo = make_course(tmp_path), StudentRepo(tmp_path, "alice")
    shutil.copy(notebook_path("assignments", ASSIGNMENT), repo.notebook)  # the untouched release: 0 points
    repo.push("2027-02-04T10:00:00")
    students = [read_roster_row("alice", repo.origin)]
    out = tmp_path / "out"
    collect(course, students, out, now=at("2027-02-04T12:00:00"), new_ledger=True)
    first = sh("rev-parse", "HEAD", cwd=repo.work).strip()
    empty = "".join(
        f"commit refs/heads/main\ncommitter S <s@example.org> {1801900000 + i} +0000\ndata 2\nx\n"
        + (f"from {first}\n" if i == 0 else "")
        + "\n"
        for i in range(2001)
    )
    subprocess.run(["git", "fast-import", "--quiet"], cwd=repo.work, input=empty.encode(), check=True)
    sh("push", "--quiet", "origin", "main", cwd=repo.work)
    (refused,) = collect(course, students, out, now=at("2027-02-05T10:00:00"))  # before the deadline
    assert refused.status == "graded" and "more than 2000 commits" in refused.message, refused
    (again,) = collect(course, students, out, now=at("2027-02-06T10:00:00"))  # after it: refused once per head
    assert again.status == "unchanged"
    sh("reset", "--quiet", "--hard", first, cwd=repo.work)
    write_notebook(ASSIGNMENT, repo.work)  # the solution, dated before the deadline, pushed after it
    sh("add", "-A", cwd=repo.work)
    sh("commit", "--quiet", "-m", "solution", cwd=repo.work, when="2027-02-05T09:00:00")
    sh("push", "--quiet", "--force", "origin", "main", cwd=repo.work)
    collect(course, students, out, now=at("2027-02-07T10:00:00"))
    late = results(out, "alice")["extra_data"]["lateness"]
    assert late["submitted_at"] == "2027-02-06T10:00:00+00:00" and late["days_late"] == 1, late
