"""Deadlines: when a submission is due, how late it is, and what that costs.

Pure functions of dates and course.yml's policy, shared by every entry point (``grade`` reads
nbgrader's ``timestamp.txt``, ``collect`` a commit's time, the Gradescope bundle its
``submission_metadata.json``), so the same submission time gives the same penalty everywhere.

The policy (course.yml ``late_policy``): a submission up to ``grace_minutes`` after the deadline
is on time; after that, every started day late (counted from the deadline itself) costs
``penalty_per_day`` percent of the points, up to ``max_penalty`` percent.  Without a penalty
the deadline is final: ``collect`` takes the last commit before it (plus grace).  ``extensions`` move one
student's deadline for one assignment (or all of them) by some hours.

Which commit counts when a student pushes after the deadline (``collect``; ``counts``):

- ``best`` (the default): the better of the last on-time submission's grade and the latest
  submission's penalised grade.  Late work can raise a grade, never lower an on-time one.
- ``last``: the latest submission, penalised, whatever the student had on time.

``final_cutoff_days`` (optional) ends late work: nothing submitted more than that many days
after the student's deadline counts.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from pathlib import Path

DAY = dt.timedelta(days=1)


@dataclass(frozen=True)
class LatePolicy:
    """course.yml's ``late_policy``; the default accepts late work without penalty."""

    penalty_per_day: float = 0.0  # percent of the points per started day late
    max_penalty: float = 100.0  # percent: the penalty never exceeds this
    grace_minutes: float = 0.0
    counts: str = "best"  # which commit counts: "best" or "last" (module docstring)
    final_cutoff_days: float | None = None  # no submission counts later than this after the deadline

    @property
    def grace(self) -> dt.timedelta:
        return dt.timedelta(minutes=self.grace_minutes)

    def cutoff(self, deadline: dt.datetime) -> dt.datetime | None:
        """The last moment a submission can still earn points (``None``: late work always can).

        Without a penalty there is no late work: the deadline (plus grace) is final.  With one,
        late work counts until the day whose penalty would reach 100%, or the final cutoff.
        """
        if self.penalty_per_day == 0:
            return deadline + self.grace
        ends = []
        if self.final_cutoff_days is not None:
            ends.append(deadline + dt.timedelta(days=self.final_cutoff_days))
        if self.max_penalty >= 100:
            ends.append(deadline + (math.ceil(100 / self.penalty_per_day) - 1) * DAY)
        return min(ends, default=None)

    def counted(self, on_time_score: float | None, late_score: float | None) -> str:
        """Which submission counts, ``"on_time"`` or ``"late"``, given their final scores
        (``None``: there is no such submission)."""
        if late_score is None:
            return "on_time"
        if on_time_score is None or self.counts == "last":
            return "late"
        return "late" if late_score > on_time_score else "on_time"


@dataclass(frozen=True)
class Extension:
    student: str
    hours: float
    assignment: str | None = None  # None: every assignment


@dataclass(frozen=True)
class Lateness:
    """How late one submission was and what it costs.  All times are aware (UTC when written)."""

    submitted_at: dt.datetime
    deadline: dt.datetime  # the student's own: course.yml's due date plus any extension
    days_late: int  # started days after the deadline (0: on time, including the grace period)
    penalty_percent: float

    @property
    def late(self) -> bool:
        return self.days_late > 0

    def penalty_points(self, auto_score: float) -> float:
        """The points this lateness takes off an autograded score (``penalty_points``)."""
        return penalty_points(auto_score, self.penalty_percent)

    def final_score(self, auto_score: float) -> float:
        """``auto_score`` after the penalty."""
        return round(auto_score - self.penalty_points(auto_score), 4)

    def to_json(self) -> dict:
        return {
            "submitted_at": _iso(self.submitted_at),
            "deadline": _iso(self.deadline),
            "days_late": self.days_late,
            "penalty_percent": self.penalty_percent,
        }

    @classmethod
    def from_json(cls, data: dict | None) -> Lateness | None:
        if not data:
            return None
        return cls(
            parse_time(data["submitted_at"]),
            parse_time(data["deadline"]),
            int(data["days_late"]),
            float(data["penalty_percent"]),
        )

    def sentence(self, auto_score: float, auto_max: float) -> str:
        """What the student reads in their feedback (the penalty is on the autograded points)."""
        when = f"Submitted {_human(self.submitted_at)}; deadline {_human(self.deadline)}"
        if not self.late:
            return f"{when}: on time."
        days = "1 day" if self.days_late == 1 else f"{self.days_late} days"
        return (
            f"{when}: {days} late, a penalty of {self.penalty_percent:g}% of your autograded points, so they count "
            f"{self.final_score(auto_score):g} / {auto_max:g} (before the penalty: {auto_score:g})."
        )


