"""Geodesic k-nearest targets from one query, stopping once they are settled.

Dijkstra's algorithm settles vertices in order of distance, so the first ``k`` target
vertices it settles are exactly the ``k`` geodesically nearest targets: the search can
stop there instead of labelling the whole graph (scipy's
``csgraph.dijkstra(indices=...)`` always allocates and fills O(n) arrays, which at a
million vertices costs more than the search itself). Distances live in a dict, so a
query touches only the vertices it reaches; the work is O(s log s) for the ``s``
vertices settled before the stop, independent of the graph's size.

Distances are sums of float64 edge lengths along the path from the source, in path
order, exactly as scipy's Dijkstra adds them, so the two agree to the last bit on graphs
without ties. Equal distances are settled in vertex order.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np

__all__ = ["BoundedSearch", "bounded_dijkstra"]


@dataclass
class BoundedSearch:
    """What :func:`bounded_dijkstra` found.

    Attributes
    ----------
    nearest : list of (float, int)
        The nearest targets, ``(distance in radians, vertex)``, nearest first.
    dist : dict of int -> float
        Distance of every settled vertex (and tentative ones; read only settled).
    pred : dict of int -> int
        Predecessor on a shortest path; ``-1`` for a source vertex.
    settled : set of int
    exhausted : bool
        The whole component of the sources was settled: every target not in ``dist``
        is unreachable.
    """

    nearest: list[tuple[float, int]]
    dist: dict[int, float]
    pred: dict[int, int]
    settled: set[int] = field(default_factory=set)
    exhausted: bool = False

    def distance(self, vertex: int) -> float:
        """Geodesic distance of a vertex the search settled or proved unreachable.

        Returns ``inf`` for an unreachable vertex; raises ``KeyError`` for a vertex
        the search stopped before settling.
        """
        if vertex in self.settled:
            return self.dist[vertex]
        if self.exhausted:
            return math.inf
        raise KeyError(vertex)

    def path(self, vertex: int) -> list[int]:
        """Vertices from a source to a settled ``vertex``, both included."""
        out = [vertex]
        while self.pred[out[-1]] >= 0:
            out.append(self.pred[out[-1]])
        return out[::-1]


def bounded_dijkstra(
    indptr: np.ndarray,
    indices: np.ndarray,
    data: np.ndarray,
    sources: Iterable[tuple[int, float]],
    is_target: np.ndarray,
    k: int,
    *,
    exclude: int = -1,
    settle: Iterable[int] = (),
) -> BoundedSearch:
    """Dijkstra from weighted sources until ``k`` targets (and ``settle``) are settled.

    Parameters
    ----------
    indptr, indices, data : ndarray
        A CSR graph of shape (n, n): ``data`` holds non-negative edge lengths (float64,
        radians), row ``v`` the out-edges of ``v``.
    sources : iterable of (int, float)
        Start vertices with their initial distance (the query's edge lengths when the
        query is attached out of sample, ``0.0`` for a query that is a vertex).
    is_target : ndarray of shape (n,), bool
        Which vertices may be returned (the image vertices).
    k : int
        Targets wanted, ``k >= 0``.
    exclude : int, default -1
        A vertex never returned as a target (the query's own vertex).
    settle : iterable of int
        Extra vertices whose distance must be known before stopping (e.g. the
        Euclidean hits, to report their geodesic distance).

    Returns
    -------
    BoundedSearch
    """
    dist: dict[int, float] = {}
    pred: dict[int, int] = {}
    heap: list[tuple[float, int]] = []
    for vertex, d in sources:
        vertex, d = int(vertex), float(d)
        if d < dist.get(vertex, math.inf):
            dist[vertex], pred[vertex] = d, -1
            heapq.heappush(heap, (d, vertex))
    pending = {int(v) for v in settle}
    settled: set[int] = set()
    nearest: list[tuple[float, int]] = []
    while heap:
        d, v = heapq.heappop(heap)
        if v in settled:
            continue
        settled.add(v)
        pending.discard(v)
        if len(nearest) < k and v != exclude and is_target[v]:
            nearest.append((d, v))
        if len(nearest) >= k and not pending:
            return BoundedSearch(nearest, dist, pred, settled, exhausted=False)
        lo, hi = int(indptr[v]), int(indptr[v + 1])
        if lo == hi:
            continue
        for u, du in zip(indices[lo:hi].tolist(), (d + data[lo:hi]).tolist(), strict=True):
            if du < dist.get(u, math.inf):
                dist[u], pred[u] = du, v
                heapq.heappush(heap, (du, u))
    return BoundedSearch(nearest, dist, pred, settled, exhausted=True)
