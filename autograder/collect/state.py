"""What one ``collect`` run leaves for the next, and who may read it.

``DIR`` (``--out``) keeps, between runs:

- ``seen.json``: the ledger (``ledger.Ledger``): when each commit was first fetched.
- ``collect-state.json``: per student and assignment, what was graded (``on_time`` and ``late``
  slots: the snapshot key, lateness and final score), the times of the reports given (for
  ``feedback_per_day``), a push waiting for tomorrow's report, and grader failures.
- ``heads.json``: each repository's head at this run, a digest of the roster and course.yml, and
  when pending work falls due: what ``heads`` compares to decide that a scheduled run has nothing
  to do.
- ``slots/<slot>/<student>/<assignment>/``: the results and report of each slot, so that the one
  that counts can be written to ``<student>/<assignment>/`` without grading again.

The first two cannot be rebuilt: ``open_state`` refuses to go on without them (``LedgerLost``)
unless a new ledger is asked for.  The grader may run as root (through ``sudo``) while the
workflow's later steps, which save the state, run as the runner's user: ``results.hand_over`` gives the
whole folder to the user sudo was called by.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from pathlib import Path

from ..results import write_atomic
from .heads import HEADS_FILE
from .ledger import Ledger, LedgerLost, iso

STATE_FILE = "collect-state.json"
LEDGER_FILE = "seen.json"
SLOTS = "slots"


@dataclass
class RunState:
    out: Path
    ledger: Ledger
    entries: dict  # "<student>/<assignment>" -> slots, reports, pending
    failures: dict  # student -> {"head", "count", "reason"}

    def entry(self, student: str, assignment_id: str) -> dict:
        return self.entries.setdefault(f"{student}/{assignment_id}", {"reports": []})

    def save(self) -> None:
        self.ledger.save(write_atomic)
        data = {"entries": self.entries, "failures": self.failures}
        write_atomic(self.out / STATE_FILE, json.dumps(data, indent=1, sort_keys=True) + "\n")

    def slot_results(self, slot: str, student: str, assignment_id: str) -> Path:
        return self.out / SLOTS / slot / student / assignment_id / "results.json"


def open_state(out: Path, new_ledger: bool) -> RunState:
    """The state of earlier runs; ``LedgerLost`` when it is missing or damaged (and no new
    ledger is asked for), ``new_ledger`` on a folder that has one too (never overwrite one)."""
    ledger_path, state_path = out / LEDGER_FILE, out / STATE_FILE
    if new_ledger:
        if ledger_path.exists():
            raise LedgerLost(f"{ledger_path} exists: a new ledger would replace it (remove it first, on purpose)")
        return RunState(out, Ledger(ledger_path, new=True), {}, {})
    ledger = Ledger(ledger_path)
    try:
        data = json.loads(state_path.read_text(encoding="utf-8"))
        entries, failures = data["entries"], data.get("failures", {})
    except FileNotFoundError:
        raise LedgerLost(f"{state_path} is missing") from None
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise LedgerLost(f"{state_path} is damaged ({type(exc).__name__})") from None
    return RunState(out, ledger, entries, failures)


def write_heads(out: Path, heads: dict[str, str], inputs: str, wake_at: dt.datetime | None) -> None:
    data = {"heads": heads, "inputs": inputs, "wake_at": iso(wake_at) if wake_at else None}
    write_atomic(out / HEADS_FILE, json.dumps(data, indent=1, sort_keys=True) + "\n")
