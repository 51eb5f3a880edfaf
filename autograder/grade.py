"""The ``grade`` verb: find submissions, grade each one out of process, write the results.

``python -m autograder grade PATH... [--out DIR] [--jobs N] [--assignment ID]``

Each submission's notebook runs in its own sandboxed child process; verdicts are made here.
A broken submission is graded 0 with a reason, never a crash, and results are written as
each submission finishes, atomically, so an interrupted batch loses nothing already graded.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path

from .calls import CallOutcome
from .config import Assignment, Course
from .feedback import draw_plots, write_reports
from .lateness import Lateness, assess, read_timestamp
from .notebook import NotebookError, read_cells
from .results import GradedSubmission, class_csv, read_results, results_json, write_atomic, write_results
from .runner import run_assignment
from .sandbox import jail
from .sandbox.client import Sandbox
from .standins import StandinRule
from .verdicts import Verdict

MAX_COPIED_FILE = 5 * 1024 * 1024


class UsageError(Exception):
    """Bad command-line input (exit status 2)."""


@dataclass(frozen=True)
class Target:
    """One submission to grade.  ``refused`` (a reason) when discovery would not grade it;
    ``notes`` tell the student about files of theirs that were refused."""

    notebook: Path
    student: str
    assignment_id: str
    refused: str = ""
    notes: tuple[str, ...] = ()


def _student_name(notebook: Path, assignment_id: str) -> str:
    # nbgrader: submitted/<student>/<assignment>/<notebook>; a release: <folder>/<assignment>/<notebook>
    folder = notebook.parent
    if folder.name == assignment_id and folder.parent.name:
        return folder.parent.name
    return folder.name or notebook.stem


def _notebooks(root: Path, linked_folders: list[Path]):
    """Every ``.ipynb`` under ``root`` (hidden folders skipped); symlinked folders are not followed
    but collected in ``linked_folders``, so that their owners are told why nothing was graded."""
    for folder, dirs, files in os.walk(root, followlinks=False):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        linked_folders += [Path(folder) / d for d in dirs if (Path(folder) / d).is_symlink()]
        for name in sorted(files):
            if name.endswith(".ipynb") and not name.startswith("."):
                yield Path(folder) / name


#: a student folder with one of these endings would take the place of a class-level output file
#: (``grades.csv``, ``junit.xml``, ``<assignment>_histogram.png``...) in the results folder
_OUTPUT_SUFFIXES = (".csv", ".xml", ".png", ".json", ".md", ".html", ".txt", ".zip")


def _filed_as(student: str) -> str:
    """The results folder of ``student``: their folder's name, unless it looks like an output file."""
    if student.lower().endswith(_OUTPUT_SUFFIXES):
        return re.sub(r"[^A-Za-z0-9_@-]", "_", student) + "_"
    return student


def discover(paths: list[str], course: Course, assignment_id: str | None = None) -> list[Target]:
    """The submissions named by ``paths``: notebooks, assignment folders, or nbgrader ``submitted/`` trees.

    In a tree, exactly ``<root>/<student>/<assignment>/<notebook>.ipynb`` regular files are
    submissions.  A symlink (it could name a classmate's notebook or the solutions), a copy
    nested deeper (``<student>/extra/<victim>/<assignment>/...``) or a second notebook for the
    same (student, assignment) is refused, with the reason in that student's results: the
    student is always the first folder below the root, never a name the files choose.
    """
    if assignment_id:
        course.assignment(assignment_id)  # fails early with the known ids
    found: dict[tuple[str, str], list[Path]] = {}
    refusals: dict[tuple[str, str], list[str]] = {}

    def assignment_of(nb: Path, in_folder: bool):
        if assignment_id:
            assignment = course.assignment(assignment_id)
            if in_folder and nb.parent.name != assignment.id and nb.name != assignment.notebook:
                return None  # another assignment's notebook in the same tree
            return assignment
        return course.assignment_for_notebook(nb.name)

    for raw in paths:
        path = Path(raw)
        if not path.exists() and not path.is_symlink():
            raise UsageError(f"{raw}: no such file or folder")
        if path.suffix == ".ipynb" and (path.is_symlink() or path.is_file()):
            assignment = assignment_of(path, False)
            if assignment is None:
                raise UsageError(f"{raw}: cannot tell which assignment this is from its name; use --assignment ID")
            key = (_student_name(path, assignment.id), assignment.id)
            if path.is_symlink() or not path.is_file():
                refusals.setdefault(key, []).append(f"{path.name} is a symbolic link, not a notebook file")
            else:
                found.setdefault(key, []).append(path)
            continue
        if path.is_symlink() or not path.is_dir():
            raise UsageError(f"{raw}: not a notebook (.ipynb) or a folder")
        count = 0
        linked: list[Path] = []
        for nb in _notebooks(path, linked):
            assignment = assignment_of(nb, True)
            if assignment is None:
                continue
            count += 1
            rel = nb.relative_to(path).parts
            if len(rel) == 1:
                key = (_student_name(nb, assignment.id), assignment.id)
            elif len(rel) == 2 and rel[0] == assignment.id:  # a student's folder
                key = (path.resolve().name, assignment.id)
            else:
                key = (rel[0], assignment.id)
                if len(rel) != 3 or rel[1] != assignment.id:
                    where = "/".join(rel[1:])
                    refusals.setdefault(key, []).append(
                        f"{where} is not where a submission goes ({rel[0]}/{assignment.id}/{assignment.notebook})"
                    )
                    continue
            if nb.is_symlink() or not nb.is_file():
                refusals.setdefault(key, []).append(f"{nb.name} is a symbolic link or a special file, not a notebook")
                continue
            found.setdefault(key, []).append(nb)
        for folder in linked:  # <student> or <student>/<assignment> is a link: refused, and said so
            rel = folder.relative_to(path).parts
            known = [a.id for a in course.assignments]
            ids = [rel[1]] if len(rel) == 2 else [assignment_id] if assignment_id else known
            for aid in ids:
                if len(rel) <= 2 and aid in known:
                    refusals.setdefault((rel[0], aid), []).append(f"{'/'.join(rel)} is a symbolic link to a folder")
                    count += 1
        if not count:
            raise UsageError(f"{raw}: no notebooks of this course found there")

    targets = []
    for key in sorted(set(found) | set(refusals)):
        student, aid = key
        notebooks = sorted(set(found.get(key, [])))
        notes = tuple(f"Not graded: {r}." for r in refusals.get(key, []))
        if _filed_as(student) != student:
            notes += (
                f'Your folder "{student}" looks like a class results file; your results are under "{_filed_as(student)}".',
            )
            student = _filed_as(student)
        if len(notebooks) == 1:
            targets.append(Target(notebooks[0], student, aid, notes=notes))
        elif notebooks:
            names = ", ".join(str(nb) for nb in notebooks)
            targets.append(Target(notebooks[0], student, aid, f"more than one notebook for this assignment ({names})"))
        else:
            reason = "; ".join(refusals[key])
            notebook = Path(course.assignment(aid).notebook)
            targets.append(Target(notebook, student, aid, reason))
    return sorted(targets, key=lambda t: (t.assignment_id, t.student))


