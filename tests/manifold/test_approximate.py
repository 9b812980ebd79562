"""The sampled builds (k-means cells, forest) against the exact graph and brute-force arccos."""

import numpy as np
import pytest
import scipy.sparse

from textmanifold.errors import InputError
from textmanifold.manifold import graph as graph_module
from textmanifold.manifold.approximate import (
    approximate_pairs,
    edge_recall,
    sampled_edge_recall,
)
from textmanifold.manifold.graph import great_circle_graph, threshold_for_degree

pytest.importorskip("faiss")


def planted_manifold(n=6000, d=32, clusters=12, intrinsic=3, seed=0):
    """Points near ``clusters`` random low-dimensional patches of the sphere in R^d."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(clusters, d))
    bases = rng.normal(size=(clusters, intrinsic, d))
    which = rng.integers(clusters, size=n)
    coords = rng.normal(size=(n, intrinsic)) * 0.6
    X = centres[which] + np.einsum("ni,nid->nd", coords, bases[which])
    X += 0.02 * rng.normal(size=(n, d))
    return (X / np.linalg.norm(X, axis=1, keepdims=True)).astype(np.float32)


def brute_force_edges(X, threshold):
    X64 = X.astype(np.float64)
    X64 /= np.linalg.norm(X64, axis=1, keepdims=True)
    dist = np.arccos(np.clip(X64 @ X64.T, -1.0, 1.0))
    np.fill_diagonal(dist, np.inf)
    return dist < threshold, dist


@pytest.fixture(scope="module")
def planted():
    X = planted_manifold()
    threshold = threshold_for_degree(X, 10, backend="numpy")
    exact = great_circle_graph(X, threshold=threshold, backend="numpy")
    approx = great_circle_graph(X, threshold=threshold, build="approximate")
    return X, threshold, exact, approx


@pytest.fixture(scope="module")
def forest(planted):
    X, threshold, _, _ = planted
    return great_circle_graph(X, threshold=threshold, build="forest")


@pytest.mark.parametrize("build", ["approximate", "forest"])
def test_sampled_builds_give_exact_edges_with_high_recall(planted, forest, build):
    X, threshold, exact, approx = planted
    approx = approx if build == "approximate" else forest
    truth, dist = brute_force_edges(X, threshold)
    a = approx.tocoo()
    # Every approximate edge is a true edge, with the true great-circle weight.
    assert truth[a.row, a.col].all()
    np.testing.assert_allclose(a.data, dist[a.row, a.col], atol=1e-6)
    assert (approx != approx.T).nnz == 0
    # Recall against the brute-force edge set, counted independently of edge_recall.
    true_pairs = set(zip(*np.nonzero(np.triu(truth)), strict=True))
    found = set(zip(a.row[a.row < a.col].tolist(), a.col[a.row < a.col].tolist(), strict=True))
    assert found <= true_pairs
    recall = len(found) / len(true_pairs)
    assert recall >= 0.99
    assert edge_recall(approx, exact) == pytest.approx(recall)
    assert exact.nnz // 2 == len(true_pairs)  # the exact graph is the reference


def test_sampled_recall_over_all_rows_is_the_edge_recall(planted):
    X, threshold, exact, approx = planted
    everything = sampled_edge_recall(X, approx, threshold, rows=len(X))
    assert everything == pytest.approx(edge_recall(approx, exact))
    assert sampled_edge_recall(X, exact, threshold, rows=500) == 1.0


def test_too_few_probes_lose_edges_and_calibration_recovers_them(planted):
    X, threshold, _, _ = planted
    truth, _ = brute_force_edges(X, threshold)
    n_true = int(np.triu(truth).sum())
    cos_t = np.cos(threshold)
    rows, cols, _, one = approximate_pairs(X, cos_t, nlist=200, nprobe=1)
    assert one.nprobe == 1 and np.isnan(one.sample_recall)
    assert truth[rows, cols].all() and len(rows) < n_true  # a subset that misses edges
    rows, cols, _, tuned = approximate_pairs(X, cos_t, nlist=200)
    assert tuned.nprobe > 1 and tuned.sample_recall >= 0.995
    assert truth[rows, cols].all() and len(rows) / n_true >= 0.99


def test_auto_build_switches_to_the_forest_above_the_size(planted, forest, monkeypatch):
    X, threshold, exact, _ = planted
    assert graph_module.graph_build("auto", "auto", len(X)) == "exact"
    monkeypatch.setattr(graph_module, "APPROXIMATE_MIN_N", 1000)
    # the forest needs no FAISS, so every backend gets it
    for backend in ("auto", "faiss", "numpy"):
        assert graph_module.graph_build("auto", backend, len(X)) == "forest"
    auto = great_circle_graph(X, threshold=threshold)
    assert (auto != forest).nnz == 0
    on_numpy = great_circle_graph(X, threshold=threshold, backend="numpy", build="forest")
    assert (on_numpy != forest).nnz == 0
    # an explicit exact build above the size is the exact graph (numpy's, edge for edge)
    forced = great_circle_graph(X, threshold=threshold, backend="faiss", build="exact")
    assert (forced != exact).nnz == 0


def test_build_and_backend_are_checked_apart(planted):
    X, threshold, _, _ = planted
    with pytest.raises(InputError, match=r"build='approximate'.*backend='numpy'"):
        great_circle_graph(X, threshold=threshold, backend="numpy", build="approximate")
    with pytest.raises(InputError, match="build must be one of"):
        great_circle_graph(X, threshold=threshold, build="ivf")
    # the old overloaded spelling names the new one
    with pytest.raises(InputError, match="now build='approximate'"):
        great_circle_graph(X, threshold=threshold, backend="approximate")


@pytest.mark.parametrize("build", ["approximate", "forest"])
def test_target_degree_on_a_sampled_build_is_near_the_target(planted, build):
    X = planted[0]
    graph = great_circle_graph(X, target_degree=10, build=build)
    assert 7 <= graph.nnz / len(X) <= 13


def test_bad_settings_are_input_errors(planted):
    X = planted[0]
    with pytest.raises(InputError, match="nlist"):
        approximate_pairs(X, 0.9, nlist=0)
    with pytest.raises(InputError, match="nprobe"):
        approximate_pairs(X, 0.9, nlist=10, nprobe=11)
    with pytest.raises(InputError, match="shape"):
        edge_recall(scipy.sparse.eye(3), scipy.sparse.eye(4))


@pytest.mark.parametrize("build", ["approximate", "forest"])
def test_graph_build_cli_reports_build_and_sampled_recall(planted, tmp_path, capsys, build):
    import json

    from textmanifold.cli import main

    X, threshold, exact, _ = planted
    np.save(tmp_path / "x.npy", X)
    with pytest.raises(SystemExit) as code:
        main(
            [
                "graph",
                "build",
                str(tmp_path / "x.npy"),
                "--out",
                str(tmp_path / "g.npz"),
                "--threshold",
                repr(threshold),
                "--build",
                build,
            ]
        )
    assert code.value.code == 0
    report = json.loads(capsys.readouterr().out)
    assert report["build"] == build
    assert 0.99 <= report["sampled_edge_recall"] <= 1.0
    assert 0.99 * (exact.nnz // 2) <= report["edges"] <= exact.nnz // 2


def test_a_model_fitted_on_the_approximate_graph_answers_queries(planted):
    # "approximate" is a graph-build choice; attaching queries to the fitted graph is an
    # exact search (FAISS). Reference: the fitted graph plus brute-force query edges,
    # Dijkstra by scipy from each query, nearest target vertex.
    from scipy.sparse.csgraph import dijkstra

    from textmanifold.manifold.geodesic import GeodesicKNNClassifier

    X, threshold, _, _ = planted
    targets, queries = X[:5800], X[5800:5900]
    model = GeodesicKNNClassifier(threshold=threshold, build="approximate")
    model.fit(targets, np.arange(len(targets)) % 7)
    dist, index = model.kneighbors(queries)

    Q64 = queries.astype(np.float64)
    Q64 /= np.linalg.norm(Q64, axis=1, keepdims=True)
    T64 = targets.astype(np.float64)
    T64 /= np.linalg.norm(T64, axis=1, keepdims=True)
    angle = np.arccos(np.clip(Q64 @ T64.T, -1.0, 1.0))
    attach = scipy.sparse.csr_matrix(np.where(angle < threshold, angle, 0.0))
    n = len(targets)
    full = scipy.sparse.bmat([[model.graph_, attach.T], [attach, None]], format="csr")
    reference = dijkstra(full, directed=False, indices=np.arange(n, n + len(queries)))[:, :n]
    reachable = np.isfinite(reference.min(axis=1))
    assert reachable.sum() > 50
    assert np.allclose(dist[reachable, 0], reference[reachable].min(axis=1), atol=1e-6)
    assert np.array_equal(index[reachable, 0], reference[reachable].argmin(axis=1))
    assert np.isinf(dist[~reachable, 0]).all()
