"""The ``gradescope`` verb: an autograder bundle, so Gradescope grades each submission in its own container.

``python -m autograder gradescope ID --out autograder.zip`` writes the zip Gradescope asks for when
setting up a programming assignment.  Gradescope unpacks it into ``/autograder/source``, runs
``setup.sh`` once (as root, on Ubuntu) to build its image, then for every submission runs
``run_autograder``, which calls this module's ``main``: grade the notebook in
``$AUTOGRADER_ROOT/submission/`` with the hidden suites in the sandbox, and write
``$AUTOGRADER_ROOT/results/results.json`` (Gradescope's results format, the feedback report as
Markdown, lateness from ``submission_metadata.json``): last, by root, into a folder only root may
enter, once no process of the student's is left (README, "Which way a container grades").

The bundle holds the grading package (with the hidden suites), course.yml, ``support/`` and what
``pip`` needs to install them; never ``solutions/``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
import time
import zipfile
from pathlib import Path

from .config import Course, load_course
from .lateness import parse_time

#: at the zip root, beside setup.sh and run_autograder (what ``pip install`` of the package needs)
BUNDLED = ["pyproject.toml", "README.md", "course.yml", "autograder", "support"]

SETUP_SH = """\
#!/usr/bin/env bash
# Gradescope runs this once, as root, when it builds the autograder image (Ubuntu); the bundle is in
# /autograder/source.  bubblewrap gives student code its own namespaces and a minimal file system.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends bubblewrap python3 python3-venv python3-pip
python3 -m venv /autograder/venv
/autograder/venv/bin/python -m pip install --quiet /autograder/source
# Where the container cannot make namespaces, student code runs as "nobody" instead of in the jail:
# keep the hidden suites and course.yml (the bundle and the installed package) unreadable to it.
chmod -R go-rwx /autograder/source "$(/autograder/venv/bin/python -c 'import autograder, os; print(os.path.dirname(autograder.__file__))')"
"""

RUN_AUTOGRADER = """\
#!/usr/bin/env bash
# Gradescope runs this for every submission: grade submission/ with the hidden suites and write
# results/results.json.  AUTOGRADER_ROOT (default /autograder) lets tests run it in another tree.
set -euo pipefail
root="${{AUTOGRADER_ROOT:-/autograder}}"
python="$root/venv/bin/python"
[ -x "$python" ] || python="$(command -v python3)"   # a test's environment, with the package installed
exec "$python" -m autograder.gradescope --root "$root" --course "$root/source/course.yml" --assignment {assignment}
"""


def _files(course: Course):
    for name in BUNDLED:
        path = course.root / name
        if path.is_file():
            yield path, name
        elif path.is_dir():
            for item in sorted(path.rglob("*")):
                parts = item.relative_to(course.root).parts
                if item.is_file() and "__pycache__" not in parts and not item.name.startswith("."):
                    yield item, "/".join(parts)


def _add(bundle: zipfile.ZipFile, name: str, data: bytes, executable: bool = False) -> None:
    info = zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0))  # fixed: the same course gives the same zip
    info.external_attr = (0o755 if executable else 0o644) << 16
    info.compress_type = zipfile.ZIP_DEFLATED
    bundle.writestr(info, data)


def build_bundle(course: Course, assignment_id: str, dest: Path) -> list[str]:
    """Write Gradescope's autograder zip for one assignment; return the names in it."""
    assignment = course.assignment(assignment_id)
    dest.parent.mkdir(parents=True, exist_ok=True)
    names = []
    with zipfile.ZipFile(dest, "w") as bundle:
        _add(bundle, "setup.sh", SETUP_SH.encode(), executable=True)
        _add(bundle, "run_autograder", RUN_AUTOGRADER.format(assignment=assignment.id).encode(), executable=True)
        names += ["setup.sh", "run_autograder"]
        for path, name in _files(course):
            _add(bundle, name, path.read_bytes())
            names.append(name)
    return names


def run(args, course: Course) -> int:
    """``python -m autograder gradescope ID``: write the bundle."""
    names = build_bundle(course, args.id, Path(args.out))
    print(
        f"wrote {args.out} ({len(names)} files): upload it as the autograder of a Gradescope programming "
        f"assignment; students submit {course.assignment(args.id).notebook}"
    )
    return 0


# --------------------------------------------------------------------- inside Gradescope


