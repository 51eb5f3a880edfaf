"""The class's histogram of final scores (``results.FinalGrade``), one per assignment, for
instructors (written with grades.csv, from the same ``tables.ScoreTable``); drawn by ``figures``
(no pyplot, fixed margins)."""

from __future__ import annotations

from pathlib import Path

from .figures import fitting_size, png, subplots

#: the histogram's size in inches (at 100 dpi)
FIGSIZE = (6.0, 3.5)


def score_histogram(scores: list[float], max_score: float, assignment: str, path: Path, pending: int = 0) -> Path:
    """Save a histogram of the final ``scores`` (0 to ``max_score``) as a PNG; ``pending`` says how
    many of them do not count written answers yet."""
    from matplotlib.ticker import MaxNLocator

    fig, ax = subplots(figsize=FIGSIZE, dpi=100)
    bins = max(5, min(20, int(max_score) + 1))
    ax.hist(scores, bins=bins, range=(0, max_score), color="#4C72B0", edgecolor="white")
    ax.set_xlabel(
        f"final score (out of {max_score:g})" + (f"; written answers pending for {pending}" if pending else "")
    )
    ax.set_ylabel("submissions")
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))  # counts are whole submissions
    title = f"{assignment}: {len(scores)} submissions, mean {sum(scores) / len(scores):.1f}"
    fig.suptitle(title, fontsize=fitting_size(title, FIGSIZE[0] - 0.2, 12))  # centred on the figure
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(png(fig))
    return path
