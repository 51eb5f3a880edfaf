"""Figures of our own, as PNG bytes: every picture the grader draws (the class's histogram and
report, the feedback plots) is made here, so that drawing one costs what it must and no more.

- No pyplot: a ``matplotlib.figure.Figure`` on an Agg canvas has no global state shared between
  plots or students, and pyplot's import is not paid.  matplotlib is imported by the first figure.
- No ``tight_layout``: it draws the whole figure once more only to measure it, about as long as
  making the PNG.  Margins are fixed in inches instead (``Margins``), wide enough for our tick and
  axis labels; a picture with labels of its own length (the class report's mistakes) measures them
  (``text_width``) and makes room.  ``tests/test_figures.py`` checks that nothing is clipped.
- Titles are not placed by measuring (``FIXED_TITLES``).
- The canvas keeps one renderer per size, so the text layout cached by the first figure serves the
  next ones (tick labels are the same in every plot of a kind).
- PNGs carry no software version: the same picture gives the same bytes.
"""

from __future__ import annotations

import functools
import io
import math
from dataclasses import dataclass

#: dots per inch of every PNG we write
DPI = 80

#: titles sit just above their axes: matplotlib would otherwise measure the axes' tick labels on
#: every draw to move a title above them, which only x tick labels on top need (we have none)
FIXED_TITLES = {"axes.titley": 1.0}


@dataclass(frozen=True)
class Margins:
    """Space around the axes, in inches: ticks, tick labels and axis labels live there."""

    left: float = 0.85  # y tick labels (10^-12 on a log axis) and the y axis label
    right: float = 0.2
    bottom: float = 0.6  # x tick labels and the x axis label
    top: float = 0.35  # an axes title
    between: float = 0.75  # between axes side by side: the right one's y tick labels and label


def figure(width: float, height: float, dpi: int = DPI):
    """An empty figure of ``width`` x ``height`` inches on our Agg canvas."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=dpi)
    _canvas_class()(fig)
    return fig


def subplots(*grid: int, figsize: tuple[float, float], margins: Margins = Margins(), dpi: int = DPI, **options):
    """A figure and its grid of axes (``Figure.subplots``) inside ``margins``."""
    from matplotlib import rc_context

    fig = figure(*figsize, dpi=dpi)
    columns = grid[1] if len(grid) > 1 else 1
    options["gridspec_kw"] = {**_grid_box(figsize, margins, columns), **options.get("gridspec_kw", {})}
    with rc_context(FIXED_TITLES):
        return fig, fig.subplots(*grid, **options)


def _grid_box(figsize: tuple[float, float], m: Margins, columns: int) -> dict[str, float]:
    """``margins`` as the figure fractions (and the gap as the axes' fraction) a gridspec takes."""
    width, height = figsize
    axes_width = (width - m.left - m.right - (columns - 1) * m.between) / columns
    return {
        "left": m.left / width,
        "right": 1 - m.right / width,
        "bottom": m.bottom / height,
        "top": 1 - m.top / height,
        "wspace": m.between / axes_width,
    }


def text_width(labels: list[str], fontsize: float) -> float:
    """The width in inches of the widest of ``labels`` in ``fontsize`` points (0 for none): laid
    out as a figure at ``DPI`` lays it out, without drawing anything.  Rounded up to a quarter
    inch: figures sized from it come in a few sizes, each drawn by its kept renderer."""
    from matplotlib.font_manager import FontProperties

    font = FontProperties(size=fontsize)
    renderer = _measuring_renderer()
    widths = [renderer.get_text_width_height_descent(s, font, ismath=False)[0] for s in labels]
    return math.ceil(4 * max(widths, default=0.0) / DPI) / 4


def fitting_size(text: str, width: float, largest: float) -> float:
    """The font size, at most ``largest`` points, at which ``text`` fits in ``width`` inches (a title
    with a long name in it shrinks rather than run off the figure)."""
    needed = text_width([text], largest)
    return largest if needed <= width else math.floor(10 * largest * width / needed) / 10


@functools.lru_cache(maxsize=1)
def _measuring_renderer():
    from matplotlib.backends.backend_agg import RendererAgg

    return RendererAgg(1, 1, DPI)


def png(fig) -> bytes:
    """``fig`` as PNG bytes (no software version in them: the same figure gives the same bytes)."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=fig.dpi, metadata={"Software": None})
    return buffer.getvalue()


@functools.lru_cache(maxsize=1)
def _canvas_class():
    """An Agg canvas whose renderer is kept per size: the renderer's caches (text layout, math text)
    serve every figure of that size, so the tick labels of the hundredth plot cost what the first
    one's did once.  Each draw clears the renderer first; nothing else is kept."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg, RendererAgg

    renderers: dict[tuple[float, float, float], RendererAgg] = {}

    class _Canvas(FigureCanvasAgg):
        def get_renderer(self):
            width, height = self.figure.bbox.size
            key = (width, height, self.figure.dpi)
            if key not in renderers:
                renderers[key] = RendererAgg(width, height, self.figure.dpi)
            self.renderer = renderers[key]
            return self.renderer

    return _Canvas
