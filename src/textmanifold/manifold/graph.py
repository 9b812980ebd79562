"""Great-circle graphs on the unit sphere (paper Sec. 3.2, "Graph Construction").

Vertices are unit vectors; an edge joins ``i != j`` iff their great-circle distance
``arccos(clip(x_i . x_j, -1, 1))`` (radians) is *strictly* below a threshold, and the
edge weight is that distance. Because ``arccos`` is strictly decreasing, the rule is
evaluated in the inner-product domain: ``edge iff s_ij > cos(threshold)``.

The edge rule in floating point
-------------------------------
Rows are accepted when their norm is within :data:`UNIT_NORM_TOL` of 1 and are then
projected exactly onto the sphere: ``arccos`` is so steep near 1 that a float32 norm
error of 1e-7 alone would put a point 2e-4 rad away from itself.

Both backends first find *candidate* pairs with fast float32 products (numpy BLAS or
FAISS ``range_search``), using the loosened bound ``cos(threshold) - margin`` where the
margin ``d * 2**-23 + 2**-20`` exceeds twice the worst-case float32 rounding error of a
``d``-term dot product of unit vectors. Every candidate is then re-scored by one
function, :func:`._search.exact_inner`: the float32 rows are cast to float64, multiplied and
summed over dimensions in a fixed order, and divided by the two row norms (computed the
same way). The score of a pair therefore does not depend on the backend, the block it
fell in, or the order of ``i`` and ``j``. The edge rule ``s > cos(threshold)`` (float64)
is applied to that score. Hence both backends give identical edge sets and weights, and
the graph is exactly symmetric.

Two options say how: ``backend`` is the engine of every exact search (numpy or FAISS),
``build`` the method of the graph build (:func:`graph_build`). Large graphs:
``build="forest"`` (``"auto"`` from :data:`.approximate.APPROXIMATE_MIN_N` vertices)
takes candidates from random-projection tree leaves and neighbours of neighbours
(:mod:`.forest`), ``build="approximate"`` from nearby k-means cells (:mod:`.approximate`,
FAISS); either way the kept edges pass the same exact rule, a subset of the exact
graph's. A ``target_degree`` then picks the threshold from a sample of rows (about that
degree). docs/decisions/linear-approximate-build.md compares the two.

Coincident points (score rounding to 1) would get weight 0, which sparse arithmetic
silently drops; such edges get the smallest positive float instead (:data:`MIN_WEIGHT`).
"""

from __future__ import annotations

import numpy as np
import scipy.sparse
import scipy.sparse.csgraph
from numpy.typing import ArrayLike

from ..errors import InputError
from ..validation import (  # noqa: F401 (UNIT_NORM_TOL re-exported)
    UNIT_NORM_TOL,
    check_interval,
    check_option,
    check_unit_rows,
)
from ._search import DEFAULT_CHUNK, check_chunk_size, pairs_above, resolve_backend
from .approximate import APPROXIMATE_MIN_N, approximate_pairs
from .degree import exact_degree_threshold, sampled_degree_threshold

#: Graph build methods (:func:`graph_build`): "exact" scores every pair, "forest" only
#: pairs from tree leaves and two hops (:mod:`.forest`), "approximate" only pairs from
#: nearby k-means cells (:mod:`.approximate`).
BUILDS = ("auto", "exact", "forest", "approximate")

#: The builds that score only some pairs: their threshold for a degree is estimated from
#: a sample of rows, and their edge recall is measured on one.
SAMPLED_BUILDS = ("forest", "approximate")


def _sampled_pairs(method: str, X: np.ndarray, cos_t: float, chunk_size: int):
    """Find the candidate pairs of a sampled build (``rows, cols, scores, settings``)."""
    if method == "approximate":
        return approximate_pairs(X, cos_t, chunk_size=chunk_size)
    from .forest import forest_pairs  # numba loads with it (~0.2 s), so only when asked

    return forest_pairs(X, cos_t)


