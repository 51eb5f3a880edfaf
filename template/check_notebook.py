"""Run a notebook's visible checks and report them per function, with a provisional score.

    python check_notebook.py [NOTEBOOK]

Runs the notebook top to bottom (as "Restart & Run All" would), then reads each graded test
cell: no error means its visible checks passed.  The score is provisional: when your work is
graded, hidden checks test more and give partial credit.  Exit status 0 when every visible
check passes, 1 when some fail, 2 when the notebook cannot be run.

This file holds no hidden tests and fetches none: it only runs what is in your notebook.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import nbformat
from nbclient import NotebookClient


def find_notebook(argv: list[str]) -> Path:
    if len(argv) > 1:
        return Path(argv[1])
    found = sorted(p for p in Path.cwd().glob("*.ipynb") if not p.name.startswith("."))
    if len(found) != 1:
        raise SystemExit(
            f"error: expected one notebook here, found {len(found)}; name it: python check_notebook.py NOTEBOOK"
        )
    return found[0]


def check(path: Path) -> list[dict]:
    nb = nbformat.read(str(path), as_version=4)
    NotebookClient(
        nb,
        timeout=300,
        kernel_name="python3",
        allow_errors=True,
        resources={"metadata": {"path": str(path.parent.resolve())}},
    ).execute()
    rows = []
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if cell.cell_type != "code" or not meta.get("grade") or meta.get("solution"):
            continue
        function = meta.get("grade_id", "?").removeprefix("test_")
        errors = [o for o in cell.outputs if o.output_type == "error"]
        if not errors:
            status, detail = "passed", ""
        elif errors[0].ename == "NotImplementedError":
            status, detail = "failed", "not implemented yet"
        else:
            status, detail = "failed", f"{errors[0].ename}: {errors[0].evalue}".strip().rstrip(":")
        rows.append({"function": function, "points": float(meta.get("points", 0)), "status": status, "detail": detail})
    return rows


def report(path: Path, rows: list[dict]) -> str:
    earned = sum(r["points"] for r in rows if r["status"] == "passed")
    total = sum(r["points"] for r in rows)
    lines = [
        f"## Visible checks: {path.name}",
        "",
        "| function | visible checks | points if the hidden checks agree |",
        "|---|---|---|",
    ]
    for r in rows:
        mark = "passed" if r["status"] == "passed" else f"FAILED: {r['detail']}"
        lines.append(
            f"| `{r['function']}` | {mark} | {r['points'] if r['status'] == 'passed' else 0:g} / {r['points']:g} |"
        )
    lines += [
        "",
        f"**Provisional score: {earned:g} / {total:g}.** Hidden checks run when your work is graded and may "
        "find more; written answers are graded by hand.",
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    path = find_notebook(argv)
    try:
        rows = check(path)
    except Exception as exc:  # noqa: BLE001 - a broken notebook is reported, not a traceback
        print(f"error: could not run {path}: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 2
    text = report(path, rows)
    print(text)
    if os.environ.get("GITHUB_STEP_SUMMARY"):
        with open(os.environ["GITHUB_STEP_SUMMARY"], "a", encoding="utf-8") as summary:
            summary.write(text + "\n")
    return 0 if rows and all(r["status"] == "passed" for r in rows) else 1


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
