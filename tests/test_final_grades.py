"""One final grade (auto + manual - late penalty), the same in every output; manual points pending
until graded; hand-graded scores from a CSV or nbgrader's gradebook; the LMS exports."""

from __future__ import annotations

import csv
import json
import shutil

import pytest
import yaml

from autograder import cli
from autograder.config import load_course
from autograder.export import canvas_csv, read_lms_roster
from autograder.lateness import LatePolicy, lateness, parse_time, penalty_points
from autograder.manual import ManualScoresError, read_books, read_gradebook, read_manual_csv
from autograder.results import GradedSubmission, ManualScore, TestResult, final_grade, read_results
from autograder.verdicts import Verdict

from helpers import REPO, write_notebook
from testcourse import course_data

A2 = "02_gradient_descent"
QUESTION = "written_learning_rate"  # 02's written question, 3 points (course.yml)
DUE = "2027-02-19T23:59:00+00:00"


def test_the_final_grade_is_auto_minus_its_penalty_plus_the_written_points():
    manual = {"a": ManualScore(2, 1.5), "b": ManualScore(3, None)}
    grade = final_grade(8.0, 10.0, manual, penalty_percent=20)
    # the penalty is a share of the autograded points only; a pending answer counts nothing, not 0 out of it
    assert (grade.auto, grade.penalty, grade.manual, grade.score, grade.max_score) == (8, 1.6, 1.5, 7.9, 15)
    assert grade.pending == ("b",) and grade.status == "manual pending"
    assert grade.words() == "7.9 / 15 (auto only, manual pending)"
    assert "written answers 1.5 / 2, 3 points pending" in grade.parts()
    done = final_grade(8.0, 10.0, {"a": ManualScore(2, 1.5)}, penalty_percent=20)
    assert (done.score, done.status, done.words()) == (7.9, "final", "7.9 / 12")
    assert final_grade(8.0, 10.0).score == 8.0 and final_grade(8.0, 10.0).status == "final"
    # the lateness's own penalty takes the same points off the same autograded score
    late = lateness(read_time("2027-02-21T12:00:00"), read_time(DUE), LatePolicy(10, 50, 30))
    assert late.penalty_points(8.0) == penalty_points(8.0, 20) == grade.penalty
    assert late.final_score(8.0) == grade.auto - grade.penalty


def read_time(text: str):
    return parse_time(text)


# ------------------------------------------------------------------------- manual scores in


def course_copy(tmp_path, extensions=()):
    """A course.yml of the test's own: 10% a started day, at most 50%, 30 minutes' grace."""
    folder = tmp_path / "course"
    shutil.copytree(REPO / "support", folder / "support")
    late_policy = {"penalty_per_day": 10, "max_penalty": 50, "grace_minutes": 30}
    config = course_data(late_policy=late_policy, extensions=list(extensions))
    for a in config["assignments"]:
        a["due"] = DUE if a["id"] == A2 else a["due"]
        a.setdefault("manual", {})
    next(a for a in config["assignments"] if a["id"] == A2)["lms_id"] = 4711
    (folder / "course.yml").write_text(yaml.safe_dump(config, sort_keys=False))
    return load_course(folder / "course.yml")


def test_a_manual_csv_is_read_and_checked(tmp_path):
    course = course_copy(tmp_path)
    good = tmp_path / "manual.csv"
    good.write_text(f"student,{QUESTION},written_gradient_sign\nann,2.5,\nbob,pending,1\ncy,,\n")
    assert read_manual_csv(good, course) == {
        ("ann", A2): {QUESTION: 2.5},
        ("bob", "01_gradients"): {"written_gradient_sign": 1.0},  # the assignment is told by the question
    }
    with_assignment = tmp_path / "with.csv"
    with_assignment.write_text(f"\ufeffstudent,assignment,{QUESTION}\ncy,{A2},\n")  # a spreadsheet's BOM
    assert read_manual_csv(with_assignment, course) == {("cy", A2): {QUESTION: None}}  # said pending
    bad = {
        f"student,{QUESTION}\nann,4\n": "not between 0 and 3",
        f"student,{QUESTION}\nann,three\n": "is not a number",
        "student,written_nothing\nann,1\n": "not a written question",
        f"name,{QUESTION}\nann,1\n": "'student' column",
    }
    for text, words in bad.items():
        good.write_text(text)
        with pytest.raises(ManualScoresError, match=words):
            read_manual_csv(good, course)


