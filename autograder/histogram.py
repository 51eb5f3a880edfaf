"""The class's histogram of final scores (``results.FinalGrade``), one per assignment, for
instructors (written with grades.csv, from the same ``tables.ScoreTable``)."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402 - the backend must be chosen first
from matplotlib.ticker import MaxNLocator  # noqa: E402


def score_histogram(scores: list[float], max_score: float, assignment: str, path: Path, pending: int = 0) -> Path:
    """Save a histogram of the final ``scores`` (0 to ``max_score``) as a PNG; ``pending`` says how
    many of them do not count written answers yet."""
    fig, ax = plt.subplots(figsize=(6, 3.5), dpi=100)
    bins = max(5, min(20, int(max_score) + 1))
    ax.hist(scores, bins=bins, range=(0, max_score), color="#4C72B0", edgecolor="white")
    ax.set_xlabel(
        f"final score (out of {max_score:g})" + (f"; written answers pending for {pending}" if pending else "")
    )
    ax.set_ylabel("submissions")
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))  # counts are whole submissions
    ax.set_title(f"{assignment}: {len(scores)} submissions, mean {sum(scores) / len(scores):.1f}")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, metadata={"Software": None})
    plt.close(fig)
    return path
