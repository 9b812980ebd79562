"""Scale: sphere-graph build (exact vs approximate), all-vertex geodesic search, and batch
embedding (``--engine local`` vs ``--engine ray``), measured in one run.

Points: ``n`` unit vectors in d = 128 near 64 random 8-dimensional patches (a planted
low-dimensional manifold, as learned embeddings are; uniform points in 128-d have no
useful neighbourhoods), threshold set for mean degree ~10 from a sample of rows.

Per size (100k, 1M, 4M; ``--sizes``) every measurement runs in a fresh child process,
so its peak resident memory (``ru_maxrss``, the points included) is its own:

- ``approx``: :func:`great_circle_graph` with ``build="approximate"`` (k-means cells
  joined with their nearest cells, then the exact rule): seconds, peak memory, edges,
  ``nprobe``, and edge recall measured exactly on 2000 sampled vertices (their full
  exact neighbour lists, by brute force); then ``nearest_source`` from 1 % labelled
  vertices (every vertex's geodesic 1-NN): seconds and peak memory.
- ``forest``: :func:`.forest.forest_pairs` (random-projection trees, neighbours of
  neighbours, calibrated to the same sample recall; ``build="forest"``, what
  ``"auto"`` runs from 200k vertices):
  seconds, peak memory, edges, trees, rounds and the same sampled edge recall.
- ``exact``: the exact FAISS build, in full up to ``--exact-max`` vertices (and then
  the full-graph edge recall of the approximate graph); above it only ``--exact-rows``
  query rows are searched against all n and the full time is **projected** as
  (time per row) x n, and labelled so.

The growth exponent is the least-squares slope of log(seconds) on log(n) over the
measured (never projected) points. The embedding part builds a collection of random
images, trains a joint run for one step and times both engines on it.

Usage (heavy; on a shared machine under the lock)::

    flock /tmp/heavy.lock nice env PYTHONPATH=$PWD/src .venv/bin/python benchmarks/scale.py
    ... benchmarks/scale.py --sizes 100000 --exact-max 100000 --images 400   # quick
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

D, PATCHES, INTRINSIC = 128, 64, 8


def planted_points(n: int, seed: int = 0) -> np.ndarray:
    """``n`` unit rows in R^128 near 64 random 8-d patches (float32, built in blocks)."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(PATCHES, D)).astype(np.float32)
    bases = rng.normal(size=(PATCHES, INTRINSIC, D)).astype(np.float32) * 0.35
    X = np.empty((n, D), dtype=np.float32)
    for start in range(0, n, 262_144):
        m = min(n, start + 262_144) - start
        which = rng.integers(PATCHES, size=m)
        z = rng.normal(size=(m, INTRINSIC)).astype(np.float32)
        block = centres[which] + np.einsum("ni,nid->nd", z, bases[which])
        block += 0.01 * rng.normal(size=(m, D)).astype(np.float32)
        X[start:start + m] = block / np.linalg.norm(block, axis=1, keepdims=True)
    return X


def peak_gib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20


