"""course.yml: find it, validate it against the schema, and give it a typed shape.

A bad file stops every command with one line that names the key and the problem, e.g.
``course.yml: assignments[1].points.gd_step: -1 is less than or equal to the minimum of 0``.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import os
import sys
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

import yaml

from .lateness import Extension, LatePolicy
from .limits import Limits

if TYPE_CHECKING:
    import jsonschema

SCHEMA_PATH = Path(__file__).with_name("course.schema.json")
PACKAGE_ROOT = Path(__file__).resolve().parent.parent


class CourseConfigError(Exception):
    """course.yml is missing or invalid.  ``str(exc)`` is one line for the user."""


@dataclass(frozen=True)
class Assignment:
    id: str
    notebook: str
    title: str
    due: dt.datetime
    seed: int
    points: dict[str, float]
    manual: dict[str, float]
    limits: Limits
    lms_id: str = ""  # the assignment's id in the LMS (Canvas), for ``export``

    @property
    def functions(self) -> list[str]:
        return list(self.points)

    @property
    def max_score(self) -> float:
        return float(sum(self.points.values()))


@dataclass(frozen=True)
class Course:
    id: str
    title: str
    path: Path
    assignments: list[Assignment] = field(default_factory=list)
    late_policy: LatePolicy = field(default_factory=LatePolicy)
    extensions: list[Extension] = field(default_factory=list)
    feedback_per_day: int | None = None  # hidden-suite reports per student, assignment and UTC day (collect)

    @property
    def root(self) -> Path:
        return self.path.parent

    def assignment(self, assignment_id: str) -> Assignment:
        for a in self.assignments:
            if a.id == assignment_id:
                return a
        known = ", ".join(a.id for a in self.assignments)
        raise CourseConfigError(f"{self.path.name}: no assignment '{assignment_id}' (known: {known})")

    def assignment_for_notebook(self, notebook_name: str) -> Assignment | None:
        for a in self.assignments:
            if a.notebook == notebook_name:
                return a
        return None


def find_course_file(start: Path | None = None) -> Path:
    """$GD_COURSE_CONFIG, else the first course.yml in ``start`` or its parents, else the repository's."""
    if os.environ.get("GD_COURSE_CONFIG"):
        return Path(os.environ["GD_COURSE_CONFIG"])
    here = Path(start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / "course.yml").is_file():
            return folder / "course.yml"
    return PACKAGE_ROOT / "course.yml"


def _stringify_dates(data):
    # YAML reads 2027-02-05T23:59:00 as a datetime; the schema speaks of strings.
    if isinstance(data, dict):
        return {k: _stringify_dates(v) for k, v in data.items()}
    if isinstance(data, list):
        return [_stringify_dates(v) for v in data]
    if isinstance(data, (dt.datetime, dt.date)):
        return data.isoformat()
    return data


def _odd_value(data, where: str = "") -> str:
    """What the schema lets through but no course means: a number that is not finite (YAML's
    ``.nan``, ``.inf``) or text with a control character (a name ending in a newline matches a
    pattern's ``$`` in Python); the key and the problem, or ``""``."""
    if isinstance(data, dict):
        items = ((f"{where}.{k}" if where else str(k), v) for k, v in data.items())
    elif isinstance(data, list):
        items = ((f"{where}[{i}]", v) for i, v in enumerate(data))
    elif isinstance(data, float) and not math.isfinite(data):
        return f"{where}: {data} is not a number a course can use"
    elif isinstance(data, str) and any(ord(c) < 32 or ord(c) == 127 for c in data):
        return f"{where}: {data!r} holds a control character (a line break?)"
    else:
        return ""
    for key, value in items:
        found = _odd_value(value, key)
        if found:
            return found
    return ""


def _where(error: jsonschema.ValidationError) -> str:
    parts = ""
    for p in error.absolute_path:
        parts += f"[{p}]" if isinstance(p, int) else (f".{p}" if parts else str(p))
    return parts or "(top level)"


@lru_cache(maxsize=1)
def _fast_validator():
    """The schema compiled by fastjsonschema (a few milliseconds), which only says valid or not.
    Formats are not checked, as jsonschema does not check them: the due date is read below."""
    import fastjsonschema

    schema = json.loads(SCHEMA_PATH.read_text())
    return fastjsonschema.compile(schema, formats={"date-time": ".*"}, use_default=False)


