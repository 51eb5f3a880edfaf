"""Benchmark: one class graded four ways, in one run, so that the ratios between them hold.

The same K submissions (per assignment: an untouched release, the solutions, and notebooks with
realistic mistakes from the bug zoo) in nbgrader's ``submitted/`` layout, graded by:

* **stock nbgrader**: ``nbgrader autograde`` as nbgrader users run it without this grader, a plain
  ``python3`` kernel executing each notebook with the hidden checks in its test cells (this
  course's test cells and in-kernel checks, from the ``--before`` commit);
* **gd-sandbox kernel (before)**: ``nbgrader autograde`` as this course ran it up to ``--before``,
  the same notebooks in its sandboxed kernel;
* **nbgrader autograde (now)**: this checkout's ``nbgrader autograde``, graded through the grader
  (``autograder/nbgrader/``: no kernel), feedback plots included;
* **grade**: ``python -m autograder grade submitted --jobs N`` of this checkout (no feedback).

``--before`` defaults to the last commit whose ``nbgrader_config.py`` chose the gd-sandbox kernel.
For each it prints the wall time for the class, per submission, the latency of one submission on
its own and the peak memory (largest resident set of any process it ran), and the ratios; results
also go to benchmarks/results/grade_class.json.  Run from anywhere::

    python benchmarks/grade_class.py [--students 8] [--jobs 2] [--before REF]
"""

from __future__ import annotations

import argparse
import io
import json
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "tests")]

from autograder.assign import tool_env  # noqa: E402
from autograder.config import load_course  # noqa: E402

from bug_zoo import BUGS  # noqa: E402
from helpers import copy_repo, filled_release, write_notebook  # noqa: E402

#: the line of the old nbgrader_config.py that chose the gd-sandbox kernel, and what stock nbgrader has instead
SANDBOX_KERNEL = "configure(c, course)\n"
PLAIN_KERNEL = 'c.ExecutePreprocessor.kernel_name = "python3"\nos.environ["GD_COURSE_CONFIG"] = str(course.path)\n'


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


