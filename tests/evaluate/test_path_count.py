"""smooth_path_count against the networkx reference of DESIGN.md's definition, with the
graph given or built by brute force; and rows_for_images by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.sparse

from _manifold_fixtures import arc_graph, reference_counts, sphere_points, tree_case
from textmanifold import io
from textmanifold.errors import InputError
from textmanifold.evaluate import PathCount, rows_for_images, smooth_path_count
from textmanifold.manifold import mean_degree


@pytest.mark.parametrize("rule", ["literal", "merged"])
def test_a_given_graph_counts_as_the_reference(rule):
    graph, scene, is_image, reach = tree_case(1)
    result = smooth_path_count(scene, is_image, reach, graph=graph, rule=rule, threshold=0.3)
    assert isinstance(result, PathCount)
    expected = reference_counts(graph, scene, is_image, reach, rule)
    np.testing.assert_array_equal(result.per_source, expected)
    s = result.summary
    assert s["total"] == expected.sum() > 0 and s["rule"] == rule
    assert s["log_total"] == pytest.approx(math.log(expected.sum()))
    assert (s["image_vertices"], s["text_vertices"]) == (is_image.sum(), (~is_image).sum())
    assert s["mean_degree"] == pytest.approx(2 * (graph.nnz // 2) / graph.shape[0])
    assert s["threshold"] == 0.3 and s["seconds"] >= 0  # recorded as given
    ids = [f"v{i}" for i in range(len(scene))]
    assert result.per_image(ids) == {ids[v]: expected[v] for v in np.flatnonzero(is_image)}


def test_a_built_graph_equals_the_brute_force_graph_and_the_file_is_read(tmp_path):
    X = sphere_points(40, 3, seed=2)
    rng = np.random.default_rng(2)
    scene = rng.integers(0, 8, 40)
    is_image = np.arange(40) % 3 != 0
    reach = np.triu(rng.random((8, 8)) < 0.4, 1)
    reach = scipy.sparse.csr_matrix(reach | reach.T)
    io.save_sparse(tmp_path / "reach.npz", reach)
    result = smooth_path_count(scene, is_image, tmp_path / "reach.npz", X=X, threshold=0.6)
    graph = arc_graph(X, 0.6)
    np.testing.assert_array_equal(
        result.per_source, reference_counts(graph, scene, is_image, reach, "literal")
    )
    assert result.summary["threshold"] == 0.6
    assert result.summary["mean_degree"] == pytest.approx(mean_degree(graph))
    degree = smooth_path_count(scene, is_image, reach, X=X, target_degree=4)
    assert degree.summary["threshold"] != 0.6
    assert degree.summary["mean_degree"] == pytest.approx(4, abs=0.5)


def test_no_path_gives_a_null_log_total():
    graph = scipy.sparse.csr_matrix((3, 3))
    result = smooth_path_count([0, 1, 2], [True, True, False], np.eye(3, dtype=bool), graph=graph)
    assert result.summary["total"] == 0 and result.summary["log_total"] is None


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (
            {"graph": scipy.sparse.csr_matrix((4, 4)), "graph_name": "g.npz"},
            "g.npz: graph has shape (4, 4) but the embeddings hold 3 rows",
        ),
        (
            {
                "graph": scipy.sparse.csr_matrix((3, 3)),
                "reachable": np.ones((2, 2), bool),
                "reachable_name": "r.npz",
            },
            "r.npz: shape (2, 2), but the items name scenes 0..2",
        ),
        (
            {"graph": scipy.sparse.csr_matrix((3, 3)), "reachable": np.ones((3, 4), bool)},
            "reachable: shape (3, 4)",
        ),
        ({"X": sphere_points(3, 3, seed=0)}, "give exactly one of threshold and target_degree"),
    ],
)
def test_refusals(kwargs, message):
    kwargs.setdefault("reachable", np.ones((3, 3), bool))
    with pytest.raises(InputError) as info:
        smooth_path_count([0, 1, 2], [True, True, False], **kwargs)
    assert message in str(info.value)


def test_rows_for_images_reorders_by_id():
    R = np.arange(12.0).reshape(4, 3)
    got = rows_for_images(R, ["d", "b", "a", "c"], ["a", "b", "c", "d", "a"])
    np.testing.assert_array_equal(got, R[[2, 1, 3, 0, 2]])
    assert rows_for_images(R, ["d", "b", "a", "c"], []).shape == (0, 3)
    with pytest.raises(InputError, match=r"^resnet.npy: no row for image id 'e'$"):
        rows_for_images(R, ["d", "b", "a", "c"], ["a", "e"], "resnet.npy")