class Unreadable:
    """A submission that cannot be graded at all: every call reports why (``status``: the
    notebook is ``Verdict.UNREADABLE``, or the grader had a ``Verdict.GRADER_ERROR``)."""

    def __init__(self, reason: str, status: Verdict = Verdict.UNREADABLE):
        self.reason = reason
        self.status = status

    def call(self, fn, args=(), kwargs=None, **options) -> CallOutcome:
        return CallOutcome(self.status, message=self.reason)


def scratch_copy(notebook: Path, into: Path) -> None:
    """Copy the notebook's neighbours (support modules, data) so that its imports work.

    Regular files only (a symlink could name any file of the machine), and no notebooks:
    the sandbox gets the notebook's cells, never a notebook file.
    """
    for item in notebook.parent.iterdir():
        if item.suffix == ".ipynb" or item.is_symlink() or not item.is_file():
            continue
        if item.stat().st_size <= MAX_COPIED_FILE:
            shutil.copyfile(item, into / item.name)


def grade_target(target: Target, course: Course, feedback: bool = False) -> GradedSubmission:
    """Grade one notebook in a fresh sandbox; with ``feedback``, also draw the report's plots."""
    assignment: Assignment = course.assignment(target.assignment_id)
    notes: list[str] = list(target.notes)
    if target.refused:
        notes.append(f"Your submission was not graded: {target.refused}.")
        tests = run_assignment(Unreadable(target.refused), assignment)
        return GradedSubmission(target.student, assignment.id, target.notebook.name, tests, notes)
    try:
        cells = read_cells(target.notebook)
    except NotebookError as exc:
        notes.append(f"Your notebook could not be graded: {exc}.")
        tests = run_assignment(Unreadable(str(exc)), assignment)
        # the report still shows the reference plots (their captions say why yours are missing)
        plots, plot_notes = draw_plots(Unreadable(str(exc)), assignment.id) if feedback else ([], [])
        return GradedSubmission(target.student, assignment.id, target.notebook.name, tests, notes, plots, plot_notes)
    with tempfile.TemporaryDirectory(prefix="gd-grade-") as scratch:
        workdir = Path(scratch)
        scratch_copy(target.notebook, workdir)
        support = [str(course.root / "support")]  # gd_support.py: copied in, like the neighbours
        rule = StandinRule(tuple(assignment.functions))
        with Sandbox(cells, workdir, support, assignment.limits, rule) as sandbox:
            tests = run_assignment(sandbox, assignment)
            if sandbox.start_failure:
                raise SandboxStartFailure(sandbox.start_failure)  # a grader failure: graded again next run
            plots, plot_notes = draw_plots(sandbox, assignment.id) if feedback else ([], [])
            if sandbox.load_failure:
                notes.append(f"Your notebook could not be run: {sandbox.load_failure}.")
            for cell in sandbox.cell_reports:
                if cell.status == "ok":
                    continue
                what = f"{cell.error_type}: {cell.message}" if cell.error_type else cell.message
                where = f" ({cell.where})" if cell.where else ""
                notes.append(f"Cell {cell.index + 1} of your notebook failed: {what}{where}.")
    return GradedSubmission(target.student, assignment.id, target.notebook.name, tests, notes, plots, plot_notes)