#: Weight of an edge between coincident points (great-circle distance rounds to 0).
MIN_WEIGHT = np.finfo(np.float64).tiny


def great_circle_graph(
    X: ArrayLike,
    *,
    threshold: float | None = None,
    target_degree: float | None = None,
    backend: str = "auto",
    build: str = "auto",
    normalize: bool = False,
    chunk_size: int = DEFAULT_CHUNK,
) -> scipy.sparse.csr_matrix:
    """Graph of points on the unit sphere joined when closer than a great-circle threshold.

    Parameters
    ----------
    X : array-like of shape (n, d)
        Unit vectors (see :func:`check_unit_rows`); cast to float32.
    threshold : float, optional
        Great-circle distance in radians, ``0 < threshold <= pi``; edge iff distance is
        strictly below it. Give exactly one of ``threshold`` and ``target_degree``.
    target_degree : float, optional
        Pick the threshold whose mean degree is closest to this
        (:func:`threshold_for_degree`).
    backend : {"auto", "numpy", "faiss"}
        Engine of the exact candidate search; "numpy" and "faiss" give identical graphs
        (module docstring); "auto" is "faiss" when installed, else "numpy".
    build : {"auto", "exact", "forest", "approximate"}
        "exact" scores every pair; "forest" only pairs from random-projection tree
        leaves and their neighbours of neighbours, "approximate" only pairs from nearby
        k-means cells (FAISS needed), both a subset of the exact edges (recall >= 0.995
        on a calibration sample); "auto" is "forest" from
        :data:`.approximate.APPROXIMATE_MIN_N` vertices (:func:`graph_build`).
    normalize : bool, default False
        L2-normalise the rows first.
    chunk_size : int
        Rows per block; memory is O(chunk_size**2 + edges).

    Returns
    -------
    scipy.sparse.csr_matrix of shape (n, n), float64
        Symmetric, no self loops, sorted indices; ``graph[i, j]`` is the great-circle
        distance in radians (:data:`MIN_WEIGHT` for coincident points).
    """
    graph, _ = build_graph(
        check_unit_rows(X, normalize=normalize),
        threshold=threshold,
        target_degree=target_degree,
        backend=backend,
        build=build,
        chunk_size=chunk_size,
    )
    return graph


def threshold_for_degree(
    X: ArrayLike,
    target_degree: float,
    *,
    backend: str = "auto",
    build: str = "auto",
    normalize: bool = False,
    chunk_size: int = DEFAULT_CHUNK,
) -> float:
    """Find the threshold (radians) whose graph's mean degree is closest to ``target_degree``.

    Mean degree is ``2 * p / n`` for a graph with ``p`` edges, and grows monotonically
    with the threshold. We take ``p* = round(target_degree * n / 2)`` and find, exactly,
    the cut ``p`` nearest ``p*`` that some threshold realises (pairs at tied distances
    enter together), then return the threshold halfway between the ``p``-th and
    ``(p+1)``-th smallest pair distances, nudged so that the float64 rule
    ``s > cos(threshold)`` reproduces exactly ``p`` edges.

    Rather than bisecting with one O(n^2 d) counting pass per step, a pass over a sample
    of rows brackets the answer, and one exact pass collects every pair inside the
    bracket (widened and repeated if the bracket was too tight); the selection within
    the bracket is then a sort.

    Parameters
    ----------
    X : array-like of shape (n, d)
        Unit vectors.
    target_degree : float
        Desired mean degree, ``0 < target_degree < n - 1``.
    backend, build, normalize, chunk_size
        As in :func:`great_circle_graph`; under the approximate build the threshold is
        estimated from a sample of rows instead (about the target degree).
    """
    X = check_unit_rows(X, normalize=normalize)
    chunk_size = check_chunk_size(chunk_size)
    if graph_build(build, backend, len(X)) in SAMPLED_BUILDS:
        return sampled_degree_threshold(X, target_degree, chunk_size)
    threshold, _ = exact_degree_threshold(X, target_degree, backend, chunk_size)
    return threshold


