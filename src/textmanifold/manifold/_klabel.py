"""Each vertex's ``k`` nearest distinct sources: a compiled multi-source k-label Dijkstra.

Every vertex keeps a list of at most ``k`` labels ``(distance, source)`` from distinct
sources, sorted by distance then source id: a settled prefix (final) followed by
tentative labels. A priority queue holds each vertex that has a tentative label, keyed
by its first one; popping the smallest key settles that label, which then relays its
source along the vertex's out-edges. A candidate enters a neighbour's list only if it
is among the ``k`` best there (a better label for a source already listed replaces it;
a full list drops its last, tentative, label), and a new first tentative label lowers
the neighbour's key in place (an indexed heap: at most ``n`` entries, none stale).

Exact, with ties ordered by source id: labels are settled in ``(distance, source)``
order, and a source among a vertex's ``k`` nearest is among the ``k`` nearest of every
vertex on a shortest path from it (anything ahead of it there is ahead of it here too),
so keeping only ``k`` labels per vertex never loses an answer. Distances are float64
sums along the path, as in scipy's Dijkstra.

Work: at most ``n * k`` labels are settled, each scanning its vertex's out-edges; a
candidate not rejected by the neighbour's ``k``-th label scans up to ``k`` list entries.
Memory: the ``(n, k)`` outputs double as the lists, plus ``O(n)`` for the queue.

Compiled with numba (``cache=True``: the machine code is written under ``__pycache__``
on the first call, a few seconds, and loaded on later ones; ``nogil=True``: other
Python threads run meanwhile).
"""

from __future__ import annotations

import numpy as np
from numba import njit

__all__ = ["k_label_dijkstra"]


