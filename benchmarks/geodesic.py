"""Geodesic retrieval and graph building: textmanifold against its peers, in one run.

Prints times and ratios for

1. nearest labelled source of *every* vertex (geodesic 1-NN retrieval) on random sphere
   graphs of 100k and 1M vertices, d = 64, mean degree ~10, 1 % of vertices labelled:
   ``nearest_source`` (one multi-source Dijkstra) vs a per-query scipy Dijkstra with
   ``limit`` (timed on a sample of queries and extrapolated) and vs networkx
   ``multi_source_dijkstra`` (100k only); then the k = 5 and k = 20 nearest sources
   (``k_nearest_sources``, a compiled k-label Dijkstra) against the same per-query peer
   and against the k = 1 time, and, at 100k, beside the numpy label-correcting rounds
   it replaced (the "before", kept in this script only);
2. graph building on clustered points in d = 64: ``great_circle_graph`` (numpy / FAISS)
   vs ``sklearn.neighbors.radius_neighbors_graph`` at the same radius.

How the sphere graphs are made cheaply: z is uniform on the 3-sphere in R^4 and
x = Q z with Q (64 x 4) having orthonormal columns, so x is a unit vector in R^64 and
x_i . x_j = z_i . z_j. The great-circle graph of the x's is therefore the graph of the
z's, which a k-d tree builds in seconds (chord radius 2 sin(threshold / 2)); the edge
weights are arccos of the float64 inner products. The threshold is set so that the
expected mean degree is 10.

Usage: ``python benchmarks/geodesic.py [--quick] [--no-1m-k]`` (``OMP_NUM_THREADS=1``
for a fair single-core comparison; the script prints the thread counts it saw).
``--no-1m-k`` skips the k = 5 / 20 searches on the 1M graph.
"""

from __future__ import annotations

import argparse
import os
import time

import networkx as nx
import numpy as np
import scipy.sparse
from scipy.optimize import brentq
from scipy.sparse.csgraph import dijkstra
from scipy.spatial import cKDTree
from sklearn.neighbors import radius_neighbors_graph

from textmanifold.manifold import (
    great_circle_graph,
    k_nearest_sources,
    mean_degree,
    nearest_source,
    threshold_for_degree,
)


def timed(function, *args, repeat=1, **kwargs):
    """(result, best wall time in seconds over ``repeat`` runs)."""
    best, result = np.inf, None
    for _ in range(repeat):
        start = time.perf_counter()
        result = function(*args, **kwargs)
        best = min(best, time.perf_counter() - start)
    return result, best


def sphere_sample(n: int, degree: float, seed: int):
    """n points on a 3-sphere embedded isometrically in R^64, and their great-circle graph.

    Returns
    -------
    z : ndarray of shape (n, 4), float64
        Unit rows; the points in R^64 are ``z @ embed.T``.
    graph : scipy.sparse.csr_matrix of shape (n, n)
        Edges under ``threshold``, weights arccos of the float64 ``z`` products.
    threshold : float
        Radians; the expected mean degree is ``degree``.
    embed : ndarray of shape (64, 4)
        Orthonormal columns: ``embed @ z`` puts any point of the 3-sphere in R^64 and
        keeps inner products.
    """
    rng = np.random.default_rng(seed)
    z = rng.normal(size=(n, 4))
    z /= np.linalg.norm(z, axis=1, keepdims=True)
    embed, _ = np.linalg.qr(rng.normal(size=(64, 4)))  # x = embed @ z keeps inner products
    assert np.allclose(embed.T @ embed, np.eye(4))
    # Fraction of the 3-sphere within angle t of a point: (t - sin t cos t) / pi.
    threshold = brentq(lambda t: (n - 1) * (t - np.sin(t) * np.cos(t)) / np.pi - degree, 0, 1)
    pairs = cKDTree(z).query_pairs(2 * np.sin(threshold / 2), output_type="ndarray")
    i, j = pairs[:, 0], pairs[:, 1]
    weights = np.arccos(np.clip(np.einsum("ij,ij->i", z[i], z[j]), -1.0, 1.0))
    upper = scipy.sparse.coo_matrix((weights, (i, j)), shape=(n, n))
    return z, (upper + upper.T).tocsr(), float(threshold), embed


def sphere_graph(n: int, degree: float, seed: int) -> scipy.sparse.csr_matrix:
    """Great-circle graph of n points on a 3-sphere embedded isometrically in R^64."""
    return sphere_sample(n, degree, seed)[1]


def per_query_dijkstra(graph, sources, queries, limits, k=1):
    """The peer: one scipy Dijkstra per query vertex, stopped at ``limit``."""
    is_source = np.zeros(graph.shape[0], bool)
    is_source[sources] = True
    answers = []
    for query, limit in zip(queries, limits, strict=True):
        dist = dijkstra(graph, indices=query, limit=limit)
        found = np.flatnonzero(is_source & np.isfinite(dist))
        answers.append(np.sort(dist[found])[:k])
    return answers


