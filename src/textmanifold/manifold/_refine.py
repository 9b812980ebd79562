"""Compiled kernels of the forest build (:mod:`.forest`): tree leaves and two-hop candidates.

:func:`rp_tree` splits the rows into leaves of a random-projection tree: a node's rows
are projected on the difference of two of its rows (chosen at random) and split at the
median, until a node holds at most ``leaf_rows`` rows. Each level is a linear pass
(a projection and a selection), so a tree costs ``O(n d log(n / leaf_rows))``.

:func:`two_hop_candidates` is the refinement step of NN-descent on a threshold graph:
given the edges found so far as a symmetric CSR graph, every vertex ``v`` is compared
with every ``w > v`` two steps away, ``v - u - w``, that is not yet its neighbour, along
paths with at least one *new* edge (found in the last round; a path of two old edges
was tried in an earlier round). Each row lists its new entries first, so old-old paths
are skipped without being visited. Work per round is about ``n degree^2`` visits on the
first round and far fewer later, linear in ``n`` at a fixed degree.

Both compare rows by float32 products summed in any order (``fastmath``): the callers
only use them to select candidates under the loosened bound, whose margin
(:func:`._search.margin`) covers the rounding of every summation order, and re-score
every candidate with the canonical float64 score (:func:`._search.exact_inner`).

Compiled with numba (``cache=True``, ``nogil=True``, as :mod:`._klabel`), so callers can
run them on threads.
"""

from __future__ import annotations

import numpy as np
from numba import njit

__all__ = ["edge_csr", "rp_tree", "two_hop_candidates"]


