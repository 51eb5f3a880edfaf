"""``CourseLatePolicy``: nbgrader's late-penalty plugin, applying course.yml's ``late_policy``.

``nbgrader_config.py`` sets it as ``AssignLatePenalties.plugin_class``.  nbgrader asks it about a
submission its gradebook calls late (``deadlines.SyncDeadlines`` makes that every one course.yml
may call late); it answers with the points to take off, from the same functions ``grade
submitted`` uses: the submission as ``grade`` finds it (``timestamp.txt`` beside the notebook),
its lateness under course.yml (due date, extensions, grace, penalty per day, cap) and the score
after the penalty.  So ``nbgrader export`` and ``python -m autograder grade submitted`` give the
same final score for the same notebook and ``timestamp.txt``.
"""

from __future__ import annotations

from nbgrader.plugins import LateSubmissionPlugin

from ..submission import submission_lateness
from .submitted import course, course_folders, submission


class CourseLatePolicy(LateSubmissionPlugin):
    """The penalty (points) course.yml's late policy takes off a late notebook's ``score``."""

    def late_submission_penalty(self, student_id: str, score: float, total_seconds_late: float) -> float | None:
        penalties = self.parent  # nbgrader's AssignLatePenalties, in the middle of one notebook
        the_course = course(penalties)
        found = submission(the_course, course_folders(penalties), penalties.assignment_id, student_id)
        late = submission_lateness(found, the_course)
        if late is None:
            return None
        return round(score - late.final_score(score), 4)
