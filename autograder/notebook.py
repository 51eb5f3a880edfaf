"""Read a student's notebook and decide which of its cells to run for grading.

nbgrader marks every cell's role in its metadata.  We run:

* the student's cells (nbgrader ``solution`` cells, and any cell the student added) in full;
* the lesson's cells (imports, helper definitions, plots) for their definitions only:
  grading needs the imports and helpers, not the plots and experiments;
* no test cells: the hidden checks run in the grading process instead.
"""

from __future__ import annotations

from pathlib import Path

import nbformat


class NotebookError(Exception):
    """The file is not a notebook we can read.  ``str(exc)`` is shown to the student."""


def cell_role(cell) -> str:
    meta = cell.get("metadata", {}).get("nbgrader")
    if not isinstance(meta, dict):
        return "student"  # a cell the student added (or a notebook without nbgrader metadata)
    if meta.get("solution"):
        return "student"
    if meta.get("grade"):
        return "test"
    return "lesson"


def read_notebook(path: Path) -> nbformat.NotebookNode:
    """The notebook at ``path``, as nbformat version 4, read by nbformat without its schema check.

    ``nbformat.read`` checks every notebook against its JSON schema only to log what is wrong
    (it never refuses one), and building that check costs 0.15 s in every command; we never
    rely on it: ``read_cells`` takes what it needs defensively, whatever the file holds.
    """
    with open(path, encoding="utf-8") as f:
        return nbformat.convert(nbformat.reader.reads(f.read()), 4)


def read_cells(path: Path) -> list[dict]:
    """The code cells to run, as ``{"index", "source", "mode"}`` with mode ``full`` or ``defs``."""
    try:
        nb = read_notebook(path)
    except (OSError, UnicodeDecodeError) as exc:
        raise NotebookError(f"your notebook file could not be read ({type(exc).__name__})") from None
    except Exception as exc:  # noqa: BLE001 - nbformat raises many kinds for corrupt files
        raise NotebookError(
            f"your notebook file is damaged and is not a valid notebook ({type(exc).__name__})"
        ) from None
    cells = []
    for index, cell in enumerate(nb.get("cells", [])):
        if cell.get("cell_type") != "code":
            continue
        role = cell_role(cell)
        if role == "test":
            continue
        source = cell.get("source", "")
        if not isinstance(source, str):
            source = "".join(source)
        cells.append({"index": index, "source": source, "mode": "full" if role == "student" else "defs"})
    return cells
