"""Retrievable points and mean degree against the threshold, for the Image and Joint graphs.

The vertices are those of label retrieval (:mod:`.label_retrieval`): the task's images,
targets first then queries, and for the Joint graph the text points after them. A query
is retrievable when a target lies in its connected component, i.e. its geodesic
distance to the nearest target is finite. Adding text vertices can only merge
components, so at every threshold Joint has at least Image's retrievable queries.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..errors import InputError
from ..manifold.geodesic import nearest_source
from ..manifold.graph import great_circle_graph, mean_degree, threshold_for_degree


def retrievable_count(
    vertices: np.ndarray, n_targets: int, n_queries: int, threshold: float
) -> tuple[int, float]:
    """Retrievable queries and mean degree of the graph on ``vertices`` at ``threshold``.

    ``vertices`` are unit rows: ``n_targets`` targets, then ``n_queries`` queries, then
    any pass-through points.
    """
    if n_targets < 1 or n_queries < 0 or n_targets + n_queries > len(vertices):
        raise InputError(
            f"{n_targets} targets and {n_queries} queries do not fit {len(vertices)} vertices"
        )
    graph = great_circle_graph(vertices, threshold=threshold)
    dist, _ = nearest_source(graph, np.arange(n_targets))
    found = np.isfinite(dist[n_targets : n_targets + n_queries])
    return int(found.sum()), mean_degree(graph)


def curve_thresholds(image_vertices: np.ndarray, degrees: Sequence[float]) -> list[float]:
    """Thresholds at which the Image graph has the given mean degrees (ascending, unique)."""
    return sorted({float(threshold_for_degree(image_vertices, d)) for d in degrees})


def retrievable_curves(
    image_vertices: np.ndarray, text: np.ndarray | None, n_targets: int, thresholds: Sequence[float]
) -> dict:
    """Retrievable queries and mean degree at each threshold, Image and Joint graphs.

    Parameters
    ----------
    image_vertices : ndarray of shape (n_targets + n_queries, d)
        Unit rows, targets first.
    text : ndarray of shape (n_texts, d), optional
        Pass-through points of the Joint graph.
    n_targets : int
    thresholds : sequence of float, radians

    Returns
    -------
    dict
        ``thresholds``, ``queries``, ``retrievable`` and ``mean_degree``, the last two
        mapping ``"Image"`` (and ``"Joint"`` when text is given) to one value per
        threshold.
    """
    n_queries = len(image_vertices) - n_targets
    spaces = {"Image": image_vertices}
    if text is not None:
        spaces["Joint"] = np.concatenate([image_vertices, text])
    retrievable: dict[str, list] = {name: [] for name in spaces}
    degree: dict[str, list] = {name: [] for name in spaces}
    for threshold in thresholds:
        for name, vertices in spaces.items():
            count, mean = retrievable_count(vertices, n_targets, n_queries, threshold)
            retrievable[name].append(count)
            degree[name].append(mean)
    return {
        "thresholds": [float(t) for t in thresholds],
        "queries": int(n_queries),
        "retrievable": retrievable,
        "mean_degree": degree,
    }
