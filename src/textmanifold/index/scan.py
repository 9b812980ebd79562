"""One pass over the vectors per query: its graph edges and its nearest images by angle.

Both answers come from one float32 product ``V @ q`` (the only O(n d) step of a query),
then exact re-scoring of the few candidates with the canonical float64 score of
:mod:`textmanifold.manifold.graph` (:func:`textmanifold.manifold.exact_inner`).
A query's edges are therefore bit-for-bit those that rebuilding the graph with the query
as one more vertex would give it, and its angular distances are exact.

``manifold.graph.attach_edges`` gives the same edges, but recomputes the float64 norms
of all ``n`` rows (and FAISS would copy them into an index) on every call; an index
stores those norms once.
"""

from __future__ import annotations

import numpy as np

from ..manifold import MIN_WEIGHT, exact_inner, margin, row_norms

__all__ = ["arc_lengths", "nearest_by_angle", "query_edges", "row_norms"]


def arc_lengths(
    q: np.ndarray, q_norm: float, V: np.ndarray, norms: np.ndarray, rows: np.ndarray
) -> np.ndarray:
    """Exact great-circle distances (radians) from ``q`` to ``V[rows]``.

    Parameters
    ----------
    q : ndarray of shape (d,), float32
        A unit vector (projected by ``check_unit_rows``).
    q_norm : float
        Its float64 norm (:func:`row_norms`).
    V : ndarray of shape (n, d), float32
    norms : ndarray of shape (n,), float64
        ``row_norms(V)``.
    rows : ndarray of shape (m,), int64

    Returns
    -------
    ndarray of shape (m,), float64
    """
    rows = np.asarray(rows, dtype=np.int64)
    scores = exact_inner(
        q[None, :], V, np.array([q_norm]), norms, np.zeros(len(rows), dtype=np.int64), rows
    )
    return np.arccos(np.clip(scores, -1.0, 1.0))


def query_edges(
    q: np.ndarray,
    q_norm: float,
    V: np.ndarray,
    norms: np.ndarray,
    scores32: np.ndarray,
    threshold: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Find the edges a new vertex ``q`` gets under the graph's rule.

    Parameters
    ----------
    q, q_norm, V, norms
        As in :func:`arc_lengths`.
    scores32 : ndarray of shape (n,), float32
        ``V @ q``.
    threshold : float
        Edge threshold in radians (edge iff the exact score exceeds its cosine).

    Returns
    -------
    vertices : ndarray of shape (m,), int64
        Ascending.
    lengths : ndarray of shape (m,), float64
        Great-circle distances in radians (:data:`MIN_WEIGHT` for a coincident vertex).
    """
    cos_t = np.cos(threshold)
    cand = np.flatnonzero(scores32 > cos_t - margin(V.shape[1]))
    scores = exact_inner(
        q[None, :], V, np.array([q_norm]), norms, np.zeros(len(cand), dtype=np.int64), cand
    )
    keep = scores > cos_t
    lengths = np.maximum(np.arccos(np.clip(scores[keep], -1.0, 1.0)), MIN_WEIGHT)
    return cand[keep], lengths


def nearest_by_angle(
    q: np.ndarray,
    q_norm: float,
    V: np.ndarray,
    norms: np.ndarray,
    scores32: np.ndarray,
    allowed: np.ndarray,
    m: int,
    exclude: int = -1,
) -> tuple[np.ndarray, np.ndarray]:
    """Find the ``m`` allowed rows nearest ``q`` by exact angle, nearest first.

    The float32 scores pick the candidates: every row within twice the float32 error
    bound of the ``m``-th best score, so none of the exact top ``m`` is missed.

    Parameters
    ----------
    q, q_norm, V, norms, scores32
        As in :func:`query_edges`.
    allowed : ndarray of shape (n,), bool
        Rows that may be returned (the image vertices).
    m : int
        How many; fewer when fewer rows are allowed.
    exclude : int, default -1
        A row never returned.

    Returns
    -------
    angles : ndarray of shape (m',), float64
        Radians, ascending (ties by row).
    rows : ndarray of shape (m',), int64
    """
    masked = np.where(allowed, scores32, -np.inf)
    available = int(np.count_nonzero(allowed))
    if exclude >= 0:
        available -= bool(allowed[exclude])
        masked[exclude] = -np.inf
    m = min(int(m), available)
    if m <= 0:
        return np.empty(0), np.empty(0, dtype=np.int64)
    kth = np.partition(masked, len(masked) - m)[len(masked) - m]  # the m-th largest
    cand = np.flatnonzero(masked >= kth - 2.0 * margin(V.shape[1]))
    angles = arc_lengths(q, q_norm, V, norms, cand)
    order = np.lexsort((cand, angles))[:m]
    return angles[order], cand[order]
