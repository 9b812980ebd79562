"""N-way-k-shot sampling and the rows of Table 1, against brute-force references."""

import json
import math
from collections import Counter

import numpy as np
import pytest
from scipy.sparse.csgraph import connected_components, shortest_path
from sklearn.datasets import make_moons
from sklearn.neighbors import KNeighborsClassifier

from _manifold_fixtures import arc_graph, moons, on_circle, on_sphere
from textmanifold.errors import InputError
from textmanifold.evaluate.fewshot import label_sets, primary_labels, sample_targets
from textmanifold.evaluate.label_retrieval import (
    geodesic_at_retrievable,
    label_retrieval_table,
    table_to_markdown,
    write_table,
)


def reference_rows(image, text, labels, split, threshold):
    """C, D (and E, F with text) recomputed with scipy / scikit-learn only."""
    targets, queries = split.targets, split.queries
    truth = [frozenset([label]) for label in labels]
    euclid = KNeighborsClassifier(n_neighbors=1).fit(image[targets], np.arange(len(targets)))
    euclid_hit = np.array(
        [
            truth[targets[t]] == truth[q]
            for t, q in zip(euclid.predict(image[queries]), queries, strict=True)
        ]
    )
    out = {}
    spaces = [("Image", image[np.r_[targets, queries]])]
    if text is not None:
        spaces.append(("Joint", np.vstack([image[np.r_[targets, queries]], text])))
    for space, X in spaces:
        graph = arc_graph(X, threshold)
        _, comp = connected_components(graph, directed=False)
        n_t, n_q = len(targets), len(queries)
        found = np.isin(comp[n_t : n_t + n_q], comp[:n_t])
        dist = shortest_path(graph, indices=np.arange(n_t))[:, n_t : n_t + n_q]
        nearest = dist.argmin(axis=0)
        geo_hit = np.array(
            [truth[targets[nearest[i]]] == truth[queries[i]] for i in np.flatnonzero(found)]
        )
        out[space] = (int(found.sum()), euclid_hit[found].mean(), geo_hit.mean())
    out["A"] = euclid_hit.mean()
    return out


def by_row(rows):
    return {r["row"]: r for r in rows}


# ----------------------------------------------------------------------------- sampling


def test_sampling_takes_k_per_class_and_excludes_small_classes():
    labels = ["a"] * 6 + ["b"] * 2 + ["c"] * 4 + ["d"] * 3 + ["e"] * 1
    split = sample_targets(labels, n_way=None, k_shot=3, seed=0)
    assert split.classes == ["a", "c", "d"]
    assert Counter(labels[i] for i in split.targets) == {"a": 3, "c": 3, "d": 3}
    assert set(split.targets).isdisjoint(split.queries)
    chosen = {i for i, label in enumerate(labels) if label in {"a", "c", "d"}}
    assert set(split.targets) | set(split.queries) == chosen  # b and e: not in the task


def test_sampling_n_way_subset_and_determinism():
    labels = [c for c in "abcdefgh" for _ in range(5)]
    first = sample_targets(labels, n_way=3, k_shot=2, seed=11)
    again = sample_targets(labels, n_way=3, k_shot=2, seed=11)
    assert len(first.classes) == 3
    assert Counter(labels[i] for i in first.targets) == {c: 2 for c in first.classes}
    assert {labels[i] for i in first.queries} == set(first.classes)
    assert len(first.queries) == 3 * 3
    for a, b in zip(first, again, strict=True):
        assert np.array_equal(a, b)
    others = [sample_targets(labels, n_way=3, k_shot=2, seed=s) for s in range(5)]
    assert len({tuple(o.targets) for o in others}) > 1


@pytest.mark.parametrize(
    ("labels", "n_way", "k_shot", "message"),
    [
        ([], None, 1, "empty"),
        (["a", "a", "b"], 2, 2, "only 1 of 2 classes"),
        (["a", "b"], None, 0, "k_shot"),
        (["a", "b"], 0, 1, "n_way"),
        ([["a", "b"], "b"], None, 1, "primary label"),
    ],
)
def test_sampling_bad_input(labels, n_way, k_shot, message):
    with pytest.raises(InputError, match=message):
        sample_targets(labels, n_way=n_way, k_shot=k_shot)