def metadata_times(metadata: dict) -> tuple[dt.datetime | None, dt.datetime | None]:
    """From ``submission_metadata.json``: when it was submitted (``created_at``) and Gradescope's due
    date (a user's own ``assignment.due_date``, where Gradescope applies its extensions, wins), each
    None when missing; without a due date course.yml's (and its extensions) apply."""
    try:
        submitted_at = parse_time(metadata["created_at"])
    except (KeyError, TypeError, ValueError):
        return None, None
    users = metadata.get("users") or [{}]
    for source in (users[0].get("assignment") if isinstance(users[0], dict) else None, metadata.get("assignment")):
        if isinstance(source, dict) and source.get("due_date"):
            try:
                return submitted_at, parse_time(source["due_date"])
            except (TypeError, ValueError):
                continue
    return submitted_at, None


def grade_upload(root: Path, course: Course, assignment_id: str) -> dict:
    """Grade ``root/submission`` and return Gradescope's results.json content."""
    from .results import results_json
    from .submission import Submission, find_notebook, grade_submission

    started = time.monotonic()
    assignment = course.assignment(assignment_id)
    try:
        metadata = json.loads((root / "submission_metadata.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        metadata = {}
    users = [u for u in metadata.get("users") or [] if isinstance(u, dict)]
    student = ", ".join(str(u.get("name") or u.get("email") or "") for u in users).strip(", ") or "you"
    submitted_at, deadline = metadata_times(metadata)
    notebook = find_notebook(root / "submission", assignment.notebook)
    refused = "" if notebook else f"we found no {assignment.notebook} in your submission (upload the notebook itself)"
    submission = Submission(
        notebook or Path(assignment.notebook), student, assignment.id, refused, (), submitted_at, deadline
    )
    _fall_back_to_container()
    graded = grade_submission(submission, course)  # its child runs the notebook while the suites load
    from .feedback import markdown_report

    report = markdown_report(graded.for_report(), [], graded.plot_notes)
    return results_json(graded, report, execution_time=time.monotonic() - started)


def _fall_back_to_container() -> None:
    """Gradescope's container is one submission's and thrown away: where it cannot make the
    namespaces the jail needs (Docker's default seccomp profile refuses them), grade without the
    jail rather than fail every student.  Student code then runs as ``nobody`` in folders of its
    own that root never acts on (``sandbox/unjailed.py``); it cannot read the bundle (``setup.sh``
    hides it) nor reach the results (``main``), and no process of it outlives the grading."""
    from .sandbox import jail

    if jail.sandbox_disabled():
        return
    reason = jail.available()
    if reason:
        os.environ[jail.SWITCH] = "off"
        print(f"note: {reason}; grading in this container without the jail, student code as nobody")


def _private_folder(folder: Path) -> None:
    """``folder`` a real folder (not a link) that only we may enter: made so before any student code
    runs, so that nothing the student starts can write, replace or read what we write there."""
    folder.mkdir(mode=0o700, exist_ok=True)
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC)
    try:
        os.fchown(fd, os.geteuid(), os.getegid())
        os.fchmod(fd, 0o700)
    finally:
        os.close(fd)


def _end_student_processes() -> None:
    """Without the jail, as root: every process of the uid student code ran as is killed (this container
    grades one submission), after the last child and before the results are written.  A process
    the student left behind, detached, is no descendant of ours and no cgroup holds it here."""
    from .sandbox import jail, unjailed

    if jail.sandbox_disabled() and os.geteuid() == 0 and not unjailed.sweep(jail.INSIDE_ID):
        print(f"note: processes of uid {jail.INSIDE_ID} survived SIGKILL", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m autograder.gradescope", description=__doc__.splitlines()[0])
    parser.add_argument("--root", default=os.environ.get("AUTOGRADER_ROOT", "/autograder"))
    parser.add_argument("--course", default=None)
    parser.add_argument("--assignment", required=True)
    args = parser.parse_args(argv)
    root = Path(args.root)
    from .sandbox import jail

    jail.check_ahead()  # the probe runs while course.yml is read and the grader loads (grade_upload)
    course = load_course(args.course, check_suites=False)  # checked by the grading, its jail starting
    _private_folder(root / "results")  # before any student code runs (grade_upload)
    from .results import write_results

    results = root / "results" / "results.json"
    try:
        data = grade_upload(root, course, args.assignment)
        status = 0
    except Exception as exc:  # noqa: BLE001 - Gradescope shows the student nothing without results.json
        data = {
            "score": 0,
            "output": "The grader itself failed on your submission (not your fault); your instructor will regrade it.",
            "output_format": "md",
            "tests": [],
        }
        print(f"grader failure: {type(exc).__name__}: {exc}", file=sys.stderr)
        status = 1
    _end_student_processes()
    write_results(results, data)  # last, by us, into a folder only we may enter
    if status == 0:
        print(f"{data['score']:g} points; results in {results}")
    return status


if __name__ == "__main__":
    sys.exit(main())
