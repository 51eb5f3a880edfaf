"""What ``nbgrader autograde`` takes from ``submitted/``: by ``grade``'s rules, never by nbgrader's.

nbgrader follows symbolic links: a ``submitted/<student>/<assignment>/`` notebook that links to
``solutions/`` (or a student folder that links to a classmate's) would be read, copied into
``autograded/`` and shown back in that student's feedback, and the files beside it are copied
the same way.  Here:

* ``submission`` finds the student's submission exactly as ``python -m autograder grade
  submitted`` does (``discover``: a symlink, a special file or a copy nested deeper is refused
  and scores 0 with the reason), so both routes grade the same notebook;
* ``SubmittedNotebooks``, nbgrader's exporter for ``autograde``, reads a refused notebook file
  (a symlink, a special file, one inside a linked folder) as the assignment's release: nothing
  of the link's target reaches ``autograded/``, and each test cell says why it scored 0;
* no chain that would execute the notebook in a kernel, or save grades with nbgrader's own
  ``SaveAutoGrades`` (full marks for an unscored test cell), reads anything (``check_chain``);
* ``drop_linked_copies`` removes from ``autograded/`` the files nbgrader copied through a link.

The course (course.yml beside ``nbgrader_config.py``) and nbgrader's folders come from the same
traitlets config every preprocessor of this package reads (``course``, ``course_folders``).
"""

from __future__ import annotations

import os
from pathlib import Path

import nbformat
from nbconvert.exporters import NotebookExporter
from nbconvert.preprocessors import ExecutePreprocessor
from nbgrader.coursedir import CourseDirectory
from nbgrader.preprocessors import SaveAutoGrades

from ..config import Course, load_course
from ..submission import Submission, UsageError, discover
from .save_grades import SaveGrades


def course_folders(configurable) -> CourseDirectory:
    """nbgrader's course folders (``root``, ``submitted/``, ``autograded/``) as configured."""
    return CourseDirectory(config=configurable.config)


def course(configurable) -> Course:
    """The course.yml of the course root that nbgrader works in (the one nbgrader_config.py read)."""
    return load_course(Path(course_folders(configurable).root) / "course.yml")


def submitted_folder(folders: CourseDirectory, student: str, assignment_id: str) -> Path:
    return Path(folders.format_path(folders.submitted_directory, student, assignment_id))


def submission(the_course: Course, folders: CourseDirectory, assignment_id: str, student: str) -> Submission:
    """``student``'s submission of ``assignment_id``, found as ``grade submitted`` finds it: the
    same notebook, the same refusals, the same submission time."""
    try:
        found = discover([str(Path(folders.root) / folders.submitted_directory)], the_course, assignment_id)
    except UsageError:
        found = []
    for candidate in found:
        if candidate.student == student:
            return candidate
    notebook = submitted_folder(folders, student, assignment_id) / the_course.assignment(assignment_id).notebook
    return Submission(notebook, student, assignment_id, refused=f"no notebook {notebook.name} found for {student}")


def linked(path: Path, levels: int = 2) -> bool:
    """Whether ``path`` or one of its ``levels`` parents (the assignment and student folders) is a
    symbolic link, or ``path`` is not a regular file."""
    if path.is_symlink() or not path.is_file():
        return True
    return any(parent.is_symlink() for parent in list(path.parents)[:levels])


class ChainError(RuntimeError):
    """nbgrader's autograde chain would run student code in a kernel, or score test cells our
    grader did not."""


def check_chain(preprocessors) -> None:
    """Raise ``ChainError`` if any of ``preprocessors`` executes notebooks (nbgrader's ``Execute``:
    student code would run in a kernel, as the instructor, outside the jail) or saves grades with
    nbgrader's own ``SaveAutoGrades`` (it gives full marks to every test cell our grader left
    empty); ``SaveGrades``, which scores such a cell 0, is the only saver allowed."""
    kernels = [type(p).__name__ for p in preprocessors if isinstance(p, ExecutePreprocessor)]
    if kernels:
        raise ChainError(
            f"refused: this autograde chain would run student code in a kernel ({', '.join(kernels)}); "
            "use nbgrader_config.py's chain"
        )
    savers = [
        type(p).__name__ for p in preprocessors if isinstance(p, SaveAutoGrades) and not isinstance(p, SaveGrades)
    ]
    if savers:
        raise ChainError(
            f"refused: this autograde chain saves grades with {', '.join(savers)}, which gives full marks to a "
            "test cell nobody graded; use nbgrader_config.py's chain (autograder.nbgrader.save_grades.SaveGrades)"
        )


class SubmittedNotebooks(NotebookExporter):
    """nbgrader's exporter for ``autograde``: a notebook reached through a link, or one that is
    not a regular file, is refused and read as the release of its assignment (nothing of the
    student's and nothing the link points at; it scores 0 and says why)."""

    def from_filename(self, filename: str, resources: dict | None = None, **kw):
        check_chain(self._preprocessors)  # before anything of the chain runs
        path = Path(filename)
        if not linked(path):
            return super().from_filename(filename, resources, **kw)
        self.log.warning("Refused (a link or a special file): %s", filename)
        folders = course_folders(self)
        release = Path(folders.root) / folders.release_directory / path.parent.name / path.name
        if release.is_file() and not linked(release, levels=0):
            notebook = nbformat.read(str(release), as_version=4)
        else:
            notebook = nbformat.v4.new_notebook()
        resources = resources if resources is not None else {}
        resources.setdefault("metadata", {}).update(name=path.stem, path=str(path.parent))
        return self.from_notebook_node(notebook, resources, **kw)


def drop_linked_copies(submitted: Path, autograded: Path) -> list[str]:
    """Remove from ``autograded`` every file nbgrader copied from ``submitted`` through a link
    (a linked file, or any file of a linked folder); return their names, relative to it."""
    dropped = []
    for here, _, files in os.walk(autograded):
        for name in files:
            copy = Path(here) / name
            relative = copy.relative_to(autograded)
            if relative.suffix == ".ipynb" or not _through_link(submitted, relative):
                continue
            copy.unlink()
            dropped.append(relative.as_posix())
    return sorted(dropped)


def _through_link(submitted: Path, relative: Path) -> bool:
    """Whether ``submitted/relative`` is there and reached through a link (the assignment or
    student folder, a folder on the way, or the file itself), or is not a regular file.  A file
    that is not there came from the source folder (nbgrader's own copy): it stays."""
    if not os.path.lexists(submitted / relative):
        return False
    if submitted.is_symlink() or submitted.parent.is_symlink():
        return True
    here = submitted
    for part in relative.parts:
        here = here / part
        if here.is_symlink():
            return True
    return not here.is_file()