def test_label_sets_and_primary_labels():
    sets = label_sets(["a", ["a", "b"], ("c",)])
    assert sets == [frozenset("a"), frozenset("ab"), frozenset("c")]
    assert primary_labels(sets, ["a", "b", "c"]) == ["a", "b", "c"]
    with pytest.raises(InputError, match="multi-label data needs sampling_labels"):
        primary_labels(sets)
    with pytest.raises(InputError, match="not among its labels"):
        primary_labels(sets, ["a", "z", "c"])  # an unknown label
    with pytest.raises(InputError, match="image 1 has no label"):
        label_sets(["a", []])


# ----------------------------------------------------------------------------- Table 1


def test_two_moons_geodesic_beats_euclidean_and_matches_references():
    image, labels = moons(400, seed=0)
    rows = label_retrieval_table(
        image, None, None, labels, n_way=2, k_shot=2, target_degree=8, seed=3
    )
    r = by_row(rows)
    assert [row["row"] for row in rows] == ["A", "C", "D"]
    split = sample_targets(labels, 2, 2, seed=3)
    ref = reference_rows(image, None, labels, split, r["D"]["threshold"])
    n_found, acc_c, acc_d = ref["Image"]
    assert r["A"]["accuracy"] == pytest.approx(ref["A"])
    assert r["C"]["retrievable"] == r["D"]["retrievable"] == n_found
    assert r["C"]["accuracy"] == pytest.approx(acc_c)
    assert r["D"]["accuracy"] == pytest.approx(acc_d)
    assert r["D"]["accuracy"] > r["C"]["accuracy"] + 0.1  # the planted effect
    assert r["D"]["accuracy"] > 0.95
    assert r["A"]["queries"] == len(split.queries) == 396


def test_text_points_add_retrievable_queries():
    image, labels = moons(60, seed=1, noise=0.03)
    text, _ = moons(600, seed=2, noise=0.03)
    rows = label_retrieval_table(
        image, text, None, labels, n_way=2, k_shot=2, threshold=0.02, seed=0
    )
    r = by_row(rows)
    assert [row["row"] for row in rows] == ["A", "C", "D", "E", "F"]
    split = sample_targets(labels, 2, 2, seed=0)
    ref = reference_rows(image, text, labels, split, 0.02)
    assert (r["D"]["retrievable"], r["C"]["accuracy"], r["D"]["accuracy"]) == pytest.approx(
        ref["Image"]
    )
    assert (r["F"]["retrievable"], r["E"]["accuracy"], r["F"]["accuracy"]) == pytest.approx(
        ref["Joint"]
    )
    assert r["F"]["retrievable"] > r["D"]["retrievable"]
    assert r["E"]["retrievable"] == r["F"]["retrievable"]


def test_row_b_interpolates_by_hand():
    # Target T (label a) at angle 0; queries q1 (a) 0.1; q2 (b) 0.3, q3 (a) 0.31,
    # q4 (b) 0.32. Cuts: edges <= 0.1 -> {q1} retrievable, 1/1 right;
    # edges <= 0.2 -> all four (q1-q2 is 0.2), all predicted a: 2/4 right.
    X = on_circle([0.0, 0.1, 0.3, 0.31, 0.32])
    truth = [frozenset(x) for x in "aabab"]
    out = geodesic_at_retrievable(X, truth, 1, 2, start_degree=2)
    assert (out["retrievable_low"], out["retrievable_high"]) == (1, 4)
    assert (out["accuracy_low"], out["accuracy_high"]) == (1.0, 0.5)
    assert out["accuracy"] == pytest.approx(1.0 + (2 - 1) * (0.5 - 1.0) / (4 - 1))
    assert 0.1 < out["threshold_low"] < 0.2 < out["threshold_high"] < 0.21
    exact = geodesic_at_retrievable(X, truth, 1, 4, start_degree=2)
    assert exact["accuracy"] == 0.5 and exact["retrievable_low"] == 4
    assert math.isnan(geodesic_at_retrievable(X, truth, 1, 0)["accuracy"])