def penalty_points(auto_score: float, penalty_percent: float) -> float:
    """The points a late penalty of ``penalty_percent`` takes off: a share of the autograded score only.

    Written answers graded by hand are not penalised: the penalty is known the moment the work
    is autograded and never changes when hand grading lands, as nbgrader's own late penalty (computed
    at autograde time) and Gradescope's manual questions (added to the autograder's score after it).
    nbgrader's gradebook takes the same points off (``nbgrader.late_policy.CourseLatePolicy``).
    """
    return round(auto_score * penalty_percent / 100, 4)


def parse_time(text: str) -> dt.datetime:
    """An ISO 8601 time; one without a zone is taken as UTC (as course.yml's examples are)."""
    value = dt.datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    return value if value.tzinfo else value.replace(tzinfo=dt.timezone.utc)


def _utc(value: dt.datetime) -> dt.datetime:
    return (value if value.tzinfo else value.replace(tzinfo=dt.timezone.utc)).astimezone(dt.timezone.utc)


def _iso(value: dt.datetime) -> str:
    return _utc(value).isoformat(timespec="seconds")


def _human(value: dt.datetime) -> str:
    return _utc(value).strftime("%Y-%m-%d %H:%M UTC")


def student_deadline(due: dt.datetime, assignment_id: str, student: str, extensions: list[Extension]) -> dt.datetime:
    """``due`` moved by the longest extension that applies to this student and assignment."""
    hours = [e.hours for e in extensions if e.student == student and e.assignment in (None, assignment_id)]
    return _utc(due) + dt.timedelta(hours=max(hours, default=0))


def lateness(submitted_at: dt.datetime, deadline: dt.datetime, policy: LatePolicy) -> Lateness:
    """How late ``submitted_at`` is for ``deadline`` under ``policy``."""
    submitted_at, deadline = _utc(submitted_at), _utc(deadline)
    late_by = submitted_at - deadline
    if late_by <= policy.grace:
        return Lateness(submitted_at, deadline, 0, 0.0)
    days = math.ceil(late_by / DAY)
    penalty = min(days * policy.penalty_per_day, policy.max_penalty, 100.0)
    return Lateness(submitted_at, deadline, days, float(penalty))


def read_timestamp(folder: Path) -> dt.datetime | None:
    """nbgrader's ``timestamp.txt`` in a ``submitted/<student>/<assignment>/`` folder, if readable.

    nbgrader writes its ``timestamp_format`` (``2027-02-05 23:59:00.000000 UTC`` by default) and
    reads it back with dateutil; so do we, for other zones and formats.  No zone means UTC, as there.
    """
    path = folder / "timestamp.txt"
    try:
        text = path.read_text(encoding="utf-8", errors="replace")[:100].strip()
    except OSError:
        return None
    plain = text.removesuffix(" UTC").strip()
    try:
        return parse_time(plain.replace(" ", "T", 1) if "T" not in plain else plain)
    except ValueError:
        pass
    import dateutil.parser  # nbgrader's own parser (a dependency of nbgrader and matplotlib)

    try:
        value = dateutil.parser.parse(text)
    except (ValueError, OverflowError):
        return None
    return value if value.tzinfo else value.replace(tzinfo=dt.timezone.utc)


def assess(course, assignment_id: str, student: str, submitted_at: dt.datetime) -> Lateness:
    """The lateness of ``student``'s submission of ``assignment_id`` under ``course`` (a config.Course)."""
    assignment = course.assignment(assignment_id)
    deadline = student_deadline(assignment.due, assignment.id, student, course.extensions)
    return lateness(submitted_at, deadline, course.late_policy)
