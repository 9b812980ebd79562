"""Geodesic (shortest-path) neighbours on a sphere graph, and the geodesic k-NN classifier.

Graphs are scipy sparse matrices whose entry ``graph[i, j]`` is the length of the edge
``i -> j`` (non-negative; absent entries are no edge). Distances are measured *from* the
sources *to* every vertex; on the symmetric graphs of :mod:`.graph` direction does not
matter.

Ties. Distances are exact (up to float64 addition). When two sources are equally far
from a vertex, :func:`nearest_source` (and ``k = 1``) reports whichever scipy's Dijkstra
settles first; :func:`k_nearest_sources` with ``k > 1`` orders equal distances by
source id. Both are deterministic for a given graph.

Queries of :class:`GeodesicKNNClassifier` attach to the fitted vertices (targets and
auxiliary points) by the edges :func:`.graph.edges_to` gives under the fitted threshold;
the graph is not rebuilt and queries never connect through each other, so each query's
answer is independent of the others in the batch (as in scikit-learn). To classify
points that should also act as manifold samples (the paper's transductive setting, where
every image is a vertex), pass them in ``X_aux`` too: a query equal to a vertex attaches
to it with a zero-length (:data:`.graph.MIN_WEIGHT`) edge.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.sparse.csgraph import dijkstra

from ..errors import InputError
from ..validation import check_graph, check_unit_rows
from .graph import attach_edges, build_graph
from .knn import (
    UNRETRIEVABLE,
    EuclideanKNNClassifier,
    NeighborLabelClassifier,
    check_n_neighbors,
    normalize_labels,
)

__all__ = [
    "UNRETRIEVABLE",
    "EuclideanKNNClassifier",
    "GeodesicKNNClassifier",
    "k_nearest_sources",
    "nearest_source",
    "shortest_path",
]


def nearest_source(graph, sources: ArrayLike) -> tuple[NDArray[np.float64], NDArray[np.int64]]:
    """Every vertex's geodesically nearest source, in one multi-source Dijkstra pass.

    Parameters
    ----------
    graph : scipy sparse matrix of shape (n, n)
        Edge lengths (e.g. radians of great-circle distance).
    sources : array-like of int, shape (n_sources,)
        Source vertex ids (duplicates are merged).

    Returns
    -------
    dist : ndarray of shape (n,), float64
        Distance from the nearest source; ``inf`` when no source reaches the vertex.
    source : ndarray of shape (n,), int64
        Vertex id of that source; ``-1`` when unreachable.
    """
    graph = check_graph(graph)
    return _nearest_source(graph, _check_sources(sources, graph.shape[0]))


def k_nearest_sources(
    graph, sources: ArrayLike, k: int
) -> tuple[NDArray[np.float64], NDArray[np.int64]]:
    """Each vertex's ``k`` geodesically nearest *distinct* sources, nearest first.

    Multi-source search whose labels carry their source: every vertex keeps its ``k``
    best ``(distance, source)`` labels and relays only those. It is exact because a
    source among a vertex's ``k`` nearest is also among the ``k`` nearest of every vertex
    on a shortest path to it. ``k = 1`` runs scipy's Dijkstra (:func:`nearest_source`);
    ``k > 1`` runs a compiled k-label Dijkstra (:mod:`._klabel`, numba; the first call
    on a machine compiles it, later ones load it from ``__pycache__``), where equal
    distances are ordered by source id.

    Parameters
    ----------
    graph : scipy sparse matrix of shape (n, n)
    sources : array-like of int, shape (n_sources,)
    k : int
        Sources per vertex, ``k >= 1``.

    Returns
    -------
    dist : ndarray of shape (n, k), float64
        Ascending; ``inf`` where fewer than ``k`` sources reach the vertex.
    source : ndarray of shape (n, k), int64
        Source vertex ids; ``-1`` in the padded columns.
    """
    k = check_n_neighbors(k)
    graph = check_graph(graph)
    sources = _check_sources(sources, graph.shape[0])
    if k == 1:
        dist, source = _nearest_source(graph, sources)
        return dist[:, None], source[:, None]
    # Imported here so that importing the package does not load numba (~0.2 s).
    from ._klabel import k_label_dijkstra

    return k_label_dijkstra(graph, sources, k)


def shortest_path(graph, a: int, b: int) -> list[int]:
    """Find the vertices of a shortest path from ``a`` to ``b``, both included.

    Parameters
    ----------
    graph : sparse or dense matrix of shape (n, n)
        Edge lengths (:func:`~textmanifold.validation.check_graph`), read as directed.
    a, b : int
        Vertex ids in ``[0, n)``.

    Returns
    -------
    list of int
        ``a`` first and ``b`` last; ``[a]`` when ``a == b`` and ``[]`` when ``b`` is
        unreachable from ``a``.
    """
    graph = check_graph(graph)
    a, b = (int(v) for v in _check_sources([a, b], graph.shape[0], unique=False))
    _, predecessors = dijkstra(graph, directed=True, indices=a, return_predecessors=True)
    if a != b and predecessors[b] < 0:
        return []
    path = [b]
    while path[-1] != a:
        path.append(int(predecessors[path[-1]]))
    return path[::-1]


class GeodesicKNNClassifier(NeighborLabelClassifier):
    """k-nearest-neighbour labels by geodesic distance on a great-circle graph.

    The graph joins the labelled targets ``X`` and the unlabelled pass-through points
    ``X_aux`` (e.g. text embeddings); only targets are ever neighbours.

    Parameters
    ----------
    n_neighbors : int, default 1
        Neighbours (distinct targets) that vote.
    threshold : float, optional
        Edge threshold in radians. Give exactly one of ``threshold`` and
        ``target_degree``.
    target_degree : float, optional
        Choose the threshold whose mean degree over ``X`` plus ``X_aux`` is closest.
    backend : {"auto", "numpy", "faiss"}, default "auto"
        Engine of the exact searches (:func:`.graph.great_circle_graph`); queries are
        always attached by an exact search.
    build : {"auto", "exact", "forest", "approximate"}, default "auto"
        How the graph is built (:func:`.graph.graph_build`).

    Attributes
    ----------
    graph_ : scipy.sparse.csr_matrix of shape (n_targets + n_aux, n_targets + n_aux)
        Vertices are ``X`` rows first, then ``X_aux`` rows.
    threshold_ : float
        The threshold used, radians.
    X_ : ndarray of shape (n_targets, d), float32
    y_ : list of length n_targets
        Labels (frozensets when ``multilabel_``).
    multilabel_ : bool
    n_targets_ : int
    vertices_ : ndarray of shape (n_targets + n_aux, d), float32
    vertex_dist_, vertex_target_ : ndarray of shape (n_targets + n_aux, k)
        Each vertex's nearest targets (:func:`k_nearest_sources`): distances and
        target indices (``inf`` / ``-1`` padding); ``k`` is the largest ``n_neighbors``
        used so far (like the Euclidean classifier, ``n_neighbors`` is read at each
        query, so ``set_params(n_neighbors=...)`` needs no new ``fit``).
    n_features_in_ : int
    """

    def __init__(
        self,
        n_neighbors: int = 1,
        threshold: float | None = None,
        target_degree: float | None = None,
        backend: str = "auto",
        build: str = "auto",
    ):
        self.n_neighbors = n_neighbors
        self.threshold = threshold
        self.target_degree = target_degree
        self.backend = backend
        self.build = build

    def fit(
        self, X: ArrayLike, y: ArrayLike, X_aux: ArrayLike | None = None
    ) -> GeodesicKNNClassifier:
        """Build the graph on ``X`` (n_targets, d) and ``X_aux`` (n_aux, d), unit rows.

        ``y`` holds one label per row of ``X`` (see :mod:`.knn` for label forms).
        """
        k = check_n_neighbors(self.n_neighbors)
        X = check_unit_rows(X, name="X")
        y, multilabel = normalize_labels(y, len(X))
        vertices = X
        if X_aux is not None and len(X_aux) > 0:
            aux = check_unit_rows(X_aux, name="X_aux")
            if aux.shape[1] != X.shape[1]:
                raise InputError(f"X_aux has dimension {aux.shape[1]} but X has {X.shape[1]}")
            vertices = np.concatenate([X, aux])
        graph, threshold = build_graph(
            vertices,
            threshold=self.threshold,
            target_degree=self.target_degree,
            backend=self.backend,
            build=self.build,
        )
        # Targets are vertices 0 .. n_targets-1, so source ids are target indices.
        self.vertex_dist_, self.vertex_target_ = k_nearest_sources(graph, np.arange(len(X)), k)
        self.graph_, self.threshold_ = graph, threshold
        self.vertices_, self.X_ = vertices, vertices[: len(X)]
        self.y_, self.multilabel_, self.n_targets_ = y, multilabel, len(X)
        self.n_features_in_ = X.shape[1]
        return self

    def kneighbors(self, Q: ArrayLike) -> tuple[NDArray[np.float64], NDArray[np.int64]]:
        """Geodesic distances and indices of each query's nearest distinct targets.

        Parameters
        ----------
        Q : array-like of shape (n_q, d)
            Unit rows; attached to the fitted vertices under ``threshold_``.

        Returns
        -------
        distances : ndarray of shape (n_q, n_neighbors), float64
            Radians, ascending; ``inf`` where unreachable.
        indices : ndarray of shape (n_q, n_neighbors), int64
            Rows of the fitted ``X``; ``-1`` where unreachable. Equal distances are
            ordered by target index.
        """
        self._check_fitted()
        Q = check_unit_rows(Q, name="Q")
        if Q.shape[1] != self.X_.shape[1]:
            raise InputError(f"Q has dimension {Q.shape[1]} but X has {self.X_.shape[1]}")
        k = check_n_neighbors(self.n_neighbors)  # read per query, as the Euclidean one does
        if k > self.vertex_dist_.shape[1]:  # raised since fit: more targets per vertex
            self.vertex_dist_, self.vertex_target_ = k_nearest_sources(
                self.graph_, np.arange(self.n_targets_), k
            )
        attach = attach_edges(Q, self.vertices_, self.threshold_, backend=self.backend)
        width = self.vertex_dist_.shape[1]
        # A query's k nearest targets are among its neighbours' k nearest (plus edge).
        # (a vertex list longer than k only adds candidates; the k best are kept below)
        query = np.repeat(np.arange(len(Q)), np.diff(attach.indptr) * width)
        dist = (attach.data[:, None] + self.vertex_dist_[attach.indices]).ravel()
        target = self.vertex_target_[attach.indices].ravel()
        found = target >= 0
        query, dist, target = query[found], dist[found], target[found]
        order = np.lexsort((target, dist, query))
        query, dist, target = query[order], dist[order], target[order]
        # Keep each (query, target) pair once, at its shortest distance (first in order).
        _, first = np.unique(query * self.n_targets_ + target, return_index=True)
        first.sort()
        query, dist, target = query[first], dist[first], target[first]
        rank = np.arange(len(query)) - np.searchsorted(query, query)
        keep = rank < k
        distances = np.full((len(Q), k), np.inf)
        indices = np.full((len(Q), k), -1, dtype=np.int64)
        distances[query[keep], rank[keep]] = dist[keep]
        indices[query[keep], rank[keep]] = target[keep]
        return distances, indices


def _check_sources(sources, n: int, unique: bool = True) -> np.ndarray:
    """Vertex ids as int64 (merged and sorted when ``unique``); rejects none / bad ids."""
    array = np.asarray(sources)
    if array.dtype == bool:
        raise InputError("sources must be vertex ids; for a mask use np.flatnonzero(mask)")
    if array.ndim != 1 or array.size == 0:
        raise InputError(f"sources must be a non-empty 1-D list of vertex ids, got {sources!r}")
    if not np.issubdtype(array.dtype, np.integer):
        raise InputError(f"sources must be integer vertex ids, got dtype {array.dtype}")
    out = array[(array < 0) | (array >= n)]
    if out.size:
        raise InputError(f"source vertex {int(out[0])} is out of range for {n} vertices")
    array = array.astype(np.int64)
    return np.unique(array) if unique else array


def _nearest_source(graph, sources):
    """Scipy's multi-source Dijkstra on a checked graph; -1 where unreachable."""
    dist, _, source = dijkstra(
        graph, directed=True, indices=sources, min_only=True, return_predecessors=True
    )
    source = source.astype(np.int64)
    source[~np.isfinite(dist)] = -1
    return dist, source
