"""Great-circle graphs against brute-force pairwise arccos, on both backends."""

import subprocess
import sys

import numpy as np
import pytest
import scipy.sparse

from _manifold_fixtures import sphere_points32
from textmanifold.errors import InputError
from textmanifold.manifold.graph import (
    MIN_WEIGHT,
    edges_to,
    great_circle_graph,
    mean_degree,
    threshold_for_degree,
)

BACKENDS = ["numpy", "faiss"]


def brute_force_distances(A, B):
    """Pairwise great-circle distances in float64 of the rows projected on the sphere."""
    A = A.astype(np.float64) / np.linalg.norm(A.astype(np.float64), axis=1, keepdims=True)
    B = B.astype(np.float64) / np.linalg.norm(B.astype(np.float64), axis=1, keepdims=True)
    return np.arccos(np.clip(A @ B.T, -1.0, 1.0))


@pytest.fixture(scope="module")
def points():
    return sphere_points32(400, 6, seed=0)


@pytest.mark.parametrize("backend", BACKENDS)
def test_graph_equals_brute_force(points, backend):
    threshold = 0.45
    D = brute_force_distances(points, points)
    np.fill_diagonal(D, np.inf)
    # The comparison is only meaningful if no pair sits within rounding of the threshold.
    assert np.abs(D - threshold).min() > 1e-6
    G = great_circle_graph(points, threshold=threshold, backend=backend, chunk_size=37)
    expected = threshold > D
    assert isinstance(G, scipy.sparse.csr_matrix) and G.shape == (400, 400)
    assert np.array_equal(G.toarray() > 0, expected)
    np.testing.assert_allclose(G.toarray()[expected], D[expected], rtol=0, atol=2e-7)
    assert (G != G.T).nnz == 0 and G.diagonal().sum() == 0
    assert mean_degree(G) == expected.sum() / 400


def test_backends_and_chunk_sizes_give_identical_graphs_at_the_boundary(points):
    # Put the threshold on one pair's own computed distance so that its score sits on
    # the boundary of the rule; every backend and block size must still agree to the bit.
    row = edges_to(points[:1], points, np.pi).toarray()[0]
    threshold = float(np.sort(row)[5])
    graphs = [
        great_circle_graph(points, threshold=threshold, backend=b, chunk_size=c)
        for b in BACKENDS
        for c in (16, 400)
    ]
    for G in graphs[1:]:
        assert np.array_equal(G.indptr, graphs[0].indptr)
        assert np.array_equal(G.indices, graphs[0].indices)
        assert np.array_equal(G.data, graphs[0].data)


@pytest.mark.parametrize("target", [1.0, 4.0, 9.7, 25.0])
def test_target_degree_is_the_closest_achievable(points, target):
    n = len(points)
    D = brute_force_distances(points, points)
    pair_distances = np.sort(D[np.triu_indices(n, k=1)])
    wanted = round(target * n / 2)
    assert pair_distances[wanted] - pair_distances[wanted - 1] > 1e-6  # well separated
    threshold = threshold_for_degree(points, target)
    assert pair_distances[wanted - 1] < threshold <= pair_distances[wanted]
    G = great_circle_graph(points, target_degree=target, backend="numpy")
    assert mean_degree(G) == 2 * wanted / n
    same = great_circle_graph(points, threshold=threshold, backend="faiss")
    assert (same != G).nnz == 0


def test_edges_to_equals_brute_force_and_matches_graph_rows(points):
    threshold = 0.5
    Q = sphere_points32(30, 6, seed=1)
    expected = brute_force_distances(Q, points)
    E = edges_to(Q, points, threshold, chunk_size=7)
    assert E.shape == (30, 400)
    assert np.array_equal(E.toarray() > 0, expected < threshold)
    np.testing.assert_allclose(E.toarray()[expected < threshold], expected[expected < threshold])
    # A query equal to a vertex gets that vertex's edges plus a ~zero-length one to itself.
    G = great_circle_graph(points, threshold=threshold)
    own = edges_to(points[:5], points, threshold, backend="faiss")
    for i in range(5):
        row = own[i].toarray().ravel()
        assert 0 < row[i] < 1e-7
        row[i] = 0
        assert np.array_equal(row, G[i].toarray().ravel())


