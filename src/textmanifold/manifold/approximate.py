"""Approximate candidates for large sphere graphs: k-means cells joined by BLAS blocks.

The exact graph needs every pair's inner product, O(n^2 d) time. For large ``n``
(``build="approximate"``; from :data:`APPROXIMATE_MIN_N` rows ``build="auto"`` runs the
faster forest build of :mod:`.forest` instead) the rows are split into
``nlist`` spherical k-means cells (FAISS ``Kmeans``) and each cell is joined only with
the ``nprobe`` cells whose centroids are nearest to its own (itself first): one float32
matrix product per block of the cell's rows against the probed cells' rows, thresholded
with the same loosened bound as the exact backends. Every candidate is then re-scored by
the one canonical float64 score (:func:`._search.exact_inner`) and kept iff it passes
the exact rule ``s > cos(threshold)``. Hence:

- every approximate edge is an exact edge, with the exact weight (a subset, never a
  false edge);
- the graph is symmetric: a pair found from either end is stored in both directions;
- memory is the points, the cell of each row and the edges, O(n d + n degree), plus
  one block of products; time is O(n nprobe (n / nlist) d), in BLAS.

An exact edge (i, j) is found iff cell(j) is among the ``nprobe`` cells probed from
cell(i), or the other way round, so recall is a function of ``nprobe`` that can be read
off exactly from a sample: the exact neighbour lists of 2000 sampled rows (brute force)
give each sampled edge's smallest probe rank, and ``nprobe`` is the smallest value whose
sample recall reaches ``target_recall`` (default 0.995). :func:`sampled_edge_recall`
measures the recall of any finished graph the same way, so a graph too large for the
exact build still gets an honest recall estimate; :func:`edge_recall` compares two
graphs when the exact one is available. (A per-query FAISS ``IndexIVFFlat`` range
search gives the same candidates per row, but scans vector by vector: 10-20x slower
here, measured on two cores.)
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import scipy.sparse

from ..errors import InputError
from ..validation import check_interval
from ._search import margin, pairs_above, passing_pairs, row_norms

#: ``build="auto"`` builds graphs of at least this many vertices approximately.
APPROXIMATE_MIN_N = 200_000

#: Sample edge recall that the automatic ``nprobe`` must reach.
TARGET_RECALL = 0.995

logger = logging.getLogger(__name__)

# Rows whose exact neighbours calibrate nprobe (and estimate recall).
_SAMPLE_ROWS = 2000


@dataclass(frozen=True)
class CellJoinSettings:
    """How the approximate search ran (reported next to the graph).

    Attributes
    ----------
    nlist : int
        k-means cells.
    nprobe : int
        Cells each cell is joined with (itself included).
    sample_recall : float
        Edge recall on the calibration sample at that ``nprobe`` (NaN when ``nprobe``
        was given).
    """

    nlist: int
    nprobe: int
    sample_recall: float


def default_nlist(n: int) -> int:
    """Cells for ``n`` rows: about ``sqrt(n)``, at least 39 training rows per cell."""
    return int(max(1, min(round(np.sqrt(n)), n // 39)))


def approximate_pairs(
    X: np.ndarray,
    cos_t: float,
    *,
    nlist: int | None = None,
    nprobe: int | None = None,
    target_recall: float = TARGET_RECALL,
    chunk_size: int = 4096,
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, CellJoinSettings]:
    """Pairs ``i < j`` whose canonical score exceeds ``cos_t``, found by the cell join.

    Parameters
    ----------
    X : ndarray of shape (n, d), float32
        Unit rows validated by :func:`.graph.check_unit_rows`.
    cos_t : float
        The edge rule's bound, ``cos(threshold)``.
    nlist : int, optional
        k-means cells (default :func:`default_nlist`).
    nprobe : int, optional
        Cells joined per cell; default: calibrated on a sample (module docstring).
    target_recall : float
        The sample recall the calibration must reach.
    chunk_size : int
        Rows of a cell multiplied at once (bounds the memory of one block of products).
    seed : int
        Seeds k-means and the calibration sample.

    Returns
    -------
    rows, cols : ndarray of int64
        Sorted by (row, col), ``rows < cols``.
    scores : ndarray of float64
        Canonical scores, all ``> cos_t``.
    settings : CellJoinSettings
    """
    import faiss

    n, d = X.shape
    nlist = default_nlist(n) if nlist is None else int(nlist)
    check_interval("nlist", nlist, 1, n, labels=("1", "n"))
    check_interval("target_recall", target_recall, 0.0, 1.0, closed="right")
    rng = np.random.default_rng(seed)
    kmeans = faiss.Kmeans(d, nlist, niter=10, seed=seed, spherical=True)
    kmeans.train(X[np.sort(rng.choice(n, size=min(n, 64 * nlist), replace=False))])
    centroids = np.ascontiguousarray(kmeans.centroids, dtype=np.float32)
    cell = _assign(X, centroids, chunk_size)
    # order[c] = cells by closeness of their centroid to centroid c (c itself first)
    similarity = centroids @ centroids.T
    np.fill_diagonal(similarity, np.inf)
    order = np.argsort(-similarity, axis=1, kind="stable")
    norms = row_norms(X)
    if nprobe is None:
        nprobe, recall = _calibrate(X, cell, order, cos_t, target_recall, rng)
    else:
        recall = float("nan")
    check_interval("nprobe", nprobe, 1, nlist, labels=("1", "nlist"))
    blocks = _cell_candidates(X, cell, order[:, :nprobe], float(cos_t - margin(d)), chunk_size)
    rows, cols, scores = passing_pairs(X, X, norms, norms, blocks, cos_t)
    key = rows * n + cols
    _, first = np.unique(key, return_index=True)  # sorted by (row, col), duplicates out
    settings = CellJoinSettings(nlist=nlist, nprobe=int(nprobe), sample_recall=recall)
    logger.info("approximate graph: %s, %d edges", settings, len(first))
    return rows[first], cols[first], scores[first], settings


def _cell_candidates(
    X: np.ndarray, cell: np.ndarray, probes: np.ndarray, loose: float, chunk_size: int
):
    """Yield candidate pairs ``(rows, cols)``, canonical (``rows < cols``).

    Each cell's rows are paired with the rows of its ``probes[c]`` cells whose float32
    product is ``> loose``.
    A pair found from both ends appears twice (the caller removes duplicates).
    """
    members = np.argsort(cell, kind="stable")
    bounds = np.searchsorted(cell[members], np.arange(len(probes) + 1))
    for c in range(len(probes)):
        own = members[bounds[c] : bounds[c + 1]]
        if not len(own):
            continue
        cand = np.concatenate([members[bounds[p] : bounds[p + 1]] for p in probes[c]])
        Xc = X[cand]
        for start in range(0, len(own), chunk_size):
            block = own[start : start + chunk_size]
            r, k = np.nonzero(X[block] @ Xc.T > loose)
            rows, cols = block[r].astype(np.int64), cand[k].astype(np.int64)
            other = rows != cols
            yield np.minimum(rows[other], cols[other]), np.maximum(rows[other], cols[other])


def _assign(X: np.ndarray, centroids: np.ndarray, chunk_size: int) -> np.ndarray:
    """Assign every row its cell (nearest centroid by inner product), shape (n,)."""
    cell = np.empty(len(X), dtype=np.int64)
    for start in range(0, len(X), chunk_size):
        cell[start : start + chunk_size] = np.argmax(
            X[start : start + chunk_size] @ centroids.T, axis=1
        )
    return cell


def _calibrate(X, cell, order, cos_t, target_recall, rng) -> tuple[int, float]:
    """Smallest ``nprobe`` whose recall on a sample's exact edges reaches the target.

    A sampled exact edge (r, j) is found at ``nprobe`` iff the probe rank of cell(j) from
    cell(r), or of cell(r) from cell(j), is below ``nprobe``.
    """
    nlist = len(order)
    sample = np.sort(rng.choice(len(X), size=min(len(X), _SAMPLE_ROWS), replace=False))
    r, j = _exact_pairs_of(X, sample, cos_t)
    if not len(r):
        return 1, 1.0
    rank = np.empty_like(order)
    rank[np.arange(nlist)[:, None], order] = np.arange(nlist)[None, :]
    first = np.minimum(rank[cell[r], cell[j]], rank[cell[j], cell[r]])
    # recall(nprobe) = mean(first < nprobe): pick the smallest nprobe reaching the target
    counts = np.cumsum(np.bincount(first, minlength=nlist)) / len(first)
    nprobe = int(np.searchsorted(counts, target_recall - 1e-12) + 1)
    nprobe = min(nprobe, nlist)
    return nprobe, float(counts[nprobe - 1])


def _exact_pairs_of(X: np.ndarray, rows: np.ndarray, cos_t: float) -> tuple[np.ndarray, np.ndarray]:
    """Find the exact edges ``(r, j)`` of the given (distinct) rows by brute force.

    Over all of ``X``; two int64 arrays, one entry per edge.
    """
    sub_rows, cols, _ = pairs_above(X[rows], X, cos_t, "auto", 4096)
    sub_rows = rows[sub_rows]
    other = sub_rows != cols
    return sub_rows[other].astype(np.int64), cols[other]


def sampled_edge_recall(
    X, graph, threshold: float, *, rows: int = _SAMPLE_ROWS, seed: int = 0
) -> float:
    """Fraction of the exact edges of a sample of vertices that ``graph`` holds.

    Parameters
    ----------
    X : ndarray of shape (n, d), float32
        The graph's (validated) vertices.
    graph : scipy.sparse matrix of shape (n, n)
        A graph built on ``X`` with ``threshold``.
    threshold : float
        Radians.
    rows : int
        Sample size; the exact neighbours of each sampled vertex cost O(n d).
    seed : int
        Seeds the sample.
    """
    graph = scipy.sparse.csr_matrix(graph)
    rng = np.random.default_rng(seed)
    sample = np.sort(rng.choice(len(X), size=min(len(X), rows), replace=False))
    r, c = _exact_pairs_of(X, sample, float(np.cos(threshold)))
    if not len(r):
        return 1.0
    held = np.asarray(graph[r, c]).ravel() != 0
    return float(held.mean())


def edge_recall(approximate, exact) -> float:
    """``|E_approx & E_exact| / |E_exact|`` for two graphs on the same vertices."""
    a = scipy.sparse.csr_matrix(approximate)
    e = scipy.sparse.csr_matrix(exact)
    if a.shape != e.shape:
        raise InputError(f"graphs differ in shape: {a.shape} vs {e.shape}")
    if e.nnz == 0:
        return 1.0
    both = (a != 0).multiply(e != 0)
    return both.nnz / (e != 0).nnz
