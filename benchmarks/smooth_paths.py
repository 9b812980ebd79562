"""Smooth-path counting on a CCI-sized graph: ours vs a networkx reference, one run.

The graph is CCI-like without the CCI generator: a tree of scenes (branching 10,
depth 4: 11,111 scenes), one image and one text vertex per scene (22,222 vertices),
reachable = tree edges plus about half of the sibling pairs. Embeddings follow the
tree: each scene is a random step from its parent on the sphere (its semantics); an
image adds camera-like noise, a text adds a smaller one. The graph joins points closer
than the great-circle threshold whose mean degree is closest to ``--degree``.

The reference is what a researcher would write with networkx: single-source Dijkstra
from an image vertex, every shortest path checked by the definition. It is timed on
``--reference-sources`` random sources and extrapolated linearly to all 11,111 (the
work per source does not depend on which sources came before); its per-source counts on
those sources must equal ours. Run::

    OMP_NUM_THREADS=1 python benchmarks/smooth_paths.py
"""

from __future__ import annotations

import argparse
import math
import time

import networkx as nx
import numpy as np
import scipy.sparse

from textmanifold.manifold.graph import great_circle_graph, mean_degree
from textmanifold.manifold.paths import count_smooth_paths


def cci_like(seed: int, branching: int, depth: int, dim: int, step: float, jitter: float,
             text_noise: float, p_sibling: float):
    """Image and text embeddings (n_scenes, dim) and the scene reachable matrix."""
    rng = np.random.default_rng(seed)
    n = sum(branching**k for k in range(depth + 1))
    parent = (np.arange(n) - 1) // branching  # scene i's children follow it in index order
    semantic = np.empty((n, dim))
    semantic[0] = rng.standard_normal(dim)
    semantic[0] /= np.linalg.norm(semantic[0])
    steps = rng.standard_normal((n, dim)) * step / math.sqrt(dim)
    for i in range(1, n):
        semantic[i] = semantic[parent[i]] + steps[i]

    def noisy(scale):
        X = semantic + rng.standard_normal((n, dim)) * scale * step / math.sqrt(dim)
        return X / np.linalg.norm(X, axis=1, keepdims=True)

    images, texts = noisy(jitter), noisy(text_noise)
    rows, cols = [np.arange(1, n)], [parent[1:]]
    for first in range(1, n, branching):
        sib = np.arange(first, min(first + branching, n))
        a, b = np.triu_indices(len(sib), 1)
        keep = rng.random(len(a)) < p_sibling
        rows.append(sib[a[keep]])
        cols.append(sib[b[keep]])
    r, c = np.concatenate(rows), np.concatenate(cols)
    reach = scipy.sparse.csr_matrix((np.ones(len(r), bool), (r, c)), shape=(n, n))
    return images, texts, (reach + reach.T).tocsr()


def reference_count(G: nx.Graph, source: int, scene, is_image, reach) -> int:
    """networkx: all shortest paths from ``source``, each checked by the definition."""
    count = 0
    for target, path in nx.single_source_dijkstra_path(G, source, weight="weight").items():
        if target == source or not is_image[target]:
            continue
        merged = [scene[path[0]]]
        merged += [scene[v] for u, v in zip(path, path[1:], strict=False) if scene[v] != scene[u]]
        if len(set(merged)) < len(merged):
            continue
        if not all(reach[a, b] for a, b in zip(merged, merged[1:], strict=False)):
            continue
        if any(reach[merged[i], merged[j]]
               for i in range(len(merged)) for j in range(i + 2, len(merged))):
            continue
        count += 1
    return count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--branching", type=int, default=10)
    parser.add_argument("--depth", type=int, default=4)
    parser.add_argument("--dim", type=int, default=64)
    parser.add_argument("--degree", type=float, default=10.0)
    parser.add_argument("--step", type=float, default=0.3)
    parser.add_argument("--jitter", type=float, default=1.75, help="image noise / step")
    parser.add_argument("--text-noise", type=float, default=0.3, help="text noise / step")
    parser.add_argument("--p-sibling", type=float, default=0.5)
    parser.add_argument("--reference-sources", type=int, default=20)
    args = parser.parse_args()

    images, texts, reach = cci_like(args.seed, args.branching, args.depth, args.dim,
                                    args.step, args.jitter, args.text_noise, args.p_sibling)
    n = len(images)
    scene = np.tile(np.arange(n), 2)
    is_image = np.arange(2 * n) < n
    start = time.perf_counter()
    graph = great_circle_graph(np.vstack([images, texts]), target_degree=args.degree)
    print(f"graph: {2 * n} vertices ({n} image + {n} text), mean degree "
          f"{mean_degree(graph):.2f}, built in {time.perf_counter() - start:.1f} s; "
          f"reachable: {reach.nnz / n:.2f} neighbours per scene")

    start = time.perf_counter()
    ours = count_smooth_paths(graph, scene, is_image, reach)
    ours_s = time.perf_counter() - start
    print(f"ours: {ours.total} smooth paths (ln {math.log(max(ours.total, 1)):.2f}) "
          f"from {n} sources in {ours_s:.1f} s")

    rng = np.random.default_rng(args.seed + 1)
    sample = rng.choice(n, size=min(args.reference_sources, n), replace=False)
    G = nx.from_scipy_sparse_array(graph)
    dense_reach = reach.toarray()
    start = time.perf_counter()
    reference = [reference_count(G, int(s), scene, is_image, dense_reach) for s in sample]
    per_source_s = (time.perf_counter() - start) / len(sample)
    reference_s = per_source_s * n
    agree = reference == ours.per_source[sample].tolist()
    print(f"networkx reference: {per_source_s:.2f} s per source on {len(sample)} random "
          f"sources, extrapolated to {n} sources: {reference_s:.0f} s; per-source counts "
          f"{'agree' if agree else 'DISAGREE'} on the sample ({sum(reference)} smooth paths, "
          f"{sum(c > 0 for c in reference)} sources with any)")
    print(f"ratio (networkx extrapolated / ours): {reference_s / ours_s:.0f}x")
    if not agree:
        raise SystemExit("mismatch with the reference")


if __name__ == "__main__":
    main()
