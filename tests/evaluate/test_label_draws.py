"""Table 1 averaged over target draws, against hand computations."""

import math

import numpy as np
import pytest
from sklearn.datasets import make_moons

from textmanifold.errors import InputError
from textmanifold.evaluate.label_draws import (
    draw_seeds,
    label_retrieval_draws,
    summarize_draws,
)
from textmanifold.evaluate.label_retrieval import label_retrieval_table


def _row(key, accuracy, retrievable):
    return {
        "row": key,
        "method": key,
        "space": "Image",
        "accuracy": accuracy,
        "retrievable": retrievable,
        "queries": 10,
    }


def test_summary_by_hand():
    per_draw = [
        [_row("C", 0.5, 4), _row("D", 0.6, 4)],
        [_row("C", 0.4, 6), _row("D", 0.3, 6)],
        [_row("C", math.nan, 0), _row("D", 0.2, 0)],  # C undefined in this draw
    ]
    out = summarize_draws(per_draw)
    assert out["draws"] == 3
    c, d = out["rows"]
    assert c["accuracy_mean"] == pytest.approx(0.45)
    assert c["accuracy_se"] == pytest.approx(0.05)  # sd 0.0707 / sqrt(2)
    assert c["draws_defined"] == 2
    # D: mean 0.3667; sd sqrt(0.08667 / 2) = 0.20817; se = 0.20817 / sqrt(3) = 0.12019
    assert d["accuracy_mean"] == pytest.approx(0.366667, abs=1e-6)
    assert d["accuracy_se"] == pytest.approx(0.120185, abs=1e-6)
    assert d["retrievable_mean"] == pytest.approx(10 / 3)
    (comparison,) = out["comparisons"]  # only D vs C: the other rows are absent
    assert (comparison["better"], comparison["worse"]) == ("D", "C")
    assert comparison["draws"] == 2 and comparison["holds"] == 1  # 0.6 > 0.5, not 0.3 > 0.4
    assert comparison["difference_mean"] == pytest.approx(0.0, abs=1e-12)
    assert comparison["difference_se"] == pytest.approx(0.1)  # sd of (0.1, -0.1) / sqrt(2)


def test_draws_average_single_draw_tables():
    points, y = make_moons(60, noise=0.05, random_state=0)
    X = np.column_stack([0.15 * points, np.ones(len(points))])
    image = X / np.linalg.norm(X, axis=1, keepdims=True)
    labels = ["upper" if v == 0 else "lower" for v in y]
    out = label_retrieval_draws(
        image, None, None, labels, draws=4, seed=3, n_way=None, k_shot=2, target_degree=3.0
    )
    assert out["draws"] == 4 and len(set(out["seeds"])) == 4
    assert out["seeds"] == draw_seeds(3, 4)
    tables = [
        label_retrieval_table(
            image, None, None, labels, n_way=None, k_shot=2, target_degree=3.0, seed=s
        )
        for s in out["seeds"]
    ]
    for row in out["rows"]:
        values = [next(r for r in t if r["row"] == row["row"])["accuracy"] for t in tables]
        assert row["accuracy_mean"] == pytest.approx(np.mean(values))
        assert row["accuracy_se"] == pytest.approx(np.std(values, ddof=1) / 2)
    with pytest.raises(InputError, match="draws"):
        draw_seeds(0, 0)