def test_coincident_points_keep_their_edge():
    X = np.array([[1, 0, 0], [0, 1, 0], [1, 0, 0], [0.6, 0.8, 0]], dtype=np.float32)
    G = great_circle_graph(X, threshold=0.1)
    assert G[0, 2] == MIN_WEIGHT and G[2, 0] == MIN_WEIGHT  # exact score 1: distance 0
    assert (G + G.T)[0, 2] > 0  # survives sparse arithmetic
    assert G.nnz == 2


def test_normalize_is_opt_in():
    X = sphere_points32(50, 4, seed=3) * 3.0
    with pytest.raises(InputError, match="row 0 is not unit norm"):
        great_circle_graph(X, threshold=0.5)
    G = great_circle_graph(X, threshold=0.5, normalize=True)
    expected = brute_force_distances(X, X) < 0.5
    np.fill_diagonal(expected, False)
    assert np.array_equal(G.toarray() > 0, expected) and G.nnz > 0


@pytest.mark.parametrize(
    ("row", "message"),
    [(np.zeros(4), "row 7 is a zero vector"), (np.array([np.nan, 1, 0, 0]), "row 7 holds NaN")],
)
def test_bad_rows_are_named_even_with_normalize(row, message):
    X = sphere_points32(10, 4, seed=4)
    X[7] = row
    for normalize in (False, True):
        with pytest.raises(InputError, match=message):
            great_circle_graph(X, threshold=0.5, normalize=normalize)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({}, "exactly one of threshold and target_degree"),
        ({"threshold": 0.3, "target_degree": 4}, "exactly one of"),
        ({"threshold": 0.0}, r"threshold must be in \(0, pi\]"),
        ({"threshold": 4.0}, r"threshold must be in \(0, pi\]"),
        ({"threshold": "wide"}, "threshold must be a number"),
        ({"target_degree": 10}, r"target_degree must be in \(0, n - 1\)"),
        ({"threshold": 0.3, "backend": "annoy"}, "backend must be one of"),
        ({"threshold": 0.3, "chunk_size": 0}, "chunk_size must be a positive integer"),
    ],
)
def test_bad_arguments(kwargs, message):
    with pytest.raises(InputError, match=message):
        great_circle_graph(sphere_points32(10, 4, seed=5), **kwargs)


def test_empty_and_misshapen_input():
    with pytest.raises(InputError, match="X must be a non-empty 2-D array"):
        great_circle_graph(np.zeros((0, 4)), threshold=0.3)
    with pytest.raises(InputError, match="2-D"):
        great_circle_graph(np.ones(4), threshold=0.3)
    with pytest.raises(InputError, match="dimension 3 but X has 4"):
        edges_to(sphere_points32(2, 3, seed=6), sphere_points32(5, 4, seed=6), 0.3)
    with pytest.raises(InputError, match="non-empty scipy sparse"):
        mean_degree(scipy.sparse.csr_matrix((0, 0)))


def test_manifold_package_does_not_import_torch():
    code = "import sys, textmanifold.manifold; print('torch' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"


def test_check_edge_rule_wants_exactly_one_and_names_them_as_told():
    from textmanifold.manifold import check_edge_rule

    check_edge_rule(0.3, None)
    check_edge_rule(None, 4)
    for given in ((None, None), (0.3, 4)):
        with pytest.raises(InputError, match=r"^give exactly one of threshold and target_degree$"):
            check_edge_rule(*given)
        with pytest.raises(
            InputError, match=r"^give exactly one of --threshold and --target-degree$"
        ):
            check_edge_rule(*given, names=("--threshold", "--target-degree"))