def _grade_in_worker(target: Target, course_path: str, feedback: bool) -> GradedSubmission:
    from .config import load_course

    return grade_target(target, load_course(course_path), feedback)


def submission_lateness(folder: Path, graded: GradedSubmission, course: Course) -> Lateness | None:
    """From nbgrader's ``timestamp.txt`` beside the notebook, when there is one."""
    submitted_at = read_timestamp(folder)
    return assess(course, graded.assignment, graded.student, submitted_at) if submitted_at else None


class SandboxStartFailure(RuntimeError):
    """The child never started running the notebook: the machine's fault, never the student's."""


class GraderFailure(Exception):
    """The grader itself failed on some submissions (a bug of ours, not the student's)."""


def _grader_failed(target: Target, course: Course) -> GradedSubmission:
    """What the student sees when the grader, not their code, broke: 0 for now, and why."""
    reason = "the grader itself failed on this submission (not your fault); your instructor will regrade it"
    tests = run_assignment(Unreadable(reason, Verdict.GRADER_ERROR), course.assignment(target.assignment_id))
    note = f"Not graded: {reason}."
    return GradedSubmission(target.student, target.assignment_id, target.notebook.name, tests, [note])


def grade_all(
    targets: list[Target], course: Course, out_dir: Path, jobs: int = 1, progress=None, feedback: bool = False
) -> list[GradedSubmission]:
    """Grade every target, writing each results.json (and report) as soon as it is done.

    A failure of the grader on one submission does not stop the batch: that submission gets a
    results.json saying so, the others are graded, and ``GraderFailure`` is raised at the end.
    """
    try:
        jail.require()  # fail closed: no student code runs outside the jail unless turned off
    except jail.SandboxUnavailable as exc:
        raise UsageError(str(exc)) from None
    graded: list[GradedSubmission] = []
    failures: list[str] = []
    folders = {(t.student, t.assignment_id): t.notebook.parent for t in targets}

    def done(g: GradedSubmission) -> None:
        g.lateness = submission_lateness(folders[(g.student, g.assignment)], g, course)
        write_results(out_dir / g.student / g.assignment / "results.json", results_json(g))
        if feedback:
            write_reports(g.for_report(), out_dir)
        graded.append(g)
        if progress:
            progress(g)

    def failed(t: Target, exc: BaseException) -> None:
        failures.append(f"{t.notebook}: {type(exc).__name__}: {exc}")
        done(_grader_failed(t, course))

    def finish(t: Target, g: GradedSubmission) -> None:
        try:
            done(g)
        except Exception as exc:  # noqa: BLE001 - e.g. its report could not be written: its error only
            failed(t, exc)

    if jobs <= 1 or len(targets) <= 1:
        for t in targets:
            try:
                g = grade_target(t, course, feedback)
            except Exception as exc:  # noqa: BLE001 - one submission's grader bug must not stop the class
                failed(t, exc)
                continue
            finish(t, g)
    else:
        with ProcessPoolExecutor(max_workers=jobs) as pool:
            futures = {pool.submit(_grade_in_worker, t, str(course.path), feedback): t for t in targets}
            for future in as_completed(futures):
                try:
                    g = future.result()
                except Exception as exc:  # noqa: BLE001 - as above (includes a worker process that died)
                    failed(futures[future], exc)
                    continue
                finish(futures[future], g)
    graded.sort(key=lambda g: (g.assignment, g.student))
    write_class_files(out_dir)
    if failures:
        raise GraderFailure("\n".join(failures), graded)
    return graded


def load_all_results(out_dir: Path) -> list[GradedSubmission]:
    """Every results.json under ``out_dir`` (this run's and earlier ones), for the class files."""
    graded = []
    for path in sorted(out_dir.glob("*/*/results.json")):
        try:
            graded.append(read_results(path))
        except (OSError, ValueError, KeyError, TypeError):
            continue  # not ours, or damaged: the class files skip it
    return graded


def write_class_files(out_dir: Path) -> None:
    """grades.csv and one score histogram per assignment, from all results under ``out_dir``."""
    everything = load_all_results(out_dir)
    if not everything:
        return
    write_atomic(out_dir / "grades.csv", class_csv(everything))
    by_assignment: dict[str, list[GradedSubmission]] = {}
    for g in everything:
        by_assignment.setdefault(g.assignment, []).append(g)
    for assignment, group in by_assignment.items():
        if len(group) >= 2:
            from .plots import score_histogram

            score_histogram(
                [g.score for g in group], group[0].max_score, assignment, out_dir / f"{assignment}_histogram.png"
            )
