"""Smooth shortest-path counting against a brute-force networkx reference."""

import numpy as np
import pytest
import scipy.sparse

from _manifold_fixtures import random_case, reference_counts, smooth_by_definition, tree_case
from textmanifold.errors import InputError
from textmanifold.manifold.paths import RULES, SmoothPathCount, count_smooth_paths, is_smooth

# ----------------------------------------------------------------------------- tests


def test_hand_computed_chain():
    # v0(img,s0) - v1(text,s0) - v2(img,s1) - v3(img,s2) - v4(img,s3), unit weights.
    # Reachable: 0~1, 1~2, 2~3 and the shortcut 1~3.
    graph = scipy.sparse.diags([1.0] * 4, 1, shape=(5, 5)).tocsr()
    graph = graph + graph.T
    scene = np.array([0, 0, 1, 2, 3])
    is_image = np.array([True, False, True, True, True])
    reach = np.zeros((4, 4), bool)
    for a, b in [(0, 1), (1, 2), (2, 3), (1, 3)]:
        reach[a, b] = reach[b, a] = True
    result = count_smooth_paths(graph, scene, is_image, reach, rule="merged")
    # Merged: v0: ->v2 [0,1], ->v3 [0,1,2]; ->v4 [0,1,2,3] has the shortcut 1~3.
    # v2: ->v0, ->v3; v3: ->v0, ->v2, ->v4; v4: ->v3 only ([3,2,1] has 1~3).
    assert isinstance(result, SmoothPathCount)
    assert result.per_source.tolist() == [2, 0, 2, 3, 1]
    assert result.total == 8
    # Literal: the step v0-v1 (both scene 0) is no change, so no path through it counts.
    # v0: none; v2: ->v3; v3: ->v2, ->v4; v4: ->v3.
    literal = count_smooth_paths(graph, scene, is_image, reach)
    assert literal.per_source.tolist() == [0, 0, 1, 2, 1]


def test_literal_rule_matches_brute_force_where_the_rules_differ():
    # Images and their own descriptions share a scene, as in Table 3's Image + Text graph.
    graph, scene, is_image, reach = tree_case(1)
    literal = count_smooth_paths(graph, scene, is_image, reach, rule="literal")
    merged = count_smooth_paths(graph, scene, is_image, reach, rule="merged")
    expected = reference_counts(graph, scene, is_image, reach, rule="literal")
    assert literal.per_source.tolist() == expected.tolist()
    assert 0 < literal.total < merged.total  # the rules differ on this graph


@pytest.mark.parametrize("rule", RULES)
@pytest.mark.parametrize("seed", range(6))
def test_random_graphs_match_networkx(seed, rule):
    graph, scene, is_image, reach = random_case(seed)
    expected = reference_counts(graph, scene, is_image, reach, rule)
    result = count_smooth_paths(graph, scene, is_image, reach, rule=rule)
    assert result.per_source.tolist() == expected.tolist()
    assert result.total == expected.sum()
    assert (result.per_source[~is_image] == 0).all()


def test_random_graphs_are_not_trivial():
    # The reference cases hold smooth and non-smooth paths alike, so equality means something.
    graph, scene, is_image, reach = random_case(0)
    expected = reference_counts(graph, scene, is_image, reach).sum()
    n_img = int(is_image.sum())
    assert 10 < expected < n_img * (n_img - 1) / 4


@pytest.mark.parametrize("rule", RULES)
@pytest.mark.parametrize("seed", range(3))
def test_sphere_tree_graphs_match_networkx(seed, rule):
    graph, scene, is_image, reach = tree_case(seed)
    expected = reference_counts(graph, scene, is_image, reach, rule)
    assert expected.sum() > 0
    for batch_size in (1, 7, 64):
        result = count_smooth_paths(graph, scene, is_image, reach, batch_size=batch_size, rule=rule)
        assert result.per_source.tolist() == expected.tolist()


def test_both_directions_are_counted():
    graph, scene, is_image, reach = random_case(3)
    result = count_smooth_paths(graph, scene, is_image, reach)
    # Tie-free and symmetric: the b->a path is a->b reversed, and smoothness is symmetric.
    assert result.total % 2 == 0
    assert result.total == reference_counts(graph, scene, is_image, reach, "literal").sum()


