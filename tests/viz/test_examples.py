"""Figure examples: geodesic paths to the nearest target checked against networkx."""

import itertools

import networkx as nx
import numpy as np
import pytest

from textmanifold.manifold.graph import great_circle_graph
from textmanifold.viz.examples import neighbour_examples


def test_neighbour_examples_follow_shortest_paths():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(80, 3))
    X /= np.linalg.norm(X, axis=1, keepdims=True)
    graph = great_circle_graph(X, threshold=0.5)
    targets, queries = np.arange(0, 10), np.arange(10, 60)
    labels = list(rng.integers(0, 3, size=80))
    examples = neighbour_examples(graph, targets, queries, X, labels, max_examples=50)
    G = nx.from_scipy_sparse_array(graph)
    reachable = [q for q in queries if any(nx.has_path(G, int(q), int(t)) for t in targets)]
    assert sorted(path[0] for path, _ in examples) == sorted(reachable)
    groups = []
    for path, euclid in examples:
        q, geo = path[0], path[-1]
        assert geo in targets
        length = sum(graph[a, b] for a, b in itertools.pairwise(path))
        best = min(
            nx.shortest_path_length(G, int(q), int(t), weight="weight")
            for t in targets
            if nx.has_path(G, int(q), int(t))
        )
        assert length == pytest.approx(best)
        assert euclid == targets[np.argmax(X[targets] @ X[q])]
        right, disagree = labels[geo] == labels[q], labels[geo] != labels[euclid]
        groups.append(0 if disagree and right else 1 if disagree else 2)
    assert groups == sorted(groups)  # "geodesic right, Euclidean wrong" cases first
