"""Search latency of ManifoldIndex against a per-query full scipy Dijkstra, in one run.

On random sphere data (n points on a 3-sphere embedded isometrically in R^64, mean
degree ~10, every 5th vertex a text vertex; see ``geodesic.sphere_sample``) at 100k and
1M vertices, prints

- index save and ``ManifoldIndex.load(mmap=True)`` times;
- p50 / p99 latency of geodesic k=10 and Euclidean k=10 searches, for queries that are
  new vectors (attached out of sample: one O(n d) scan plus the bounded Dijkstra) and
  for id queries (graph only);
- the peer: one full ``scipy.sparse.csgraph.dijkstra`` per query from the query vertex,
  then the k nearest images of its distance array, on a sample of the same id queries;
  its answers are checked against ours, and the ratio of the p50s is printed.

Usage: ``python benchmarks/search.py [--quick] [--sizes 100000 1000000]``. At 1M it
needs ~3 GiB and a few minutes: run it under the shared lock.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from scipy.sparse.csgraph import dijkstra

sys.path.insert(0, str(Path(__file__).resolve().parent))
from geodesic import sphere_sample  # noqa: E402
from textmanifold.index import ManifoldIndex, Vertices  # noqa: E402

K = 10


def make_index(n: int, seed: int) -> tuple[ManifoldIndex, np.ndarray, np.random.Generator]:
    """The index of ``n`` sphere points (every 5th a text vertex), and the embedding map."""
    z, graph, threshold, embed = sphere_sample(n, 10.0, seed)
    text = np.zeros(n, bool)
    text[::5] = True
    order = np.concatenate([np.flatnonzero(~text), np.flatnonzero(text)])
    x = (z[order] @ embed.T).astype(np.float32)
    graph = graph[order][:, order]
    n_img = int((~text).sum())
    ids = [f"v{i}" for i in range(n)]
    vertices = Vertices(x[:n_img], ids[:n_img], x[n_img:], ids[n_img:], items=[
        {"id": v, "kind": "image" if i < n_img else "text", "path": None, "text": None,
         "labels": []} for i, v in enumerate(ids)])
    index = ManifoldIndex.from_arrays(vertices, threshold=threshold, graph=graph)
    return index, embed, np.random.default_rng(seed + 1)


def latencies(function, queries) -> np.ndarray:
    out = []
    for q in queries:
        start = time.perf_counter()
        function(q)
        out.append(time.perf_counter() - start)
    return np.array(out) * 1e3


def show(name: str, ms: np.ndarray) -> float:
    p50, p99 = np.percentile(ms, [50, 99])
    print(f"  {name:<44} p50 {p50:8.2f} ms  p99 {p99:8.2f} ms  ({len(ms)} queries)")
    return float(p50)


def full_dijkstra_knn(index: ManifoldIndex, row: int) -> list[str]:
    """The peer: scipy's Dijkstra over the whole graph, then the k nearest images."""
    dist = dijkstra(index.graph, indices=row)
    dist[row] = np.inf
    images = np.flatnonzero(index.is_image & np.isfinite(dist))
    best = images[np.lexsort((images, dist[images]))][:K]
    return [index.ids[r] for r in best]


def bench(n: int, seed: int, n_queries: int, n_peer: int) -> None:
    print(f"\n== n = {n:,} vertices, d = 64 ==")
    start = time.perf_counter()
    built, embed, rng = make_index(n, seed)
    print(f"index built in {time.perf_counter() - start:.1f} s (not timed below): "
          f"{built.n_images:,} images, {built.n_texts:,} texts, "
          f"{built.manifest['counts']['edges']:,} edges, mean degree "
          f"{2 * built.manifest['counts']['edges'] / n:.2f}")
    with tempfile.TemporaryDirectory(dir=os.environ.get("TMPDIR")) as tmp:
        start = time.perf_counter()
        built.save(Path(tmp) / "index")
        print(f"save: {time.perf_counter() - start:.2f} s")
        del built
        loads = []
        for _ in range(3):
            start = time.perf_counter()
            index = ManifoldIndex.load(Path(tmp) / "index", mmap=True)
            loads.append(time.perf_counter() - start)
        print(f"load (mmap): {min(loads):.3f} s best of 3, first {loads[0]:.3f} s")
        z = rng.normal(size=(n_queries, 4))
        vectors = (z / np.linalg.norm(z, axis=1, keepdims=True)) @ embed.T
        image_rows = np.flatnonzero(index.is_image)
        ids = [index.ids[r] for r in rng.choice(image_rows, n_queries, replace=False)]
        index.search(vector=vectors[0], k=K)  # touch the mapped pages once
        ours = {}
        for metric in ("geodesic", "euclidean"):
            ours[f"vector {metric}"] = show(
                f"ours, new vector, {metric} k={K}",
                latencies(lambda q, m=metric: index.search(vector=q, k=K, metric=m), vectors))
        ours["id geodesic"] = show(
            f"ours, id query, geodesic k={K}",
            latencies(lambda i: index.search(id=i, k=K, metric="geodesic"), ids))
        show(f"ours, id query, both k={K}",
             latencies(lambda i: index.search(id=i, k=K, metric="both"), ids))
        sample = ids[:n_peer]
        peer = show(f"scipy full dijkstra per query, k={K}",
                    latencies(lambda i: full_dijkstra_knn(index, index.row(i)), sample))
        for i in sample:  # same answers
            got = [h.id for h in index.search(id=i, k=K).geodesic if h.reachable]
            assert got == full_dijkstra_knn(index, index.row(i)), i
        print(f"  answers identical on {len(sample)} queries; ratio full dijkstra / ours "
              f"(id, geodesic): {peer / ours['id geodesic']:,.0f}x; "
              f"/ ours (new vector, geodesic): {peer / ours['vector geodesic']:,.1f}x")
        if n >= 1_000_000:
            print(f"target geodesic k=10 p50 < 50 ms at 1M: new vector "
                  f"{ours['vector geodesic']:.1f} ms, id {ours['id geodesic']:.2f} ms; "
                  f"load < 2 s: {min(loads):.3f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="20k vertices, a smoke run")
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    print(f"threads: OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset')}, "
          f"cpus {os.cpu_count()}")
    for n in [20_000] if args.quick else args.sizes:
        bench(n, args.seed, args.queries, n_peer=20 if n >= 1_000_000 else 50)


if __name__ == "__main__":
    main()
