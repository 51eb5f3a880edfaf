"""One submission's life: find it, open it, grade it, finish it.  Every route goes through here.

``grade`` (paths on the command line), ``regrade`` (nbgrader's ``submitted/``), ``collect``
(a commit), ``gradescope`` (an upload in Gradescope's container), the pytest plugin (one suite,
one notebook) and nbgrader's route all describe what they found as a ``Submission`` and call
the same functions, so the same notebook and time get the same grade on every route:

- **find**: ``discover`` (submission trees and notebooks named on the command line) and
  ``find_notebook`` / ``pick_notebook`` (the notebook of one upload or one commit);
- **open**: ``open_submission`` refuses a submission with a reason, reads its cells and starts
  them in a sandbox with the assignment's limits, the course's support files, the stand-in rule
  and the course seed;
- **grade**: ``grade_submission`` runs every hidden check (and draws the report's plots) and
  returns the result with its lateness; ``grader_failed`` is what a student gets when we broke;
- **finish**: ``finish`` files one result (results.json, feedback reports) in an output folder,
  ``write_class_files`` the class's files from every result there (grades.csv, the histograms,
  the class reports, the written answers to grade), hand-graded scores merged first.
"""

from __future__ import annotations

import contextlib
import contextvars
import datetime as dt
import os
import re
import shutil
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

from .answers import function_code, written_answers
from .calls import CallOutcome
from .config import Course
from .lateness import Lateness, assess, lateness, read_timestamp
from .manual import ManualBook, apply, merge, write_sheets
from .notebook import NotebookError, read_cells
from .results import GradedSubmission, ManualScore, read_results, results_json, write_atomic, write_results
from .tables import by_student, class_csv, score_tables
from .verdicts import Verdict

if TYPE_CHECKING:
    from .suites.framework import StudentCode

# numpy, the sandbox's client, the suites, the runner and the feedback (and through them every
# suite module) are imported where they are first used: a submission's child is started first
# and runs its notebook meanwhile (``Opening``, ``open_ahead``).

#: neighbouring files larger than this are not copied beside the notebook
MAX_COPIED_FILE = 5 * 1024 * 1024
#: a submission with more neighbouring files than this, or more bytes of them, is refused with the
#: reason (the jail's home holds 64 MB; a course's notebook needs a few files, if any)
MAX_NEIGHBOURS = 200
MAX_NEIGHBOUR_BYTES = 32 * 1024 * 1024


class UsageError(Exception):
    """Paths or options that name no submission (exit status 2 on the command line)."""


class SandboxStartFailure(RuntimeError):
    """The child never started running the notebook: the machine's fault, never the student's."""


@dataclass(frozen=True)
class Submission:
    """One student's submission of one assignment.

    ``refused`` is the reason it must not be graded (it scores 0 and says why); ``notes`` tell
    the student about files of theirs that were refused.  ``submitted_at`` (when known) gives its
    lateness against ``deadline``, or, without one, course.yml's due date and extensions.
    """

    notebook: Path
    student: str
    assignment_id: str
    refused: str = ""
    notes: tuple[str, ...] = ()
    submitted_at: dt.datetime | None = None
    deadline: dt.datetime | None = None


# ------------------------------------------------------------------------------------ find


def refusal(notebook: Path) -> str:
    """Why the file ``notebook`` is not a submission (a symlink could name a classmate's
    notebook or the solutions), or ``""``."""
    if notebook.is_symlink() or not notebook.is_file():
        return f"{notebook.name} is a symbolic link or a special file, not a notebook"
    return ""


def pick_notebook(paths: Iterable[str], notebook_name: str, only: bool = False) -> str | None:
    """The submitted notebook among ``paths`` (``/``-separated, relative to one submission): the
    shallowest named ``notebook_name``; else, with ``only``, the one notebook there is."""
    found = sorted(paths, key=lambda p: (p.count("/"), p))
    named = [p for p in found if PurePosixPath(p).name == notebook_name]
    if named:
        return named[0]
    return found[0] if only and len(found) == 1 else None


def find_notebook(folder: Path, notebook_name: str) -> Path | None:
    """The notebook of one uploaded submission folder: the one with the assignment's name
    (shallowest), else the only notebook (hidden and ``__`` folders skipped)."""
    paths = [
        p.relative_to(folder).as_posix()
        for p in folder.rglob("*.ipynb")
        if not any(part.startswith((".", "__")) for part in p.relative_to(folder).parts)
    ]
    picked = pick_notebook(paths, notebook_name, only=True)
    return folder / picked if picked else None


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