def _schema_error(data) -> jsonschema.ValidationError | None:
    """The most telling schema error of ``data``, or None.  A valid file costs fastjsonschema's
    check; jsonschema (a quarter of a second to import) is asked only to word an error, and its
    judgement is the one that counts."""
    import fastjsonschema

    try:
        _fast_validator()(data)
        return None
    except fastjsonschema.JsonSchemaException:
        pass
    # jsonschema imports rfc3987_syntax, when installed, to check IRI formats, which course.yml
    # never uses; building its grammar takes most of a second.  Skip it.
    sys.modules.setdefault("rfc3987_syntax", None)
    import jsonschema

    validator = jsonschema.Draft202012Validator(json.loads(SCHEMA_PATH.read_text()))
    return jsonschema.exceptions.best_match(validator.iter_errors(data))


def load_course(path: Path | str | None = None, *, check_suites: bool = True) -> Course:
    """Read and validate course.yml; raise ``CourseConfigError`` with a one-line reason.

    With ``check_suites=False`` the agreement with the hidden suites (``check_against_suites``,
    which imports them and numpy) is left to the grading itself, which checks before it grades:
    a grading command then starts the first student's jail while the suites load.
    """
    path = Path(path) if path else find_course_file()
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise CourseConfigError(f"{path}: file not found") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f" line {mark.line + 1}" if mark else ""
        raise CourseConfigError(f"{path.name}:{line} is not valid YAML ({getattr(exc, 'problem', exc)})") from None
    data = _stringify_dates(raw)
    error = _schema_error(data)
    if error is not None:
        raise CourseConfigError(f"{path.name}: {_where(error)}: {error.message}")
    odd = _odd_value(data)
    if odd:
        raise CourseConfigError(f"{path.name}: {odd}")

    default_limits = data.get("time_limits", {})
    assignments = []
    seen = set()
    for i, a in enumerate(data["assignments"]):
        if a["id"] in seen:
            raise CourseConfigError(f"{path.name}: assignments[{i}].id: '{a['id']}' appears twice")
        seen.add(a["id"])
        try:
            due = dt.datetime.fromisoformat(a["due"])
        except ValueError:
            raise CourseConfigError(
                f"{path.name}: assignments[{i}].due: '{a['due']}' is not an ISO date-time"
            ) from None
        limits = Limits(**{**default_limits, **a.get("time_limits", {})})
        assignments.append(
            Assignment(
                id=a["id"],
                notebook=a["notebook"],
                title=a["title"],
                due=due,
                seed=int(a["seed"]),
                points={k: float(v) for k, v in a["points"].items()},
                manual={k: float(v) for k, v in a.get("manual", {}).items()},
                limits=limits,
                lms_id=str(a.get("lms_id", "")),
            )
        )
    for i, e in enumerate(data.get("extensions", [])):
        if "assignment" in e and e["assignment"] not in seen:
            raise CourseConfigError(f"{path.name}: extensions[{i}].assignment: no assignment '{e['assignment']}'")
    course = Course(
        id=data["course"]["id"],
        title=data["course"]["title"],
        path=path,
        assignments=assignments,
        late_policy=LatePolicy(**data.get("late_policy", {})),
        extensions=[
            Extension(e["student"], float(e["hours"]), e.get("assignment")) for e in data.get("extensions", [])
        ],
        feedback_per_day=data.get("feedback_per_day"),
    )
    if check_suites:
        check_against_suites(course)
    return course


def check_against_suites(course: Course) -> None:
    """Every function that carries points must have hidden checks, or it could never score (grading
    asks before every submission: a few dictionary lookups once the suites are loaded)."""
    from .suites import SUITES

    for i, a in enumerate(course.assignments):
        if a.id not in SUITES:
            raise CourseConfigError(f"{course.path.name}: assignments[{i}].id: no hidden suite for '{a.id}'")
        graded = {c.function for c in SUITES[a.id].checks}
        for fn in a.points:
            if fn not in graded:
                raise CourseConfigError(
                    f"{course.path.name}: assignments[{i}].points.{fn}: no hidden checks grade '{fn}'"
                )
