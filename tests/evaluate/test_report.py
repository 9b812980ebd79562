"""The report: validation, verdicts computed from the numbers, and the three files."""

import json
import math

import numpy as np
import pytest

from textmanifold.errors import InputError
from textmanifold.evaluate import report, verdicts
from textmanifold.viz.curves import plot_retrievable_vs_threshold


def _results(**overrides):
    base = {
        "label_retrieval": [
            {
                "row": "A",
                "method": "Baseline (Image + Eu)",
                "space": "Image",
                "accuracy": 0.30,
                "retrievable": 100,
                "queries": 100,
            },
            {
                "row": "B",
                "method": "Resnet + Geo",
                "space": "Resnet",
                "accuracy": float("nan"),
                "retrievable": 40,
                "queries": 100,
            },
            {
                "row": "C",
                "method": "Baseline* in Image",
                "space": "Image",
                "accuracy": 0.40,
                "retrievable": 40,
                "queries": 100,
            },
            {
                "row": "D",
                "method": "Image + Geo",
                "space": "Image",
                "accuracy": 0.50,
                "retrievable": 40,
                "queries": 100,
            },
            {
                "row": "E",
                "method": "Baseline* in Joint",
                "space": "Joint",
                "accuracy": 0.41,
                "retrievable": 60,
                "queries": 100,
            },
            {
                "row": "F",
                "method": "Joint + Geo",
                "space": "Joint",
                "accuracy": 0.52,
                "retrievable": 60,
                "queries": 100,
            },
        ],
        "smooth_paths": [
            {"threshold": t, "image": 1.0 + t, "image_random": 1.5 + t, "image_text": 2.0 + t}
            for t in (0.1, 0.2, 0.3, 0.4, 0.5)
        ],
        "composed": [
            {"method": "TIRG", "in_joint": False, "R@1": 0.2, "R@10": 0.5, "R@50": 0.8},
            {"method": "TIRG", "in_joint": True, "R@1": 0.3, "R@10": 0.6, "R@50": 0.9},
            {"method": "Relation", "in_joint": False, "R@1": 0.25, "R@10": 0.5, "R@50": 0.8},
            {"method": "Relation", "in_joint": True, "R@1": 0.1, "R@10": 0.4, "R@50": 0.7},
        ],
        "stages": [{"stage": "generate", "seconds": 1.5}, {"stage": "train", "seconds": 2.5}],
    }
    base.update(overrides)
    return base


def test_label_verdict_follows_the_numbers():
    rows = _results()["label_retrieval"]
    text = verdicts.label_retrieval_verdict(rows)
    assert "beats Euclidean" in text and "adds retrievable" in text
    assert text.endswith("reproduces here.")  # B is NaN: three checks, all hold
    # Flip D below C: the same function now says the effect holds only in part.
    flipped = [dict(r, accuracy=0.35) if r["row"] == "D" else r for r in rows]
    text = verdicts.label_retrieval_verdict(flipped)
    assert "does not beat Euclidean" in text and "only in part (2 of 3)" in text
    # A finite B above D adds a fourth, failing check.
    with_b = [dict(r, accuracy=0.6) if r["row"] == "B" else r for r in rows]
    assert "only in part (3 of 4)" in verdicts.label_retrieval_verdict(with_b)


def test_smooth_paths_verdict_counts_thresholds():
    rows = _results()["smooth_paths"]
    assert "at 5 of 5 thresholds" in verdicts.smooth_paths_verdict(rows)
    rows[1] = dict(rows[1], image_text=rows[1]["image_random"])  # a tie is not "more"
    rows[3] = dict(rows[3], image_text=0.0)
    text = verdicts.smooth_paths_verdict(rows)
    assert "at 3 of 5 thresholds" in text and "more than the images alone at 4 of 5" in text
    assert "only in part (3 of 5)" in text


def test_composed_verdict_per_method():
    text = verdicts.composed_verdict(_results()["composed"])
    assert "raises R@1 for TIRG (0.200 -> 0.300)" in text
    assert "lowers R@1 for Relation (0.250 -> 0.100)" in text
    assert "only in part (1 of 2)" in text


