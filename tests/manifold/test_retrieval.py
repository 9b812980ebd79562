"""retrieve_labelled against brute force: scipy's Dijkstra on the brute-force graph of all
rows, a hand-counted majority vote, and the command's query rules."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.sparse.csgraph import dijkstra

from _manifold_fixtures import arc_graph, moons, sphere_points
from textmanifold.errors import InputError
from textmanifold.manifold import Retrieval, retrieve_labelled

THRESHOLD = 0.05


@pytest.fixture(scope="module")
def space():
    image, labels = moons(40, seed=0)
    text, _ = moons(50, seed=1)
    ids = [f"img{i}" for i in range(40)]
    labels = [[lab] if n % 4 else [] for n, lab in enumerate(labels)]  # every 4th: none
    return image, text, ids, labels


def brute_force(X, aux, labels, queries, k):
    """Every row a vertex; each query's k nearest labelled non-query rows by Dijkstra."""
    vertices = X if aux is None else np.vstack([X, aux])
    dist = dijkstra(arc_graph(vertices, THRESHOLD), indices=queries)[:, : len(X)]
    targets = [r for r, lab in enumerate(labels) if lab and r not in set(queries)]
    answers = []
    for row in dist:
        order = sorted(targets, key=lambda t: (row[t], t))[:k]
        answers.append([(t, row[t]) for t in order if np.isfinite(row[t])])
    return targets, answers


def vote(labels, neighbours):
    """Most frequent label set; a tie goes to the nearest (hand-written, not the module's)."""
    if not neighbours:
        return None
    counts = {}
    for t in neighbours:
        counts.setdefault(frozenset(labels[t]), []).append(t)
    best = max(len(v) for v in counts.values())
    return next(
        frozenset(labels[t]) for t in neighbours if len(counts[frozenset(labels[t])]) == best
    )


@pytest.mark.parametrize("k", [1, 3])
@pytest.mark.parametrize("with_aux", [False, True])
def test_default_queries_equal_brute_force(space, k, with_aux):
    image, text, ids, labels = space
    aux = text if with_aux else None
    found = retrieve_labelled(image, ids, labels, X_aux=aux, k=k, threshold=THRESHOLD)
    assert isinstance(found, Retrieval) and found.threshold == THRESHOLD
    queries = [r for r, lab in enumerate(labels) if not lab]
    assert found.query_ids == [ids[r] for r in queries]
    np.testing.assert_array_equal(found.query_rows, queries)
    targets, answers = brute_force(image, aux, labels, queries, k)
    np.testing.assert_array_equal(found.targets, targets)
    assert found.neighbours.shape == found.distances.shape == (len(queries), k)
    for qi, answer in enumerate(answers):
        got = found.neighbours[qi][found.neighbours[qi] >= 0].tolist()
        assert got == [t for t, _ in answer]
        np.testing.assert_allclose(
            found.distances[qi][: len(got)], [d for _, d in answer], rtol=1e-6, atol=1e-9
        )
        assert np.isinf(found.distances[qi][len(got) :]).all()
        assert found.predictions[qi] == vote(labels, got)
        assert found.retrievable[qi] == bool(answer)
    assert found.retrievable.any()


def test_given_queries_are_never_targets_and_json_names_rows(space):
    image, _, ids, labels = space
    asked = ["img1", "img2", "img1"]  # labelled rows as queries, one asked twice
    found = retrieve_labelled(image, ids, labels, asked, k=2, threshold=THRESHOLD)
    assert 1 not in found.targets and 2 not in found.targets
    targets, answers = brute_force(image, None, labels, [1, 2, 1], 2)
    np.testing.assert_array_equal(found.targets, targets)
    out = found.to_json()
    assert out["targets"] == len(targets) and out["threshold"] == THRESHOLD
    assert [q["id"] for q in out["queries"]] == asked
    for q, answer in zip(out["queries"], answers, strict=True):
        assert [n["id"] for n in q["neighbours"]] == [ids[t] for t, _ in answer]
        assert q["retrievable"] == bool(answer)
        expected = vote(labels, [t for t, _ in answer])
        assert q["prediction"] == (None if expected is None else sorted(expected))


def test_a_target_degree_chooses_the_threshold_over_all_vertices():
    X = sphere_points(30, 3, seed=4).astype(np.float32)
    ids = [str(i) for i in range(30)]
    labels = [["a"] if i < 20 else [] for i in range(30)]
    found = retrieve_labelled(X, ids, labels, target_degree=4)
    from textmanifold.manifold import threshold_for_degree

    assert found.threshold == threshold_for_degree(X, 4)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"queries": ["nope"], "threshold": 0.1}, "query id 'nope' is not a row of space.npy"),
        ({"threshold": 0.1, "labels": [[]] * 6}, "need at least one labelled target and one query"),
        ({"threshold": 0.1, "labels": [["a"]] * 6}, "need at least one labelled target"),
        ({}, "give exactly one of threshold and target_degree"),
    ],
)
def test_refusals(kwargs, message):
    X = sphere_points(6, 3, seed=0).astype(np.float32)
    labels = kwargs.pop("labels", [["a"], [], ["b"], [], ["a"], []])
    with pytest.raises(InputError, match=message):
        retrieve_labelled(X, list("abcdef"), labels, name="space.npy", **kwargs)


def test_an_unreachable_query_has_no_neighbours_and_no_prediction():
    X = np.array([[1.0, 0, 0], [0.999, 0.0447, 0], [0, 1.0, 0], [0, 0, 1.0]])
    X = (X / np.linalg.norm(X, axis=1, keepdims=True)).astype(np.float32)
    found = retrieve_labelled(X, list("abcd"), [["x"], [], [], ["y"]], k=2, threshold=0.1)
    assert found.query_ids == ["b", "c"]
    np.testing.assert_array_equal(found.neighbours, [[0, -1], [-1, -1]])
    assert found.distances[0, 0] == pytest.approx(np.arccos(X[0] @ X[1]), abs=1e-6)
    assert np.isinf(found.distances[0, 1]) and np.isinf(found.distances[1]).all()
    out = found.to_json()["queries"]
    assert out[0]["prediction"] == ["x"] and out[0]["retrievable"]
    assert out[1] == {"id": "c", "retrievable": False, "prediction": None, "neighbours": []}
