"""Verdict sentences for the demo's estimates, against hand-made rows."""

import math

from textmanifold.evaluate.verdicts import (
    label_draws_verdict,
    memorisation_note,
    smooth_controls_verdict,
)


def test_label_draws_verdict_counts_only_beyond_two_standard_errors():
    estimate = {
        "draws": 20,
        "comparisons": [
            {
                "better": "D",
                "worse": "C",
                "quantity": "accuracy",
                "holds": 11,
                "draws": 20,
                "difference_mean": 0.007,
                "difference_se": 0.02,
            },
            {
                "better": "F",
                "worse": "E",
                "quantity": "accuracy",
                "holds": 20,
                "draws": 20,
                "difference_mean": 0.14,
                "difference_se": 0.01,
            },
        ],
    }
    text = label_draws_verdict(estimate)
    assert (
        "D vs C (geodesic beats Euclidean on Image's retrievable queries): accuracy "
        "difference +0.007 +/- 0.020, holds in 11 of 20 draws, within noise"
    ) in text
    assert "difference +0.140 +/- 0.010, holds in 20 of 20 draws, beyond noise" in text
    assert text.endswith("reproduces here only in part (1 of 2).")
    undefined = {
        "draws": 2,
        "comparisons": [
            {
                "better": "D",
                "worse": "C",
                "quantity": "accuracy",
                "holds": 0,
                "draws": 0,
                "difference_mean": math.nan,
                "difference_se": math.nan,
            }
        ],
    }
    assert "undefined" in label_draws_verdict(undefined)


def test_smooth_controls_verdict_gives_the_sizes():
    rows = [
        {
            "image": 7.0,
            "image_random": 7.0,
            "image_shuffled": 6.9,
            "image_text": 7.1,
            "random_mean_degree": 1.5,
        },
        {
            "image": 8.0,
            "image_random": 8.1,
            "image_shuffled": 8.2,
            "image_text": 8.05,
            "random_mean_degree": 2.5,
        },
    ]
    text = smooth_controls_verdict(rows)
    assert "at 1 of 2 thresholds" in text and "with shuffled scenes at 1" in text
    assert "1.50-2.50 edges" in text
    assert "text over random: -0.05 to +0.10" in text
    assert "random over images alone: +0.00 to +0.10" in text
    assert text.endswith(
        "reproduces here only in part (1 of 2), its size does not (our "
        "largest gain +0.10 in log(1 + paths) is below the paper's "
        "smallest, +0.29)."
    )


def test_smooth_controls_verdict_separates_ordering_from_size():
    # Text ahead at every threshold by at most 0.05 in log; the paper's smallest
    # text-over-random gain is 10.78 - 10.49 = 0.29 (its first row): the ordering holds,
    # the size does not.
    rows = [
        {"image": 7.0, "image_random": 7.0, "image_text": 7.05, "random_mean_degree": 1.0},
        {"image": 8.0, "image_random": 8.0, "image_text": 8.01, "random_mean_degree": 2.0},
    ]
    text = smooth_controls_verdict(rows)
    assert text.endswith(
        "(text > random) reproduces here, its size does not (our largest "
        "gain +0.05 in log(1 + paths) is below the paper's smallest, +0.29)."
    )
    rows[1]["image_text"] = 8.5  # one gain above the paper's smallest: no size caveat
    assert smooth_controls_verdict(rows).endswith("(text > random) reproduces here.")


def test_memorisation_note():
    rows = [{"R@1": 0.1, "train_R@1": 0.9}, {"R@1": 0.05, "train_R@1": 0.8}, {"R@1": 0.2}]
    assert memorisation_note(rows) == (
        "Training-set R@1 is 0.800-0.900 against test R@1 0.050-0.100."
    )
    assert memorisation_note([{"R@1": 0.1}]) == ""
