"""Table 3's controls: random points near the data, shuffled text scenes."""

import numpy as np
import pytest

from textmanifold.errors import InputError
from textmanifold.evaluate.smooth_path_table import (
    added_mean_degree,
    build_graphs,
    pair_angles,
    random_near,
    shuffled_scenes,
    smooth_path_rows,
    vertex_sets,
)
from textmanifold.manifold.graph import great_circle_graph


def _unit(X):
    return X / np.linalg.norm(X, axis=1, keepdims=True)


def test_random_points_have_an_image_within_the_threshold():
    rng = np.random.default_rng(0)
    image = _unit(rng.standard_normal((50, 16)))  # planted: images spread on S^15
    angle, threshold = 0.3, 0.35
    points = random_near(image, 200, angle, np.random.default_rng(1))
    assert points.shape == (200, 16) and points.dtype == np.float32
    assert np.allclose(np.linalg.norm(points, axis=1), 1, atol=1e-6)
    # Brute force: the angle to every image; the nearest is at most `angle` away.
    angles = np.arccos(np.clip(points.astype(np.float64) @ image.T, -1, 1))
    nearest = angles.min(axis=1)
    assert (nearest <= angle + 1e-5).all()
    assert np.isclose(angles, angle, atol=1e-5).any(axis=1).all()  # exactly `angle` from one
    # So each joins at least one edge of the graph at the threshold.
    graph = great_circle_graph(np.concatenate([image, points]), threshold=threshold)
    is_image = np.arange(250) < 50
    degree = np.diff(graph.indptr)[~is_image]
    assert (degree >= 1).all()
    assert added_mean_degree(graph, is_image) == pytest.approx(degree.mean())


def test_random_directions_are_uniform_in_the_tangent_space():
    anchor = np.eye(3)[:1]  # the north pole of S^2: tangent directions lie in the y-z plane
    points = random_near(anchor, 4000, np.pi / 2, np.random.default_rng(2)).astype(np.float64)
    assert np.abs(points[:, 0]).max() < 1e-6
    assert abs(points[:, 1].mean()) < 0.05 and abs(points[:, 2].mean()) < 0.05
    assert np.mean(points[:, 1] ** 2) == pytest.approx(0.5, abs=0.03)


def test_pair_angles_by_hand():
    image = np.array([[1.0, 0, 0], [1.0, 0, 0], [1.0, 0, 0]])
    text = np.array([[np.cos(0.1), np.sin(0.1), 0], [np.cos(0.4), 0, np.sin(0.4)], [0, 1.0, 0]])
    assert pair_angles(image, text) == pytest.approx([0.1, 0.4, np.pi / 2])


def test_drawn_angles_follow_the_given_distribution():
    # Planted: anchors far apart on S^31, so each point's own anchor is its nearest and
    # its distance to it is the drawn angle; the drawn angles must be the given values
    # in about equal shares, so points at the small angle join edges at a threshold
    # below the median, where one fixed (median) angle would isolate every point.
    rng = np.random.default_rng(4)
    image = np.eye(32)[:8]
    given = np.array([0.1, 0.2, 0.6])
    points = random_near(image, 3000, given, rng).astype(np.float64)
    nearest = np.arccos(np.clip(points @ image.T, -1, 1)).min(axis=1)
    which = np.abs(nearest[:, None] - given[None, :]).argmin(axis=1)
    assert np.allclose(nearest, given[which], atol=1e-6)
    assert np.allclose(np.bincount(which, minlength=3) / 3000, 1 / 3, atol=0.04)
    graph = great_circle_graph(np.concatenate([image, points[:300]]), threshold=0.15)
    degree = np.diff(graph.indptr)[8:]
    assert (degree[which[:300] == 0] >= 1).all()


def test_bad_input():
    with pytest.raises(InputError, match="angle"):
        random_near(np.eye(3), 2, 4.0, np.random.default_rng(0))
    with pytest.raises(InputError, match="angles"):
        random_near(np.eye(3), 2, np.array([]), np.random.default_rng(0))
    with pytest.raises(InputError, match="pair_angles"):
        pair_angles(np.zeros((0, 3)), np.zeros((0, 3)))
    with pytest.raises(InputError, match="random_near"):
        random_near(np.ones(3), 2, 0.1, np.random.default_rng(0))


def test_shuffled_control_keeps_points_and_permutes_scenes():
    rng = np.random.default_rng(3)
    text_scene = np.arange(40)
    shuffled = shuffled_scenes(text_scene, rng)
    assert sorted(shuffled.tolist()) == text_scene.tolist()
    assert (shuffled != text_scene).any()
    image = _unit(rng.standard_normal((10, 4)))
    text = _unit(rng.standard_normal((40, 4)))
    sets = vertex_sets(
        image, text, np.arange(10), text_scene % 10, random_near(image, 40, 0.2, rng), shuffled % 10
    )
    assert list(sets) == ["image", "image_random", "image_shuffled", "image_text"]
    assert np.array_equal(sets["image_shuffled"][0], sets["image_text"][0])
    assert np.array_equal(sets["image_shuffled"][1][10:], shuffled % 10)
    graphs = build_graphs(sets, [0.6])
    reach = np.zeros((10, 10), bool)
    reach[np.arange(9), np.arange(1, 10)] = True
    rows = smooth_path_rows(graphs, sets, reach | reach.T, [0.6])
    assert rows[0]["rule"] == "literal"
    assert rows[0]["random_mean_degree"] > 0 and rows[0]["text_mean_degree"] > 0
    assert rows[0]["shuffled_mean_degree"] == rows[0]["text_mean_degree"]