def compare_per_query(graph, sources, queries, ours_dist, ours_seconds, what):
    """Time the per-query peer on a sample of ``queries``, check its answers against ours
    (``ours_dist``: (n, k) distances of every vertex's k nearest sources) and print the
    time extrapolated to all n vertices with the ratio to ``ours_seconds``.

    Each query's Dijkstra is stopped at its true k-th distance: the peer's best case.
    """
    n, k = ours_dist.shape
    kth = ours_dist[queries, -1]
    limits = np.where(np.isfinite(kth), kth * (1 + 1e-9), np.inf)
    answers, peer = timed(per_query_dijkstra, graph, sources, queries, limits, k)
    assert all(np.allclose(a, ours_dist[q][np.isfinite(ours_dist[q])])
               for a, q in zip(answers, queries, strict=True))
    per_query = peer / len(queries)
    print(f"textmanifold {what}: {ours_seconds:.3f} s; scipy dijkstra per query (limit = the "
          f"true answer): {per_query * 1e3:.1f} ms/query on {len(queries)} sampled queries, "
          f"extrapolated to {n:,}: {per_query * n:.0f} s "
          f"-> ratio {per_query * n / ours_seconds:,.0f}x")
    return per_query * n


def bench_nearest_source(n, seed, samples, with_networkx, ks=(), with_before=False):
    print(f"\n== nearest labelled source, n = {n:,} ==")
    graph, build_time = timed(sphere_graph, n, 10.0, seed)
    rng = np.random.default_rng(seed + 1)
    sources = np.sort(rng.choice(n, n // 100, replace=False))
    print(
        f"graph: {graph.nnz // 2:,} edges, mean degree {mean_degree(graph):.2f}, "
        f"{len(sources):,} labelled sources (built in {build_time:.1f} s, not timed below)"
    )
    (dist, source), ours = timed(nearest_source, graph, sources, repeat=3)
    print(f"textmanifold nearest_source, all {n:,} vertices: {ours:.3f} s (best of 3)")
    print(f"  unreachable vertices: {np.isinf(dist).sum():,}")

    queries = rng.choice(n, samples, replace=False)
    peer = compare_per_query(graph, sources, queries, dist[:, None], ours, "nearest_source")
    rows = [(1, ours, peer, None)]
    if with_networkx:
        nx_graph, nx_build = timed(nx.from_scipy_sparse_array, graph)
        print(f"networkx graph built in {nx_build:.1f} s (not timed below)")
        (nx_dist, nx_paths), peer = timed(nx.multi_source_dijkstra, nx_graph, set(sources))
        reached = np.array(list(nx_dist))
        assert np.allclose([nx_dist[v] for v in reached], dist[reached])
        assert np.isinf(np.delete(dist, reached)).all()
        print(f"networkx multi_source_dijkstra: {peer:.2f} s  -> ratio {peer / ours:,.1f}x")
        del nx_graph, nx_dist, nx_paths
    else:
        print("networkx multi_source_dijkstra: not run at this size (its dict-of-dicts graph")
        print("  is not built here); it is compared on the smaller graph")
    for k in ks:
        repeat = 3 if n <= 100_000 else 1
        (dist_k, source_k), ours_k = timed(k_nearest_sources, graph, sources, k, repeat=repeat)
        peer_k = compare_per_query(graph, sources, queries, dist_k, ours_k,
                                   f"k_nearest_sources k={k} (best of {repeat})")
        before_k = None
        if with_before:
            (old_dist, old_source), before_k = timed(before_k_label_rounds, graph, sources, k)
            assert np.array_equal(old_dist, dist_k) and np.array_equal(old_source, source_k)
            print(f"  before (numpy label-correcting rounds) k={k}: {before_k:.3f} s, same "
                  f"answers -> compiled is {before_k / ours_k:.1f}x faster")
        rows.append((k, ours_k, peer_k, before_k))
    if ks:
        print(f"\nsummary, all {n:,} vertices, {len(sources):,} sources, one core:")
        print(f"{'k':>3} {'ours s':>9} {'per-query scipy s':>18} {'ratio':>8} "
              f"{'vs k=1':>7} {'before s':>9}")
        for k, t, peer_t, before_t in rows:
            before = f"{before_t:9.3f}" if before_t is not None else f"{'-':>9}"
            print(f"{k:>3} {t:9.3f} {peer_t:18.0f} {peer_t / t:7,.0f}x {t / ours:6.1f}x {before}")
    return ours


def before_k_label_rounds(graph, sources, k):
    """BEFORE issue 21 (benchmark only): the numpy k-label search ``k_nearest_sources``
    ran for k > 1 until the compiled kernel (:mod:`textmanifold.manifold._klabel`).

    Synchronous label-correcting rounds: every vertex keeps its best ``k`` labels
    ``(distance, source)``, ordered by distance then source id; a round relaxes the
    out-edges of the labels that changed in the previous round, all at once, and merges
    the candidates into the targets' labels, until nothing changes. ``graph``: CSR of
    shape (n, n), float64; ``sources``: sorted unique int64 ids. Returns (n, k) float64
    distances and int64 sources (``inf`` / ``-1`` padding).
    """
    n = graph.shape[0]
    indptr, indices = graph.indptr.astype(np.int64), graph.indices.astype(np.int64)
    degree = np.diff(indptr)
    dist = np.full((n, k), np.inf)
    source = np.full((n, k), -1, dtype=np.int64)
    dist[sources, 0], source[sources, 0] = 0.0, sources
    changed = (sources, np.zeros(len(sources)), sources)  # vertex, distance, source
    while len(changed[0]):
        vertex, d, s = changed
        counts = degree[vertex]
        first_edge = np.repeat(indptr[vertex] - np.cumsum(counts) + counts, counts)
        edge = first_edge + np.arange(counts.sum())
        cand_v, cand_d = indices[edge], np.repeat(d, counts) + graph.data[edge]
        cand_s = np.repeat(s, counts)
        useful = cand_d <= dist[cand_v, k - 1]  # "<=": an equal one may win on source id
        cand_v, cand_d, cand_s = cand_v[useful], cand_d[useful], cand_s[useful]
        touched = np.unique(cand_v)
        old_s = source[touched].ravel()
        held = old_s >= 0
        # Old labels first: on an exact repeat the stable sort keeps the old one.
        v = np.concatenate([np.repeat(touched, k)[held], cand_v])
        d = np.concatenate([dist[touched].ravel()[held], cand_d])
        s = np.concatenate([old_s[held], cand_s])
        new = np.arange(len(v)) >= held.sum()
        order = np.lexsort((s, d, v))
        v, d, s, new = v[order], d[order], s[order], new[order]
        _, best = np.unique(v * n + s, return_index=True)  # each (vertex, source) once
        best.sort()
        v, d, s, new = v[best], d[best], s[best], new[best]
        rank = np.arange(len(v)) - np.searchsorted(v, v)
        top = rank < k
        v, d, s, new, rank = v[top], d[top], s[top], new[top], rank[top]
        dist[touched], source[touched] = np.inf, -1
        dist[v, rank], source[v, rank] = d, s
        changed = (v[new], d[new], s[new])
    return dist, source


def first_k_call():
    """Time the first k > 1 search of this process: numba compiles the kernel (first run
    on this machine) or loads it from __pycache__."""
    tiny = scipy.sparse.csr_matrix(([1.0, 1.0], ([0, 1], [1, 0])), shape=(3, 3))
    _, seconds = timed(k_nearest_sources, tiny, [0, 2], 2)
    print(f"first k > 1 call (numba compile, or load from __pycache__): {seconds:.2f} s")


def clustered_sphere_points(n, d, clusters, seed):
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(clusters, d))
    X = centres[rng.integers(clusters, size=n)] + 0.35 * rng.normal(size=(n, d))
    return (X / np.linalg.norm(X, axis=1, keepdims=True)).astype(np.float32)


def bench_graph_build(n, seed):
    print(f"\n== graph build, n = {n:,}, d = 64, clustered points ==")
    X = clustered_sphere_points(n, 64, 50, seed)
    threshold, select = timed(threshold_for_degree, X, 10.0)
    print(f"threshold_for_degree(10): {threshold:.5f} rad in {select:.2f} s (backend auto)")
    graphs = {}
    for backend in ("numpy", "faiss"):
        graphs[backend], graphs[backend + "_t"] = timed(
            great_circle_graph, X, threshold=threshold, backend=backend
        )
    assert (graphs["numpy"] != graphs["faiss"]).nnz == 0
    print(f"mean degree {mean_degree(graphs['numpy']):.3f}; numpy and faiss graphs identical")
    chord = 2 * np.sin(threshold / 2)
    peer_graph, peer = timed(radius_neighbors_graph, X, radius=chord, mode="distance", n_jobs=1)
    differ = ((peer_graph > 0) != (graphs["numpy"] > 0)).nnz
    print(f"sklearn radius_neighbors_graph: {peer:.2f} s; edges differing from ours: {differ}")
    for backend in ("numpy", "faiss"):
        ours = graphs[backend + "_t"]
        print(f"great_circle_graph[{backend}]: {ours:.2f} s  -> ratio {peer / ours:.1f}x")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, for a smoke run")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-1m-k", action="store_true", help="no k = 5 / 20 on the 1M graph")
    args = parser.parse_args()
    import faiss

    print(
        f"threads: OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset')}, "
        f"faiss {faiss.omp_get_max_threads()}, cpus {os.cpu_count()}"
    )
    first_k_call()
    if args.quick:
        bench_nearest_source(20_000, args.seed, 50, with_networkx=True, ks=(5, 20),
                             with_before=True)
        bench_graph_build(5_000, args.seed)
        return
    bench_nearest_source(100_000, args.seed, 200, with_networkx=True, ks=(5, 20),
                         with_before=True)
    ours = bench_nearest_source(1_000_000, args.seed, 50, with_networkx=False,
                                ks=() if args.no_1m_k else (5, 20))
    print(f"\ntarget: all 1M vertices under 10 s -> {ours:.2f} s")
    bench_graph_build(30_000, args.seed)

if __name__ == "__main__":
    main()