def test_row_b_in_the_table_brackets_row_d_count():
    points, y = make_moons(300, noise=0.05, random_state=4)
    labels = ["upper" if v == 0 else "lower" for v in y]
    image = on_sphere(points)
    rng = np.random.default_rng(0)
    resnet = on_sphere(points + 0.2 * rng.standard_normal(points.shape))  # moons blur
    rows = by_row(
        label_retrieval_table(
            image, None, resnet, labels, n_way=2, k_shot=3, threshold=0.011, seed=1
        )
    )
    b, d = rows["B"], rows["D"]
    assert b["retrievable"] == d["retrievable"]
    assert b["retrievable_low"] < d["retrievable"] < b["retrievable_high"]
    assert b["accuracy_low"] != b["accuracy_high"]
    # Each end of the bracket is a plain graph at its threshold: check it by brute force.
    split = sample_targets(labels, 2, 3, seed=1)
    for end in ("low", "high"):
        n_found, _, acc = reference_rows(resnet, None, labels, split, b[f"threshold_{end}"])[
            "Image"
        ]
        assert (b[f"retrievable_{end}"], b[f"accuracy_{end}"]) == pytest.approx((n_found, acc))
    share = (d["retrievable"] - b["retrievable_low"]) / (
        b["retrievable_high"] - b["retrievable_low"]
    )
    assert b["accuracy"] == pytest.approx(
        b["accuracy_low"] + share * (b["accuracy_high"] - b["accuracy_low"])
    )


def test_multilabel_exact_set_match():
    # Primary label 'a' for the first three, 'c' for the last two; k_shot = 1.
    X = on_circle([0.0, 0.05, 0.1, 1.0, 1.05])
    labels = [["a", "b"], ["a"], ["a"], ["c"], ["c", "d"]]
    sampling = ["a", "a", "a", "c", "c"]
    rows = by_row(
        label_retrieval_table(
            X,
            None,
            None,
            labels,
            n_way=None,
            k_shot=1,
            threshold=0.5,
            seed=0,
            sampling_labels=sampling,
        )
    )
    split = sample_targets(sampling, None, 1, seed=0)
    angles = np.array([0.0, 0.05, 0.1, 1.0, 1.05])
    sets = [frozenset(x) for x in labels]
    hits = [
        sets[split.targets[np.abs(angles[split.targets] - angles[q]).argmin()]] == sets[q]
        for q in split.queries
    ]
    assert rows["A"]["accuracy"] == pytest.approx(np.mean(hits))
    # Every query finds a target of its primary class, yet not every label set matches.
    assert 0.0 < rows["A"]["accuracy"] < 1.0


def test_markdown_and_json(tmp_path):
    rows = [
        {
            "row": "A",
            "method": "Baseline (Image + Eu)",
            "space": "Image",
            "accuracy": 0.25,
            "retrievable": 8,
            "queries": 8,
        },
        {
            "row": "B",
            "method": "Resnet + Geo",
            "space": "Resnet",
            "accuracy": float("nan"),
            "retrievable": 0,
            "queries": 8,
        },
    ]
    text = table_to_markdown(rows)
    assert "| A | Baseline (Image + Eu) | Image | 0.2500 | 8 | 8 |" in text
    assert "| B | Resnet + Geo | Resnet | n/a | 0 | 8 |" in text
    write_table(tmp_path / "t.json", rows)
    data = json.loads((tmp_path / "t.json").read_text())
    assert data["label_retrieval"][1]["accuracy"] is None


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"text": np.ones((3, 2)) / np.sqrt(2)}, "text has dimension 2"),
        ({"resnet": on_circle([0, 1])}, "resnet has 2 rows"),
        ({"labels": ["a"] * 5}, "5 labels for 6"),
        ({"labels": ["a", "a", "a", "b", "b", []]}, "has no label"),
        ({"image": np.zeros((6, 3))}, "zero vector"),
        ({"k_shot": 3}, "no queries"),
    ],
)
def test_table_bad_input(kwargs, message):
    args = {
        "image": on_circle(np.arange(6) * 0.1),
        "text": None,
        "resnet": None,
        "labels": ["a", "a", "a", "b", "b", "b"],
        "n_way": None,
        "k_shot": 1,
        "threshold": 0.5,
    }
    args.update(kwargs)
    image, text, resnet, labels = (args.pop(k) for k in ("image", "text", "resnet", "labels"))
    with pytest.raises(InputError, match=message):
        label_retrieval_table(image, text, resnet, labels, **args)