def test_composed_verdict_weighs_differences_by_their_standard_error():
    rows = [
        {"method": m, "in_joint": j, "R@1": r, "queries": 1000}
        for m, j, r in [
            ("TIRG", False, 0.07),
            ("TIRG", True, 0.05),
            ("Relation", False, 0.039),
            ("Relation", True, 0.070),
        ]
    ]
    # hand: sqrt(.07 * .93 / 1000 + .05 * .95 / 1000) = 0.010612 -> -0.02 / that = -1.885
    assert verdicts.recall_difference_in_se(0.07, 0.05, 1000) == pytest.approx(-1.8847, 1e-4)
    text = verdicts.composed_verdict(rows)  # Relation: .031 / 0.010128 = 3.06
    assert "lowers R@1 for TIRG (0.070 -> 0.050, 1.9 standard errors: within noise)" in text
    assert "raises R@1 for Relation (0.039 -> 0.070, 3.1 standard errors: beyond noise)" in text
    assert "only in part (1 of 2)" in text
    rows[3]["R@1"] = 0.046  # a rise of 0.8 standard errors does not count
    assert "does not reproduce here" in verdicts.composed_verdict(rows)
    assert verdicts.recall_difference_in_se(0.0, 0.0, 10) == 0.0
    assert verdicts.recall_difference_in_se(0.0, 1.0, 10) == float("inf")


def _sweep():
    return [
        {
            "degree": 0.5,
            "threshold": 0.3,
            "queries": 100,
            "image_retrievable": 0,
            "joint_retrievable": 20,
            "C": None,
            "D": None,
            "E": 0.4,
            "F": 0.5,
        },
        {
            "degree": 1.0,
            "threshold": 0.4,
            "queries": 100,
            "image_retrievable": 30,
            "joint_retrievable": 30,
            "C": 0.5,
            "D": 0.4,
            "E": 0.5,
            "F": 0.6,
        },
        {
            "degree": 2.0,
            "threshold": 0.5,
            "queries": 100,
            "image_retrievable": 60,
            "joint_retrievable": 90,
            "C": 0.5,
            "D": 0.6,
            "E": 0.5,
            "F": 0.5,
        },
    ]


def test_sweep_verdict_skips_undefined_accuracies(tmp_path):
    text = verdicts.label_sweep_verdict(_sweep())
    assert "Image at 1 of the 2 with retrievable queries" in text
    assert "in Joint at 2 of 3" in text and "retrievable images at 2 of 3" in text
    report.write_report(tmp_path, _results(label_retrieval_sweep=_sweep()))
    md = (tmp_path / "report.md").read_text()
    assert "| 0.50 | 0.3000 | 100 | 0 | - | - | 20 | 0.4000 | 0.5000 |" in md
    assert (tmp_path / "index.html").read_text().count("<table>") == 5


def test_write_report_files(tmp_path):
    plot_retrievable_vs_threshold(
        [0.1, 0.2], {"Image": [1, 2], "Joint": [2, 3]}, tmp_path / "figures" / "r.png"
    )
    results = _results(
        figures=[{"path": "figures/r.png", "caption": "retrievable"}], config={"seed": 0}
    )
    written = report.write_report(tmp_path, results)
    data = json.loads((tmp_path / "report.json").read_text())
    assert set(data) >= {
        "label_retrieval",
        "smooth_paths",
        "composed",
        "stages",
        "paper",
        "verdicts",
        "figures",
        "total_seconds",
    }
    assert data["total_seconds"] == pytest.approx(4.0)
    assert data["label_retrieval"][1]["accuracy"] is None  # NaN is not valid JSON
    assert data["paper"]["smooth_paths"][0] == {
        "threshold": 0.5,
        "image": 9.96,
        "image_random": 10.49,
        "image_text": 10.78,
    }
    assert written["verdicts"]["composed"] == data["verdicts"]["composed"]
    md = (tmp_path / "report.md").read_text()
    assert "| F | Joint + Geo | Joint | 0.5200 | - | 60 | 100 | 0.2703 | 5774 |" in md
    assert "![retrievable](figures/r.png)" in md
    page = (tmp_path / "index.html").read_text()
    assert '<img src="figures/r.png"' in page and "<script" not in page
    assert page.count("<table>") == 4
    # Same input, same bytes.
    before = (tmp_path / "index.html").read_bytes()
    report.write_report(tmp_path, results)
    assert (tmp_path / "index.html").read_bytes() == before


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda r: r.pop("composed"), "lack key 'composed'"),
        (
            lambda r: r["smooth_paths"][2].update(image_text=math.inf),
            "smooth_paths'][2]['image_text",
        ),
        (lambda r: r["label_retrieval"][3].pop("retrievable"), "lacks field 'retrievable'"),
        (lambda r: r["composed"][0].update({"R@1": np.nan}), "'R@1'] is not a finite number"),
    ],
)
def test_bad_results_are_named(tmp_path, change, message):
    results = _results()
    change(results)
    with pytest.raises(InputError, match=message.replace("[", r"\[").replace("]", r"\]")):
        report.write_report(tmp_path, results)
    assert not (tmp_path / "report.json").exists()


def test_missing_figure_is_an_error(tmp_path):
    results = _results(figures=[{"path": "figures/none.png", "caption": "x"}])
    with pytest.raises(InputError, match=r"none\.png"):
        report.write_report(tmp_path, results)
