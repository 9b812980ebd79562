"""Estimates over training seeds, checked by hand and against numpy / scipy."""

import math

import numpy as np
import pytest
from scipy import stats

from textmanifold.evaluate.seeds import over_seeds, seed_sentence, verdict_word


def test_mean_and_se_without_shared_noise_match_scipy():
    values = [0.10, 0.04, 0.07]
    estimate = over_seeds(values)
    assert estimate["mean"] == pytest.approx(0.07)
    assert estimate["se"] == pytest.approx(stats.sem(values))
    assert (estimate["seeds"], estimate["agree"]) == (3, 3)


def test_shared_noise_adds_its_mean_square_in_full():
    values, shared = [0.10, 0.04, 0.07], [0.03, 0.04, 0.05]
    expected = math.sqrt(np.var(values, ddof=1) / 3 + np.mean(np.square(shared)))
    assert over_seeds(values, shared)["se"] == pytest.approx(expected)


def test_non_finite_values_are_left_out_but_kept_in_per_seed():
    estimate = over_seeds([0.2, float("nan"), -0.1])
    assert estimate["seeds"] == 2 and estimate["mean"] == pytest.approx(0.05)
    assert math.isnan(estimate["per_seed"][1])
    assert estimate["agree"] == 1  # only 0.2 is on the mean's (positive) side


def test_one_seed_has_no_spread_and_cannot_tell():
    estimate = over_seeds([0.5])
    assert math.isnan(estimate["se"])
    assert verdict_word(estimate) == "cannot tell"
    assert "(no spread: one seed)" in seed_sentence("x", estimate)


@pytest.mark.parametrize(
    ("values", "word"),
    [
        ([0.10, 0.11, 0.12], "reproduces"),  # mean 0.11, SE 0.0058
        ([-0.10, -0.11, -0.12], "does not reproduce"),
        ([0.10, -0.05, 0.02], "cannot tell"),  # mean 0.023, SE 0.043
    ],
)
def test_verdict_words_at_two_standard_errors(values, word):
    assert verdict_word(over_seeds(values)) == word


def test_a_model_short_of_its_plateau_cannot_tell():
    estimate = {**over_seeds([0.10, 0.11, 0.12]), "converged": False}
    assert verdict_word(estimate, converged=False) == "cannot tell"
    sentence = seed_sentence("TIRG in Joint over plain TIRG", estimate, " (R@1)")
    assert sentence == (
        "TIRG in Joint over plain TIRG: +0.110 +/- 0.006 (R@1) over 3 seeds "
        "(3 agree, a model short of its plateau): cannot tell"
    )
