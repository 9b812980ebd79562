"""Geodesic neighbours against scipy's all-pairs shortest paths and networkx."""

import itertools

import networkx as nx
import numpy as np
import pytest
import scipy.sparse
from scipy.sparse.csgraph import dijkstra
from scipy.sparse.csgraph import shortest_path as scipy_shortest_path
from sklearn.datasets import make_moons
from sklearn.neighbors import NearestNeighbors

from _manifold_fixtures import sphere_points32
from textmanifold.errors import InputError
from textmanifold.manifold import (
    UNRETRIEVABLE,
    EuclideanKNNClassifier,
    GeodesicKNNClassifier,
    k_nearest_sources,
    nearest_source,
    shortest_path,
)
from textmanifold.manifold.graph import edges_to, great_circle_graph


def random_graph(seed, n=240, parts=(100, 80, 50), degree=4):
    """Symmetric graph with tie-free weights: three components plus isolated vertices."""
    rng = np.random.default_rng(seed)
    rows, cols, start = [], [], 0
    for size in parts:
        members = np.arange(start, start + size)
        for _ in range(size * degree // 2):
            i, j = rng.choice(members, 2, replace=False)
            rows.append(i)
            cols.append(j)
        start += size
    upper = scipy.sparse.coo_matrix((rng.uniform(0.1, 1.0, len(rows)), (rows, cols)), (n, n))
    upper = scipy.sparse.triu(upper + upper.T, k=1)  # merge repeated pairs, keep i < j
    return (upper + upper.T).tocsr()


def brute_force_k_nearest(graph, sources, k):
    """The k nearest sources of every vertex from the full source x vertex distance matrix."""
    D = scipy_shortest_path(graph, method="D", indices=sources)
    D = np.vstack([D, np.full((max(0, k - len(D)), D.shape[1]), np.inf)])  # pad to k rows
    order = np.argsort(D, axis=0, kind="stable")[:k].T
    dist = np.take_along_axis(D.T, order, axis=1)
    padded_sources = np.r_[sources, np.full(len(D) - len(sources), -1)]
    return dist, np.where(np.isfinite(dist), padded_sources[order], -1)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_nearest_source_equals_networkx_and_scipy(seed):
    graph = random_graph(seed)
    # Sources in the first two components only: the third and the isolated are unreachable.
    sources = np.random.default_rng(seed).choice(180, 12, replace=False)
    dist, source = nearest_source(graph, sources)
    ref_dist, ref_source = brute_force_k_nearest(graph, sources, 1)
    np.testing.assert_allclose(dist, ref_dist[:, 0], rtol=1e-12)
    assert np.array_equal(source, ref_source[:, 0])
    assert np.isinf(dist[180:]).all() and (source[180:] == -1).all()
    nx_dist = nx.multi_source_dijkstra_path_length(nx.from_scipy_sparse_array(graph), set(sources))
    for v in range(graph.shape[0]):
        assert dist[v] == pytest.approx(nx_dist[v]) if v in nx_dist else np.isinf(dist[v])


@pytest.mark.parametrize("k", [1, 2, 5, 20])
def test_k_nearest_sources_equals_brute_force(k):
    graph = random_graph(3)
    sources = np.random.default_rng(3).choice(180, 15, replace=False)
    dist, source = k_nearest_sources(graph, sources, k)
    ref_dist, ref_source = brute_force_k_nearest(graph, sources, k)
    assert dist.shape == source.shape == (240, k)
    np.testing.assert_allclose(dist, ref_dist, rtol=1e-12)
    assert np.array_equal(source, ref_source)
    # Padding: the second component holds only some sources; the rest pad with inf / -1.
    assert (np.isinf(dist) == (source == -1)).all()


def test_k_nearest_sources_orders_equal_distances_by_source_id():
    # Vertex 0 sits at distance 1 from sources 4, 2, 3 (equal) and 2.5 from source 1.
    rows, cols, weights = [0, 0, 0, 0], [4, 2, 3, 5], [1.0, 1.0, 1.0, 1.5]
    upper = scipy.sparse.coo_matrix(([*weights, 1.0], ([*rows, 5], [*cols, 1])), (6, 6))
    graph = (upper + upper.T).tocsr()
    dist, source = k_nearest_sources(graph, [4, 3, 2, 1], 4)
    assert source[0].tolist() == [2, 3, 4, 1] and dist[0].tolist() == [1.0, 1.0, 1.0, 2.5]


def test_k_nearest_sources_on_a_long_chain():
    # A path graph needs one round per edge; compare with the brute force.
    n = 300
    weights = np.random.default_rng(6).uniform(0.5, 1.5, n - 1)
    upper = scipy.sparse.diags(weights, 1, shape=(n, n))
    graph = (upper + upper.T).tocsr()
    dist, source = k_nearest_sources(graph, [0, 150, 299], 2)
    ref_dist, ref_source = brute_force_k_nearest(graph, [0, 150, 299], 2)
    np.testing.assert_allclose(dist, ref_dist, rtol=1e-12)
    assert np.array_equal(source, ref_source)


def test_shortest_path_equals_networkx():
    graph = random_graph(4)
    G = nx.from_scipy_sparse_array(graph)
    for a, b in [(0, 57), (3, 99), (110, 170)]:
        path = shortest_path(graph, a, b)
        assert path == nx.dijkstra_path(G, a, b)
        length = sum(graph[u, v] for u, v in itertools.pairwise(path))
        assert length == pytest.approx(nx.dijkstra_path_length(G, a, b))
    assert shortest_path(graph, 5, 5) == [5]
    assert shortest_path(graph, 0, 150) == []  # different components
    assert shortest_path(graph, 0, 239) == []  # isolated vertex


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda g: nearest_source(g, []), "non-empty"),
        (lambda g: nearest_source(g, [0, 500]), "source vertex 500 is out of range"),
        (lambda g: nearest_source(g, np.ones(240, bool)), "np.flatnonzero"),
        (lambda g: nearest_source(g, [0.5]), "integer vertex ids"),
        (lambda g: k_nearest_sources(g, [0], 0), "n_neighbors must be a positive integer"),
        (lambda g: shortest_path(g, 0, -1), "source vertex -1 is out of range"),
        (lambda g: nearest_source(scipy.sparse.csr_matrix((0, 0)), [0]), "graph is empty"),
        (lambda g: nearest_source(g[:, :10], [0]), "graph must be square"),
        (lambda g: nearest_source(-g, [0]), "negative edge lengths"),
        (lambda g: nearest_source([[0, 1], [1, 0]], [0]), "scipy sparse matrix"),
    ],
)
def test_bad_graph_input(call, message):
    with pytest.raises(InputError, match=message):
        call(random_graph(5))