def discover(paths: list[str], course: Course, assignment_id: str | None = None) -> list[Submission]:
    """The submissions named by ``paths``: notebooks, assignment folders, or nbgrader ``submitted/`` trees.

    In a tree, exactly ``<root>/<student>/<assignment>/<notebook>.ipynb`` regular files are
    submissions.  A symlink (it could name a classmate's notebook or the solutions), a copy
    nested deeper (``<student>/extra/<victim>/<assignment>/...``) or a second notebook for the
    same (student, assignment) is refused, with the reason in that student's results: the
    student is always the first folder below the root, never a name the files choose.
    nbgrader's ``timestamp.txt`` beside a notebook gives its submission time.
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
            if refusal(path):
                refusals.setdefault(key, []).append(refusal(path))
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
            if refusal(nb):
                refusals.setdefault(key, []).append(refusal(nb))
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
    submissions = [_submission(key, sorted(set(found.get(key, []))), refusals.get(key, []), course) for key in found]
    submissions += [_submission(key, [], refusals[key], course) for key in refusals if key not in found]
    return sorted(submissions, key=lambda s: (s.assignment_id, s.student))


def _submission(key: tuple[str, str], notebooks: list[Path], refused: list[str], course: Course) -> Submission:
    """The submission of ``key`` (student, assignment) from the notebooks found for it and the
    reasons others were refused."""
    student, aid = key
    notes = tuple(f"Not graded: {r}." for r in refused)
    if not notebooks:
        return Submission(Path(course.assignment(aid).notebook), student, aid, "; ".join(refused))
    submitted_at = read_timestamp(notebooks[0].parent)
    if len(notebooks) > 1:
        names = ", ".join(str(nb) for nb in notebooks)
        reason = f"more than one notebook for this assignment ({names})"
        return Submission(notebooks[0], student, aid, reason, submitted_at=submitted_at)
    return Submission(notebooks[0], student, aid, notes=notes, submitted_at=submitted_at)


# ------------------------------------------------------------------------------------ open


class Unreadable:
    """A submission that cannot be graded at all: every call reports why.

    ``status`` is ``Verdict.UNREADABLE`` (refused, or the notebook cannot be read) or
    ``Verdict.GRADER_ERROR``; ``note`` is what the student reads about it.
    """

    def __init__(self, reason: str, status: Verdict = Verdict.UNREADABLE, note: str = ""):
        self.reason = reason
        self.status = status
        self.note = note or f"Not graded: {reason}."

    def call(self, fn, args=(), kwargs=None, **options) -> CallOutcome:
        return CallOutcome(self.status, message=self.reason)


def scratch_copy(notebook: Path, into: Path) -> str:
    """Copy the notebook's neighbours (support modules, data) so that its imports work; or, when
    there are too many of them (``MAX_NEIGHBOURS``, ``MAX_NEIGHBOUR_BYTES``), why nothing is graded.

    Regular files only (a symlink could name any file of the machine), and no notebooks:
    the sandbox gets the notebook's cells, never a notebook file.
    """
    copied, size = 0, 0
    for item in notebook.parent.iterdir():
        if item.suffix == ".ipynb" or item.is_symlink() or not item.is_file():
            continue
        length = item.stat().st_size
        if length > MAX_COPIED_FILE:
            continue
        copied, size = copied + 1, size + length
        if copied > MAX_NEIGHBOURS or size > MAX_NEIGHBOUR_BYTES:
            return (
                f"the folder of your notebook holds more than {MAX_NEIGHBOURS} files or {MAX_NEIGHBOUR_BYTES >> 20} MB "
                "beside it; submit the notebook with only the files it reads"
            )
        shutil.copyfile(item, into / item.name)
    return ""


class Opening:
    """One submission's code, opened: a ``Sandbox`` running its cells in the jail, beside copies of
    the notebook's neighbouring files and the course's ``support/``, under the assignment's limits
    and its stand-in rule; or an ``Unreadable`` that says why on every call.  ``start`` launches
    the child at once (before the submission's turn: ``open_ahead``); ``close`` ends it."""

    def __init__(self, submission: Submission, course: Course, cells: list[dict] | None = None):
        self._scratch: tempfile.TemporaryDirectory | None = None
        self.code = self._open(submission, course, cells)

    def _open(self, submission: Submission, course: Course, cells: list[dict] | None) -> StudentCode:
        reason = submission.refused or (refusal(submission.notebook) if cells is None else "")
        if reason:
            return Unreadable(reason, note=f"Your submission was not graded: {reason}.")
        try:
            cells = read_cells(submission.notebook) if cells is None else cells
        except NotebookError as exc:
            return Unreadable(str(exc), note=f"Your notebook could not be graded: {exc}.")
        self._scratch = tempfile.TemporaryDirectory(prefix="gd-grade-")
        try:
            workdir = Path(self._scratch.name)
            # cells from elsewhere come with no file: nothing beside them
            crowded = scratch_copy(submission.notebook, workdir) if submission.notebook.is_file() else ""
            if crowded:
                self._scratch.cleanup()
                self._scratch = None
                return Unreadable(crowded, note=f"Your submission was not graded: {crowded}.")
            support = [str(course.root / "support")]  # gd_support.py: copied in, like the neighbours
            assignment = course.assignment(submission.assignment_id)
            from .sandbox.process import Child, home_files

            started = Child(workdir, home_files(support), assignment.limits)  # before numpy loads, below
            try:
                from .sandbox.client import Sandbox
                from .standins import StandinRule

                rule = StandinRule(tuple(assignment.functions))
                return Sandbox(cells, workdir, support, assignment.limits, rule, started=started)
            except BaseException:
                started.kill()
                raise
        except BaseException:
            self._scratch.cleanup()
            raise

    def start(self) -> Opening:
        if not isinstance(self.code, Unreadable):
            self.code.start_ahead()
        return self

    def close(self) -> None:
        if not isinstance(self.code, Unreadable):
            self.code.close()
        if self._scratch is not None:
            self._scratch.cleanup()
            self._scratch = None


#: the submissions opened ahead of their turn in this context (``opening_ahead``), by submission
_AHEAD: contextvars.ContextVar[dict[Submission, Opening] | None] = contextvars.ContextVar("_AHEAD", default=None)


@contextlib.contextmanager
def opening_ahead() -> Iterator[None]:
    """Within this block ``open_ahead`` may start submissions before their turn (and
    ``open_submission`` takes them up); whatever was not taken up is closed at its end."""
    ahead: dict[Submission, Opening] = {}
    token = _AHEAD.set(ahead)
    try:
        yield
    finally:
        _AHEAD.reset(token)
        for opening in ahead.values():
            opening.close()


def open_ahead(submission: Submission, course: Course) -> None:
    """Open ``submission`` now and launch its child, a fresh one in a fresh jail as always, so that
    its notebook runs while the one before it is graded (nothing is shared between the two).

    Only inside ``opening_ahead``, and only from the thread that grades: the jail ends with the
    thread that started it.  A failure here is left for the submission's own turn, where it
    happens again and counts as it would have.
    """
    ahead = _AHEAD.get()
    if ahead is None or submission in ahead:
        return
    try:
        opening = Opening(submission, course)
    except Exception:  # noqa: BLE001 - its turn opens it again, and fails there
        return
    ahead[submission] = opening.start()


@contextlib.contextmanager
def open_submission(submission: Submission, course: Course, cells: list[dict] | None = None) -> Iterator[StudentCode]:
    """The submission's code, ready for its assignment's checks, with the course seed set (an
    ``Opening``'s code, its child launched: the one ``open_ahead`` started, if any)."""
    assignment = course.assignment(submission.assignment_id)
    ahead = _AHEAD.get()
    opening = ahead.pop(submission, None) if ahead is not None and cells is None else None
    # launched at once: the notebook runs while the caller loads the suites (every route)
    opening = opening or Opening(submission, course, cells).start()
    try:
        from .suites.framework import course_seed

        with course_seed(assignment.seed):
            yield opening.code
    finally:
        opening.close()


# ----------------------------------------------------------------------------------- grade


def grade_submission(
    submission: Submission, course: Course, *, feedback: bool = False, cells: list[dict] | None = None
) -> GradedSubmission:
    """Open ``submission``, run every hidden check of its assignment, and return its grade
    (with its lateness); with ``feedback``, also the report's plots of the student's code.

    Raises ``SandboxStartFailure`` when the child could not even start (the machine's fault).
    """
    with open_submission(submission, course, cells) as code:
        return _graded(submission, course, code, feedback)


def grader_failed(submission: Submission, course: Course) -> GradedSubmission:
    """What the student gets when the grader, not their code, broke: 0 for now, and why."""
    reason = "the grader itself failed on this submission (not your fault); your instructor will regrade it"
    return _graded(submission, course, Unreadable(reason, Verdict.GRADER_ERROR), feedback=False)


def _graded(submission: Submission, course: Course, code: StudentCode, feedback: bool) -> GradedSubmission:
    from .config import check_against_suites
    from .runner import run_assignment

    check_against_suites(course)  # a course read without it (``load_course``) is checked here
    assignment = course.assignment(submission.assignment_id)
    tests = run_assignment(code, assignment)
    if getattr(code, "start_failure", ""):
        raise SandboxStartFailure(code.start_failure)  # a grader failure: graded again next run
    # a report always has its plots: an unreadable notebook's show the reference, and say why
    plots, plot_notes = _plots(code, assignment.id) if feedback else ([], [])
    notes = [*submission.notes, *_run_notes(code)]
    late = submission_lateness(submission, course)
    graded = GradedSubmission(
        submission.student, assignment.id, submission.notebook.name, tests, notes, plots, plot_notes, late
    )
    graded.manual = {q: ManualScore(points) for q, points in assignment.manual.items()}  # pending
    graded.code = function_code(getattr(code, "cells", None) or [], assignment.functions)
    if not submission.refused and not isinstance(code, Unreadable):
        graded.written = written_answers(submission.notebook, list(assignment.manual))
    return graded


def _plots(code: StudentCode, assignment_id: str):
    from .feedback import draw_plots  # and matplotlib with it: only for a report

    return draw_plots(code, assignment_id)


def _run_notes(code: StudentCode) -> list[str]:
    """What the student reads about their notebook as a whole: why it could not be run, its failed cells."""
    if isinstance(code, Unreadable):
        return [code.note]
    notes = []
    if code.load_failure:
        notes.append(f"Your notebook could not be run: {code.load_failure}.")
    for cell in code.cell_reports:
        if cell.status == "ok":
            continue
        what = f"{cell.error_type}: {cell.message}" if cell.error_type else cell.message
        number = cell.index + 1  # counted from 1, as the notebook's own numbers and every `where` are
        where = cell.where.removeprefix(f"cell {number}, ")  # "line 4" of this cell; another cell by its number
        notes.append(f"Cell {number} of your notebook failed: {what}{f' ({where})' if where else ''}.")
    return notes


def submission_lateness(submission: Submission, course: Course) -> Lateness | None:
    """How late the submission is, when its time is known: against its own ``deadline`` (say
    Gradescope's), else course.yml's due date and the student's extensions."""
    if submission.submitted_at is None:
        return None
    if submission.deadline is not None:
        return lateness(submission.submitted_at, submission.deadline, course.late_policy)
    return assess(course, submission.assignment_id, submission.student, submission.submitted_at)


# ---------------------------------------------------------------------------------- finish

#: a student folder with one of these endings would take the place of a class-level output file
#: (``grades.csv``, ``junit.xml``, ``<assignment>_histogram.png``...) in the results folder
_OUTPUT_SUFFIXES = (".csv", ".xml", ".png", ".json", ".md", ".html", ".txt", ".zip")


def filed_name(student: str) -> str:
    """The folder a student's results are filed in: their name, unless it looks like a class
    output file (then a harmless one)."""
    if not student.lower().endswith(_OUTPUT_SUFFIXES):
        return student
    return re.sub(r"[^A-Za-z0-9_@-]", "_", student) + "_"


def filed(graded: GradedSubmission) -> GradedSubmission:
    """``graded`` under the name its results are filed by (``filed_name``; a note says so when
    that is not the student's own)."""
    name = filed_name(graded.student)
    if name == graded.student:
        return graded
    note = f'Your folder "{graded.student}" looks like a class results file; your results are under "{name}".'
    return replace(graded, student=name, notes=[*graded.notes, note])


def finish(
    graded: GradedSubmission, out_dir: Path, *, feedback: bool = False, manual: ManualBook | None = None
) -> GradedSubmission:
    """File one grade, with the hand-graded scores of ``manual`` on it: ``out_dir/<student>/
    <assignment>/results.json`` and, with ``feedback``, the reports beside it.  Returns the grade
    as filed (``filed``)."""
    graded = apply(filed(graded), manual)
    write_results(out_dir / graded.student / graded.assignment / "results.json", results_json(graded))
    if feedback:
        from .feedback import write_reports

        write_reports(graded.for_report(), out_dir)
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


def write_class_files(out_dir: Path, manual: ManualBook | None = None) -> None:
    """The class's files, from all results under ``out_dir`` once ``manual``'s hand-graded scores
    are merged into them (``manual.merge``): grades.csv, and per assignment the histogram of
    final scores, the class report and the written answers to grade (``manual.write_sheets``)."""
    merge(out_dir, manual)
    everything = load_all_results(out_dir)
    if not everything:
        return
    write_atomic(out_dir / "grades.csv", class_csv(everything))
    for t in score_tables(by_student(everything)):
        if len(t.rows) >= 2:  # a class: its histogram and its report (matplotlib is loaded only then)
            from .classreport import write_class_report
            from .histogram import score_histogram

            pending = sum(bool(g.grade.pending) for g in t.rows)
            max_score = max(g.grade.max_score for g in t.rows)
            score_histogram(t.finals(), max_score, t.assignment, out_dir / f"{t.assignment}_histogram.png", pending)
            write_class_report(out_dir, t.assignment, t.rows)
        write_sheets(out_dir, t.assignment, t.rows)
