"""Retrievable-vs-threshold curves against networkx connected components."""

import networkx as nx
import numpy as np
import pytest

from textmanifold.errors import InputError
from textmanifold.evaluate.retrievability import curve_thresholds, retrievable_curves


def _brute_force(vertices, n_targets, n_queries, threshold):
    """Queries sharing a component with a target, from pairwise arccos distances."""
    angles = np.arccos(np.clip(vertices @ vertices.T, -1, 1))
    G = nx.Graph()
    G.add_nodes_from(range(len(vertices)))
    G.add_edges_from(zip(*np.nonzero(np.triu(angles < threshold, k=1)), strict=True))
    targets = set(range(n_targets))
    return sum(
        bool(targets & nx.node_connected_component(G, q))
        for q in range(n_targets, n_targets + n_queries)
    )


def test_curves_equal_brute_force_and_joint_dominates():
    rng = np.random.default_rng(0)
    images = rng.normal(size=(60, 3))
    images /= np.linalg.norm(images, axis=1, keepdims=True)
    text = rng.normal(size=(90, 3))
    text /= np.linalg.norm(text, axis=1, keepdims=True)
    thresholds = curve_thresholds(images, [0.5, 1, 2, 4])
    assert thresholds == sorted(thresholds) and len(thresholds) == 4
    curves = retrievable_curves(images, text, 6, thresholds)
    assert curves["queries"] == 54
    for i, t in enumerate(thresholds):
        assert curves["retrievable"]["Image"][i] == _brute_force(images, 6, 54, t)
        joint = np.concatenate([images, text])
        assert curves["retrievable"]["Joint"][i] == _brute_force(joint, 6, 54, t)
        assert curves["retrievable"]["Image"][i] <= curves["retrievable"]["Joint"][i] <= 54
    assert curves["mean_degree"]["Image"][1] == pytest.approx(1.0, abs=0.05)
    assert np.all(np.diff(curves["retrievable"]["Image"]) >= 0)  # monotone in threshold


def test_targets_must_fit():
    X = np.eye(3)
    with pytest.raises(InputError, match="do not fit"):
        retrievable_curves(X, None, 0, [0.1])