@pytest.mark.parametrize("k", [1, 3])
def test_kneighbors_equals_per_query_dijkstra(k):
    """Each query joins the fitted graph alone; scipy solves that graph from scratch."""
    X, aux, Q = sphere_points32(60, 3, 0), sphere_points32(140, 3, 1), sphere_points32(25, 3, 2)
    model = GeodesicKNNClassifier(n_neighbors=k, threshold=0.3).fit(X, list(range(60)), aux)
    dist, idx = model.kneighbors(Q)
    vertices = np.vstack([X, aux])
    base = great_circle_graph(vertices, threshold=0.3)
    assert (model.graph_ != base).nnz == 0 and model.threshold_ == 0.3
    attach = edges_to(Q, vertices, 0.3)
    for q in range(len(Q)):
        row = attach[q]
        full = scipy.sparse.bmat([[base, row.T], [row, None]]).tocsr()  # query = last vertex
        D = dijkstra(full, indices=len(vertices))[:60]
        order = np.argsort(D, kind="stable")[:k]
        np.testing.assert_allclose(dist[q], D[order], rtol=1e-12)
        assert np.array_equal(idx[q], np.where(np.isfinite(D[order]), order, -1))
    assert np.isinf(dist).any()  # some queries are unreachable at this threshold
    retrievable = model.retrievable(Q)
    assert np.array_equal(retrievable, np.isfinite(dist[:, 0]))
    predicted = model.predict(Q)
    assert all(p is UNRETRIEVABLE for p in predicted[~retrievable])


def arc_points(angles):
    """Points on the unit circle of the first two coordinates of R^3."""
    a = np.asarray(angles, dtype=np.float64)
    return np.c_[np.cos(a), np.sin(a), np.zeros_like(a)].astype(np.float32)


def test_vote_hand_example_and_tie_break():
    # A chain q(0.0) - t0(0.1) - t1(0.2) - t2(0.3) under threshold 0.15.
    targets, query = arc_points([0.1, 0.2, 0.3]), arc_points([0.0])
    three = GeodesicKNNClassifier(n_neighbors=3, threshold=0.15).fit(targets, ["a", "b", "b"])
    dist, idx = three.kneighbors(query)
    np.testing.assert_allclose(dist, [[0.1, 0.2, 0.3]], atol=1e-6)
    assert idx.tolist() == [[0, 1, 2]] and three.predict(query).tolist() == ["b"]
    two = GeodesicKNNClassifier(n_neighbors=2, threshold=0.15).fit(targets, ["a", "b", "b"])
    assert two.predict(query).tolist() == ["a"]  # 1-1 tie: the nearest label wins
    far = arc_points([1.5])
    assert two.predict(far).tolist() == [UNRETRIEVABLE]
    assert not two.retrievable(far)[0]


def test_multilabel_predictions_are_frozensets():
    targets, query = arc_points([0.1, 0.2]), arc_points([0.0, 0.25])
    model = GeodesicKNNClassifier(threshold=0.15).fit(targets, [{"car", "grass"}, "car"])
    assert model.multilabel_
    assert model.predict(query).tolist() == [frozenset({"car", "grass"}), frozenset({"car"})]