def k_label_dijkstra(graph, sources, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Find the ``k`` nearest distinct sources of every vertex of a CSR graph, nearest first.

    Parameters
    ----------
    graph : scipy.sparse.csr_matrix of shape (n, n)
        ``graph[i, j]`` is the length of the edge ``i -> j``: finite, ``>= 0`` (zero
        allowed), any units; stored entries are the edges (an explicit 0 is a
        zero-length edge). Not validated here (see :func:`.validation.check_graph`).
    sources : array-like of int, shape (n_sources,)
        Source vertex ids in ``[0, n)``; any order, duplicates ignored, may be empty.
    k : int
        Labels per vertex, ``>= 1``; may exceed the number of sources.

    Returns
    -------
    dist : ndarray of shape (n, k), float64
        Distances in the units of ``graph``, ascending along each row; ``inf`` where
        fewer than ``k`` sources reach the vertex.
    source : ndarray of shape (n, k), int64
        Source vertex ids; equal distances ordered by source id; ``-1`` where ``dist``
        is ``inf``.

    Raises
    ------
    ValueError
        ``k < 1`` or a source id outside ``[0, n)``.
    """
    # One dtype per argument, so one compiled (and cached) specialisation serves every
    # graph; the int64 copy of the index arrays costs a few ms per 10M edges.
    indptr = np.ascontiguousarray(graph.indptr, dtype=np.int64)
    indices = np.ascontiguousarray(graph.indices, dtype=np.int64)
    weights = np.ascontiguousarray(graph.data, dtype=np.float64)
    sources = np.ascontiguousarray(sources, dtype=np.int64).reshape(-1)
    n = len(indptr) - 1
    # The compiled code does not check bounds: a bad id or k would read stray memory.
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}")
    if sources.size and (sources.min() < 0 or sources.max() >= n):
        raise ValueError(f"source ids must lie in [0, {n})")
    return _search(indptr, indices, weights, sources, int(k))


@njit(cache=True, nogil=True)
def _before(d1, s1, d2, s2):
    """Label order: distance, then source id."""
    return d1 < d2 or (d1 == d2 and s1 < s2)


@njit(cache=True, nogil=True)
def _sift_up(heap_d, heap_s, heap_v, where, i, d, s, v):
    """Place vertex ``v`` with key ``(d, s)`` at heap slot ``i`` or above.

    For a new entry or a lowered key; ``where[u]`` tracks every moved vertex's slot.
    """
    while i > 0:
        parent = (i - 1) >> 1
        if not _before(d, s, heap_d[parent], heap_s[parent]):
            break
        u = heap_v[parent]
        heap_d[i], heap_s[i], heap_v[i] = heap_d[parent], heap_s[parent], u
        where[u] = i
        i = parent
    heap_d[i], heap_s[i], heap_v[i] = d, s, v
    where[v] = i


@njit(cache=True, nogil=True)
def _sift_down(heap_d, heap_s, heap_v, where, size, i, d, s, v):
    """Place vertex ``v`` with key ``(d, s)`` at slot ``i`` or below.

    The heap holds ``size`` entries; slot ``i`` is being refilled (a raised key or the
    last entry).
    """
    while True:
        child = 2 * i + 1
        if child >= size:
            break
        if child + 1 < size and _before(
            heap_d[child + 1], heap_s[child + 1], heap_d[child], heap_s[child]
        ):
            child += 1
        if not _before(heap_d[child], heap_s[child], d, s):
            break
        u = heap_v[child]
        heap_d[i], heap_s[i], heap_v[i] = heap_d[child], heap_s[child], u
        where[u] = i
        i = child
    heap_d[i], heap_s[i], heap_v[i] = d, s, v
    where[v] = i


# C901: a numba kernel; the heap loop stays in one compiled frame.
@njit(cache=True, nogil=True)
def _search(indptr, indices, weights, sources, k):  # noqa: C901
    """Run the search on raw CSR arrays (int64, int64, float64); see :func:`k_label_dijkstra`."""
    n = indptr.shape[0] - 1
    # Row v is v's label list: settled[v] final labels, then tentative ones, held[v] in
    # all; the unused tail stays (inf, -1), which is the output's padding.
    dist = np.full((n, k), np.inf)
    source = np.full((n, k), -1, np.int64)
    held = np.zeros(n, np.int64)
    settled = np.zeros(n, np.int64)
    # Indexed binary heap of the vertices holding a tentative label, keyed by the first
    # one (distance, source); where[v] is v's slot, -1 when v is not in the heap. Each
    # vertex is in it at most once, so n slots always suffice.
    heap_d = np.empty(n, np.float64)
    heap_s = np.empty(n, np.int64)
    heap_v = np.empty(n, np.int64)
    where = np.full(n, -1, np.int64)
    size = 0
    for s in sources:
        if held[s] == 0:  # a duplicate source would add nothing
            dist[s, 0], source[s, 0], held[s] = 0.0, s, 1
            _sift_up(heap_d, heap_s, heap_v, where, size, 0.0, s, s)
            size += 1
    while size > 0:
        v, d, s = heap_v[0], heap_d[0], heap_s[0]  # settle v's first tentative label
        following = settled[v] + 1
        settled[v] = following
        if following < held[v]:  # v stays, keyed by its next tentative label
            _sift_down(
                heap_d, heap_s, heap_v, where, size, 0, dist[v, following], source[v, following], v
            )
        else:
            where[v] = -1
            size -= 1
            if size > 0:
                _sift_down(
                    heap_d, heap_s, heap_v, where, size, 0, heap_d[size], heap_s[size], heap_v[size]
                )
        for edge in range(indptr[v], indptr[v + 1]):
            w = indices[edge]
            nd = d + weights[edge]  # >= d, so (nd, s) sorts after every settled label
            m = held[w]
            # A full list takes only a label ahead of its last one (which is then
            # tentative: settled labels are never behind the label being relayed).
            if m == k and not _before(nd, s, dist[w, k - 1], source[w, k - 1]):
                continue
            at = -1
            for i in range(m):
                if source[w, i] == s:
                    at = i
                    break
            if at >= 0:
                if nd >= dist[w, at]:  # s already as near (or settled) at w
                    continue
                end = at  # the old label of s makes room
            elif m < k:
                end = m
                held[w] = m + 1
            else:
                end = k - 1  # the last (tentative) label drops out
            i = end
            while i > 0 and _before(nd, s, dist[w, i - 1], source[w, i - 1]):
                dist[w, i], source[w, i] = dist[w, i - 1], source[w, i - 1]
                i -= 1
            dist[w, i], source[w, i] = nd, s
            if i == settled[w]:  # a new first tentative label: w's key drops (or w enters)
                slot = where[w]
                if slot < 0:
                    slot = size
                    size += 1
                _sift_up(heap_d, heap_s, heap_v, where, slot, nd, s, w)
    return dist, source
