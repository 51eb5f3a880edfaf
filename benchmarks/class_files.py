"""Benchmark: what writing a class's files costs (``submission.write_class_files``: grades.csv, the
histogram, the class report and its pictures), per assignment, against a baseline in the same run.

    python benchmarks/class_files.py --baseline DIR [--students 8] [--repeat 5] [--assignment ID] [--drawing]

Each assignment's class (``ratios.make_class``: the filled release, the untouched release and bug-zoo
mistakes) is graded once; then, in each round, a fresh process per tree (this checkout, and the
baseline: another checkout, e.g. main before a change) times ``write_class_files`` on its own copy
of the results, in a rotating order.  A fresh process, because the first picture pays matplotlib's
import, as every ``grade`` command does.  Prints the medians (wall seconds) and this / baseline.
"""

from __future__ import annotations

import argparse
import itertools
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from ratios import REPO, make_class, tool_env

from autograder.config import load_course

#: run in the tree measured: the call is timed (the grader's own imports are not), with matplotlib's
#: import in it (as in a ``grade`` command) or done before it (``--drawing``: what the pictures cost)
TIMED = """
import sys, time
from pathlib import Path
from autograder.submission import write_class_files
if sys.argv[2] == "drawing":
    import matplotlib.backends.backend_agg, matplotlib.figure, matplotlib.ticker
wall, cpu = time.perf_counter(), time.process_time()
write_class_files(Path(sys.argv[1]))
print(time.perf_counter() - wall, time.process_time() - cpu)
"""


def graded_class(folder: Path, assignment: str, students: int) -> Path:
    """``folder/graded``: the class's results, graded by this checkout."""
    root = make_class(folder / "class", assignment, students)
    out = folder / "graded"
    cmd = [sys.executable, "-m", "autograder", "--course", str(REPO / "course.yml"), "grade", str(root)]
    subprocess.run([*cmd, "--out", str(out)], cwd=REPO, env=tool_env(REPO), stdout=subprocess.DEVNULL, check=False)
    return out


def seconds(tree: Path, results: Path, drawing: bool) -> tuple[float, float]:
    """Wall and CPU seconds of one call in a fresh process of ``tree``."""
    done = subprocess.run(
        [sys.executable, "-c", TIMED, str(results), "drawing" if drawing else "all"],
        cwd=tree,
        env=tool_env(tree),
        capture_output=True,
        text=True,
    )
    if done.returncode:
        raise RuntimeError(f"write_class_files failed in {tree}: {done.stderr[-2000:]}")
    wall, cpu = done.stdout.strip().splitlines()[-1].split()
    return float(wall), float(cpu)


def measure(assignment: str, trees: dict[str, Path], args, scratch: Path) -> dict[str, tuple[float, float]]:
    """Per tree, the median wall and CPU seconds of ``write_class_files`` on the class's results."""
    results = graded_class(Path(tempfile.mkdtemp(dir=scratch)), assignment, args.students)
    copies = {name: shutil.copytree(results, scratch / f"{assignment}-{name}") for name in trees}
    samples: dict[str, list[tuple[float, float]]] = {name: [] for name in trees}
    names = list(trees)
    for r in range(args.repeat):
        for name in itertools.islice(itertools.cycle(names), r, r + len(names)):  # rotated order
            samples[name].append(seconds(trees[name], copies[name], args.drawing))
    return {name: tuple(map(statistics.median, zip(*s))) for name, s in samples.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--baseline", required=True, help="another checkout, measured in the same rounds")
    parser.add_argument("--students", type=int, default=8)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--assignment", action="append", default=None)
    parser.add_argument("--drawing", action="store_true", help="matplotlib imported before the call, not in it")
    args = parser.parse_args()
    trees = {"this": REPO, "baseline": Path(args.baseline).resolve()}
    assignments = args.assignment or [a.id for a in load_course(REPO / "course.yml").assignments]
    what = "write_class_files" + (", matplotlib imported" if args.drawing else "") + ", s (median)"
    print(f"{what:50s}{'this':>10s}{'baseline':>10s}{'this/base':>10s}   (wall; CPU)")
    with tempfile.TemporaryDirectory(prefix="gd-class-files-") as scratch:
        for assignment in assignments:
            med = measure(assignment, trees, args, Path(scratch))
            for kind, i in (("wall", 0), ("CPU", 1)):
                this, base = med["this"][i], med["baseline"][i]
                label = f"{assignment} ({args.students}), {kind}"
                print(f"{label:50s}{this:>10.3f}{base:>10.3f}{this / base:>10.2f}")


if __name__ == "__main__":
    main()
