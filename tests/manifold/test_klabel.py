"""The compiled k-label Dijkstra against one scipy Dijkstra per source."""

import numpy as np
import pytest
import scipy.sparse
from scipy.sparse.csgraph import dijkstra

from textmanifold.manifold import k_nearest_sources
from textmanifold.manifold._klabel import k_label_dijkstra


def per_source_reference(graph, sources, k):
    """Each vertex's k best (distance, source) pairs from a scipy Dijkstra per distinct
    source, ordered by distance then source id; padded with inf / -1."""
    sources = np.unique(np.asarray(sources, dtype=np.int64))
    n = graph.shape[0]
    dist = np.full((n, k), np.inf)
    source = np.full((n, k), -1, dtype=np.int64)
    if len(sources) == 0:
        return dist, source
    D = dijkstra(graph, directed=True, indices=sources)  # (n_sources, n)
    for v in range(n):
        reached = np.flatnonzero(np.isfinite(D[:, v]))
        order = reached[np.lexsort((sources[reached], D[reached, v]))][:k]
        dist[v, : len(order)], source[v, : len(order)] = D[order, v], sources[order]
    return dist, source


def random_graph(seed, n=300, parts=(120, 90, 60), degree=4, integer=False, directed=False):
    """Random graph on three components plus isolated vertices (the last n - sum(parts)).

    ``integer``: weights in {0, 1, 2, 3}, so zero-length edges and many equal distances;
    otherwise uniform in [0.1, 1) (tie-free in practice).
    """
    rng = np.random.default_rng(seed)
    rows, cols, start = [], [], 0
    for size in parts:
        members = np.arange(start, start + size)
        pairs = rng.choice(members, (size * degree // 2, 2))
        pairs = pairs[pairs[:, 0] != pairs[:, 1]]
        rows.append(pairs[:, 0])
        cols.append(pairs[:, 1])
        start += size
    rows, cols = np.concatenate(rows), np.concatenate(cols)
    if integer:
        weights = rng.integers(0, 4, len(rows)).astype(np.float64)
    else:
        weights = rng.uniform(0.1, 1.0, len(rows))
    if not directed:
        rows, cols, weights = np.r_[rows, cols], np.r_[cols, rows], np.r_[weights, weights]
    # Keep one length per (row, col), explicit zeros included (they are edges).
    key = rows * n + cols
    _, first = np.unique(key, return_index=True)
    return scipy.sparse.csr_matrix((weights[first], (rows[first], cols[first])), (n, n))


@pytest.mark.parametrize("k", [1, 2, 5, 20])
@pytest.mark.parametrize("seed", [0, 1, 2, 3])
@pytest.mark.parametrize("integer", [False, True])
def test_equals_per_source_dijkstra(seed, k, integer):
    graph = random_graph(seed, integer=integer)
    # Sources in the first two components: the third and the isolated vertices see none.
    sources = np.random.default_rng(seed).choice(210, 25, replace=False)
    dist, source = k_label_dijkstra(graph, sources, k)
    ref_dist, ref_source = per_source_reference(graph, sources, k)
    assert dist.shape == source.shape == (300, k)
    assert dist.dtype == np.float64 and source.dtype == np.int64
    if integer:  # exact sums: distances and the source-id order of ties must match
        assert np.array_equal(dist, ref_dist)
        two = per_source_reference(graph, sources, 2)[0]
        assert (np.isfinite(two[:, 0]) & (two[:, 0] == two[:, 1])).any()  # ties do occur
    else:
        np.testing.assert_allclose(dist, ref_dist, rtol=1e-12)
    assert np.array_equal(source, ref_source)
    assert np.isinf(dist[210:]).all() and (source[210:] == -1).all()
    if k > 1:  # the public function runs this kernel for k > 1
        public = k_nearest_sources(graph, sources, k)
        assert np.array_equal(public[0], dist) and np.array_equal(public[1], source)


@pytest.mark.parametrize("seed", [4, 5])
def test_directed_edges_run_from_the_sources(seed):
    graph = random_graph(seed, integer=True, directed=True)
    sources = np.random.default_rng(seed).choice(300, 30, replace=False)
    dist, source = k_label_dijkstra(graph, sources, 5)
    ref_dist, ref_source = per_source_reference(graph, sources, 5)
    assert np.array_equal(dist, ref_dist) and np.array_equal(source, ref_source)


def test_larger_graph_grows_the_queue():
    # ~3000 vertices x 20 labels: many more queue entries than the initial capacity.
    graph = random_graph(7, n=3000, parts=(3000,), degree=6, integer=True)
    sources = np.random.default_rng(7).choice(3000, 60, replace=False)
    dist, source = k_label_dijkstra(graph, sources, 20)
    ref_dist, ref_source = per_source_reference(graph, sources, 20)
    assert np.array_equal(dist, ref_dist) and np.array_equal(source, ref_source)


def test_empty_source_set():
    dist, source = k_label_dijkstra(random_graph(0), np.array([], dtype=np.int64), 3)
    assert dist.shape == source.shape == (300, 3)
    assert np.isinf(dist).all() and (source == -1).all()


def test_k_larger_than_the_number_of_sources():
    graph = random_graph(1, integer=True)
    dist, source = k_label_dijkstra(graph, [3, 130], 6)
    ref_dist, ref_source = per_source_reference(graph, [3, 130], 6)
    assert np.array_equal(dist, ref_dist) and np.array_equal(source, ref_source)
    assert np.isinf(dist[:, 2:]).all() and (source[:, 2:] == -1).all()


def test_duplicate_and_unsorted_sources_count_once():
    graph = random_graph(2, integer=True)
    dist, source = k_label_dijkstra(graph, [40, 7, 40, 7, 7, 100], 4)
    ref_dist, ref_source = per_source_reference(graph, [7, 40, 100], 4)
    assert np.array_equal(dist, ref_dist) and np.array_equal(source, ref_source)
    for row in source:  # never the same source twice in a vertex's list
        found = row[row >= 0]
        assert len(found) == len(set(found.tolist()))


def test_isolated_vertices_and_a_graph_without_edges():
    graph = scipy.sparse.csr_matrix((5, 5))
    dist, source = k_label_dijkstra(graph, [1, 3], 2)
    assert dist[1].tolist() == [0.0, np.inf] and source[1].tolist() == [1, -1]
    assert dist[3].tolist() == [0.0, np.inf] and source[3].tolist() == [3, -1]
    assert np.isinf(dist[[0, 2, 4]]).all() and (source[[0, 2, 4]] == -1).all()


def test_zero_length_edges_tie_by_source_id():
    # 0 -0- 1 -0- 2 and 2 -1- 3: sources 2 and 0 reach 1 at distance 0; 3 sees 2 before 0.
    rows, cols, weights = [0, 1, 1, 2, 2, 3], [1, 0, 2, 1, 3, 2], [0.0, 0.0, 0.0, 0.0, 1.0, 1.0]
    graph = scipy.sparse.csr_matrix((weights, (rows, cols)), (4, 4))
    assert graph.nnz == 6  # explicit zeros are stored: they are edges (as in scipy)
    dist, source = k_label_dijkstra(graph, [2, 0], 3)
    assert dist[1].tolist() == [0.0, 0.0, np.inf] and source[1].tolist() == [0, 2, -1]
    assert dist[3].tolist() == [1.0, 1.0, np.inf] and source[3].tolist() == [0, 2, -1]
    assert source[2].tolist() == [0, 2, -1]  # a source's own label ties with source 0's


def test_bad_ids_and_k_are_refused_before_the_compiled_code():
    graph = random_graph(0)
    for sources, k, message in (
        ([0, 300], 2, "source ids must lie in"),
        ([-1], 2, "source ids must lie in"),
        ([0], 0, "k must be >= 1"),
    ):
        with pytest.raises(ValueError, match=message):
            k_label_dijkstra(graph, sources, k)
