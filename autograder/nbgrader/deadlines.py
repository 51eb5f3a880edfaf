"""``SyncDeadlines``: course.yml's due date and the student's extension, written into the gradebook.

nbgrader asks its late-penalty plugin (``late_policy.CourseLatePolicy``) only about a submission
that the gradebook calls late: after the assignment's ``duedate`` plus the student's
``extension``.  Before ``AssignLatePenalties`` reads them, this sets both from course.yml (the due
date of the assignment, the longest extension of the student), so that every submission
course.yml calls late is one nbgrader asks about (course.yml's grace period is the plugin's to
apply), and formgrader and ``nbgrader export`` show course.yml's deadline.  Like ``GradeCells`` it
runs whether or not it is ``enabled``.
"""

from __future__ import annotations

import datetime as dt

from nbgrader.api import Gradebook
from nbgrader.preprocessors import NbGraderPreprocessor

from ..lateness import student_deadline
from .submitted import course


def naive_utc(value: dt.datetime) -> dt.datetime:
    """``value`` as the gradebook stores times: UTC, without a zone."""
    return value.astimezone(dt.timezone.utc).replace(tzinfo=None)


class SyncDeadlines(NbGraderPreprocessor):
    """Write course.yml's deadline for this submission into the gradebook (module docstring)."""

    def __call__(self, nb, resources):
        return self.preprocess(nb, resources)

    def preprocess(self, nb, resources):
        info = resources["nbgrader"]
        the_course = course(self)
        assignment = the_course.assignment(info["assignment"])
        due = naive_utc(assignment.due)
        extended = naive_utc(student_deadline(assignment.due, assignment.id, info["student"], the_course.extensions))
        with Gradebook(info["db_url"]) as gb:
            gb.find_assignment(assignment.id).duedate = due
            gb.find_submission(assignment.id, info["student"]).extension = (extended - due) or None
            gb.db.commit()
        return nb, resources