def rp_tree(X: np.ndarray, leaf_rows: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Leaves of one random-projection tree over the rows of ``X``.

    Returns
    -------
    perm : ndarray of int64, shape (n,)
        The rows, leaf after leaf.
    starts : ndarray of int64
        Where each leaf begins in ``perm``, ascending (the last leaf ends at ``n``).
    """
    if leaf_rows < 2:
        raise ValueError(f"leaf_rows must be >= 2, got {leaf_rows}")
    return _rp_tree(X, int(leaf_rows), int(seed))


@njit(cache=True, nogil=True, fastmath=True)
def _rp_tree(X, leaf_rows, seed):  # noqa: C901 (one compiled loop)
    np.random.seed(seed)  # noqa: NPY002 (numba's own generator)
    n, d = X.shape
    perm = np.arange(n)
    starts = np.empty(n // (leaf_rows // 2) + 2, np.int64)
    n_leaves = 0
    stack = np.empty((128, 2), np.int64)
    stack[0, 0], stack[0, 1] = 0, n
    top = 1
    proj = np.empty(n, np.float32)
    scratch = np.empty(n, np.int64)
    direction = np.empty(d, np.float32)
    while top > 0:
        top -= 1
        lo, hi = stack[top, 0], stack[top, 1]
        m = hi - lo
        if m <= leaf_rows:
            starts[n_leaves] = lo
            n_leaves += 1
            continue
        a = perm[lo + np.random.randint(m)]  # noqa: NPY002
        b = perm[lo + np.random.randint(m)]  # noqa: NPY002
        for k in range(d):
            direction[k] = X[a, k] - X[b, k]
        for i in range(lo, hi):
            s = np.float32(0.0)
            r = perm[i]
            for k in range(d):
                s += X[r, k] * direction[k]
            proj[i] = s
        half = m // 2
        median = np.partition(proj[lo:hi], half)[half]
        # rows below the median go left, then rows at it until the left half is full
        left, right = lo, lo + half
        for i in range(lo, hi):
            if proj[i] < median:
                scratch[left] = perm[i]
                left += 1
        for i in range(lo, hi):
            if proj[i] == median and left < lo + half:
                scratch[left] = perm[i]
                left += 1
            elif proj[i] >= median:
                scratch[right] = perm[i]
                right += 1
        perm[lo:hi] = scratch[lo:hi]
        stack[top, 0], stack[top, 1] = lo + half, hi
        stack[top + 1, 0], stack[top + 1, 1] = lo, lo + half
        top += 2
    return perm, np.sort(starts[:n_leaves])


@njit(cache=True, nogil=True)
def edge_csr(n, rows, cols, new):
    """Symmetric CSR of the edges ``(rows[e], cols[e])``, each row's new entries first.

    Returns ``indptr``, ``indices`` (int64) and ``n_new`` (new entries per row).
    """
    deg = np.zeros(n, np.int64)
    n_new = np.zeros(n, np.int64)
    for e in range(len(rows)):
        deg[rows[e]] += 1
        deg[cols[e]] += 1
        if new[e]:
            n_new[rows[e]] += 1
            n_new[cols[e]] += 1
    indptr = np.zeros(n + 1, np.int64)
    for v in range(n):
        indptr[v + 1] = indptr[v] + deg[v]
    at_new = indptr[:-1].copy()
    at_old = indptr[:-1] + n_new
    indices = np.empty(indptr[n], np.int64)
    for e in range(len(rows)):
        for a, b in ((rows[e], cols[e]), (cols[e], rows[e])):
            if new[e]:
                indices[at_new[a]] = b
                at_new[a] += 1
            else:
                indices[at_old[a]] = b
                at_old[a] += 1
    return indptr, indices, n_new


def two_hop_candidates(
    indptr: np.ndarray,
    indices: np.ndarray,
    n_new: np.ndarray,
    X: np.ndarray,
    loose: float,
    start: int,
    stop: int,
    stamp: np.ndarray,
    capacity: int = 1 << 20,
) -> tuple[np.ndarray, np.ndarray, int]:
    """Candidate pairs ``(v, w)``, ``start <= v < stop``, ``v < w``, two steps apart.

    Parameters
    ----------
    indptr, indices, n_new : ndarray of int64
        A symmetric CSR graph from :func:`edge_csr` (no self loops, each row's indices
        distinct, its ``n_new`` new entries first).
    X : ndarray of shape (n, d), float32
        The vertices.
    loose : float
        Candidates are the pairs whose float32 product exceeds this.
    start, stop : int
        The vertex range of ``v``; the call returns early when the buffer would overflow.
    stamp : ndarray of int64, shape (n,)
        Scratch, all entries ``< start`` (e.g. filled with -1); one per thread.
    capacity : int
        Candidates returned at most (raised to fit the vertex with the most paths).

    Returns
    -------
    rows, cols : ndarray of int64
        The candidates, ``rows < cols``, each pair once, in order of ``rows``.
    next_v : int
        The first vertex not done (``stop`` when the range is finished).
    """
    deg = np.diff(indptr)
    capacity = max(int(capacity), int(deg.max(initial=0)) ** 2 + 1)
    rows = np.empty(capacity, dtype=np.int64)
    cols = np.empty(capacity, dtype=np.int64)
    count, next_v = _two_hop(
        indptr, indices, n_new, X, np.float32(loose), start, stop, stamp, rows, cols
    )
    return rows[:count], cols[:count], int(next_v)


@njit(cache=True, nogil=True, fastmath=True)
def _dot32(X, a, b):
    """float32 product of rows ``a`` and ``b`` (any order of summation)."""
    s = np.float32(0.0)
    for k in range(X.shape[1]):
        s += X[a, k] * X[b, k]
    return s


@njit(cache=True, nogil=True)
def _two_hop(indptr, indices, n_new, X, loose, start, stop, stamp, rows, cols):
    """Fill ``rows``/``cols``; return (count, first vertex not done)."""
    capacity = len(rows)
    count = 0
    for v in range(start, stop):
        lo, hi = indptr[v], indptr[v + 1]
        bound = 0  # paths from v this round: at most this many candidates
        for e in range(lo, hi):
            u = indices[e]
            bound += (indptr[u + 1] if e - lo < n_new[v] else indptr[u] + n_new[u]) - indptr[u]
        if bound == 0:
            continue
        if count + bound > capacity:
            return count, v
        stamp[v] = v
        for e in range(lo, hi):
            stamp[indices[e]] = v
        for e in range(lo, hi):
            u = indices[e]
            end = indptr[u + 1] if e - lo < n_new[v] else indptr[u] + n_new[u]
            for f in range(indptr[u], end):
                w = indices[f]
                if w <= v or stamp[w] == v:
                    continue
                stamp[w] = v
                if _dot32(X, v, w) > loose:
                    rows[count] = v
                    cols[count] = w
                    count += 1
    return count, stop
