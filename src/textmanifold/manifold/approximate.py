"""Approximate candidates for large sphere graphs: FAISS IVF range search, exact edges.

The exact graph needs every pair's inner product, O(n^2 d) time. For large ``n``
(:data:`APPROXIMATE_MIN_N` and up under ``backend="auto"``) candidates come from an
inverted-file index instead (FAISS ``IndexIVFFlat``, inner product): the rows are split
into ``nlist`` k-means cells and each row searches only the ``nprobe`` cells nearest to
it, with the same loosened bound as the exact backends. Every candidate is then
re-scored by the one canonical float64 score (:func:`._search.exact_inner`) and kept
iff it passes the exact rule ``s > cos(threshold)``. Hence:

- every approximate edge is an exact edge, with the exact weight (a subset, never a
  false edge);
- the graph is symmetric: a pair found from either end is stored in both directions;
- memory is the index (the rows themselves plus one id per row) and the edges,
  O(n d + n degree); search time is O(n nprobe n / nlist d).

Range search has no cap on the number of neighbours a row may have, so the only loss is
an edge whose endpoints lie in cells neither of them probes. ``nprobe`` is chosen on a
sample of rows before the full search: their exact neighbour sets are computed by brute
force, and ``nprobe`` doubles from 1 until the sample's edge recall reaches
``target_recall`` (default 0.995). :func:`sampled_edge_recall` measures the recall of any
finished graph the same way, so a graph too large for the exact build still gets an
honest recall estimate; :func:`edge_recall` compares two graphs when the exact one is
available.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse

from ..errors import InputError
from ._search import exact_inner, margin, pairs_above, row_norms

#: ``backend="auto"`` builds graphs of at least this many vertices approximately.
APPROXIMATE_MIN_N = 200_000

#: Sample edge recall that the automatic ``nprobe`` must reach.
TARGET_RECALL = 0.995

# Rows whose exact neighbours calibrate nprobe (and estimate recall).
_SAMPLE_ROWS = 2000


@dataclass(frozen=True)
class IVFSettings:
    """How the approximate search ran (reported next to the graph).

    Attributes
    ----------
    nlist : int
        k-means cells.
    nprobe : int
        Cells each row searched.
    sample_recall : float
        Edge recall on the calibration sample at that ``nprobe`` (one direction only:
        a lower bound for the symmetric graph).
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
) -> tuple[np.ndarray, np.ndarray, np.ndarray, IVFSettings]:
    """Pairs ``i < j`` whose canonical score exceeds ``cos_t``, found through an IVF index.

    Parameters
    ----------
    X : ndarray of shape (n, d), float32
        Unit rows validated by :func:`.graph.check_unit_rows`.
    cos_t : float
        The edge rule's bound, ``cos(threshold)``.
    nlist : int, optional
        k-means cells (default :func:`default_nlist`).
    nprobe : int, optional
        Cells searched per row; default: calibrated on a sample (module docstring).
    target_recall : float
        The sample recall the calibration must reach.
    chunk_size : int
        Rows searched per FAISS call (bounds the memory of one result block).
    seed : int
        Seeds the k-means training sample and the calibration sample.

    Returns
    -------
    rows, cols : ndarray of int64
        Sorted by (row, col), ``rows < cols``.
    scores : ndarray of float64
        Canonical scores, all ``> cos_t``.
    settings : IVFSettings
    """
    import faiss

    n, d = X.shape
    nlist = default_nlist(n) if nlist is None else int(nlist)
    if not 1 <= nlist <= n:
        raise InputError(f"nlist must be in [1, n] = [1, {n}], got {nlist}")
    if not 0.0 < target_recall <= 1.0:
        raise InputError(f"target_recall must be in (0, 1], got {target_recall}")
    rng = np.random.default_rng(seed)
    index = faiss.IndexIVFFlat(faiss.IndexFlatIP(d), d, nlist, faiss.METRIC_INNER_PRODUCT)
    train = X[np.sort(rng.choice(n, size=min(n, 64 * nlist), replace=False))]
    index.cp.seed = seed
    index.cp.niter = 10
    index.train(train)
    index.add(X)
    loose = float(cos_t - margin(d))
    norms = row_norms(X)
    if nprobe is None:
        nprobe, recall = _calibrate(index, X, norms, cos_t, loose, target_recall, rng)
    else:
        recall = float("nan")
    if not 1 <= nprobe <= nlist:
        raise InputError(f"nprobe must be in [1, nlist] = [1, {nlist}], got {nprobe}")
    index.nprobe = int(nprobe)
    out_r, out_c, out_s = [np.empty(0, np.int64)], [np.empty(0, np.int64)], [np.empty(0)]
    for start in range(0, n, chunk_size):
        rows, cols = _range_candidates(index, X, np.arange(start, min(n, start + chunk_size)),
                                       loose)
        # Canonical orientation (i < j): a pair found from both ends appears twice.
        rows, cols = np.minimum(rows, cols), np.maximum(rows, cols)
        scores = exact_inner(X, X, norms, norms, rows, cols)
        keep = scores > cos_t
        out_r.append(rows[keep])
        out_c.append(cols[keep])
        out_s.append(scores[keep])
    rows, cols, scores = (np.concatenate(x) for x in (out_r, out_c, out_s))
    key = rows * n + cols
    key, first = np.unique(key, return_index=True)  # sorted by (row, col), duplicates out
    settings = IVFSettings(nlist=nlist, nprobe=int(nprobe), sample_recall=recall)
    return rows[first], cols[first], scores[first], settings


def _range_candidates(index, X, query_rows, loose):
    """Candidate pairs (query row, found row) of one FAISS range search, self pairs out."""
    lims, _, found = index.range_search(X[query_rows], loose)
    counts = np.diff(lims).astype(np.int64)
    rows = np.repeat(query_rows.astype(np.int64), counts)
    cols = found.astype(np.int64)
    other = rows != cols
    return rows[other], cols[other]


def _calibrate(index, X, norms, cos_t, loose, target_recall, rng) -> tuple[int, float]:
    """Smallest power-of-two ``nprobe`` whose sample edge recall reaches the target."""
    sample = np.sort(rng.choice(len(X), size=min(len(X), _SAMPLE_ROWS), replace=False))
    exact = _exact_pairs_of(X, sample, cos_t)
    nprobe = 1
    while True:
        index.nprobe = nprobe
        rows, cols = _range_candidates(index, X, sample, loose)
        scores = exact_inner(X, X, norms, norms, rows, cols)
        found = set(zip(rows[scores > cos_t].tolist(), cols[scores > cos_t].tolist(),
                        strict=True))
        recall = len(found & exact) / len(exact) if exact else 1.0
        if recall >= target_recall or nprobe >= index.nlist:
            return nprobe, recall
        nprobe = min(2 * nprobe, index.nlist)


def _exact_pairs_of(X: np.ndarray, rows: np.ndarray, cos_t: float) -> set[tuple[int, int]]:
    """Exact edges ``(r, j)`` of the given rows, by brute force over all of ``X``."""
    sub_rows, cols, _ = pairs_above(X[rows], X, cos_t, "auto", 4096)
    sub_rows = rows[sub_rows]
    other = sub_rows != cols
    return set(zip(sub_rows[other].tolist(), cols[other].tolist(), strict=True))


def sampled_edge_recall(X, graph, threshold: float, *, rows: int = _SAMPLE_ROWS,
                        seed: int = 0) -> float:
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
    exact = _exact_pairs_of(X, sample, float(np.cos(threshold)))
    if not exact:
        return 1.0
    r, c = (np.array(side, dtype=np.int64) for side in zip(*exact, strict=True))
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
