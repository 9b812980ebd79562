"""Table 3's machinery: random control points, vertex sets, rows on a hand-made case."""

import numpy as np
import pytest
import scipy.sparse

from textmanifold.errors import InputError
from textmanifold.evaluate.smooth_path_table import (
    build_graphs,
    random_like,
    smooth_path_rows,
    thresholds_for_degrees,
    vertex_sets,
)
from textmanifold.manifold.graph import great_circle_graph, mean_degree
from textmanifold.viz.examples import find_smooth_paths


def _on_circle(angles):
    return np.stack([np.cos(angles), np.sin(angles), np.zeros_like(angles)], 1).astype(np.float32)


def _bridge_case():
    """Images of scenes 0 and 2 at 0.2 rad apart; the text of scene 1 near halfway.

    Scenes 0-1 and 1-2 are reachable neighbours, 0-2 are not. A random point stands for
    scene 1 too, but far away (on the other side of the circle).
    """
    image = _on_circle(np.array([0.0, 0.2]))
    text = np.array([[np.cos(0.1), np.sin(0.1), 0.05]], dtype=np.float32)  # off the arc:
    text /= np.linalg.norm(text)  # the detour through it is longer than the direct arc
    random_points = _on_circle(np.array([3.0]))
    reachable = scipy.sparse.csr_matrix(np.array([[0, 1, 0], [1, 0, 1], [0, 1, 0]], bool))
    sets = vertex_sets(image, text, np.array([0, 2]), np.array([1]), random_points)
    return sets, reachable


def test_text_bridge_adds_smooth_paths():
    sets, reachable = _bridge_case()
    thresholds = [0.15, 0.25]
    graphs = build_graphs(sets, thresholds)
    rows = smooth_path_rows(graphs, sets, reachable, thresholds)
    # Threshold 0.15: images alone are not joined; through the text point they are, by a
    # smooth path (0, 1, 2) counted in both directions.
    assert rows[0]["image_count"] == 0 and rows[0]["image_random_count"] == 0
    assert rows[0]["image_text_count"] == 2
    assert rows[0]["image_text"] == pytest.approx(np.log(3))
    assert rows[0]["image_text_degree"] == pytest.approx(4 / 3)
    # Threshold 0.25: the direct edge 0-2 is shorter than the detour through the text, and
    # scenes 0 and 2 are not reachable neighbours, so no path is smooth in any set.
    assert [rows[1][f"{k}_count"] for k in ("image", "image_random", "image_text")] == [0, 0, 0]
    paths = find_smooth_paths(graphs[("image_text", 0)], *sets["image_text"][1:], reachable)
    assert paths == [[0, 2, 1]]  # image, text, image; its reverse is the same example
    assert find_smooth_paths(graphs[("image_text", 1)], *sets["image_text"][1:], reachable) == []


def test_random_like_matches_the_cloud():
    rng = np.random.default_rng(0)
    centre = np.array([1.0, 0.5, 0.2, 0.0])
    X = centre + rng.normal(0, [0.3, 0.05, 0.05, 0.01], size=(400, 4))
    X /= np.linalg.norm(X, axis=1, keepdims=True)
    R = random_like(X, 5000, np.random.default_rng(1))
    assert R.shape == (5000, 4) and R.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(R, axis=1), 1, atol=1e-6)
    # Same mean direction and about the same spread as the cloud it imitates.
    mean_x, mean_r = X.mean(0), R.mean(0)
    assert mean_x @ mean_r / np.linalg.norm(mean_x) / np.linalg.norm(mean_r) > 0.999
    np.testing.assert_allclose(R.std(0), X.std(0), rtol=0.15, atol=0.005)
    np.testing.assert_array_equal(R, random_like(X, 5000, np.random.default_rng(1)))
    with pytest.raises(InputError, match="two rows"):
        random_like(X[:1], 3, rng)


def test_thresholds_for_degrees_are_ascending_and_hit_the_degree():
    rng = np.random.default_rng(2)
    X = rng.normal(size=(300, 8))
    X /= np.linalg.norm(X, axis=1, keepdims=True)
    thresholds = thresholds_for_degrees(X, [6, 2, 4])
    assert thresholds == sorted(thresholds)
    for t, d in zip(thresholds, [2, 4, 6], strict=True):
        assert mean_degree(great_circle_graph(X, threshold=t)) == pytest.approx(d, abs=0.05)


def test_vertex_sets_need_one_random_point_per_text_point():
    with pytest.raises(InputError, match="2 random points for 1 text points"):
        vertex_sets(
            _on_circle(np.zeros(1)),
            _on_circle(np.zeros(1)),
            np.zeros(1, int),
            np.zeros(1, int),
            _on_circle(np.zeros(2)),
        )
