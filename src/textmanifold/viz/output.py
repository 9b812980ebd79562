"""Saving figures reproducibly: Agg rendering, atomic PNG, no timestamp in the file.

Figures are built on :class:`matplotlib.figure.Figure` directly, never through pyplot,
so no global state or GUI backend is involved and the same data gives the same bytes.
"""

from __future__ import annotations

import io as _io
import os

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from .. import io

BLUE = "#1f5fd6"  # image vertices (the paper's blue boundary)
RED = "#d62728"  # text vertices (the paper's red boundary)


def new_figure(width_in: float, height_in: float, dpi: int = 100) -> Figure:
    """A figure bound to the Agg canvas, independent of any pyplot state.

    It uses matplotlib's constrained layout, which packs titles and captions tightly.
    """
    fig = Figure(figsize=(width_in, height_in), dpi=dpi, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def save_png(fig: Figure, path: str | os.PathLike) -> None:
    """Write ``fig`` as PNG atomically, without the metadata that varies between runs."""
    buffer = _io.BytesIO()
    fig.savefig(buffer, format="png", metadata={"Software": None})
    io.write_bytes(path, buffer.getvalue())