def child(kind: str, n: int, rows: int, exact_full: bool) -> dict:
    """One measurement in this (fresh) process; see the module docstring."""
    from textmanifold.manifold import approximate as approx_mod
    from textmanifold.manifold._search import pairs_above
    from textmanifold.manifold.geodesic import nearest_source
    from textmanifold.manifold.graph import great_circle_graph, threshold_for_degree

    X = planted_points(n)
    # the sample estimate the approximate build uses, at every size (same threshold
    # for both builds)
    threshold = threshold_for_degree(X, 10.0, build="approximate")
    out = {"n": n, "threshold": threshold, "points_gib": X.nbytes / 2**30}
    if kind == "approx":
        records: list[logging.LogRecord] = []
        handler = logging.Handler(logging.INFO)
        handler.emit = records.append
        approx_mod.logger.addHandler(handler)
        approx_mod.logger.setLevel(logging.INFO)
        start = time.perf_counter()
        graph = great_circle_graph(X, threshold=threshold, build="approximate")
        ivf = records[-1].args[0]  # the CellJoinSettings the build logged
        out.update(build_s=time.perf_counter() - start, build_peak_gib=peak_gib(),
                   edges=graph.nnz // 2, mean_degree=graph.nnz / n, nlist=ivf.nlist,
                   nprobe=ivf.nprobe, calibration_recall=ivf.sample_recall)
        out["sampled_edge_recall"] = approx_mod.sampled_edge_recall(X, graph, threshold)
        sources = np.random.default_rng(1).choice(n, size=n // 100, replace=False)
        start = time.perf_counter()
        dist, _ = nearest_source(graph, sources)
        out.update(search_s=time.perf_counter() - start, search_peak_gib=peak_gib(),
                   reachable=float(np.isfinite(dist).mean()))
    elif kind == "forest":
        import scipy.sparse

        from textmanifold.manifold.forest import forest_pairs

        start = time.perf_counter()
        rows_, cols, _, settings = forest_pairs(X, float(np.cos(threshold)))
        out.update(build_s=time.perf_counter() - start, build_peak_gib=peak_gib(),
                   edges=len(rows_), mean_degree=2 * len(rows_) / n, trees=settings.trees,
                   rounds=settings.rounds, calibration_recall=settings.sample_recall)
        both = (np.concatenate([rows_, cols]), np.concatenate([cols, rows_]))
        graph = scipy.sparse.csr_matrix((np.ones(2 * len(rows_)), both), shape=(n, n))
        out["sampled_edge_recall"] = approx_mod.sampled_edge_recall(X, graph, threshold)
    elif exact_full:
        start = time.perf_counter()
        exact = great_circle_graph(X, threshold=threshold, backend="faiss", build="exact")
        out.update(build_s=time.perf_counter() - start, build_peak_gib=peak_gib(),
                   edges=exact.nnz // 2, projected=False)
        approx = great_circle_graph(X, threshold=threshold, build="approximate")
        out["edge_recall"] = approx_mod.edge_recall(approx, exact)
    else:
        sample = np.random.default_rng(2).choice(n, size=rows, replace=False)
        start = time.perf_counter()
        pairs_above(X[np.sort(sample)], X, np.cos(threshold), "faiss", 4096)
        seconds = time.perf_counter() - start
        out.update(rows_timed=rows, rows_s=seconds, build_s=seconds * n / rows,
                   build_peak_gib=peak_gib(), projected=True)
    return out


def run_child(kind: str, n: int, args) -> dict:
    rows = max(1000, args.exact_rows * 1_000_000 // n)  # about the same work at every n
    command = [sys.executable, __file__, "--child", kind, str(n), str(rows),
               str(int(n <= args.exact_max))]
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(f"child {kind} {n} failed:\n{done.stderr[-3000:]}")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    result["load_avg_1min_after"] = os.getloadavg()[0]
    print(json.dumps({"kind": kind, **result}), flush=True)
    return result


def growth(points: list[tuple[int, float]]) -> float | None:
    """Slope of log(seconds) on log(n); None with fewer than two points."""
    if len(points) < 2:
        return None
    n, s = np.log([p[0] for p in points]), np.log([p[1] for p in points])
    return float(np.polyfit(n, s, 1)[0])


def embedding_throughput(images: int, seed: int = 0) -> dict:
    """Seconds of ``embed`` with each engine on one collection of random images."""
    import ray
    from PIL import Image

    from textmanifold.collection import Item, write_collection
    from textmanifold.engines.ray_embed import embed_joint_run_ray
    from textmanifold.models.embed import embed_joint_run
    from textmanifold.models.runs import train_joint
    from textmanifold.models.train import TrainSettings

    root = Path(tempfile.mkdtemp(prefix="tm-scale-"))
    rng = np.random.default_rng(seed)
    (root / "c" / "images").mkdir(parents=True)
    items = []
    for i in range(images):
        pixels = rng.integers(0, 256, size=(64, 64, 3), dtype=np.uint8)
        Image.fromarray(pixels).save(root / "c" / "images" / f"{i:06d}.png")
        items.append(Item(id=f"im{i:06d}", modality="image", path=f"images/{i:06d}.png",
                          text=f"picture number {i} of {rng.integers(10)} things"))
    coll = write_collection(root / "c", name="random", items=items, pairs=[])
    settings = TrainSettings(steps=1, batch_size=8, image_size=64, device="cpu",
                             progress=False)
    train_joint(coll, root / "run", dim=128, text_cache=root / "tc", settings=settings)
    start = time.perf_counter()
    embed_joint_run(coll, root / "run", device="cpu", text_cache=root / "tc", progress=False)
    local = time.perf_counter() - start
    start = time.perf_counter()
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    startup = time.perf_counter() - start
    start = time.perf_counter()
    embed_joint_run_ray(coll, root / "run", shard_size=max(1, images // 8), device="cpu",
                        text_cache=root / "tc", progress=False)
    on_ray = time.perf_counter() - start
    ray.shutdown()
    return {"images": images, "local_s": local, "ray_s": on_ray, "ray_startup_s": startup,
            "local_images_per_s": images / local, "ray_images_per_s": images / on_ray}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000, 4_000_000])
    parser.add_argument("--exact-max", type=int, default=100_000,
                        help="largest n whose exact graph is built in full")
    parser.add_argument("--exact-rows", type=int, default=20_000,
                        help="query rows timed per 1M vertices for the projected exact "
                             "build above --exact-max (scaled as 1/n, at least 1000)")
    parser.add_argument("--exact-fit", type=int, nargs="*", default=[25_000, 50_000],
                        help="extra n with a full exact build, for its growth exponent")
    parser.add_argument("--images", type=int, default=2000)
    parser.add_argument("--builds", nargs="+", default=["exact", "approx", "forest"],
                        choices=["exact", "approx", "forest"],
                        help="which builds to measure at each size")
    parser.add_argument("--child", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        kind, n, rows, full = args.child
        print(json.dumps(child(kind, int(n), int(rows), bool(int(full)))))
        return
    embedding = embedding_throughput(args.images) if args.images else None
    print(json.dumps({"embedding": embedding}), flush=True)
    table = {}
    fit = {m for m in args.exact_fit if m <= args.exact_max} if "exact" in args.builds else set()
    for n in sorted(set(args.sizes) | fit):
        table[n] = {kind: run_child(kind, n, args) if n in args.sizes or kind == "exact" else None
                    for kind in args.builds}

    def measured(kind, key="build_s"):
        return [(n, r[kind][key]) for n, r in table.items()
                if r.get(kind) and not r[kind].get("projected")]

    summary = {
        "exponent_exact_build": growth(measured("exact")) if "exact" in args.builds else None,
        "exponent_approx_build": growth(measured("approx")) if "approx" in args.builds else None,
        "exponent_forest_build": growth(measured("forest")) if "forest" in args.builds else None,
        "exponent_geodesic_search": (growth(measured("approx", "search_s"))
                                     if "approx" in args.builds else None),
        "speedup_approx_over_exact": {n: r["exact"]["build_s"] / r["approx"]["build_s"]
                                      for n, r in table.items()
                                      if r.get("exact") and r.get("approx")},
        "speedup_forest_over_approx": {n: r["approx"]["build_s"] / r["forest"]["build_s"]
                                       for n, r in table.items()
                                       if r.get("approx") and r.get("forest")},
        "embedding": embedding,
    }
    print(json.dumps({"summary": summary}, indent=2))


if __name__ == "__main__":
    main()