def last_with_kernel() -> str:
    """The last commit whose nbgrader_config.py chose the gd-sandbox kernel (the parent of the one
    that stopped choosing it)."""
    changed = subprocess.run(
        ["git", "log", "-n1", "--format=%H", f"-S{SANDBOX_KERNEL.strip()}", "--", "nbgrader_config.py"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    return f"{changed}^"


def checkout(ref: str, into: Path) -> Path:
    """The tree of ``ref`` (``git archive``), written into ``into``."""
    archive = subprocess.run(["git", "archive", ref], cwd=REPO, capture_output=True, check=True).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(into, filter="tar")
    return into


def stock(root: Path) -> Path:
    """``root`` (a before tree) configured as stock nbgrader: the python3 kernel, no jail."""
    config = root / "nbgrader_config.py"
    text = config.read_text()
    if SANDBOX_KERNEL not in text:
        raise SystemExit(f"{config} does not choose the gd-sandbox kernel: give --before a commit that does")
    config.write_text("import os\n" + text.replace(SANDBOX_KERNEL, PLAIN_KERNEL))
    return root


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
    env = {**tool_env(), "PYTHONPATH": str(cwd), "GD_COURSE_CONFIG": str(cwd / "course.yml")}
    out = subprocess.run(
        [sys.executable, "-c", script, *cmd], cwd=cwd, env=env, capture_output=True, text=True, check=True
    )
    wall, peak, code = out.stdout.split()
    if code != "0":
        raise RuntimeError(f"{' '.join(cmd)} in {cwd} exited with {code}")
    return float(wall), float(peak)


def nbgrader_autograde(root: Path, ids: list[str]) -> dict:
    """Release every assignment (untimed), autograde the class, then one submission again alone."""
    py = sys.executable
    for a in ids:
        subprocess.run(
            [py, "-m", "nbgrader", "generate_assignment", a, "--force"],
            cwd=root,
            env={**tool_env(), "PYTHONPATH": str(root), "GD_COURSE_CONFIG": str(root / "course.yml")},
            check=True,
            capture_output=True,
        )
    wall, peak = 0.0, 0.0
    for a in ids:
        w, p = timed([py, "-m", "nbgrader", "autograde", a], root)
        wall, peak = wall + w, max(peak, p)
    one, _ = timed([py, "-m", "nbgrader", "autograde", ids[0], "--student", "student01", "--force"], root)
    return {"wall_s": round(wall, 2), "one_submission_s": round(one, 2), "peak_rss_mib": round(peak, 1)}


def grade(root: Path, ids: list[str], jobs: int) -> dict:
    py = sys.executable
    wall, peak = timed([py, "-m", "autograder", "grade", "submitted", "--out", "graded", "--jobs", str(jobs)], root)
    one_path = str(root / "submitted" / "student01" / ids[0])
    one, _ = timed([py, "-m", "autograder", "grade", one_path, "--out", "graded-one"], root)
    return {"wall_s": round(wall, 2), "one_submission_s": round(one, 2), "peak_rss_mib": round(peak, 1)}


def main() -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--students", type=int, default=8)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--before", default=None, help="commit of the gd-sandbox kernel (default: the last one)")
    args = parser.parse_args()
    course = load_course(REPO / "course.yml")
    ids = [a.id for a in course.assignments]
    before = args.before or last_with_kernel()
    with tempfile.TemporaryDirectory(prefix="gd-bench-") as scratch:
        trees = {
            "stock": stock(checkout(before, Path(scratch) / "stock")),
            "before": checkout(before, Path(scratch) / "before"),
            "now": copy_repo(Path(scratch) / "now"),
        }
        k = make_class(trees["now"], args.students)
        for name in ("stock", "before"):
            shutil.copytree(trees["now"] / "submitted", trees[name] / "submitted")
        runs = {
            "stock nbgrader (python3 kernel)": nbgrader_autograde(trees["stock"], ids),
            "gd-sandbox kernel (before)": nbgrader_autograde(trees["before"], ids),
            "nbgrader autograde (now)": nbgrader_autograde(trees["now"], ids),
            f"grade --jobs {args.jobs}": grade(trees["now"], ids, args.jobs),
        }
    stock_wall = runs["stock nbgrader (python3 kernel)"]["wall_s"]
    result = {
        "submissions": k,
        "jobs": args.jobs,
        "before": subprocess.run(["git", "rev-parse", before], cwd=REPO, capture_output=True, text=True).stdout.strip(),
        "runs": runs,
        "ratios_wall_to_stock": {name: round(r["wall_s"] / stock_wall, 3) for name, r in runs.items()},
        "ratio_now_to_before": round(
            runs["nbgrader autograde (now)"]["wall_s"] / runs["gd-sandbox kernel (before)"]["wall_s"], 3
        ),
        "ratio_grade_to_now": round(
            runs[f"grade --jobs {args.jobs}"]["wall_s"] / runs["nbgrader autograde (now)"]["wall_s"], 3
        ),
    }
    print(f"{k} submissions ({args.students} students x {len(ids)} assignments); before = {result['before'][:10]}")
    print(f"{'':34s}{'class wall':>12s}{'per submission':>16s}{'one alone':>11s}{'peak RSS':>10s}{'/ stock':>9s}")
    for name, r in runs.items():
        print(
            f"{name:34s}{r['wall_s']:>11.1f}s{r['wall_s'] / k:>15.2f}s{r['one_submission_s']:>10.2f}s"
            f"{r['peak_rss_mib']:>7.0f} MiB{result['ratios_wall_to_stock'][name]:>9.3f}"
        )
    print(
        f"nbgrader autograde now / before: {result['ratio_now_to_before']:.3f}; "
        f"grade / nbgrader autograde now: {result['ratio_grade_to_now']:.3f}"
    )
    out = REPO / "benchmarks" / "results"
    out.mkdir(exist_ok=True)
    (out / "grade_class.json").write_text(json.dumps(result, indent=2) + "\n")
    return result


if __name__ == "__main__":
    main()
