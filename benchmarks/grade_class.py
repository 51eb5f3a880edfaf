"""Benchmark: grade one class with ``nbgrader autograde`` and with ``python -m autograder grade``.

Both tools grade the same K submissions (per assignment: good, untouched and buggy
notebooks from the bug zoo) in a throwaway copy of the course, in the same run:

    python benchmarks/grade_class.py [--students 8] [--jobs 2]

It prints, for each tool, the wall time for the whole class, the latency of grading one
submission on its own, and the peak memory (largest resident set of any process it ran),
and the ratio autograder / nbgrader.  Results also go to benchmarks/results/grade_class.json.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "tests")]

from autograder.assign import tool_env  # noqa: E402
from autograder.config import load_course  # noqa: E402

from bug_zoo import BUGS  # noqa: E402
from helpers import copy_repo, filled_release, write_notebook  # noqa: E402


def make_class(root: Path, students: int) -> int:
    """K = students x assignments submissions in nbgrader's submitted/ layout; returns K."""
    course = load_course(REPO / "course.yml")
    count = 0
    for assignment in course.assignments:
        bugs = [b for b in BUGS if b.assignment == assignment.id]
        for i in range(students):
            folder = root / "submitted" / f"student{i:02d}" / assignment.id
            if i == 0:
                shutil.copytree(REPO / "assignments" / assignment.id, folder)  # untouched release
            elif i == 1:
                filled_release(assignment.id, folder)
            else:
                bug = bugs[(i * 7) % len(bugs)]
                write_notebook(assignment.id, folder, {bug.function: bug.source})
            count += 1
    return count


def timed(cmd: list[str], cwd: Path) -> tuple[float, float]:
    """Wall seconds of ``cmd`` and the peak resident memory (MiB) of any process it ran."""
    script = (
        "import resource, subprocess, sys, time\n"
        "t = time.perf_counter()\n"
        "done = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)\n"
        "wall = time.perf_counter() - t\n"
        "peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024\n"
        "print(wall, peak, done.returncode)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script, *cmd], cwd=cwd, env=tool_env(), capture_output=True, text=True, check=True
    )
    wall, peak, code = out.stdout.split()
    if code != "0":
        raise RuntimeError(f"{' '.join(cmd)} exited with {code}")
    return float(wall), float(peak)


def main() -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--students", type=int, default=8)
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args()
    course = load_course(REPO / "course.yml")
    ids = [a.id for a in course.assignments]
    py = sys.executable
    with tempfile.TemporaryDirectory(prefix="gd-bench-") as scratch:
        root = Path(scratch)
        copy_repo(root)
        k = make_class(root, args.students)
        for a in ids:  # the gradebook needs the assignments (not timed)
            subprocess.run(
                [py, "-m", "nbgrader", "generate_assignment", a, "--force"],
                cwd=root,
                env=tool_env(),
                check=True,
                capture_output=True,
            )

        nb_wall, nb_peak = 0.0, 0.0
        for a in ids:
            wall, peak = timed([py, "-m", "nbgrader", "autograde", a], root)
            nb_wall, nb_peak = nb_wall + wall, max(nb_peak, peak)
        ours_wall, ours_peak = timed(
            [py, "-m", "autograder", "grade", "submitted", "--out", "graded", "--jobs", str(args.jobs)], root
        )

        one = root / "submitted" / "student01" / ids[0]
        nb_one, _ = timed([py, "-m", "nbgrader", "autograde", ids[0], "--student", "student01", "--force"], root)
        ours_one, _ = timed([py, "-m", "autograder", "grade", str(one), "--out", "graded-one"], root)

    result = {
        "submissions": k,
        "jobs": args.jobs,
        "nbgrader_autograde": {
            "wall_s": round(nb_wall, 2),
            "one_submission_s": round(nb_one, 2),
            "peak_rss_mib": round(nb_peak, 1),
        },
        "autograder_grade": {
            "wall_s": round(ours_wall, 2),
            "one_submission_s": round(ours_one, 2),
            "peak_rss_mib": round(ours_peak, 1),
        },
        "ratio_wall": round(ours_wall / nb_wall, 3),
        "ratio_one_submission": round(ours_one / nb_one, 3),
    }
    print(f"{k} submissions ({args.students} students x {len(ids)} assignments)")
    print(f"{'':28s}{'class wall':>12s}{'per submission':>16s}{'one alone':>11s}{'peak RSS':>10s}")
    for name, key in (
        ("nbgrader autograde", "nbgrader_autograde"),
        (f"autograder grade --jobs {args.jobs}", "autograder_grade"),
    ):
        r = result[key]
        print(
            f"{name:28s}{r['wall_s']:>11.1f}s{r['wall_s'] / k:>15.2f}s{r['one_submission_s']:>10.2f}s{r['peak_rss_mib']:>7.0f} MiB"
        )
    print(
        f"ratio (autograder / nbgrader): class wall {result['ratio_wall']:.3f}, one submission {result['ratio_one_submission']:.3f}"
    )
    out = REPO / "benchmarks" / "results"
    out.mkdir(exist_ok=True)
    (out / "grade_class.json").write_text(json.dumps(result, indent=2) + "\n")
    return result


if __name__ == "__main__":
    main()
