"""nbgrader configuration, read from course.yml (the one course config).

solutions/ holds the source notebooks, assignments/ the student release.  Feedback never
shows hidden tests.  A bad course.yml stops every nbgrader command with one line.
"""

import sys
from pathlib import Path

from nbconvert.preprocessors import CSSHTMLHeaderPreprocessor
from nbgrader.preprocessors import ClearHiddenTests, ClearMarkScheme, GetGrades

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from autograder.config import CourseConfigError, load_course  # noqa: E402
from autograder.kernelspec import configure  # noqa: E402

try:
    course = load_course(HERE / "course.yml")
except CourseConfigError as exc:
    sys.stderr.write(f"error: {exc}\n")
    raise SystemExit(2) from None

c = get_config()  # noqa: F821 - provided by traitlets when nbgrader loads this file

c.CourseDirectory.root = str(HERE)
c.CourseDirectory.course_id = course.id
c.CourseDirectory.source_directory = "solutions"
c.CourseDirectory.release_directory = "assignments"
c.CourseDirectory.ignore = [".ipynb_checkpoints", "*.pyc", "__pycache__", "feedback", ".*"]

# Notebooks run in the gd-sandbox kernel: ipykernel in the same bubblewrap jail as the grader's
# child, talking to nbgrader over Unix sockets (autograder/kernelspec.py).  One cell may run at
# most cell_seconds.
configure(c, course)
c.ExecutePreprocessor.timeout = int(max(a.limits.cell_seconds for a in course.assignments))
c.Autograde.create_student = True

# Feedback shows the student's cells and scores, never the hidden tests' code nor the mark schemes
# (graders see those in formgrader: autograde restores the locked question cells that hold them).
c.ClearHiddenTests.enforce_metadata = False
# Each written question's cell is locked (not an nbgrader "task", which would add a 0-point grade that
# formgrader flags as needing a manual grade) and holds the question's mark scheme: the release and
# the feedback drop it, and autograde restores it from the gradebook, so graders see it in formgrader.
c.ClearMarkScheme.enforce_metadata = False
c.GenerateFeedback.preprocessors = [GetGrades, ClearHiddenTests, ClearMarkScheme, CSSHTMLHeaderPreprocessor]
