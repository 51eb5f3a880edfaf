"""Benchmark: ``grade --jobs N`` over hostile replies to our spies, beside honest classmates.

Two batches in the same run, graded by ``grade_all`` (what ``python -m autograder grade`` runs):
the honest classmates alone, then the same classmates with submissions that send our spies the
largest replies a frame holds (``tests/test_hostile_replies.py``: forty points of four million
numbers per run of ``gradient_descent``, batches of 3.6 million numbers to the loops'
``grad_fn``, ...).  Each grading process records, per submission, its wall time, its CPU time,
its peak resident memory (``ru_maxrss``: the grading process, not the jail) and the CPU time of
each callback it answered (receiving and answering it):

    python benchmarks/hostile_replies.py [--jobs 2] [--honest 2]

It prints one line per submission and the summary the issue asks for: the grading processes' peak
memory, the costliest callback, and the honest classmates' scores and times beside hostile ones
as a ratio to their times alone.  Results also go to benchmarks/results/hostile_replies.json.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "tests")]

from test_hostile_replies import HUGE_BATCH, HUGE_POINTS, time_callbacks  # noqa: E402

from autograder import grade  # noqa: E402
from autograder.config import load_course  # noqa: E402
from autograder.submission import discover  # noqa: E402

from helpers import write_notebook  # noqa: E402

#: a float64 point as large as a frame holds, ten times per run
HUGE_FLOAT_POINTS = HUGE_POINTS.replace("np.ones(4_000_000, dtype=np.int8)", "np.ones(4_000_000)").replace(
    "range(40)", "range(10)"
)
HOSTILE = {
    "points_int8": ("02_gradient_descent", "gradient_descent", HUGE_POINTS),
    "points_float64": ("02_gradient_descent", "gradient_descent", HUGE_FLOAT_POINTS),
    "batch_sgd": ("03_minibatch", "sgd", HUGE_BATCH),
    "batch_minibatch_gd": (
        "03_minibatch",
        "minibatch_gd",
        HUGE_BATCH.replace(
            "def sgd(grad_fn, X, y, w0, lr, epochs, rng)",
            "def minibatch_gd(grad_fn, X, y, w0, lr, epochs, batch_size, rng)",
        ),
    ),
    "batch_full_batch_gd": (
        "03_minibatch",
        "full_batch_gd",
        HUGE_BATCH.replace(
            "def sgd(grad_fn, X, y, w0, lr, epochs, rng)", "def full_batch_gd(grad_fn, X, y, w0, lr, epochs)"
        ),
    ),
}
LOG = Path(tempfile.mkdtemp(prefix="gd-hostile-bench-")) / "log.jsonl"
_callbacks: list[float] = []


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def timed_worker(submission, course, feedback: bool = False):
    """``grade.grade_submission`` (what each ``--jobs`` lane calls), measured: one line of figures
    per submission in ``LOG``."""
    _callbacks.clear()
    wall, cpu = time.perf_counter(), _cpu()
    graded = _grade_submission(submission, course, feedback=feedback)
    line = {
        "student": submission.student,
        "score": graded.score,
        "max_score": graded.max_score,
        "wall_s": time.perf_counter() - wall,
        "cpu_s": _cpu() - cpu,
        "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "callbacks": len(_callbacks),
        "max_callback_cpu_s": max(_callbacks, default=0.0),
    }
    with open(LOG, "a") as log:
        log.write(json.dumps(line) + "\n")
    return graded


_grade_submission = grade.grade_submission


def make_class(root: Path, honest: int) -> tuple[Path, Path]:
    """``root/honest`` (classmates with the solutions) and ``root/mixed`` (the same, and the hostile ones)."""
    for batch in ("honest", "mixed"):
        for i in range(honest):
            for assignment in ("02_gradient_descent", "03_minibatch"):
                write_notebook(assignment, root / batch / f"honest{i}_{assignment[:2]}" / assignment)
    for name, (assignment, function, source) in HOSTILE.items():
        write_notebook(assignment, root / "mixed" / name / assignment, {function: source})
    return root / "honest", root / "mixed"


def run_batch(folder: Path, jobs: int, out: Path) -> list[dict]:
    course = load_course(REPO / "course.yml")
    LOG.write_text("")
    grade.grade_all(discover([str(folder)], course), course, out, jobs=jobs)
    return [json.loads(line) for line in LOG.read_text().splitlines()]


def main() -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--honest", type=int, default=2, help="honest classmates per assignment")
    args = parser.parse_args()
    if args.jobs < 2:
        parser.error("--jobs must be 2 or more: the grading processes are the lanes'")
    grade.grade_submission = timed_worker  # the lanes are forked processes: they run it
    time_callbacks(_callbacks)
    with tempfile.TemporaryDirectory(prefix="gd-hostile-") as scratch:
        honest_folder, mixed_folder = make_class(Path(scratch), args.honest)
        alone = run_batch(honest_folder, args.jobs, Path(scratch) / "graded-honest")
        mixed = run_batch(mixed_folder, args.jobs, Path(scratch) / "graded-mixed")
    honest_alone = {r["student"]: r for r in alone}
    honest_mixed = [r for r in mixed if r["student"] in honest_alone]
    hostile = [r for r in mixed if r["student"] not in honest_alone]
    result = {
        "jobs": args.jobs,
        "grader_peak_rss_mib": round(max(r["peak_rss_mib"] for r in mixed), 1),
        "honest_alone_peak_rss_mib": round(max(r["peak_rss_mib"] for r in alone), 1),
        "max_callback_cpu_s": round(max(r["max_callback_cpu_s"] for r in mixed), 3),
        "hostile_callbacks": sum(r["callbacks"] for r in hostile),
        "honest_full_marks": all(r["score"] == r["max_score"] for r in honest_mixed),
        "honest_cpu_ratio_mixed_to_alone": round(
            sum(r["cpu_s"] for r in honest_mixed) / sum(honest_alone[r["student"]]["cpu_s"] for r in honest_mixed), 3
        ),
        "honest_wall_ratio_mixed_to_alone": round(
            sum(r["wall_s"] for r in honest_mixed) / sum(honest_alone[r["student"]]["wall_s"] for r in honest_mixed), 3
        ),
        "submissions": mixed,
        "honest_alone": alone,
    }
    print(
        f"{'student':24s}{'score':>12s}{'wall':>9s}{'CPU':>9s}{'peak RSS':>11s}{'callbacks':>11s}{'max CPU/callback':>18s}"
    )
    for r in sorted(mixed, key=lambda r: r["student"]):
        print(
            f"{r['student']:24s}{r['score']:>6g} / {r['max_score']:<3g}{r['wall_s']:>8.1f}s{r['cpu_s']:>8.1f}s"
            f"{r['peak_rss_mib']:>7.0f} MiB{r['callbacks']:>11d}{r['max_callback_cpu_s']:>17.3f}s"
        )
    print(
        f"grading processes' peak RSS {result['grader_peak_rss_mib']:.0f} MiB (honest alone: "
        f"{result['honest_alone_peak_rss_mib']:.0f} MiB); costliest callback {result['max_callback_cpu_s']:.3f} s of CPU "
        f"({result['hostile_callbacks']} hostile callbacks); honest classmates full marks: {result['honest_full_marks']}, "
        f"their grading CPU beside the hostile ones / alone: {result['honest_cpu_ratio_mixed_to_alone']:.2f}, "
        f"wall time: {result['honest_wall_ratio_mixed_to_alone']:.2f} (the hostile ones' children share the CPUs)"
    )
    out = REPO / "benchmarks" / "results"
    out.mkdir(exist_ok=True)
    (out / "hostile_replies.json").write_text(json.dumps(result, indent=2) + "\n")
    os.unlink(LOG)
    os.rmdir(LOG.parent)
    return result


if __name__ == "__main__":
    main()
