"""Benchmark: how far grading is from its floor, and what each command costs, per assignment, in one run.

    python benchmarks/ratios.py [--students 8] [--repeat 3] [--baseline DIR] [--no-nbgrader] [--assignment ID]

For each assignment: a class of K submissions in nbgrader's layout (the filled release, the untouched
release and K - 2 realistic mistakes of the bug zoo), the class of its first two, and one submission
alone (the filled release).
Every measurement is a fresh command timed from outside (wall seconds, and the CPU seconds of it and
of everything it ran); in each round the commands run one after the other in a rotating order, and
the median of ``--repeat`` rounds is kept:

- ``floor``: ``benchmarks/floor.py`` on the class: the same cells and suites in one process, its own
  time per submission (imports excluded);
- ``grade``: ``python -m autograder grade --jobs 1`` on the class, on its first two and on the one
  submission: per submission = (class - two) / (K - 2) (both write the class files: the histogram and
  the class report, which a single submission does not have), fixed cost per command = one - per
  submission, class files = two - one - per submission (what a class command adds once);
- ``grade --feedback``: the same with ``--feedback``;
- ``nbgrader``: STOCK ``nbgrader autograde`` (the python3 kernel runs each notebook with its hidden
  cells, which call the suites in the kernel), per submission the same way;
- ``run_autograder``: Gradescope's script on the one submission, in a tree like Gradescope's, after
  its setup (a first, untimed run).

With ``--baseline DIR`` (another checkout of this repository, e.g. main before a change) its grade,
feedback, floor and run_autograder are measured in the same rounds, interleaved with this one's.
The load average of the machine is sampled in every round (the machine may be shared).  Prints a
table per assignment and writes ``benchmarks/results/ratios.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "tests")]

from autograder.config import load_course  # noqa: E402

from bug_zoo import BUGS  # noqa: E402
from helpers import filled_release, write_notebook  # noqa: E402

STOCK_NBGRADER_CONFIG = """\
# Stock nbgrader: the python3 kernel runs each notebook, its hidden cells call the suites in the kernel.
c = get_config()  # noqa: F821
c.CourseDirectory.root = {root!r}
c.CourseDirectory.source_directory = "solutions"
c.CourseDirectory.ignore = [".ipynb_checkpoints", "*.pyc", "__pycache__", "feedback", ".*"]
c.ExecutePreprocessor.kernel_name = "python3"
c.ExecutePreprocessor.timeout = 120
c.Autograde.create_student = True
c.ClearHiddenTests.enforce_metadata = False
c.ClearMarkScheme.enforce_metadata = False
"""


def make_class(folder: Path, assignment: str, students: int) -> Path:
    """``folder/submitted/<student>/<assignment>/``: good, untouched, then zoo mistakes; the root."""
    root = folder / "submitted"
    bugs = [b for b in BUGS if b.assignment == assignment]
    for i in range(students):
        target = root / f"student{i:02d}" / assignment
        if i == 0:
            filled_release(assignment, target)
        elif i == 1:
            shutil.copytree(REPO / "assignments" / assignment, target)
        else:
            bug = bugs[(i * 7) % len(bugs)]
            write_notebook(assignment, target, {bug.function: bug.source})
    return root


def timed(cmd: list[str], cwd: Path, env: dict | None = None) -> tuple[float, float]:
    """Wall and CPU seconds (user + system, with everything it ran) of one command, which must succeed."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(cmd, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode not in (0, 1):  # 1: some submission's results say the grader failed on it
        raise RuntimeError(f"{' '.join(map(str, cmd))} exited with {done.returncode}: {done.stderr[-2000:]!r}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def tool_env(tree: Path) -> dict:
    """This Python's scripts first on PATH (nbgrader's kernel, alembic), ``tree``'s package first, and
    Python's bytecode cache in use, as on an installed machine (a shell that turns it off would make
    every command compile the grader's modules again)."""
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    env["PYTHONPATH"] = str(tree)
    env.pop("GD_COURSE_CONFIG", None)
    return env


class Tree:
    """A checkout whose grader is measured (this one, or the baseline)."""

    def __init__(self, name: str, root: Path, scratch: Path):
        self.name, self.root, self.scratch = name, root, scratch
        self.env = tool_env(root)
        subprocess.run([sys.executable, "-m", "compileall", "-q", str(root / "autograder")], check=True)

    def grade(self, paths: list[Path], feedback: bool) -> tuple[float, float]:
        out = Path(tempfile.mkdtemp(dir=self.scratch))
        cmd = [sys.executable, "-m", "autograder", "--course", str(self.root / "course.yml"), "grade"]
        cmd += [*map(str, paths), "--out", str(out), "--jobs", "1"] + (["--feedback"] if feedback else [])
        try:
            return timed(cmd, self.root, self.env)
        finally:
            shutil.rmtree(out, ignore_errors=True)

    def floor(self, class_root: Path) -> float:
        cmd = [sys.executable, str(REPO / "benchmarks" / "floor.py"), str(class_root), "--repeat", "1", "--json"]
        cmd += ["--course", str(self.root / "course.yml")]
        env = {**self.env, "GD_FLOOR_TREE": str(self.root)}
        done = subprocess.run(cmd, cwd=self.root, env=env, capture_output=True, text=True, check=True)
        return json.loads(done.stdout.strip().splitlines()[-1])["per_submission"]

    def gradescope_root(self, assignment: str, notebook: Path) -> Path:
        """A tree like Gradescope's (``source/`` unpacked from the bundle, ``submission/``), set up."""
        root = Path(tempfile.mkdtemp(dir=self.scratch, prefix=f"gs-{self.name}-"))
        bundle = root / "autograder.zip"
        cmd = [sys.executable, "-m", "autograder", "gradescope", assignment, "--out", str(bundle)]
        subprocess.run(cmd, cwd=self.root, env=self.env, check=True, capture_output=True)
        with zipfile.ZipFile(bundle) as z:
            z.extractall(root / "source")
        (root / "source" / "run_autograder").chmod(0o755)
        (root / "submission").mkdir()
        shutil.copy(notebook, root / "submission" / notebook.name)
        (root / "results").mkdir()
        self.run_autograder(root)  # setup: Python compiles the bundle's modules once, as pip would
        return root

    def run_autograder(self, root: Path) -> tuple[float, float]:
        env = {**self.env, "AUTOGRADER_ROOT": str(root)}
        env.pop("PYTHONPATH")  # the bundle's own package, as Gradescope's image has it installed
        return timed(["bash", str(root / "source" / "run_autograder")], root / "source", env)


class StockNbgrader:
    """A course folder graded by stock nbgrader (python3 kernel, hidden cells in the kernel)."""

    def __init__(self, folder: Path, assignment: str, class_root: Path):
        self.folder, self.assignment = folder, assignment
        folder.mkdir(parents=True)
        for name in ("course.yml", "support", "solutions"):
            source = REPO / name
            if source.is_dir():
                shutil.copytree(source, folder / name, symlinks=True)
            else:
                shutil.copy(source, folder / name)
        (folder / "nbgrader_config.py").write_text(STOCK_NBGRADER_CONFIG.format(root=str(folder)))
        shutil.copytree(class_root, folder / "submitted")
        self.env = {**tool_env(REPO), "GD_COURSE_CONFIG": str(folder / "course.yml")}
        self._nbgrader("generate_assignment", assignment, "--force")

    def _nbgrader(self, *args: str) -> tuple[float, float]:
        return timed([sys.executable, "-m", "nbgrader", *args], self.folder, self.env)

    def autograde(self, student: str | None) -> tuple[float, float]:
        return self._nbgrader("autograde", self.assignment, "--force", *(["--student", student] if student else []))


def load() -> float:
    return os.getloadavg()[0]


def measure_assignment(assignment: str, args, trees: list[Tree], scratch: Path) -> dict:
    course = load_course(REPO / "course.yml")
    a = course.assignment(assignment)
    folder = Path(tempfile.mkdtemp(dir=scratch, prefix=f"{assignment}-"))
    class_root = make_class(folder / "class", assignment, args.students)
    one = class_root / "student00" / assignment / a.notebook
    two = [class_root / "student00", class_root / "student01"]
    gradescope = {t.name: t.gradescope_root(assignment, one) for t in trees}
    stock = None if args.no_nbgrader else StockNbgrader(folder / "nbgrader", assignment, class_root)

    jobs: dict[str, callable] = {}
    for t in trees:
        jobs[f"{t.name}:grade:class"] = lambda t=t: t.grade([class_root], False)
        jobs[f"{t.name}:grade:two"] = lambda t=t: t.grade(two, False)
        jobs[f"{t.name}:grade:one"] = lambda t=t: t.grade([one], False)
        jobs[f"{t.name}:feedback:class"] = lambda t=t: t.grade([class_root], True)
        jobs[f"{t.name}:feedback:two"] = lambda t=t: t.grade(two, True)
        jobs[f"{t.name}:feedback:one"] = lambda t=t: t.grade([one], True)
        jobs[f"{t.name}:floor"] = lambda t=t: (t.floor(class_root), 0.0)
        jobs[f"{t.name}:run_autograder"] = lambda t=t: t.run_autograder(gradescope[t.name])
    if stock is not None:
        jobs["nbgrader:class"] = lambda: stock.autograde(None)
        jobs["nbgrader:one"] = lambda: stock.autograde("student00")
    names = list(jobs)
    samples: dict[str, list[tuple[float, float]]] = {n: [] for n in names}
    loads = []
    for r in range(args.repeat):
        order = names[r % len(names) :] + names[: r % len(names)]  # rotated: no command always first
        for name in order:
            loads.append(load())
            samples[name].append(jobs[name]())
        print(f"  {assignment}: round {r + 1} of {args.repeat} done (load {load():.1f})", file=sys.stderr)
    med = {n: (statistics.median(w for w, _ in s), statistics.median(c for _, c in s)) for n, s in samples.items()}
    k = args.students
    result = {"submissions": k, "load_average": round(statistics.mean(loads), 2), "samples": samples}
    for t in trees:
        row = {"floor_s": med[f"{t.name}:floor"][0]}
        for kind in ("grade", "feedback"):
            (class_wall, class_cpu), (two_wall, two_cpu) = med[f"{t.name}:{kind}:class"], med[f"{t.name}:{kind}:two"]
            one_wall = med[f"{t.name}:{kind}:one"][0]
            per = (class_wall - two_wall) / (k - 2)
            row[f"{kind}_per_submission_s"] = per
            row[f"{kind}_per_submission_cpu_s"] = (class_cpu - two_cpu) / (k - 2)
            row[f"{kind}_fixed_s"] = one_wall - per
            row[f"{kind}_class_files_s"] = two_wall - one_wall - per
            row[f"{kind}_class_s"] = class_wall
        row["run_autograder_s"] = med[f"{t.name}:run_autograder"][0]
        row["grade_to_floor"] = row["grade_per_submission_s"] / row["floor_s"]
        row["feedback_to_grade"] = row["feedback_per_submission_s"] / row["grade_per_submission_s"]
        row["feedback_to_grade_class"] = row["feedback_class_s"] / row["grade_class_s"]
        if stock is not None:
            nb_per = (med["nbgrader:class"][0] - med["nbgrader:one"][0]) / (k - 1)
            row["nbgrader_per_submission_s"] = nb_per
            row["grade_to_nbgrader"] = row["grade_per_submission_s"] / nb_per
            row["grade_to_nbgrader_class"] = row["grade_class_s"] / med["nbgrader:class"][0]
        result[t.name] = {key: round(value, 4) for key, value in row.items()}
    shutil.rmtree(folder, ignore_errors=True)
    return result


def report(assignment: str, result: dict, trees: list[Tree]) -> None:
    print(f"\n{assignment}: {result['submissions']} submissions, load average {result['load_average']:.1f}")
    rows = [
        ("floor, s per submission", "floor_s"),
        ("grade, s per submission", "grade_per_submission_s"),
        ("grade / floor", "grade_to_floor"),
        ("grade --feedback, s per submission", "feedback_per_submission_s"),
        ("--feedback / grade (per submission)", "feedback_to_grade"),
        ("--feedback / grade (class)", "feedback_to_grade_class"),
        ("nbgrader autograde, s per submission", "nbgrader_per_submission_s"),
        ("grade / nbgrader (per submission)", "grade_to_nbgrader"),
        ("grade / nbgrader (class)", "grade_to_nbgrader_class"),
        ("fixed cost per grade command, s", "grade_fixed_s"),
        ("fixed cost per --feedback command, s", "feedback_fixed_s"),
        ("class files (histogram, report), s", "grade_class_files_s"),
        ("run_autograder, one submission, s", "run_autograder_s"),
    ]
    print(f"{'':40s}" + "".join(f"{t.name:>12s}" for t in trees))
    for label, key in rows:
        values = [result[t.name].get(key) for t in trees]
        if all(v is None for v in values):
            continue
        print(f"{label:40s}" + "".join(f"{v:>12.3f}" if v is not None else f"{'':>12s}" for v in values))


def main() -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--students", type=int, default=8, help="at least 3")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--baseline", default=None, help="another checkout, measured in the same rounds")
    parser.add_argument("--no-nbgrader", action="store_true", help="leave stock nbgrader out (it is slow)")
    parser.add_argument("--assignment", action="append", default=None, help="only this assignment (repeatable)")
    args = parser.parse_args()
    if args.students < 3:
        parser.error("--students must be at least 3 (per submission is measured between a class and its first two)")
    course = load_course(REPO / "course.yml")
    results = {}
    with tempfile.TemporaryDirectory(prefix="gd-ratios-") as scratch:
        trees = [Tree("this", REPO, Path(scratch))]
        if args.baseline:
            trees.append(Tree("baseline", Path(args.baseline).resolve(), Path(scratch)))
        for assignment in args.assignment or [a.id for a in course.assignments]:
            results[assignment] = measure_assignment(assignment, args, trees, Path(scratch))
            report(assignment, results[assignment], trees)
    out = REPO / "benchmarks" / "results"
    out.mkdir(exist_ok=True)
    (out / "ratios.json").write_text(json.dumps(results, indent=1) + "\n")
    return results


if __name__ == "__main__":
    main()
