"""What a scheduled ``collect`` run costs when nothing changed: the ``heads`` check, against a fetch.

``python benchmarks/heads_check.py [--students 200]``

Makes N local bare repositories (one commit each), records their heads as a run would, then times
(1) ``heads.what_changed`` (one ``git ls-remote`` per repository, 16 at a time: what the workflow
runs before installing anything) and (2) what a run did before: ``git fetch`` of every repository
into its cache, one after another.  Prints both and the ratio.  Local repositories measure git's
own cost; over the network each ls-remote adds a round trip (see README, "Cost").
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from autograder.collect import heads  # noqa: E402
from autograder.collect.gitio import fetch  # noqa: E402
from autograder.collect.roster import Student  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--students", type=int, default=200)
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="gd-heads-"))
    try:
        seed = root / "seed"
        seed.mkdir()
        env = {
            "GIT_AUTHOR_NAME": "s",
            "GIT_AUTHOR_EMAIL": "s@x",
            "GIT_COMMITTER_NAME": "s",
            "GIT_COMMITTER_EMAIL": "s@x",
        }
        (seed / "gradients.ipynb").write_text("{}")
        for cmd in (["init", "-q"], ["add", "-A"], ["commit", "-qm", "start"]):
            subprocess.run(["git", *cmd], cwd=seed, check=True, env={**env, "PATH": "/usr/bin:/bin"})
        students = []
        for i in range(args.students):
            bare = root / "server" / f"s{i:03d}.git"
            subprocess.run(["git", "clone", "-q", "--bare", str(seed), str(bare)], check=True)
            students.append(Student(f"s{i:03d}", str(bare)))
        state = root / "collected"
        state.mkdir()
        course = Path(__file__).resolve().parents[1] / "course.yml"
        recorded = {"heads": heads.remote_heads(students), "inputs": heads.inputs_digest(students, course)}
        (state / heads.HEADS_FILE).write_text(json.dumps({**recorded, "wake_at": None}))
        for s in students:  # the caches a run keeps
            fetch(s.repo, state / ".repos" / f"{s.key}.git")

        started = time.perf_counter()
        why = heads.what_changed(students, course, state, dt.datetime.now(dt.timezone.utc))
        check = time.perf_counter() - started
        assert why == "", why
        started = time.perf_counter()
        for s in students:
            fetch(s.repo, state / ".repos" / f"{s.key}.git")
        fetched = time.perf_counter() - started
        print(f"{args.students} repositories, nothing changed:")
        print(f"  heads check (ls-remote, {heads.PARALLEL} at a time): {check:.2f} s")
        print(f"  fetch of every cache, one after another:        {fetched:.2f} s")
        print(f"  ratio fetch / check: {fetched / check:.1f}")
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
