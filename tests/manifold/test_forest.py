"""The forest build (trees + neighbours of neighbours) against brute force and references."""

import numpy as np
import pytest

from textmanifold.manifold import forest
from textmanifold.manifold._canonical import canonical_cosines
from textmanifold.manifold._refine import (
    edge_csr,
    rp_tree,
    two_hop_candidates,
)
from textmanifold.manifold._search import COMPILED_FROM_PAIRS, exact_inner, margin, row_norms
from textmanifold.manifold.forest import forest_pairs

from .test_approximate import brute_force_edges, planted_manifold


@pytest.fixture(scope="module")
def planted():
    X = planted_manifold(n=4000)
    X64 = X.astype(np.float64)
    s = X64 @ X64.T
    np.fill_diagonal(s, -np.inf)
    cos_t = np.sort(s.ravel())[-4000 * 10]  # mean degree about 10
    return X, float(cos_t)


def test_forest_edges_are_exact_edges_with_exact_weights(planted):
    X, cos_t = planted
    threshold = float(np.arccos(cos_t))
    truth, dist = brute_force_edges(X, threshold)
    rows, cols, scores, settings = forest_pairs(X, cos_t)
    assert (rows < cols).all()
    assert len(np.unique(rows * len(X) + cols)) == len(rows)
    assert truth[rows, cols].all()
    norms = row_norms(X)
    np.testing.assert_array_equal(scores, exact_inner(X, X, norms, norms, rows, cols))
    np.testing.assert_allclose(np.arccos(scores), dist[rows, cols], atol=1e-6)
    recall = len(rows) / int(np.triu(truth).sum())
    assert recall >= 0.99
    assert settings.sample_recall >= 0.99


def test_refinement_recovers_dropped_edges_as_exact_edges(planted):
    X, cos_t = planted
    truth, _ = brute_force_edges(X, float(np.arccos(cos_t)))
    rows, cols = np.nonzero(np.triu(truth))
    norms = row_norms(X)
    keep = np.random.default_rng(1).random(len(rows)) < 0.7  # drop 30% of the edges
    graph = forest._Edges(len(X))
    graph.add(rows[keep], cols[keep], exact_inner(X, X, norms, norms, rows[keep], cols[keep]))
    forest._refine(X, norms, cos_t, cos_t - margin(X.shape[1]), graph)
    r, c, s = graph.sorted()
    assert truth[r, c].all() and keep.sum() + 0.2 * (~keep).sum() < len(r) <= len(rows)
    np.testing.assert_array_equal(s, exact_inner(X, X, norms, norms, r, c))


@pytest.mark.parametrize("pairs", [5000, COMPILED_FROM_PAIRS + 1000])
def test_exact_inner_is_the_ordered_float64_sum_to_the_bit(tmp_path, pairs):
    # Reference: float64 products of the float32 coordinates, added column by column in
    # numpy (the order the compiled kernel must keep), divided by the two norms. Both
    # sizes: short lists are scored in numpy, long ones by the kernel.
    rng = np.random.default_rng(3)
    X = rng.normal(size=(300, 37)).astype(np.float32)
    Y = rng.normal(size=(50, 37)).astype(np.float32)
    norms, norms_y = row_norms(X), row_norms(Y)
    rows, cols = rng.integers(300, size=pairs), rng.integers(50, size=pairs)
    products = X[rows].astype(np.float64) * Y[cols].astype(np.float64)
    sums = products[:, 0].copy()
    for k in range(1, X.shape[1]):
        sums += products[:, k]
    reference = sums / (norms[rows] * norms_y[cols])
    np.testing.assert_array_equal(exact_inner(X, Y, norms, norms_y, rows, cols), reference)
    # a memory map and int32 pairs give the same bits
    np.save(tmp_path / "x.npy", X)
    mapped = np.load(tmp_path / "x.npy", mmap_mode="r")
    same = exact_inner(mapped, Y, norms, norms_y, rows.astype(np.int32), cols.astype(np.int32))
    np.testing.assert_array_equal(same, reference)
    assert exact_inner(X, Y, norms, norms_y, rows[:0], cols[:0]).shape == (0,)
    kernel = canonical_cosines(X, Y, norms, norms_y, rows, cols)
    np.testing.assert_array_equal(kernel, reference)


def test_rp_tree_leaves_partition_the_rows():
    X = planted_manifold(n=3000)
    perm, starts = rp_tree(X, 200, seed=5)
    assert np.array_equal(np.sort(perm), np.arange(3000))
    sizes = np.diff(np.append(starts, 3000))
    assert starts[0] == 0 and (sizes <= 200).all() and (sizes >= 100).all()


def test_two_hop_kernel_matches_a_python_reference():
    rng = np.random.default_rng(0)
    n = 60
    X = rng.normal(size=(n, 8)).astype(np.float32)
    X /= np.linalg.norm(X, axis=1, keepdims=True)
    pairs = {tuple(sorted(p)) for p in rng.integers(n, size=(150, 2)).tolist() if p[0] != p[1]}
    rows, cols = (np.array(x, dtype=np.int64) for x in zip(*sorted(pairs), strict=True))
    new = rng.random(len(rows)) < 0.4
    loose = 0.1
    indptr, indices, n_new = edge_csr(n, rows, cols, new)
    # reference: pairs v < w with a common neighbour u along a path with a new edge,
    # not already adjacent, whose product exceeds the bound
    adjacent = {}
    for r, c, f in zip(rows.tolist(), cols.tolist(), new.tolist(), strict=True):
        adjacent.setdefault(r, {})[c] = f
        adjacent.setdefault(c, {})[r] = f
    expected = set()
    for v, nbrs in adjacent.items():
        for u, f1 in nbrs.items():
            for w, f2 in adjacent[u].items():
                if w > v and w not in nbrs and (f1 or f2) and float(X[v] @ X[w]) > loose:
                    expected.add((v, w))
    stamp = np.full(n, -1, np.int64)
    got, v = [], 0
    while v < n:  # a tiny buffer: the kernel stops and resumes
        r, c, v = two_hop_candidates(indptr, indices, n_new, X, loose, v, n, stamp, capacity=4)
        got += list(zip(r.tolist(), c.tolist(), strict=True))
    assert len(got) == len(set(got))
    assert set(got) == expected
    # each row lists its new entries first
    for v in range(n):
        flags = [adjacent[v][w] for w in indices[indptr[v] : indptr[v + 1]]]
        assert flags == sorted(flags, reverse=True) and sum(flags) == n_new[v]
