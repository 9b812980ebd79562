"""ManifoldIndex.attach against brute force: the query's edges equal a rebuild's, and its
geodesic distances equal scipy's Dijkstra on the graph with the query vertex added by
hand; and the Searcher reads only the index's public face."""

from __future__ import annotations

import ast
import inspect

import numpy as np
import pytest
import scipy.sparse
from scipy.sparse.csgraph import dijkstra

from _index_fixtures import unit_rows, vertices
from textmanifold.errors import InputError
from textmanifold.index import ManifoldIndex, searching
from textmanifold.index.searching import Attachment
from textmanifold.manifold.graph import build_graph

THRESHOLD = 0.45


@pytest.fixture(scope="module")
def index():
    return ManifoldIndex.from_arrays(vertices(np.random.default_rng(0)), threshold=THRESHOLD)


def with_query(graph, vertices, lengths):
    """The (n + 1, n + 1) graph with vertex n joined to ``vertices`` by ``lengths``."""
    n = graph.shape[0]
    column = scipy.sparse.csr_matrix(
        (lengths, (vertices, np.zeros(len(vertices), int))), shape=(n, 1)
    )
    return scipy.sparse.bmat([[graph, column], [column.T, None]], format="csr")


@pytest.mark.parametrize("seed", range(5))
def test_edges_equal_a_rebuild_with_the_query_as_a_vertex(index, seed):
    q = unit_rows(np.random.default_rng(50 + seed), 1)[0]
    a = index.attach(q)
    assert isinstance(a, Attachment)
    X = np.asarray(index.vectors)
    n, d = X.shape
    assert a.vector.shape == (d,) and a.vector.dtype == np.float32
    assert a.vertices.dtype == np.int64 and a.lengths.dtype == np.float64
    assert a.scores.shape == (n,) and a.scores.dtype == np.float32
    assert np.all(np.diff(a.vertices) > 0) and np.all(a.lengths < index.threshold)
    rebuilt, _ = build_graph(
        np.concatenate([X, a.vector[None, :]]), threshold=THRESHOLD, target_degree=None
    )
    row = rebuilt[n]
    np.testing.assert_array_equal(a.vertices, row.indices)
    np.testing.assert_array_equal(a.lengths, row.data)  # bit for bit
    np.testing.assert_allclose(a.scores, X @ a.vector, rtol=0, atol=1e-6)
    assert a.norm == pytest.approx(np.linalg.norm(a.vector.astype(np.float64)), abs=1e-12)
    assert a.sources == list(zip(a.vertices.tolist(), a.lengths.tolist(), strict=True))


@pytest.mark.parametrize("seed", range(5))
def test_geodesic_distances_equal_dijkstra_with_the_query_added_by_hand(index, seed):
    q = unit_rows(np.random.default_rng(80 + seed), 1)[0]
    a = index.attach(q)
    n = len(index.ids)
    dist = dijkstra(with_query(index.graph, a.vertices, a.lengths), indices=n)[:n]
    images = np.flatnonzero(index.is_image)
    result = index.search(vector=q, k=len(images), metric="geodesic")
    got = {h.id: h.geodesic for h in result.geodesic}
    assert len(got) == len(images)
    for r in images.tolist():
        assert got[index.ids[r]] == pytest.approx(dist[r], rel=1e-12)


def test_a_vector_off_the_sphere_is_projected_and_a_bad_shape_refused(index):
    q = unit_rows(np.random.default_rng(3), 1)[0]
    a, b = index.attach(q), index.attach(3.0 * q)
    np.testing.assert_array_equal(a.vertices, b.vertices)
    np.testing.assert_allclose(a.lengths, b.lengths, atol=1e-6)
    for bad in (q[:2], q[None, :], np.zeros_like(q)):
        with pytest.raises(InputError):
            index.attach(bad)


def test_an_isolated_query_has_no_edges():
    rng = np.random.default_rng(4)
    far = ManifoldIndex.from_arrays(vertices(rng, 20, 5), threshold=0.01)
    a = far.attach(unit_rows(rng, 1)[0])
    assert a.vertices.size == a.lengths.size == 0


def test_align_images_applies_the_stored_map():
    rng = np.random.default_rng(5)
    v = vertices(rng, 30, 0)
    v.text, v.text_ids = v.image[::-1].copy(), [f"text:{i}" for i in v.image_ids[::-1]]
    v.items = v.items[:30] + [
        {"id": t, "kind": "text", "path": None, "text": t, "labels": []} for t in v.text_ids
    ]
    aligned = ManifoldIndex.from_arrays(v, threshold=THRESHOLD, align=True)
    rows = aligned.align_images(v.image)
    np.testing.assert_allclose(
        rows / np.linalg.norm(rows, axis=1, keepdims=True),
        np.asarray(aligned.vectors[:30]),
        atol=1e-5,
    )
    plain = ManifoldIndex.from_arrays(v, threshold=THRESHOLD)
    assert plain.align_images(v.image) is v.image


def test_the_searcher_never_touches_private_index_attributes():
    tree = ast.parse(inspect.getsource(searching))

    def is_index(node) -> bool:  # ``self.index`` or a local ``index``
        return (isinstance(node, ast.Attribute) and node.attr == "index") or (
            isinstance(node, ast.Name) and node.id == "index"
        )

    private = sorted(
        {
            node.attr
            for node in ast.walk(tree)
            if isinstance(node, ast.Attribute)
            and node.attr.startswith("_")
            and is_index(node.value)
        }
    )
    assert private == []
    imported = {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    assert "core" not in imported
