"""Graph build against its peers at equal edge recall, in one run (issue 21, item 3).

Same points as ``benchmarks/scale.py`` (unit vectors, d = 128, near 64 random 8-d
patches, threshold for mean degree ~10). Prints, with the load average around each row:

- the sgemm rate of this machine (float32 4096 x 128 by 128 x 4096 products, the shape
  of the exact build's blocks) and the exact build's FLOP bound ``n^2 d`` multiply-adds
  at that rate (``n^2 d / 2`` for the one triangle our numpy backend computes);
- exact, ``--exact-n`` (100k): ``great_circle_graph`` (numpy and faiss backends) vs raw
  FAISS ``IndexFlatIP.range_search`` over all rows (recall 1 for all; edge counts
  printed);
- approximate, ``--approx-n`` (1M): ours, ``build="forest"`` (what ``"auto"`` picks
  there) and ``build="approximate"`` (k-means cells), vs FAISS
  ``IndexIVFFlat.range_search`` (nlist = 4 sqrt(n); ``nprobe`` the smallest power of 2
  whose recall on the 2000 sampled rows reaches the forest's) and hnswlib (M = 16,
  ef_construction = 100, ``knn_query`` with k = 32, ``ef`` tuned the same way; pairs
  under the threshold). Tuning runs on the sample and is not timed; each peer's final
  edge recall is measured on its whole (symmetrised) graph by the same sampled brute
  force as ours (``approximate.sampled_edge_recall``).

Usage: ``python benchmarks/graph_build.py [--exact-n 100000] [--approx-n 1000000]``.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np
import scipy.sparse

sys.path.insert(0, str(Path(__file__).resolve().parent))
from scale import planted_points  # noqa: E402
from textmanifold.manifold import approximate as approx_mod  # noqa: E402
from textmanifold.manifold.graph import great_circle_graph, threshold_for_degree  # noqa: E402

HNSW_K = 32


def load() -> str:
    return "load {:.2f} {:.2f} {:.2f}".format(*os.getloadavg())


def row(name: str, seconds: float, recall: float, edges: int, extra: str = "") -> None:
    print(f"  {name:<46} {seconds:9.1f} s  recall {recall:.5f}  edges {edges:>10,}  "
          f"{extra}  [{load()}]", flush=True)


def sgemm_rate() -> float:
    """Multiply-adds per second of float32 4096 x 128 @ 128 x 4096 (best of 5 x 8)."""
    rng = np.random.default_rng(0)
    A = rng.normal(size=(4096, 128)).astype(np.float32)
    B = rng.normal(size=(4096, 128)).astype(np.float32)
    A @ B.T
    best = np.inf
    for _ in range(5):
        start = time.perf_counter()
        for _ in range(8):
            A @ B.T
        best = min(best, (time.perf_counter() - start) / 8)
    return 4096 * 4096 * 128 / best


def graph_of(n: int, rows: np.ndarray, cols: np.ndarray) -> scipy.sparse.csr_matrix:
    """Symmetric 0/1 graph of the pairs (rows, cols)."""
    rows, cols = np.concatenate([rows, cols]), np.concatenate([cols, rows])
    keep = rows != cols
    g = scipy.sparse.csr_matrix((np.ones(keep.sum(), np.float32), (rows[keep], cols[keep])),
                                shape=(n, n))
    g.sum_duplicates()
    return g


def range_pairs(index, X: np.ndarray, cos_t: float, chunk: int = 16_384):
    """All (query, hit) pairs of ``index.range_search`` over the rows of X."""
    rows, cols = [], []
    for a0 in range(0, len(X), chunk):
        lims, _, found = index.range_search(X[a0:a0 + chunk], float(cos_t))
        rows.append(np.repeat(np.arange(a0, a0 + len(lims) - 1), np.diff(lims).astype(np.int64)))
        cols.append(found.astype(np.int64))
    return np.concatenate(rows), np.concatenate(cols)


def exact_part(n: int, rate: float) -> None:
    import faiss

    X = planted_points(n)
    threshold = threshold_for_degree(X, 10.0, build="approximate")
    cos_t = float(np.cos(threshold))
    bound = n * n * 128 / rate
    print(f"\n== exact build, n = {n:,}: FLOP bound n^2 d = {bound:.1f} s, one triangle "
          f"{bound / 2:.1f} s [{load()}] ==", flush=True)
    times = {}
    for backend in ("numpy", "faiss"):
        start = time.perf_counter()
        g = great_circle_graph(X, threshold=threshold, backend=backend, build="exact")
        times[backend] = time.perf_counter() - start
        row(f"ours, exact, backend={backend}", times[backend], 1.0, g.nnz // 2,
            f"{times[backend] / bound:.2f}x bound")
    start = time.perf_counter()
    index = faiss.IndexFlatIP(X.shape[1])
    index.add(X)
    r, c = range_pairs(index, X, cos_t)
    peer = time.perf_counter() - start
    found = graph_of(n, r, c)
    row("FAISS IndexFlatIP.range_search", peer, approx_mod.edge_recall(found, g),
        found.nnz // 2, f"{peer / bound:.2f}x bound")
    best = min(times.values())
    print(f"  ratio FAISS / ours (best backend): {peer / best:.2f}x; ours / FLOP bound "
          f"{best / bound:.2f}x", flush=True)


def sample_recall_of(hits_of, sample: np.ndarray, r: np.ndarray, j: np.ndarray) -> float:
    """One-directional recall on the sampled rows: exact edges (r, j) whose j is among
    the hits of r (``hits_of(sample)`` gives a list of hit arrays, one per sampled row)."""
    hits = hits_of(sample)
    pos = np.searchsorted(sample, r)
    found = [j_ in hits[p] for p, j_ in zip(pos.tolist(), j.tolist(), strict=True)]
    return float(np.mean(found))


def approximate_part(n: int, hnsw: bool) -> None:
    import faiss

    X = planted_points(n)
    threshold = threshold_for_degree(X, 10.0, build="approximate")
    cos_t = float(np.cos(threshold))
    print(f"\n== approximate build, n = {n:,} [{load()}] ==", flush=True)
    records = []
    handler = approx_mod.logging.Handler(approx_mod.logging.INFO)
    handler.emit = records.append
    approx_mod.logger.addHandler(handler)
    approx_mod.logger.setLevel(approx_mod.logging.INFO)
    for build in ("approximate", "forest"):  # the forest last: the peers are tuned to it
        start = time.perf_counter()
        ours_g = great_circle_graph(X, threshold=threshold, build=build)
        ours = time.perf_counter() - start
        ours_recall = approx_mod.sampled_edge_recall(X, ours_g, threshold)
        settings = records[-1].args[0] if build == "approximate" else ""
        row(f"ours, {build}", ours, ours_recall, ours_g.nnz // 2, str(settings))
        del ours_g
    rng = np.random.default_rng(0)
    sample = np.sort(rng.choice(n, size=2000, replace=False))
    r, j = approx_mod._exact_pairs_of(X, sample, cos_t)
    peers = {}

    # FAISS IVF: per-query range search over the nprobe nearest lists
    nlist = int(4 * np.sqrt(n))
    start = time.perf_counter()
    ivf = faiss.IndexIVFFlat(faiss.IndexFlatIP(X.shape[1]), X.shape[1], nlist,
                             faiss.METRIC_INNER_PRODUCT)
    ivf.train(X[np.sort(rng.choice(n, size=min(n, 64 * nlist), replace=False))])
    ivf.add(X)
    setup = time.perf_counter() - start

    def ivf_hits(rows):
        lims, _, found = ivf.range_search(X[rows], cos_t)
        return [set(found[lims[i]:lims[i + 1]].tolist()) for i in range(len(rows))]

    for nprobe in (1, 2, 4, 8, 16, 32, 64, 128):
        ivf.nprobe = nprobe
        tuned = sample_recall_of(ivf_hits, sample, r, j)
        print(f"    IVF tuning: nprobe {nprobe}, sampled one-way recall {tuned:.5f}",
              flush=True)
        if tuned >= ours_recall:
            break
    start = time.perf_counter()
    pr, pc = range_pairs(ivf, X, cos_t)
    seconds = setup + time.perf_counter() - start
    g = graph_of(n, pr, pc)
    peers["faiss-ivf"] = seconds
    row(f"FAISS IndexIVFFlat.range_search nlist {nlist} nprobe {ivf.nprobe}", seconds,
        approx_mod.sampled_edge_recall(X, g, threshold), g.nnz // 2,
        f"(train+add {setup:.1f} s)")
    ivf.reset()  # frees the lists; the closure above still names ivf
    del g, pr, pc

    if hnsw:
        import hnswlib

        start = time.perf_counter()
        index = hnswlib.Index(space="ip", dim=X.shape[1])
        index.init_index(max_elements=n, M=16, ef_construction=100, random_seed=0)
        index.add_items(X, np.arange(n), num_threads=os.cpu_count())
        build = time.perf_counter() - start
        print(f"    hnswlib build {build:.1f} s [{load()}]", flush=True)
        # ip distance = 1 - inner product
        limit = 1.0 - cos_t

        def hnsw_hits(rows):
            labels, dist = index.knn_query(X[rows], k=HNSW_K, num_threads=os.cpu_count())
            return [set(labels[i][dist[i] < limit].tolist()) for i in range(len(rows))]

        for ef in (32, 64, 128, 256):
            index.set_ef(ef)
            tuned = sample_recall_of(hnsw_hits, sample, r, j)
            print(f"    hnswlib tuning: ef {ef}, sampled one-way recall {tuned:.5f}",
                  flush=True)
            if tuned >= ours_recall:
                break
        start = time.perf_counter()
        rows_, cols_ = [], []
        for a0 in range(0, n, 65_536):
            labels, dist = index.knn_query(X[a0:a0 + 65_536], k=HNSW_K,
                                           num_threads=os.cpu_count())
            keep = dist < limit
            rows_.append(np.repeat(np.arange(a0, a0 + len(labels)), keep.sum(axis=1)))
            cols_.append(labels[keep].astype(np.int64))
        seconds = build + time.perf_counter() - start
        g = graph_of(n, np.concatenate(rows_), np.concatenate(cols_))
        peers["hnswlib"] = seconds
        row(f"hnswlib M 16 efc 100 k {HNSW_K} ef {ef}", seconds,
            approx_mod.sampled_edge_recall(X, g, threshold), g.nnz // 2,
            f"(build {build:.1f} s)")
    best = min(peers, key=peers.get)
    print(f"  ratio best peer ({best}) / ours: {peers[best] / ours:.2f}x", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--exact-n", type=int, default=100_000)
    parser.add_argument("--approx-n", type=int, default=1_000_000)
    parser.add_argument("--no-hnsw", action="store_true")
    args = parser.parse_args()
    print(f"cpus {os.cpu_count()}, OMP_NUM_THREADS="
          f"{os.environ.get('OMP_NUM_THREADS', 'unset')} [{load()}]")
    rate = sgemm_rate()
    print(f"sgemm (4096x128 @ 128x4096, float32): {rate / 1e9:.1f} G multiply-adds/s "
          f"[{load()}]", flush=True)
    if args.exact_n:
        exact_part(args.exact_n, rate)
    if args.approx_n:
        approximate_part(args.approx_n, not args.no_hnsw)
    print(f"done [{load()}]")


if __name__ == "__main__":
    main()
