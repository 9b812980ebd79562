"""Load test of ``textmanifold serve`` on loopback: latency, throughput, errors.

Run (heavy: a 100k-vertex index)::

    flock /tmp/heavy.lock nice env PYTHONPATH=$PWD/src .venv/bin/python benchmarks/serve.py

Builds an index of synthetic unit vectors (half image, half text vertices; degree about
10; no model, so queries are ids and vectors), starts ``textmanifold serve`` on a free
127.0.0.1 port as a subprocess, and sends a fixed number of ``POST /search`` requests
(k=10, both rankings, paths on: what the page asks) from a fixed number of concurrent
clients, each on its own keep-alive connection. It stops by itself after the requests or
the time bound, whichever comes first, and prints p50/p99 latency, requests per second and
the number of errors, for every client count of ``--clients`` (default 8 and 32) and
every worker count of ``--workers`` (``serve --workers N``; default 1 and 2). The peer is
the library's ``ManifoldIndex.search`` called in process on the same queries: the ratio is
what HTTP, JSON and queueing add. A request's time is split into its parts, measured in
process on the same bodies: parsing the JSON body into the request model, the search, and
building + writing the JSON answer; the rest of the served p50 is HTTP and queueing. (A
sentence or image query adds its encoding: ``benchmarks/search.py --text-index``.) The
machine's load average is printed before and after each load test: other jobs sharing
the CPU slow every number.
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from geodesic import clustered_sphere_points  # noqa: E402
from textmanifold.client import Client, ServiceError  # noqa: E402
from textmanifold.index import ManifoldIndex  # noqa: E402

HOST = "127.0.0.1"  # loopback only, never configurable


def synthetic_index(n: int, dim: int, degree: float, seed: int) -> ManifoldIndex:
    """``n`` vertices on a clustered unit sphere, half images and half texts."""
    rows = clustered_sphere_points(n, dim, max(n // 200, 1), seed)
    half = n // 2
    images = (rows[:half], [f"img{i:06d}" for i in range(half)])
    texts = (rows[half:], [f"txt{i:06d}" for i in range(n - half)])
    return ManifoldIndex.build(None, image_embeddings=images, text_embeddings=texts,
                               target_degree=degree, align=False, seed=seed)


def queries(index: ManifoldIndex, n: int, seed: int) -> list[dict]:
    """Alternating id queries (random images) and vector queries (random unit vectors)."""
    rng = np.random.default_rng(seed + 1)
    images = [i for i, image in zip(index.ids, index.is_image, strict=True) if image]
    out = []
    for j in range(n):
        if j % 2 == 0:
            out.append({"id": images[int(rng.integers(len(images)))]})
        else:
            v = rng.standard_normal(index.dim)
            out.append({"vector": (v / np.linalg.norm(v)).tolist()})
    return out


def start_server(index_dir: Path, port: int, workers: int) -> subprocess.Popen:
    """``textmanifold serve --workers N`` on ``HOST:port``; returns once ``/healthz``
    answers."""
    process = subprocess.Popen(
        [sys.executable, "-c", "from textmanifold.cli import main; main()", "serve",
         str(index_dir), "--host", HOST, "--port", str(port), "--log-level", "warning",
         "--workers", str(workers)])
    try:
        Client(f"http://{HOST}:{port}").wait_until_ready(
            300, give_up=lambda: process.poll() is not None)
    except ServiceError as exc:
        process.kill()
        raise SystemExit(f"the server did not come up: {exc}") from None
    return process


def load_test(url: str, bodies: list[dict], clients: int, time_bound: float):
    """Send every body once over ``clients`` keep-alive connections; latencies and errors."""
    import httpx

    latencies, errors, lock = [], [], threading.Lock()
    next_body = iter(range(len(bodies)))
    stop_at = time.monotonic() + time_bound

    def worker() -> None:
        with httpx.Client(base_url=url, timeout=60) as http:
            while time.monotonic() < stop_at:
                with lock:
                    j = next(next_body, None)
                if j is None:
                    return
                body = {**bodies[j], "k": 10, "metric": "both", "paths": True}
                start = time.perf_counter()
                try:
                    answer = http.post("/search", json=body)
                    ok = answer.status_code == 200 and len(answer.json()["geodesic"]) == 10
                    failure = None if ok else f"HTTP {answer.status_code}: {answer.text[:200]}"
                except httpx.HTTPError as exc:
                    failure = repr(exc)
                elapsed = time.perf_counter() - start
                with lock:
                    latencies.append(elapsed)
                    if failure:
                        errors.append(failure)

    threads = [threading.Thread(target=worker) for _ in range(clients)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return np.array(latencies), errors, time.perf_counter() - start


def library_latency(index: ManifoldIndex, bodies: list[dict]) -> np.ndarray:
    """Seconds per in-process search of each body (same k, metric and paths, and one BLAS
    thread, as the server runs it)."""
    from threadpoolctl import threadpool_limits

    out = []
    with threadpool_limits(limits=1, user_api="blas"):
        for body in bodies:
            query = {k: (np.asarray(v) if k == "vector" else v) for k, v in body.items()}
            start = time.perf_counter()
            index.search(**query, k=10, metric="both", return_paths=True)
            out.append(time.perf_counter() - start)
    return np.array(out)


def request_split(index: ManifoldIndex, bodies: list[dict]) -> dict[str, np.ndarray]:
    """Milliseconds per part of a request, in process: body parsing, search, answer JSON."""
    import json

    from textmanifold.service.schemas import SearchRequest

    parts = {"parse": [], "search": [], "answer JSON": []}
    for body in bodies:
        raw = json.dumps({**body, "k": 10, "metric": "both", "paths": True}).encode()
        start = time.perf_counter()
        request = SearchRequest.model_validate_json(raw)
        parsed = time.perf_counter()
        query = {"vector": np.asarray(request.vector)} if request.vector else {"id": request.id}
        result = index.search(**query, k=10, metric="both", return_paths=True)
        searched = time.perf_counter()
        json.dumps(result.to_dict())
        done = time.perf_counter()
        for name, seconds in zip(parts, (parsed - start, searched - parsed, done - searched),
                                 strict=True):
            parts[name].append(seconds * 1e3)
    return {name: np.array(values) for name, values in parts.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--vertices", type=int, default=100_000)
    parser.add_argument("--dim", type=int, default=64)
    parser.add_argument("--clients", type=int, nargs="+", default=[8, 32])
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--requests", type=int, default=2_000)
    parser.add_argument("--time-bound", type=float, default=600.0, help="seconds at most")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    print(f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")
    with tempfile.TemporaryDirectory(prefix="serve-bench-") as tmp:
        start = time.perf_counter()
        index = synthetic_index(args.vertices, args.dim, 10.0, args.seed)
        index.save(Path(tmp) / "index")
        print(f"index: {index.n_images:,} images + {index.n_texts:,} texts, d={index.dim}, "
              f"mean degree {index.graph.nnz / len(index.ids):.1f}, "
              f"built in {time.perf_counter() - start:.1f} s")
        bodies = queries(index, args.requests, args.seed)
        warm = queries(index, 20, args.seed + 7)
        peer = library_latency(index, bodies[:200])
        split = request_split(index, bodies[:200])
        failed = False
        for workers in args.workers:
            with socket.socket() as sock:  # a free loopback port
                sock.bind((HOST, 0))
                port = sock.getsockname()[1]
            server = start_server(Path(tmp) / "index", port, workers)
            try:
                url = f"http://{HOST}:{port}"
                load_test(url, warm, 2, 120)  # warm-up, not counted
                for clients in args.clients:
                    failed |= report(args, workers, clients,
                                     *load_test(url, bodies, clients, args.time_bound))
            finally:
                server.terminate()
                server.wait(timeout=30)
    lib50, lib99 = np.percentile(peer, [50, 99]) * 1e3
    print(f"library search in process (200 of the same queries, serial, 1 BLAS thread): "
          f"p50 {lib50:.1f} ms, p99 {lib99:.1f} ms, {1.0 / peer.mean():.1f} searches/s")
    print("a request's parts, in process (p50 / p99 ms): " + ", ".join(
        f"{name} {np.percentile(ms, 50):.2f} / {np.percentile(ms, 99):.2f}"
        for name, ms in split.items()))
    if failed:
        raise SystemExit(1)


def report(args, workers: int, clients: int, lat: np.ndarray, errors: list[str],
           wall: float) -> bool:
    """Print one load test's line; True when it had errors or did not finish."""
    done = len(lat)
    p50, p99 = np.percentile(lat, [50, 99]) * 1e3
    print(f"served, {workers} worker(s), {clients} clients: {done:,} of {args.requests:,} "
          f"requests in {wall:.1f} s: {done / wall:.1f} requests/s, p50 {p50:.1f} ms, "
          f"p99 {p99:.1f} ms, errors {len(errors)}; load average "
          f"{os.getloadavg()[0]:.2f}")
    for failure in errors[:5]:
        print("  error:", failure)
    return bool(errors) or done < args.requests


if __name__ == "__main__":
    main()
