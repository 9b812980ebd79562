"""Growing a great-circle graph by new vertices without rebuilding it."""

from __future__ import annotations

import numpy as np
import scipy.sparse

from ..manifold.graph import attach_edges, build_graph

__all__ = ["extend_graph"]


def extend_graph(
    graph, old: np.ndarray, new: np.ndarray, threshold: float
) -> scipy.sparse.csr_matrix:
    """Build the graph of ``old`` rows followed by ``new`` rows, reusing ``graph`` on ``old``.

    Only the new-old edges (:func:`~textmanifold.manifold.graph.attach_edges`) and the
    new-new edges (:func:`~textmanifold.manifold.graph.build_graph`) are computed. Both
    score a pair with the same canonical float64 score as a build of the union, so the
    result equals ``great_circle_graph(vstack([old, new]), threshold=threshold)``.

    Parameters
    ----------
    graph : scipy.sparse.csr_matrix of shape (n_old, n_old)
        The great-circle graph of ``old`` under ``threshold``.
    old : ndarray of shape (n_old, d), float32
        Validated unit rows (``check_unit_rows``).
    new : ndarray of shape (n_new, d), float32
        Validated unit rows.
    threshold : float
        Radians.

    Returns
    -------
    scipy.sparse.csr_matrix of shape (n_old + n_new, n_old + n_new), float64
    """
    across = attach_edges(new, old, threshold)  # (n_new, n_old)
    inner, _ = build_graph(new, threshold=threshold, target_degree=None)
    out = scipy.sparse.bmat([[graph, across.T], [across, inner]], format="csr", dtype=np.float64)
    out.sort_indices()
    return out