def build_graph(
    X: np.ndarray,
    *,
    threshold: float | None,
    target_degree: float | None,
    backend: str = "auto",
    build: str = "auto",
    chunk_size: int = DEFAULT_CHUNK,
) -> tuple[scipy.sparse.csr_matrix, float]:
    """:func:`great_circle_graph` on validated float32 rows; also returns the threshold."""
    chunk_size = check_chunk_size(chunk_size)
    check_edge_rule(threshold, target_degree)
    method = graph_build(build, backend, len(X))
    if method in SAMPLED_BUILDS:
        if threshold is None:
            threshold = sampled_degree_threshold(X, target_degree, chunk_size)
        threshold = _check_threshold(threshold)
        rows, cols, scores, _ = _sampled_pairs(method, X, np.cos(threshold), chunk_size)
    elif threshold is None:
        threshold, (rows, cols, scores) = exact_degree_threshold(
            X, target_degree, backend, chunk_size
        )
    else:
        threshold = _check_threshold(threshold)
        rows, cols, scores = pairs_above(X, X, np.cos(threshold), backend, chunk_size)
    keep = scores > np.cos(threshold)
    rows, cols, weights = rows[keep], cols[keep], _arc_length(scores[keep])
    n = len(X)
    graph = scipy.sparse.csr_matrix(
        (
            np.concatenate([weights, weights]),
            (np.concatenate([rows, cols]), np.concatenate([cols, rows])),
        ),
        shape=(n, n),
    )
    graph.sort_indices()
    return graph, threshold


def check_edge_rule(
    threshold, target_degree, names: tuple[str, str] = ("threshold", "target_degree")
) -> None:
    """Check the edge rule is a threshold or a mean degree: exactly one of them is given.

    ``names`` are what the message calls the two (a command passes its options).

    Raises
    ------
    InputError
        Both or neither are given.
    """
    if (threshold is None) == (target_degree is None):
        raise InputError(f"give exactly one of {names[0]} and {names[1]}")


def edges_to(
    Q: ArrayLike,
    X: ArrayLike,
    threshold: float,
    *,
    backend: str = "auto",
    normalize: bool = False,
    chunk_size: int = DEFAULT_CHUNK,
) -> scipy.sparse.csr_matrix:
    """Edges from new points ``Q`` to an existing vertex set ``X`` under ``threshold``.

    The same rule and scores as :func:`great_circle_graph`, so a query equal to a
    vertex gets exactly that vertex's edges (plus one of weight :data:`MIN_WEIGHT` to
    the vertex itself). Queries are never joined to each other.

    Parameters
    ----------
    Q : array-like of shape (n_q, d)
        Unit vectors to attach.
    X : array-like of shape (n_x, d)
        Unit vectors of the existing graph.
    threshold : float
        Great-circle distance in radians, ``0 < threshold <= pi``.

    Returns
    -------
    scipy.sparse.csr_matrix of shape (n_q, n_x), float64
        ``result[q, v]`` is the great-circle distance when below ``threshold``.
    """
    Q = check_unit_rows(Q, normalize=normalize, name="Q")
    X = check_unit_rows(X, normalize=normalize, name="X")
    if Q.shape[1] != X.shape[1]:
        raise InputError(f"Q has dimension {Q.shape[1]} but X has {X.shape[1]}")
    return attach_edges(Q, X, threshold, backend=backend, chunk_size=chunk_size)


