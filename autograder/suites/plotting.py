"""What a suite's feedback plots are made of: ``Plot``, and the helpers every plotter uses.

A plotter (registered with ``@suite.plot`` in its assignment's suite module) takes the student's
code and returns a ``Plot`` of it at work on held-out problems next to the reference: a loss
curve, a descent path on a contour plot, the batch-size comparison.  Plots show curves and
paths, never the hidden data or the checks' code, and each is drawn from plain data the
student's code returns, on a figure of ``figures.py`` (``subplots``, ``png``: no pyplot, fixed
margins).  Every plot draws the reference, and the student's curve where their
code gives one; when it does not, or when their data makes the picture degenerate (a path that
is one dot, a curve that leaves the axes), the caption says why in a sentence.  So every report
has its plots.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ..figures import png, subplots
from .framework import COURSE_SEED, Fail

__all__ = ["Plot", "png", "subplots", "reference_data", "name_axes", "yours", "not_finite", "with_notes"]


@dataclass
class Plot:
    name: str
    title: str
    caption: str
    png: bytes
    functions: tuple[str, ...] = ()  # the student functions it draws (``feedback.draw_plots`` notes them)


def reference_data(compute: Callable) -> Callable:
    """``compute`` (a plotter's reference curves, from held-out problems with seeds of their own),
    computed once per process: the same for every student, and costly to compute per report.
    Keyed by the course seed, which plots always set to 0."""

    @functools.lru_cache(maxsize=4)
    def cached(seed: int):
        return compute()

    @functools.wraps(compute)
    def data():
        return cached(COURSE_SEED.get())

    return data


def name_axes(ax, x: str, y: str) -> None:
    """Name a plot's axes and show its legend, without minor ticks (on a log axis they are a third of
    the drawing's time, and the decades say enough)."""
    ax.set_xlabel(x)
    ax.set_ylabel(y)
    ax.minorticks_off()
    ax.legend(fontsize=8)


def yours(fn: str, thunk: Callable[[], np.ndarray]) -> tuple[np.ndarray | None, str]:
    """The student's data for a plot, or None and the sentence that says why it is missing."""
    try:
        return thunk(), ""
    except Fail as fail:
        return None, f"Your `{fn}` is not drawn: {_sentence(str(fail))}"
    except Exception as exc:  # noqa: BLE001 - a strange return value must not stop the report
        return None, f"Your `{fn}` is not drawn: it returned something we could not draw ({type(exc).__name__})."


def _sentence(message: str) -> str:
    message = message.strip()
    return message if message.endswith(".") else message + "."


def not_finite(fn: str, values) -> str:
    """The sentence for a curve that overflows, or ``""``."""
    if np.all(np.isfinite(values)):
        return ""
    return f"Your `{fn}` produced inf or nan, so its curve stops where the numbers overflow."


def with_notes(text: str, notes: list[str]) -> str:
    """A caption: ``text``, then each distinct note, in order."""
    extra = [n for n in dict.fromkeys(notes) if n]  # in order, each once
    return " ".join([text, *extra])