@pytest.mark.filterwarnings("ignore::sqlalchemy.exc.SAWarning")  # nbgrader's own add_submission
def test_scores_from_nbgraders_gradebook(tmp_path):
    from nbgrader.api import Gradebook

    course = course_copy(tmp_path)
    url = f"sqlite:///{tmp_path / 'gradebook.db'}"
    with Gradebook(url) as gb:
        gb.add_assignment(A2)
        gb.add_notebook("gradient_descent", A2)
        gb.add_grade_cell(QUESTION, "gradient_descent", A2, max_score=3, cell_type="markdown")
        for student in ("ann", "bob", "cy"):
            gb.add_student(student)
            gb.add_submission(A2, student)
        gb.find_grade(QUESTION, "gradient_descent", A2, "ann").manual_score = 2.0
        blank = gb.find_grade(QUESTION, "gradient_descent", A2, "cy")  # as nbgrader autograde leaves a blank answer
        blank.auto_score, blank.needs_manual_grade = 0.0, False
        gb.db.commit()
    assert read_gradebook(url, course) == {
        ("ann", A2): {QUESTION: 2.0},
        ("bob", A2): {QUESTION: None},  # answered, not graded yet: pending
        ("cy", A2): {QUESTION: 0.0},  # left blank: nbgrader's own 0, no grader asked (export says 0 too)
    }
    csv_file = tmp_path / "m.csv"
    csv_file.write_text(f"student,{QUESTION}\nbob,1\nann,\n")
    # a CSV given too fills what formgrader left pending, and leaves a score alone where it says nothing
    assert read_books([str(csv_file)], url, course) == {
        ("ann", A2): {QUESTION: 2.0},
        ("bob", A2): {QUESTION: 1.0},
        ("cy", A2): {QUESTION: 0.0},
    }


# ------------------------------------------------------- one student, one final score, everywhere


BUGGY_STEP = "def gd_step(w, grad, lr):\n    return w + lr * grad\n"  # uphill: loses most of gd_step


def submit(submitted, student: str, when: str, replace: dict | None = None) -> None:
    folder = submitted / student / A2
    write_notebook(A2, folder, replace)
    (folder / "timestamp.txt").write_text(when)


def rows_of(path) -> dict[str, dict]:
    return {r["student"]: r for r in csv.DictReader(path.open())}