def attach_edges(
    Q: np.ndarray,
    X: np.ndarray,
    threshold: float,
    *,
    backend: str = "auto",
    chunk_size: int = DEFAULT_CHUNK,
) -> scipy.sparse.csr_matrix:
    """:func:`edges_to` on rows already validated by :func:`check_unit_rows`.

    Validating twice would project the rows twice, which can move them by a float32
    ulp; fitted models keep their validated rows and attach queries with this.
    """
    cos_t = np.cos(_check_threshold(threshold))
    rows, cols, scores = pairs_above(Q, X, cos_t, backend, check_chunk_size(chunk_size))
    keep = scores > cos_t
    graph = scipy.sparse.csr_matrix(
        (_arc_length(scores[keep]), (rows[keep], cols[keep])), shape=(len(Q), len(X))
    )
    graph.sort_indices()
    return graph


def graph_build(build: str, backend: str, n: int) -> str:
    """Choose the build method a graph of ``n`` vertices gets (one of :data:`BUILDS` but "auto").

    Parameters
    ----------
    build : {"auto", "exact", "forest", "approximate"}
        ``"auto"`` is ``"forest"`` from :data:`.approximate.APPROXIMATE_MIN_N` vertices,
        else ``"exact"``: the forest build is the fastest from there (3.5x the k-means
        cells at 4M vertices; docs/decisions/linear-approximate-build.md) and needs
        nothing beyond numpy and numba.
    backend : {"auto", "numpy", "faiss"}
        The exact search engine (:func:`._search.resolve_backend`).
    n : int
        Vertices.

    Raises
    ------
    InputError
        An unknown option, or ``"approximate"`` where it cannot run: its cells are FAISS
        k-means, so it needs faiss-cpu and a backend other than ``"numpy"``.
    """
    check_option("build", build, BUILDS)
    engine = resolve_backend(backend)
    if build == "approximate" and engine != "faiss":
        why = "backend='numpy'" if backend == "numpy" else "the faiss-cpu package is missing"
        raise InputError(f"build='approximate' runs on FAISS, but {why}")
    if build == "auto":
        return "forest" if n >= APPROXIMATE_MIN_N else "exact"
    return build


def mean_degree(graph) -> float:
    """Compute the mean number of stored edges per vertex.

    Parameters
    ----------
    graph : scipy sparse matrix of shape (n, n), n > 0

    Returns
    -------
    float
        ``nnz / n``: ``2|E| / |V|`` for a symmetric graph.
    """
    if not scipy.sparse.issparse(graph) or graph.shape[0] == 0:
        raise InputError("mean_degree needs a non-empty scipy sparse graph")
    return graph.nnz / graph.shape[0]


def _check_threshold(threshold) -> float:
    try:
        value = float(threshold)
    except (TypeError, ValueError):
        raise InputError(f"threshold must be a number of radians, got {threshold!r}") from None
    return check_interval(
        "threshold", value, 0.0, np.pi, closed="right", labels=("0", "pi"), unit="radians"
    )


def _arc_length(scores: np.ndarray) -> np.ndarray:
    """Great-circle distance of float64 scores; 0 becomes MIN_WEIGHT (see module doc)."""
    return np.maximum(np.arccos(np.clip(scores, -1.0, 1.0)), MIN_WEIGHT)


def graph_summary(graph: scipy.sparse.csr_matrix, is_image: np.ndarray) -> dict:
    """Mean degree, connected components and isolated vertices of a symmetric graph.

    ``is_image`` (bool, shape (n,)) marks image vertices; ``images_in_largest`` counts
    those in the largest component, the ones a geodesic query entering it can reach.
    """
    n_comp, labels = scipy.sparse.csgraph.connected_components(graph, directed=False)
    sizes = np.bincount(labels)
    largest = int(np.argmax(sizes))
    degree = np.diff(graph.indptr)
    return {
        "vertices": int(graph.shape[0]),
        "edges": int(graph.nnz // 2),
        "mean_degree": float(degree.mean()),
        "components": int(n_comp),
        "largest_component": int(sizes[largest]),
        "images_in_largest": int(np.count_nonzero(is_image[labels == largest])),
        "isolated_vertices": int(np.count_nonzero(degree == 0)),
    }
