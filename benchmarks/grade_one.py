"""Benchmark: the latency of grading one submission, against running the same notebook in Jupyter.

For each assignment's solution notebook, in this process and in the same run: the median wall time
of ``grade_submission`` (the jailed child, every hidden check, the score) and of executing the notebook
top to bottom with nbclient (a plain kernel: what opening and running it in Jupyter costs), and their
ratio.  A ratio near 1 or below means grading costs no more than a student's own "Run all".

    python benchmarks/grade_one.py [--repeats 3]

Results also go to benchmarks/results/grade_one.json.  (This replaced a test that asserted a
wall-time bound: speed depends on the machine and its load, so it is measured, never asserted.)
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

from autograder.config import load_course
from autograder.submission import Submission, grade_submission

REPO = Path(__file__).resolve().parents[1]


def seconds(action, repeats: int) -> float:
    """The median wall time of ``action()`` over ``repeats`` runs."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def execute(path: Path) -> None:
    nb = nbformat.read(str(path), as_version=4)
    NotebookClient(nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}).execute()


def main() -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    course = load_course(REPO / "course.yml")
    result = {}
    print(f"{'assignment':22s}{'grade':>9s}{'run in Jupyter':>16s}{'ratio':>8s}")
    for a in course.assignments:
        notebook = REPO / "solutions" / a.id / a.notebook
        grade_submission(Submission(notebook, "warm-up", a.id), course)  # the site mirror and imports, once
        graded = seconds(lambda: grade_submission(Submission(notebook, "bench", a.id), course), args.repeats)  # noqa: B023
        executed = seconds(lambda: execute(notebook), args.repeats)  # noqa: B023
        result[a.id] = {
            "grade_s": round(graded, 3),
            "execute_s": round(executed, 3),
            "ratio": round(graded / executed, 3),
        }
        print(f"{a.id:22s}{graded:>8.2f}s{executed:>15.2f}s{graded / executed:>8.2f}")
    saved = REPO / "benchmarks" / "results" / "grade_one.json"
    saved.parent.mkdir(exist_ok=True)
    saved.write_text(json.dumps(result, indent=2) + "\n")
    return result


if __name__ == "__main__":
    main()