def test_text_vertices_are_pass_through_never_targets():
    # Target at 0.3; text at 0.1 and 0.2 bridges the query at 0.0 to it.
    targets, text, query = arc_points([0.3]), arc_points([0.1, 0.2]), arc_points([0.0])
    image_only = GeodesicKNNClassifier(threshold=0.15).fit(targets, ["x"])
    assert not image_only.retrievable(query)[0]
    joint = GeodesicKNNClassifier(threshold=0.15).fit(targets, ["x"], X_aux=text)
    dist, idx = joint.kneighbors(query)
    assert idx.tolist() == [[0]] and dist[0, 0] == pytest.approx(0.3, abs=1e-6)


def sphere_moons(n, seed, dim=16):
    """Two moons drawn on a small cap of the unit sphere, rotated into R^dim."""
    plane, label = make_moons(n, noise=0.05, random_state=seed)
    cap = np.c_[(plane - plane.mean(axis=0)) * 0.25, np.ones(n), np.zeros((n, dim - 3))]
    rotation, _ = np.linalg.qr(np.random.default_rng(seed).normal(size=(dim, dim)))
    X = cap @ rotation.T
    return (X / np.linalg.norm(X, axis=1, keepdims=True)).astype(np.float32), label


def test_geodesic_beats_euclidean_on_two_moons():
    X, label = sphere_moons(600, seed=2)
    rng = np.random.default_rng(2)
    targets = np.r_[[rng.choice(np.flatnonzero(label == c), 2, replace=False) for c in (0, 1)]]
    targets = targets.ravel()
    queries = np.setdiff1d(np.arange(len(X)), targets)
    # Transductive, as in the paper: every image is a graph vertex.
    geo = GeodesicKNNClassifier(target_degree=10).fit(X[targets], label[targets], X[queries])
    reachable = geo.retrievable(X[queries])
    geo_accuracy = np.mean(geo.predict(X[queries])[reachable] == label[queries][reachable])
    eu = EuclideanKNNClassifier().fit(X[targets], label[targets])
    eu_accuracy = np.mean(eu.predict(X[queries]) == label[queries])
    assert reachable.mean() > 0.98
    assert geo_accuracy == 1.0  # measured: 1.0 on 592 retrievable queries
    assert eu_accuracy < 0.7  # measured: 0.661


@pytest.mark.parametrize("backend", ["numpy", "faiss"])
def test_euclidean_kneighbors_equals_sklearn(backend):
    X, Q = sphere_points32(300, 8, 3), sphere_points32(40, 8, 4)
    model = EuclideanKNNClassifier(n_neighbors=4, backend=backend).fit(X, np.arange(300) % 7)
    dist, idx = model.kneighbors(Q)
    ref_dist, ref_idx = NearestNeighbors(n_neighbors=4).fit(X).kneighbors(Q)
    assert np.array_equal(idx, ref_idx)
    np.testing.assert_allclose(dist, ref_dist, atol=1e-5)
    assert model.retrievable(Q).all()
    padded = EuclideanKNNClassifier(n_neighbors=5, backend=backend).fit(X[:3], [0, 1, 2])
    dist, idx = padded.kneighbors(Q)
    assert (idx[:, 3:] == -1).all() and np.isinf(dist[:, 3:]).all()


@pytest.mark.parametrize("model_class", [GeodesicKNNClassifier, EuclideanKNNClassifier])
def test_classifier_bad_input(model_class):
    X = sphere_points32(20, 4, 5)
    kwargs = {"threshold": 0.5} if model_class is GeodesicKNNClassifier else {}
    with pytest.raises(InputError, match="not fitted"):
        model_class(**kwargs).predict(X)
    with pytest.raises(InputError, match="y holds 19 labels but X has 20 rows"):
        model_class(**kwargs).fit(X, list(range(19)))
    for not_a_sequence in (None, set(range(20)), "abcdefghijklmnopqrst"):
        with pytest.raises(InputError, match="y must be a sequence"):
            model_class(**kwargs).fit(X, not_a_sequence)
    with pytest.raises(InputError, match="label 3"):
        model_class(**kwargs).fit(X, [0, 1, 2, None] + [0] * 16)
    with pytest.raises(InputError, match=r"non-empty 2-D|X is empty"):
        model_class(**kwargs).fit(np.zeros((0, 4)), [])
    model = model_class(**kwargs).fit(X, list(range(20)))
    with pytest.raises(InputError, match="dimension 3"):
        model.predict(sphere_points32(2, 3, 6))
    bad = sphere_points32(3, 4, 7)
    bad[1, 0] = np.nan
    with pytest.raises(InputError, match="Q row 1 holds NaN"):
        model.kneighbors(bad)
    with pytest.raises(InputError, match="n_neighbors"):
        model_class(n_neighbors=0, **kwargs).fit(X, list(range(20)))


def test_geodesic_classifier_needs_a_threshold_and_matching_aux():
    X = sphere_points32(20, 4, 8)
    with pytest.raises(InputError, match="exactly one of threshold and target_degree"):
        GeodesicKNNClassifier().fit(X, list(range(20)))
    with pytest.raises(InputError, match="X_aux has dimension 3"):
        GeodesicKNNClassifier(threshold=0.3).fit(X, list(range(20)), sphere_points32(5, 3, 9))
