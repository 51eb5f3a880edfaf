"""``python -m autograder grade``: paths, exit codes, results format, determinism, class files."""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from helpers import COURSE, REPO, filled_release, write_notebook
from public_python import unused_uid, world_traversable_tempdir


def run_cli(*args: str, cwd: Path = REPO) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "autograder", *args], cwd=cwd, capture_output=True, text=True)


@pytest.fixture(scope="module")
def graded_solutions_and_release(tmp_path_factory):
    out = tmp_path_factory.mktemp("graded")
    done = run_cli("grade", "solutions", "assignments", "--out", str(out), "--jobs", "2")
    assert done.returncode == 0, done.stderr
    return out, done


def results(out: Path, student: str, assignment: str) -> dict:
    return json.loads((out / student / assignment / "results.json").read_text())


def test_solutions_full_marks_release_zero(graded_solutions_and_release):
    out, done = graded_solutions_and_release
    for a in COURSE.assignments:
        solved = results(out, "solutions", a.id)
        assert solved["score"] == a.max_score, [t for t in solved["tests"] if t["status"] == "failed"]
        stub = results(out, "assignments", a.id)
        assert stub["score"] == 0
        assert {t["extra_data"]["verdict"] for t in stub["tests"]} == {"not_implemented"}
    assert "score per function" in done.stdout


def test_results_follow_gradescope_format(graded_solutions_and_release):
    out, _ = graded_solutions_and_release
    for a in COURSE.assignments:
        data = results(out, "solutions", a.id)
        assert set(data) >= {"score", "tests", "output"}
        assert data["tests"]
        for t in data["tests"]:
            assert set(t) >= {"name", "score", "max_score", "status", "output"}
            assert t["status"] in ("passed", "failed")
            function = t["name"].split(":")[0]
            assert function in a.points and t["name"].startswith(f"{function}: ")
            assert 0 <= t["score"] <= t["max_score"]
        per_function = {}
        for t in data["tests"]:
            per_function[t["extra_data"]["function"]] = (
                per_function.get(t["extra_data"]["function"], 0) + t["max_score"]
            )
        assert per_function == pytest.approx(a.points)


def test_class_csv_and_histogram(graded_solutions_and_release):
    out, _ = graded_solutions_and_release
    rows = list(csv.DictReader((out / "grades.csv").open()))
    assert len(rows) == 6
    row = next(r for r in rows if r["student"] == "solutions" and r["assignment"] == "01_gradients")
    points = COURSE.assignment("01_gradients").points
    assert float(row["score"]) == sum(points.values()) and float(row["mse_gradient"]) == points["mse_gradient"]
    for a in COURSE.assignments:
        png = out / f"{a.id}_histogram.png"
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_grading_twice_is_byte_identical(tmp_path):
    nb = write_notebook(
        "03_minibatch",
        tmp_path / "sub" / "bob" / "03_minibatch",
        {"sgd": "def sgd(grad_fn, X, y, w0, lr, epochs, rng):\n    return np.array([w0] * (epochs + 1))\n"},
    )
    first, second = tmp_path / "one", tmp_path / "two"
    assert run_cli("grade", str(nb), "--out", str(first)).returncode == 0
    assert run_cli("grade", str(nb), "--out", str(second)).returncode == 0
    a = (first / "bob" / "03_minibatch" / "results.json").read_bytes()
    assert a == (second / "bob" / "03_minibatch" / "results.json").read_bytes()
    assert 0 < json.loads(a)["score"] < COURSE.assignment("03_minibatch").max_score
    assert run_cli("grade", str(nb), "--out", str(first)).returncode == 0  # re-running is idempotent
    assert (first / "bob" / "03_minibatch" / "results.json").read_bytes() == a


def test_nbgrader_submitted_tree(tmp_path):
    submitted = tmp_path / "submitted"
    filled_release("01_gradients", submitted / "alice" / "01_gradients")
    filled_release("02_gradient_descent", submitted / "alice" / "02_gradient_descent")
    write_notebook(
        "01_gradients",
        submitted / "bob" / "01_gradients",
        {"mse_loss": "def mse_loss(w, X, y):\n    return float(np.sum((X @ w - y) ** 2))\n"},
    )
    out = tmp_path / "graded"
    done = run_cli("grade", str(submitted), "--out", str(out))
    assert done.returncode == 0, done.stderr
    first, second = COURSE.assignment("01_gradients"), COURSE.assignment("02_gradient_descent")
    assert results(out, "alice", "01_gradients")["score"] == first.max_score
    assert results(out, "alice", "02_gradient_descent")["score"] == second.max_score
    bob = results(out, "bob", "01_gradients")
    assert bob["extra_data"]["functions"]["mse_loss"]["score"] < first.points["mse_loss"]
    assert bob["score"] >= first.max_score - first.points["mse_loss"]  # only mse_loss loses points
    assert "bob" in done.stdout and "alice" in done.stdout


