"""``seen.json``: when each commit was first fetched, which is what a commit time can prove.

A commit's date is written by the student's machine: it proves nothing by itself.  The ledger
proves two things per commit: it was on the branch when a run first fetched it (``seen``), and,
when an earlier run of the same repository did not find it, it was pushed after that run
(``not_before``).  The commit's date is trusted only inside that window (``submission_time``).

The ledger is the one piece of state that cannot be rebuilt: without it every commit date would
be trusted.  So a missing or damaged ledger stops ``collect`` (``LedgerLost``) unless the
operator starts a new one, on purpose, with ``--new-ledger``.

Standard library only.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

UTC = dt.timezone.utc
#: datetime's range: a commit dated past it (git accepts year 10000) is later than any run,
#: one dated before it earlier than any deadline
_EARLIEST = dt.datetime(1970, 1, 1, tzinfo=UTC)
_LATEST = dt.datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC)


class LedgerLost(Exception):
    """seen.json is missing or damaged: commit times could no longer be bounded."""


def from_epoch(seconds: int) -> dt.datetime:
    """A commit's date (seconds since the epoch, any integer git prints) as an aware datetime,
    clamped to what datetime can hold."""
    try:
        return min(max(dt.datetime.fromtimestamp(seconds, UTC), _EARLIEST), _LATEST)
    except (OverflowError, OSError, ValueError):
        return _LATEST if seconds > 0 else _EARLIEST


def iso(value: dt.datetime) -> str:
    return value.astimezone(UTC).isoformat(timespec="seconds")


def parse(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text)


def submission_time(committed: dt.datetime, seen: dt.datetime, not_before: dt.datetime | None) -> dt.datetime:
    """When a commit counts as pushed: its date clamped into the window the ledger proves."""
    if not_before is not None and committed < not_before:
        committed = not_before  # back-dated: it was not there at the fetch before
    return min(committed, seen)


class Ledger:
    """``seen.json``: per repository, when each commit was first fetched and when the fetch
    before that ran."""

    def __init__(self, path: Path, new: bool = False):
        self.path = path
        self.data: dict = {}
        if new:
            return
        try:
            self.data = json.loads(path.read_text(encoding="utf-8"))
            if not isinstance(self.data, dict):
                raise ValueError("not a JSON object")
        except FileNotFoundError:
            raise LedgerLost(f"{path} is missing") from None
        except (OSError, ValueError) as exc:
            raise LedgerLost(f"{path} is damaged ({exc})") from None

    def observe(self, repo_key: str, commits, now: dt.datetime) -> None:
        """Record the commits (shas) on the branch at this fetch."""
        repo = self.data.setdefault(repo_key, {"last_fetch": None, "commits": {}})
        previous = repo["last_fetch"]
        for sha in commits:
            repo["commits"].setdefault(sha, {"seen": iso(now), "not_before": previous})
        repo["last_fetch"] = iso(now)

    def time_of(self, repo_key: str, sha: str, committed: dt.datetime) -> dt.datetime:
        """When ``sha`` (dated ``committed``) counts as pushed; it must have been observed."""
        entry = self.data[repo_key]["commits"][sha]
        not_before = entry["not_before"]
        return submission_time(committed, parse(entry["seen"]), parse(not_before) if not_before else None)

    def seen(self, repo_key: str, sha: str) -> dt.datetime:
        return parse(self.data[repo_key]["commits"][sha]["seen"])

    def first_fetch(self, repo_key: str, sha: str) -> bool:
        """True when ``sha`` came with the repository's first fetch (its date could not be bounded below)."""
        return self.data[repo_key]["commits"][sha]["not_before"] is None

    def save(self, write) -> None:
        write(self.path, json.dumps(self.data, indent=1, sort_keys=True) + "\n")
