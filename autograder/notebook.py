"""Read a student's notebook and decide which of its cells to run for grading.

nbgrader marks every cell's role in its metadata.  We run:

* the student's cells (nbgrader ``solution`` cells, and any cell the student added) in full;
* the lesson's cells (imports, helper definitions, plots) for their definitions only:
  grading needs the imports and helpers, not the plots and experiments;
* no test cells: the hidden checks run in the grading process instead.
"""

from __future__ import annotations

import json
from pathlib import Path

#: nbformat's major version: every Jupyter since 2015 saves it, and nbgrader reads no other
NBFORMAT = 4
#: a larger notebook file is refused before it is read (parsed, it would take several times its size
#: of the grader's memory); saved outputs are what make notebooks large, and grading needs none
MAX_NOTEBOOK_BYTES = 50 * 1024 * 1024
#: the code a notebook may hold, all cells together (far below what one message to the jail may carry);
#: a course's notebook holds some kilobytes
MAX_CODE_BYTES = 8 * 1024 * 1024


class NotebookError(Exception):
    """The file is not a notebook we can read.  ``str(exc)`` is shown to the student."""


def read_notebook(path: Path) -> dict:
    """The notebook at ``path`` as its JSON (format 4), for reading cells from.

    Not through ``nbformat.read``: importing nbformat imports jsonschema (a quarter of a second in
    every grading command), and its schema check only logs what is wrong, never refuses a file.
    What we read from it (cells, their type, source and nbgrader metadata) is read defensively
    by ``read_cells`` and ``answers``, whatever the file holds.

    Raises ``NotebookError`` (in words for the student) for a file that is not a format-4 notebook.
    """
    try:
        with open(path, "rb") as f:
            data = f.read(MAX_NOTEBOOK_BYTES + 1)
        if len(data) > MAX_NOTEBOOK_BYTES:
            raise NotebookError(
                f"your notebook file is larger than {MAX_NOTEBOOK_BYTES >> 20} MB: clear its outputs "
                "(Kernel > Restart Kernel and Clear All Outputs), save it and submit it again"
            )
        nb = json.loads(data.decode("utf-8-sig"))  # a byte-order mark, as some editors write, is no damage
    except (OSError, UnicodeDecodeError) as exc:
        raise NotebookError(f"your notebook file could not be read ({type(exc).__name__})") from None
    except (ValueError, RecursionError) as exc:
        raise NotebookError(
            f"your notebook file is damaged and is not a valid notebook ({type(exc).__name__})"
        ) from None
    if isinstance(nb, dict) and nb.get("nbformat") != NBFORMAT and isinstance(nb.get("nbformat"), int):
        raise NotebookError(
            f"your notebook is saved in notebook format {nb['nbformat']}, not {NBFORMAT}: "
            "open it in a current Jupyter and save it again"
        )
    if not isinstance(nb, dict) or nb.get("nbformat") != NBFORMAT or not isinstance(nb.get("cells"), list):
        raise NotebookError("your notebook file is damaged and is not a valid notebook (no list of cells)")
    return nb


def cell_source(cell: dict) -> str | None:
    """A cell's source (stored as one string or as a list of lines), or None when it is not text."""
    source = cell.get("source", "")
    if isinstance(source, str):
        return source
    if isinstance(source, list) and all(isinstance(line, str) for line in source):
        return "".join(source)
    return None


def code_cells(nb: dict):
    """``(index, cell)`` of each code cell of ``nb`` (cells that are not objects are skipped)."""
    for index, cell in enumerate(nb["cells"]):
        if isinstance(cell, dict) and cell.get("cell_type") == "code":
            yield index, cell


def nbgrader_metadata(cell: dict) -> dict | None:
    """The cell's nbgrader metadata, if it has any that is an object."""
    meta = cell.get("metadata")
    meta = meta.get("nbgrader") if isinstance(meta, dict) else None
    return meta if isinstance(meta, dict) else None


def cell_role(cell: dict) -> str:
    meta = nbgrader_metadata(cell)
    if meta is None:
        return "student"  # a cell the student added (or a notebook without nbgrader metadata)
    if meta.get("solution"):
        return "student"
    if meta.get("grade"):
        return "test"
    return "lesson"


def read_cells(path: Path) -> list[dict]:
    """The code cells to run, as ``{"index", "source", "mode"}`` with mode ``full`` or ``defs``."""
    cells = []
    for index, cell in code_cells(read_notebook(path)):
        role = cell_role(cell)
        if role == "test":
            continue
        source = cell_source(cell)
        if source is None:
            raise NotebookError(f"your notebook file is damaged: the source of cell {index + 1} is not text")
        cells.append({"index": index, "source": source, "mode": "full" if role == "student" else "defs"})
    if sum(len(c["source"].encode("utf-8", "replace")) for c in cells) > MAX_CODE_BYTES:
        raise NotebookError(
            f"your notebook's code cells hold more than {MAX_CODE_BYTES >> 20} MB of code: keep data in files, "
            "not in the code"
        )
    return cells