def test_one_final_score_in_every_output(tmp_path, monkeypatch, capsys):
    """A class with a late student, an extension and manual scores: the late student's final score
    (autograded, minus 20% of it, plus their written answer) is one number in results.json,
    grades.csv, the terminal and job-summary tables, the histogram's data, the feedback heading and
    the LMS exports; a written answer not graded yet shows as pending everywhere."""
    course = course_copy(tmp_path, [{"student": "eve", "assignment": A2, "hours": 48}])
    submitted = tmp_path / "submitted"
    submit(submitted, "ann", "2027-02-19 20:00:00 UTC")  # on time, full marks
    submit(submitted, "leo", "2027-02-21 12:00:00 UTC", {"gd_step": BUGGY_STEP})  # 2 started days late: 20%
    submit(submitted, "eve", "2027-02-21 12:00:00 UTC")  # as late, inside her 48-hour extension
    manual = tmp_path / "manual.csv"
    # eve's answer: not graded yet; "zed" is a misspelt name, matching no submission: said, not ignored
    manual.write_text(f"student,{QUESTION}\nann,2.5\nleo,3\neve,\nzed,1\n")
    drawn = {}

    def histogram(scores, max_score, assignment, path, pending=0):
        drawn.update(scores=scores, max_score=max_score, pending=pending)

    monkeypatch.setattr("autograder.histogram.score_histogram", histogram)
    out, summary = tmp_path / "graded", tmp_path / "summary.md"
    course_arg = ["--course", str(course.path)]
    grade = ["grade", str(submitted), "--out", str(out), "--feedback", "--jobs", "2"]
    assert cli.main([*course_arg, *grade, "--manual", str(manual), "--summary", str(summary)]) == 0
    terminal, said = capsys.readouterr()
    assert f"written answers' scores for zed ({A2}) match no graded submission" in said

    leo = read_results(out / "leo" / A2 / "results.json")
    grade_ = leo.grade
    assert leo.lateness.days_late == 2 and grade_.penalty_percent == 20 and 0 < grade_.auto < 10
    final = round(grade_.auto - round(grade_.auto * 0.2, 4) + 3, 4)
    assert grade_.score == final and grade_.status == "final" and grade_.max_score == 13
    text = f"{final:g}"
    assert json.loads((out / "leo" / A2 / "results.json").read_text())["score"] == final
    rows = rows_of(out / "grades.csv")
    assert (rows["leo"]["score"], rows["leo"]["max_score"], rows["leo"]["status"]) == (text, "13", "final")
    assert (rows["leo"]["auto_score"], rows["leo"][QUESTION]) == (f"{grade_.auto:g}", "3")
    assert f"{text}/13" in terminal
    assert f"**{text}/13**" in summary.read_text()
    assert drawn["scores"][["ann", "eve", "leo"].index("leo")] == final and drawn["max_score"] == 13
    assert f"**Score: {text} / 13**" in (out / "leo" / A2 / "feedback.md").read_text()
    assert f"<strong>Score: {text} / 13</strong>" in (out / "leo" / A2 / "feedback.html").read_text()
    # the extension: eve is on time; her written answer is pending, never 0
    assert rows["eve"]["days_late"] == "0" and rows["eve"]["score"] == "10"
    assert (rows["eve"][QUESTION], rows["eve"]["status"]) == ("pending", "manual pending")
    assert "10/13 (manual pending)" in summary.read_text()
    assert "**Score: 10 / 13** (auto only, manual pending)" in (out / "eve" / A2 / "feedback.md").read_text()
    assert drawn["pending"] == 1

    roster = tmp_path / "roster.csv"
    roster.write_text(
        "student,repo,name,lms_id,sis_id,sis_login_id,section,email\n"
        + "".join(
            f"{s},x,{s.title()} Doe,{100 + i},S{i},{s}@uni,A,{s}@uni.example\n"
            for i, s in enumerate(["ann", "eve", "leo"])
        )
    )
    export = ["export", str(out), "--manual", str(manual), "--roster", str(roster)]
    assert cli.main([*course_arg, *export]) == 0
    assert "eve (02_gradient_descent)" in capsys.readouterr().out  # left out, and said
    canvas = list(csv.reader((out / "canvas.csv").open()))
    title = f"{course.assignment(A2).title} (4711)"
    assert canvas[0][:5] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"] and title in canvas[0]
    column = canvas[0].index(title)
    assert canvas[1][0] == "Points Possible" and canvas[1][column] == "13"
    by_id = {row[1]: row for row in canvas[2:]}
    assert by_id["102"][:5] == ["Leo Doe", "102", "S2", "leo@uni", "A"] and by_id["102"][column] == text
    assert by_id["101"][column] == ""  # eve: pending, not published
    lms = rows_of(out / "lms.csv")
    assert lms["leo"][A2] == text and lms["leo"]["ID number"] == "S2" and lms["eve"][A2] == ""

    # eve's answer is graded: export merges it, and her feedback heading, grades.csv and Canvas agree
    manual.write_text(f"student,{QUESTION}\nann,2.5\nleo,3\neve,1.5\n")
    report_before = (out / "eve" / A2 / "feedback.html").read_text()
    assert cli.main([*course_arg, *export]) == 0
    assert rows_of(out / "grades.csv")["eve"]["score"] == "11.5"
    report = (out / "eve" / A2 / "feedback.html").read_text()
    assert "<strong>Score: 11.5 / 13</strong>" in report and "manual pending" not in report
    assert report.count("data:image/png;base64,") == report_before.count("data:image/png;base64,") > 0  # plots kept
    assert {row[1]: row for row in csv.reader((out / "canvas.csv").open())}["101"][column] == "11.5"
    functions = [r for r in csv.DictReader((out / "functions.csv").open()) if r["student"] == "leo"]
    assert {r["function"]: r["mistakes"] for r in functions}["gd_step"] == "adds_gradient"


def test_a_roster_maps_students_to_lms_ids(tmp_path):
    path = tmp_path / "roster.csv"
    path.write_text("\ufeffStudent,LMS_ID,email\nann,7,a@x\n\n")
    assert read_lms_roster(path)["ann"].lms_id == "7" and read_lms_roster(path)["ann"].email == "a@x"
    course = course_copy(tmp_path)
    tests = [TestResult("gd_step: works", "gd_step", 2.0, 2.0, Verdict.PASSED, "Passed.")]
    pending = GradedSubmission("=cmd|' /C calc'!A0", A2, "gradient_descent.ipynb", tests)
    pending.manual = {QUESTION: ManualScore(3)}
    rows = list(csv.reader(canvas_csv(course, [pending], {}).splitlines()))
    assert rows[2][0] == "'=cmd|' /C calc'!A0"  # a name is never a formula in the LMS's spreadsheet
    assert set(rows[2][5:]) == {""}  # pending: published nowhere
