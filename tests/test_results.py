"""results.json: one model, one writer, and a reader that gives back what was written."""

from __future__ import annotations

import datetime as dt
import json

from autograder.lateness import LatePolicy, lateness
from autograder.results import GradedSubmission, TestResult, read_results, results_json, write_results
from autograder.verdicts import Verdict


def graded(late: bool) -> GradedSubmission:
    tests = [
        TestResult("gd_step: moves downhill", "gd_step", 1.5, 1.5, Verdict.PASSED, "Passed."),
        TestResult("gd_step: shape", "gd_step", 0.0, 0.5, Verdict.GATED, "counts once — right"),
        TestResult("gradient_descent: path", "gradient_descent", 0.0, 3.0, Verdict.ERROR, "`x` raised\nValueError"),
    ]
    notes = ["Cell 3 of your notebook failed: NameError: é.", "two\nlines", ""]
    when = dt.datetime(2027, 2, 21, 11, 59, tzinfo=dt.timezone.utc)
    due = dt.datetime(2027, 2, 19, 23, 59, tzinfo=dt.timezone.utc)
    late_by = lateness(when, due, LatePolicy(penalty_per_day=10)) if late else None
    return GradedSubmission("zoë", "02_gradient_descent", "gradient_descent.ipynb", tests, notes, lateness=late_by)


def test_results_json_round_trips(tmp_path):
    for late in (False, True):
        data = results_json(graded(late))
        path = write_results(tmp_path / f"{late}" / "results.json", data)
        back = read_results(path)
        assert results_json(back) == data
        assert back.notes == ["Cell 3 of your notebook failed: NameError: é.", "two", "lines", ""]  # line by line
        assert back.lateness == graded(late).lateness
        assert [t.verdict for t in back.tests] == [Verdict.PASSED, Verdict.GATED, Verdict.ERROR]
        assert back.final_score == graded(late).final_score < (2 if late else 2.0001)


def test_one_writer_writes_ascii(tmp_path):
    text = write_results(tmp_path / "results.json", results_json(graded(True))).read_text(encoding="utf-8")
    assert text.isascii() and "zo\\u00eb" in text and text.endswith("}\n")
    assert json.loads(text)["extra_data"]["student"] == "zoë"


def test_a_report_output_reads_back_without_notes(tmp_path):
    data = results_json(graded(False), report="# Feedback\n\nyours", execution_time=2.4)
    assert data["output_format"] == "md" and data["execution_time"] == 2
    assert all(t["output_format"] == "md" for t in data["tests"])
    back = read_results(write_results(tmp_path / "results.json", data))
    assert back.notes == [] and back.score == 1.5 and back.max_score == 5.0
