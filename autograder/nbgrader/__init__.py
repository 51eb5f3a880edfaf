"""nbgrader's ``autograde``, graded by this course's grader: the pieces ``nbgrader_config.py`` plugs in.

``nbgrader autograde`` first sanitizes each ``submitted/`` notebook (nbgrader's own chain:
outputs cleared, test and locked cells restored from the gradebook, a deleted graded cell added
back), reading it with ``submitted.SubmittedNotebooks`` (a linked or special file is refused),
then runs its autograde chain, which here is::

    GradeCells            grade_cells.py  the submission graded as `grade` grades it (jail, suites),
                                          each test cell given its function's feedback and score
    SaveGrades            save_grades.py  nbgrader's SaveAutoGrades: a test cell without our score
                                          scores 0, with the reason
    SyncDeadlines         deadlines.py    course.yml's due date and extension into the gradebook
    AssignLatePenalties   (nbgrader's)    with late_policy.CourseLatePolicy: course.yml's late policy
    CheckCellMetadata     (nbgrader's)

No kernel starts and no student code runs in nbgrader's process.  ``points.py`` keeps the
notebooks' and the gradebook's points equal to course.yml's (``assign`` writes them; every
command refuses when they differ).  Importing this package imports nothing of nbgrader's:
``nbgrader_config.py`` names the pieces by their import path, so the config stays cheap.
"""
