"""Reading a student repository's objects in one git process, without ever naming a path.

``git cat-file --batch-command`` (git 2.36 or later) answers ``info <id>`` (type and size) and
``contents <id>`` one at a time, so trees are walked by their ids: no path of the student's ever
reaches git, and a whole history costs one process.  Every byte read counts against a budget; a
repository that needs more is refused (``TooLarge``), never read to the end.
"""

from __future__ import annotations

import subprocess
import threading
from dataclasses import dataclass
from pathlib import Path

from .gitio import GIT_TIMEOUT, GitError, git_env, take_token

REGULAR = ("100644", "100755")
TREE = "40000"


class TooLarge(Exception):
    """The repository needs more reading than the bound allows; ``str(exc)`` says what, for the student."""


@dataclass(frozen=True)
class Entry:
    """One entry of a tree object."""

    mode: str
    name: str  # decoded with os.fsdecode: any bytes survive
    oid: str

    @property
    def regular(self) -> bool:
        return self.mode in REGULAR

    @property
    def folder(self) -> bool:
        return self.mode == TREE


class Objects:
    """One ``git cat-file --batch-command`` session on ``bare``, with a byte budget and a deadline."""

    def __init__(self, bare: Path, budget: int):
        self.budget = budget
        self._trees: dict[str, list[Entry]] = {}
        self.memo: dict = {}  # what callers derive from objects (by object id), for this session
        self._process = subprocess.Popen(
            ["git", "cat-file", "--batch-command"],
            cwd=bare,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=git_env(take_token()),
        )
        self._watchdog = threading.Timer(GIT_TIMEOUT, self._process.kill)
        self._watchdog.daemon = True
        self._watchdog.start()

    def __enter__(self) -> Objects:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        self._watchdog.cancel()
        for stream in (self._process.stdin, self._process.stdout):
            try:
                stream.close()
            except OSError:
                pass
        if self._process.poll() is None:
            self._process.kill()
        self._process.wait()

    def _ask(self, command: str, oid: str) -> tuple[str, int]:
        try:
            self._process.stdin.write(f"{command} {oid}\n".encode())
            self._process.stdin.flush()
        except (BrokenPipeError, OSError):
            raise GitError("git cat-file stopped (time limit)") from None
        header = self._process.stdout.readline().decode("ascii", "replace").split()
        if len(header) != 3:
            raise GitError(f"object {oid} is missing" if header else "git cat-file stopped (time limit)")
        return header[1], int(header[2])

    def size(self, oid: str) -> int:
        return self._ask("info", oid)[1]

    def read(self, oid: str, what: str = "the repository") -> bytes:
        """The object's bytes; ``TooLarge`` (without reading it) when it would exceed the budget."""
        kind, size = self._ask("info", oid)
        if size > self.budget:
            raise TooLarge(f"{what} is too large to be read (the grader reads at most {self.budget} more bytes)")
        self._ask("contents", oid)
        data = self._process.stdout.read(size)
        self._process.stdout.read(1)  # the newline after the contents
        if len(data) != size:
            raise GitError("git cat-file stopped (time limit)")
        self.budget -= size
        return data

    def tree(self, oid: str) -> list[Entry]:
        """The entries of a tree object (read once per run, then remembered)."""
        if oid not in self._trees:
            self._trees[oid] = parse_tree(self.read(oid, "a folder of the repository"), len(oid) // 2)
        return self._trees[oid]


def parse_tree(data: bytes, hash_bytes: int) -> list[Entry]:
    """A tree object's binary format: ``<mode> <name>\\0<hash>`` repeated."""
    import os

    entries, at = [], 0
    while at < len(data):
        space = data.index(b" ", at)
        nul = data.index(b"\0", space)
        mode = data[at:space].decode("ascii", "replace")
        name = os.fsdecode(data[space + 1 : nul])
        oid = data[nul + 1 : nul + 1 + hash_bytes].hex()
        entries.append(Entry(mode, name, oid))
        at = nul + 1 + hash_bytes
    return entries
