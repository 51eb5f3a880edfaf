"""What one commit gives the sandbox: the course notebook and the files beside it, bounded.

The sandbox gets what ``grade`` would copy from a folder (``grade.scratch_copy``): the notebook's
cells, and the regular files beside it that are not notebooks, each at most ``MAX_FILE`` bytes.
A repository is the student's to shape, so ``collect`` bounds what it takes (README, "Bounds"):

- at most ``MAX_ENTRIES`` files and folders looked at to find the notebook in one commit;
- at most ``MAX_NEIGHBOURS`` files beside the notebook, ``MAX_BYTES`` bytes in all: past either
  the submission is refused with the reason (graded 0, the student told how to fix it);
- a file over ``MAX_FILE`` bytes is not copied, and the student is told so.

``Snapshot.key`` is the digest of what is graded: the notebook's path, the sources of the cells the
grader runs (``notebook.read_cells``: not outputs, execution counts or metadata) and every
neighbour's name and content.  Two commits with the same key get the same grade.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from .objects import Entry, Objects, TooLarge

MAX_ENTRIES = 20_000
MAX_NEIGHBOURS = 100
MAX_FILE = 5 * 1024 * 1024
MAX_BYTES = 32 * 1024 * 1024
#: folders that hold copies, never the submission (Jupyter's autosaves)
SKIPPED_FOLDERS = (".ipynb_checkpoints", ".git")


class Refused(Exception):
    """This commit cannot be graded as it is; ``str(exc)`` tells the student why and what to do."""


@dataclass(frozen=True)
class Snapshot:
    """The graded content of one commit."""

    assignment_id: str
    parts: tuple[str, ...]  # the notebook's folder, as path components
    notebook: Entry
    neighbours: tuple[Entry, ...]
    cells: str  # digest of the cells the grader runs
    notes: tuple[str, ...] = field(default=())

    @property
    def path(self) -> str:
        return "/".join((*self.parts, self.notebook.name))

    @property
    def key(self) -> str:
        content = [self.assignment_id, self.path, self.cells, sorted((n.name, n.oid) for n in self.neighbours)]
        return hashlib.sha256(json.dumps(content).encode()).hexdigest()


def locate(objects: Objects, root: str, wanted: list[tuple[str, str]]) -> Snapshot | None:
    """The course notebook in the tree ``root``: for the first of ``wanted`` (assignment id,
    notebook name) found, its shallowest copy (then the first by path)."""
    names = {name: (order, aid) for order, (aid, name) in enumerate(wanted)}
    found: list[tuple[int, int, tuple[str, ...], Entry, list[Entry]]] = []
    level, visited = [((), root)], 0
    while level:
        deeper = []
        for parts, oid in level:
            entries = objects.tree(oid)
            visited += len(entries)
            if visited > MAX_ENTRIES:
                raise TooLarge(f"your repository holds more than {MAX_ENTRIES} files and folders")
            for entry in entries:
                if entry.regular and entry.name in names:
                    found.append((names[entry.name][0], len(parts), parts, entry, entries))
                elif entry.folder and entry.name not in SKIPPED_FOLDERS:
                    deeper.append(((*parts, entry.name), entry.oid))
        level = deeper
    if not found:
        return None
    order, _, parts, notebook, entries = min(found, key=lambda f: (f[0], f[1], f[2]))
    neighbours = tuple(e for e in entries if e.regular and not e.name.endswith(".ipynb"))
    return Snapshot(wanted[order][0], parts, notebook, neighbours, cells_digest(objects, notebook))


def cells_digest(objects: Objects, notebook: Entry) -> str:
    """Digest of the cells the grader runs (a notebook that cannot be read: of its bytes)."""
    from ..notebook import NotebookError, read_cells

    memo = ("cells", notebook.oid)
    if memo not in objects.memo:
        objects.memo[memo] = _cells_digest(objects, notebook, read_cells, NotebookError)
    return objects.memo[memo]


def _cells_digest(objects: Objects, notebook: Entry, read_cells, NotebookError) -> str:  # noqa: N803
    if objects.size(notebook.oid) > MAX_FILE:
        return f"too large:{notebook.oid}"
    data = objects.read(notebook.oid, "your notebook")
    with tempfile.TemporaryDirectory(prefix="gd-cells-") as folder:
        path = Path(folder) / "notebook.ipynb"
        path.write_bytes(data)
        try:
            cells = read_cells(path)
        except NotebookError:
            return "bytes:" + hashlib.sha256(data).hexdigest()
    return hashlib.sha256(json.dumps([(c["mode"], c["source"]) for c in cells]).encode()).hexdigest()


def extract(objects: Objects, snapshot: Snapshot, into: Path) -> tuple[Path, tuple[str, ...]]:
    """Write the notebook and its neighbours into ``into``; return the notebook's path and notes
    for the student.  ``Refused`` past the bounds."""
    if objects.size(snapshot.notebook.oid) > MAX_FILE:
        raise Refused(f"{snapshot.path} is larger than {MAX_FILE // 2**20} MB")
    if len(snapshot.neighbours) > MAX_NEIGHBOURS:
        raise Refused(
            f"the folder of {snapshot.path} holds {len(snapshot.neighbours)} files besides notebooks; at most "
            f"{MAX_NEIGHBOURS} are copied beside it: keep there the modules and data it needs, move the rest "
            "into a subfolder"
        )
    notes, copied, total = [], [], 0
    for entry in snapshot.neighbours:
        size = objects.size(entry.oid)
        if size > MAX_FILE:
            notes.append(f"Not copied beside your notebook: {entry.name} (larger than {MAX_FILE // 2**20} MB).")
            continue
        total += size
        copied.append(entry)
    if total > MAX_BYTES:
        raise Refused(
            f"the files beside {snapshot.path} hold {total // 2**20} MB; at most {MAX_BYTES // 2**20} MB are copied"
        )
    target = into / snapshot.notebook.name
    _write(into, snapshot.notebook.name, objects.read(snapshot.notebook.oid, "your notebook"))
    for entry in copied:
        _write(into, entry.name, objects.read(entry.oid, entry.name))
    return target, tuple(notes)


def _write(folder: Path, name: str, data: bytes) -> None:
    if name in ("", ".", "..") or "/" in name or "\0" in name:
        raise Refused(f"a file beside your notebook has a name no file system takes ({name!r})")
    try:
        fd = os.open(folder / name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644)
    except OSError as exc:
        raise Refused(f"the file {name!r} beside your notebook cannot be written ({exc.strerror})") from None
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
