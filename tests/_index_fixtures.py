"""Shared helpers of the index tests: random sphere data and a brute-force reference."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.sparse.csgraph import dijkstra

from textmanifold.index import Vertices
from textmanifold.manifold.graph import build_graph


def unit_rows(rng, n, d=3):
    X = rng.normal(size=(n, d))
    return (X / np.linalg.norm(X, axis=1, keepdims=True)).astype(np.float32)


def vertices(rng, n_images=150, n_texts=60, d=3, prefix=""):
    image_ids = [f"{prefix}img{i}" for i in range(n_images)]
    text_ids = [f"{prefix}txt{i}" for i in range(n_texts)]
    items = [
        {"id": i, "kind": "image", "path": None, "text": f"about {i}", "labels": []}
        for i in image_ids
    ]
    items += [
        {"id": t, "kind": "text", "path": None, "text": f"sentence {t}", "labels": []}
        for t in text_ids
    ]
    return Vertices(
        unit_rows(rng, n_images, d), image_ids, unit_rows(rng, n_texts, d), text_ids, items
    )


def as_attached(index, q):
    """The query row exactly as the index attaches it (projected onto the sphere)."""
    return index.attach(q).vector


def reference(index, q=None, row=None, k=10):
    """Brute force: full Dijkstra on the graph rebuilt with the query as a vertex."""
    X = np.asarray(index.vectors)
    n = len(X)
    if q is not None:
        q = as_attached(index, q)
        graph, _ = build_graph(
            np.concatenate([X, q[None, :]]), threshold=index.threshold, target_degree=None
        )
        dist = dijkstra(graph, indices=n)[:n]
        qv = q.astype(np.float64)
    else:
        dist = dijkstra(index.graph, indices=row)
        qv = X[row].astype(np.float64)
    X64 = X.astype(np.float64)
    angle = np.arccos(np.clip(X64 @ qv / np.linalg.norm(X64, axis=1) / np.linalg.norm(qv), -1, 1))
    images = np.flatnonzero(index.is_image)
    images = images[images != (row if row is not None else -1)]
    geo = images[np.lexsort((angle[images], dist[images]))][:k]  # inf last, then by angle
    euc = images[np.argsort(angle[images], kind="stable")][:k]
    return dist, angle, geo, euc


def check(result, index, dist, angle, geo, euc):
    assert [h.id for h in result.geodesic] == [index.ids[r] for r in geo]
    assert [h.id for h in result.euclidean] == [index.ids[r] for r in euc]
    for hits in (result.geodesic, result.euclidean):
        for rank, hit in enumerate(hits, 1):
            r = index.row(hit.id)
            assert hit.rank == rank
            assert hit.geodesic == pytest.approx(dist[r], rel=1e-12)
            assert hit.reachable == math.isfinite(dist[r])
            assert hit.euclidean == pytest.approx(angle[r], abs=1e-6)