def test_assignment_option_for_renamed_notebook(tmp_path):
    nb = filled_release("02_gradient_descent", tmp_path / "x")
    renamed = nb.rename(nb.with_name("my work.ipynb"))
    assert run_cli("grade", str(renamed), "--out", str(tmp_path / "o")).returncode == 2
    done = run_cli("grade", str(renamed), "--assignment", "02_gradient_descent", "--out", str(tmp_path / "o"))
    assert done.returncode == 0, done.stderr
    assert results(tmp_path / "o", "x", "02_gradient_descent")["score"] == COURSE.assignment("02_gradient_descent").max_score


@pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("setpriv"), reason="root only")
def test_grade_and_export_run_as_root_leave_files_the_sudo_user_can_upload(tmp_path):
    """The workflow's grade job runs ``grade`` as root through sudo, and its upload step as the
    runner's user: that user (here a uid of no user, as SUDO_UID) reads and tars everything
    ``grade`` wrote (root writes it 0600), the JUnit file outside the folder too, and then
    everything ``export`` added."""
    uid = gid = unused_uid()
    machine = world_traversable_tempdir("gd-runner-")
    try:
        submitted = tmp_path / "submitted"  # only root reads the notebooks
        filled_release("01_gradients", submitted / "alice" / "01_gradients")
        wrong = {"mse_loss": "def mse_loss(w, X, y):\n    return 0.0\n"}
        write_notebook("01_gradients", submitted / "bob" / "01_gradients", wrong)
        out, junit = machine / "graded", machine / "junit.xml"
        sudo = {**os.environ, "SUDO_UID": str(uid), "SUDO_GID": str(gid)}
        grade = ["grade", str(submitted), "--out", str(out), "--feedback", "--junit", str(junit)]
        for verb, made in (
            (grade, {"results.json", "feedback.md", "01_gradients_written.md"}),
            (["export", str(out)], {"canvas.csv"}),
        ):
            done = subprocess.run(
                [sys.executable, "-m", "autograder", *verb], cwd=REPO, env=sudo, capture_output=True, text=True
            )
            assert done.returncode == 0, done.stderr
            written = [p.relative_to(machine).as_posix() for p in [out, *sorted(out.rglob("*")), junit]]
            assert made | {"grades.csv", "01_gradients_manual.csv"} <= {Path(p).name for p in written}
            as_runner = ["setpriv", f"--reuid={uid}", f"--regid={gid}", "--clear-groups", "--"]
            tar = subprocess.run(
                [*as_runner, "tar", "-cf", "-", "-C", str(machine), "graded", "junit.xml"], capture_output=True
            )
            assert tar.returncode == 0, tar.stderr.decode()
            with tarfile.open(fileobj=io.BytesIO(tar.stdout)) as archive:
                assert sorted(m.name.rstrip("/") for m in archive.getmembers()) == sorted(written)
                assert json.loads(archive.extractfile("graded/alice/01_gradients/results.json").read())["score"] > 0
            assert all(os.lstat(machine / p).st_uid == uid for p in written)  # the runner's: it may remove them
    finally:
        shutil.rmtree(machine, ignore_errors=True)


@pytest.mark.parametrize(
    "args",
    [
        ("grade", "no/such/path"),
        ("grade", "README.md"),
        ("grade", "autograder"),
        ("grade", "solutions", "--jobs", "0"),
        ("grade", "solutions", "--assignment", "99_nope"),
        ("grade",),
        ("frobnicate",),
    ],
    ids=["missing", "not-a-notebook", "no-notebooks", "jobs-0", "unknown-assignment", "no-path", "unknown-verb"],
)
def test_usage_errors_exit_2(tmp_path, args):
    done = run_cli(*args, "--out", str(tmp_path)) if args[0] == "grade" and len(args) > 1 else run_cli(*args)
    assert done.returncode == 2
    assert done.stderr.strip() and "Traceback" not in done.stderr


def test_hidden_suite_runs_under_pytest():
    """The suites are pytest tests: an instructor can run one against a notebook."""
    base = [
        sys.executable,
        "-m",
        "pytest",
        "-q",
        "-p",
        "autograder.pytest_plugin",
        "-p",
        "no:cacheprovider",
        "autograder/suites/gradient_descent.py",
        "--submission",
    ]
    good = subprocess.run(
        [*base, "solutions/02_gradient_descent/gradient_descent.ipynb"], cwd=REPO, capture_output=True, text=True
    )
    assert good.returncode == 0, good.stdout
    from autograder.suites import SUITES

    count = len(SUITES["02_gradient_descent"].checks)
    assert f"{count} passed" in good.stdout
    stub = subprocess.run(
        [*base, "assignments/02_gradient_descent/gradient_descent.ipynb"], cwd=REPO, capture_output=True, text=True
    )
    assert stub.returncode == 1 and f"{count} failed" in stub.stdout
    assert "not implemented yet" in stub.stdout
