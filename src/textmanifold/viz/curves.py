"""Curves against the graph threshold: retrievable points and mean degree.

These show the paper's sparsity argument at a glance: at any threshold the joint graph
(images + text) makes at least as many images retrievable as the image graph, because
text vertices bridge gaps between images.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence

import numpy as np

from ..errors import InputError
from .output import BLUE, RED, new_figure, save_png

_STYLE = {"Image": (BLUE, "o"), "Joint": (RED, "s")}
_FALLBACK = ("#2ca02c", "#9467bd", "#8c564b", "#7f7f7f")


def plot_curves(
    thresholds: Sequence[float],
    series: Mapping[str, Sequence[float]],
    path: str | os.PathLike,
    *,
    ylabel: str,
    title: str,
    hline: float | None = None,
    hline_label: str = "",
) -> None:
    """One line per named series against the threshold (radians); save a PNG.

    Parameters
    ----------
    thresholds : sequence of float, length n
    series : mapping name -> sequence of float, each length n
    hline : float, optional
        A horizontal reference line (e.g. the number of queries).
    """
    x = np.asarray(thresholds, dtype=float)
    if x.ndim != 1 or len(x) == 0:
        raise InputError("thresholds must be a non-empty 1-d sequence")
    fig = new_figure(5.0, 3.4)
    ax = fig.add_subplot(1, 1, 1)
    for k, (name, values) in enumerate(series.items()):
        y = np.asarray(values, dtype=float)
        if y.shape != x.shape:
            raise InputError(f"series {name!r} has {y.size} values for {x.size} thresholds")
        colour, marker = _STYLE.get(name, (_FALLBACK[k % len(_FALLBACK)], "^"))
        ax.plot(x, y, marker=marker, color=colour, label=name, linewidth=1.5, markersize=4)
    if hline is not None:
        ax.axhline(hline, color="#555555", linestyle="--", linewidth=1, label=hline_label)
    ax.set_xlabel("threshold (great-circle distance, rad)")
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=10)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8)
    save_png(fig, path)


def plot_retrievable_vs_threshold(
    thresholds: Sequence[float],
    retrievable: Mapping[str, Sequence[float]],
    path: str | os.PathLike,
    n_queries: int | None = None,
) -> None:
    """Retrievable query images against the threshold, e.g. for ``Image`` and ``Joint``."""
    plot_curves(
        thresholds,
        retrievable,
        path,
        ylabel="retrievable query images",
        title="Retrievable points vs threshold",
        hline=n_queries,
        hline_label="all queries",
    )


def plot_degree_vs_threshold(
    thresholds: Sequence[float], degree: Mapping[str, Sequence[float]], path: str | os.PathLike
) -> None:
    """Mean vertex degree of each graph against the threshold."""
    plot_curves(thresholds, degree, path, ylabel="mean degree", title="Mean degree vs threshold")
