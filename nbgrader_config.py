"""nbgrader configuration, read from course.yml (the one course config).

solutions/ holds the source notebooks, assignments/ the student release.  ``nbgrader autograde``
grades through the course's own grader (autograder/nbgrader/: no kernel, student code only in the
grader's jail), and feedback never shows hidden tests.  A bad course.yml, or notebook or gradebook
points that are not course.yml's, stop every nbgrader command with one line.
"""

import sys
from pathlib import Path

from nbconvert.preprocessors import CSSHTMLHeaderPreprocessor
from nbgrader.preprocessors import AssignLatePenalties, CheckCellMetadata, ClearHiddenTests, ClearMarkScheme, GetGrades

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from autograder.config import CourseConfigError, load_course  # noqa: E402
from autograder.nbgrader import points  # noqa: E402


def refuse(problem: str) -> None:
    sys.stderr.write(f"error: {problem}\n")
    raise SystemExit(2)


try:
    course = load_course(HERE / "course.yml")
except CourseConfigError as exc:
    refuse(str(exc))
gradebook = HERE / "gradebook.db"
problem = points.disagreement(course) or (
    points.gradebook_disagreement(course, f"sqlite:///{gradebook}") if gradebook.is_file() else None
)
if problem:
    refuse(problem)

c = get_config()  # noqa: F821 - provided by traitlets when nbgrader loads this file

c.CourseDirectory.root = str(HERE)
c.CourseDirectory.course_id = course.id
c.CourseDirectory.source_directory = "solutions"
c.CourseDirectory.release_directory = "assignments"
c.CourseDirectory.ignore = [".ipynb_checkpoints", "*.pyc", "__pycache__", "feedback", ".*"]
c.Autograde.create_student = True

# autograde: nbgrader's sanitizing pass (outputs cleared, graded and locked cells restored from the
# gradebook, a deleted one added back) reads submitted/ by our rules; then, instead of executing the
# notebook in a kernel, the course's grader grades it and fills each test cell (autograder/nbgrader/).
c.Autograde.exporter_class = "autograder.nbgrader.submitted.SubmittedNotebooks"
c.OverwriteCells.add_missing_cells = True
c.Autograde.autograde_preprocessors = [
    "autograder.nbgrader.grade_cells.GradeCells",
    "autograder.nbgrader.save_grades.SaveGrades",
    "autograder.nbgrader.deadlines.SyncDeadlines",
    AssignLatePenalties,
    CheckCellMetadata,
]
c.AssignLatePenalties.plugin_class = "autograder.nbgrader.late_policy.CourseLatePolicy"

# Feedback shows the student's cells and, under each test cell, its function's score, words and
# plot; never the hidden tests' regions nor the mark schemes (graders see those in formgrader:
# autograde restores the locked question cells that hold them).
c.ClearHiddenTests.enforce_metadata = False
# Each written question's cell is locked (not an nbgrader "task", which would add a 0-point grade that
# formgrader flags as needing a manual grade) and holds the question's mark scheme: the release and
# the feedback drop it, and autograde restores it from the gradebook, so graders see it in formgrader.
c.ClearMarkScheme.enforce_metadata = False
c.GenerateFeedback.preprocessors = [GetGrades, ClearHiddenTests, ClearMarkScheme, CSSHTMLHeaderPreprocessor]
