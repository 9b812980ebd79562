"""R@K for composed retrieval against a brute-force ranking and hand-made cases."""

from __future__ import annotations

import numpy as np
import pytest

from textmanifold.errors import InputError
from textmanifold.evaluate.recall import recall_at_k, target_ranks


def _brute_ranks(Q, G, target, exclude):
    """Sort every query's admissible gallery by score (ties: the target goes last)."""
    ranks = []
    for q, t, x in zip(Q, target, exclude, strict=True):
        scored = [(float(q @ G[j]), j != t, j) for j in range(len(G)) if j != x]
        # highest score first; among equal scores the target (key False) comes after others
        order = sorted(scored, key=lambda s: (-s[0], not s[1]))
        ranks.append(1 + [j for _, _, j in order].index(t))
    return np.array(ranks)


def test_ranks_match_brute_force_on_random_features():
    rng = np.random.default_rng(0)
    Q = rng.normal(size=(200, 8))
    G = rng.normal(size=(60, 8))
    target = rng.integers(0, 60, size=200)
    exclude = (target + rng.integers(1, 60, size=200)) % 60
    exclude[::7] = -1
    ranks = target_ranks(Q, G, target, exclude)
    np.testing.assert_array_equal(ranks, _brute_ranks(Q, G, target, exclude))
    result = recall_at_k(Q, G, target, exclude, ks=(1, 5, 10, 59, 60))
    for k in (1, 5, 10, 59, 60):
        assert result[f"R@{k}"] == pytest.approx(np.mean(ranks <= k))
    assert result["R@60"] == 1.0 > result["R@59"]  # 60 admissible items without exclusion


def test_hand_computed_example_excludes_the_source():
    G = np.eye(3)
    # query 0 is closest to item 0 (its own source, excluded), then item 1 (its target)
    # query 1 is closest to item 2, its target is item 0
    Q = np.array([[1.0, 0.5, 0.0], [0.0, 0.2, 1.0]])
    result = recall_at_k(Q, G, target_index=[1, 0], exclude_index=[0, 1], ks=(1, 2))
    assert result == {"R@1": 0.5, "R@2": 1.0}
    # without the exclusion, query 0's target drops to rank 2
    assert target_ranks(Q, G, [1, 0], [-1, 1]).tolist() == [2, 2]


def test_ties_count_against_the_query():
    G = np.ones((5, 2))
    Q = np.ones((3, 2))
    # every gallery item scores the same: rank = number of admissible items
    assert target_ranks(Q, G, [0, 2, 4], [1, -1, 0]).tolist() == [4, 5, 4]
    assert recall_at_k(Q, G, [0, 2, 4], [1, -1, 0], ks=(1,))["R@1"] == 0.0


def test_blocks_give_the_same_answer_as_one_pass():
    rng = np.random.default_rng(1)
    Q, G = rng.normal(size=(2500, 4)), rng.normal(size=(30, 4))
    target = rng.integers(0, 30, size=2500)
    exclude = np.full(2500, -1)
    np.testing.assert_array_equal(
        target_ranks(Q, G, target, exclude), _brute_ranks(Q, G, target, exclude)
    )


@pytest.mark.parametrize(
    ("Q", "G", "target", "exclude", "message"),
    [
        (np.ones((2, 3)), np.ones((4, 2)), [0, 1], [-1, -1], "3-d but gallery"),
        (np.ones((2, 3)), np.ones((0, 3)), [0, 1], [-1, -1], "gallery is empty"),
        (np.ones((2, 3)), np.ones((4, 3)), [0], [-1, -1], "one target"),
        (np.ones((2, 3)), np.ones((4, 3)), [0, 4], [-1, -1], "target index out of range"),
        (np.ones((2, 3)), np.ones((4, 3)), [0, 1], [-2, -1], "exclude index out of range"),
        (np.ones((2, 3)), np.ones((4, 3)), [0, 1], [0, -1], "its target is its excluded"),
        (np.array([[np.nan, 0, 0]]), np.ones((4, 3)), [0], [-1], "query row 0 has NaN"),
        (np.ones(3), np.ones((4, 3)), [0], [-1], "must be 2-D"),
    ],
)
def test_bad_input_is_a_clear_error(Q, G, target, exclude, message):
    with pytest.raises(InputError, match=message):
        recall_at_k(Q, G, target, exclude)


def test_bad_k_and_no_queries():
    with pytest.raises(InputError, match="K must be a positive integer, got 0"):
        recall_at_k(np.ones((1, 2)), np.ones((2, 2)), [0], [1], ks=(0,))
    with pytest.raises(InputError, match="no queries"):
        recall_at_k(np.ones((0, 2)), np.ones((2, 2)), [], [])