def test_same_scene_images_and_isolated_vertices():
    # Two images of scene 0 joined through a text of scene 0: one merged scene, smooth.
    graph = scipy.sparse.csr_matrix(
        np.array(
            [
                [0, 0.3, 0, 0],
                [0.3, 0, 0.4, 0],
                [0, 0.4, 0, 0],
                [0, 0, 0, 0],
            ]
        )
    )
    args = (graph, [0, 0, 0, 1], [True, False, True, True], np.zeros((2, 2)))
    assert count_smooth_paths(*args, rule="merged").per_source.tolist() == [1, 0, 1, 0]
    assert count_smooth_paths(*args).per_source.tolist() == [0, 0, 0, 0]  # literal


def test_is_smooth_definition():
    reach = np.zeros((4, 4), bool)
    for a, b in [(0, 1), (1, 2), (2, 3)]:
        reach[a, b] = reach[b, a] = True
    assert is_smooth([0, 0, 1, 1, 2], reach, rule="merged")
    assert not is_smooth([0, 0, 1, 1, 2], reach)  # literal: 0 -> 0 is no change
    assert not is_smooth([0, 1, 0], reach)  # a scene repeats
    assert not is_smooth([0, 2], reach)  # not reachable neighbours
    reach[0, 2] = reach[2, 0] = True
    assert not is_smooth([0, 1, 2], reach)  # shortcut 0~2
    for scenes in ([0], [3, 2], [1, 2, 3], [0, 1, 2, 3], [1, 1, 2]):
        for rule in RULES:
            assert is_smooth(scenes, reach, rule) == smooth_by_definition(scenes, reach, rule)


@pytest.mark.parametrize(
    ("graph", "scene", "is_image", "reach", "message"),
    [
        (scipy.sparse.csr_matrix((0, 0)), [], [], np.eye(1), "empty"),
        (scipy.sparse.eye(2, format="csr"), [0, 0], [False, False], np.eye(1), "no image"),
        (scipy.sparse.eye(2, format="csr"), [0], [True, True], np.eye(1), "vertex_scene"),
        (scipy.sparse.eye(2, format="csr"), [0, 0], [True], np.eye(1), "is_image"),
        (scipy.sparse.eye(2, format="csr"), [0, 5], [True, True], np.eye(2), r"\[0, 2\)"),
        (
            scipy.sparse.eye(2, format="csr"),
            [0, 1],
            [True, True],
            np.triu(np.ones((2, 2))),
            "symmetric",
        ),
        (
            -scipy.sparse.csr_matrix(np.ones((2, 2))),
            [0, 0],
            [True, True],
            np.eye(1),
            "negative edge lengths",
        ),
        ([[0, 1], [1, 0]], [0, 0], [True, True], np.eye(1), "sparse matrix or a 2-D array"),
        (scipy.sparse.eye(2, format="csr"), [0.5, 0.0], [True, True], np.eye(1), "integers"),
    ],
)
def test_bad_input(graph, scene, is_image, reach, message):
    with pytest.raises(InputError, match=message):
        count_smooth_paths(graph, np.asarray(scene), np.asarray(is_image), reach)


@pytest.mark.parametrize("batch_size", [1.5, 0, True, "2"])
def test_batch_size_must_be_a_positive_integer(batch_size):
    graph, scene, is_image, reach = random_case(0)
    with pytest.raises(InputError, match="batch_size must be a positive integer"):
        count_smooth_paths(graph, scene, is_image, reach, batch_size=batch_size)


def test_dense_graph_counts_as_its_sparse_copy():
    """One graph rule: a dense array (0 = no edge) is the same graph as its CSR copy."""
    graph, scene, is_image, reach = random_case(1)
    expected = reference_counts(graph, scene, is_image, reach, "literal")
    dense = count_smooth_paths(graph.toarray(), scene, is_image, reach)
    np.testing.assert_array_equal(dense.per_source, expected)


def test_ties_do_not_depend_on_batching():
    # Integer lengths make many equal-length paths; the chosen tree must not depend on
    # how sources are batched or ordered.
    rng = np.random.default_rng(7)
    graph, scene, is_image, reach = random_case(7, n=80, p_edge=0.1)
    graph.data = rng.integers(1, 3, graph.nnz).astype(float)
    graph = graph.maximum(graph.T).tocsr()
    results = {
        batch: count_smooth_paths(graph, scene, is_image, reach, batch_size=batch).per_source
        for batch in (1, 3, 64)
    }
    assert results[1].sum() > 0
    assert results[1].tolist() == results[3].tolist() == results[64].tolist()


def test_input_arrays_are_not_modified():
    graph, scene, is_image, reach = random_case(1)
    before = (graph.copy(), reach.copy())
    count_smooth_paths(graph, scene, is_image, reach)
    assert (graph != before[0]).nnz == 0 and (reach != before[1]).nnz == 0
