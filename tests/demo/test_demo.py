"""The demo end to end at a tiny size: report keys, finite and consistent numbers, resume."""

import json
import math

import pytest

from textmanifold.demo import STAGES, run_demo, tiny_config
from textmanifold.errors import InputError
from textmanifold.models import runs


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    """One tiny demo, interrupted after training and resumed; shared by the tests below."""
    out = tmp_path_factory.mktemp("demo") / "run"
    monkeypatch = pytest.MonkeyPatch()
    run_demo(out, tiny_config(), stage="train_compose", progress=False, log=lambda _: None)
    checkpoint = out / "runs" / "seed0" / "joint_cci" / "checkpoints" / "last.pt"
    before = (checkpoint.stat().st_mtime_ns, checkpoint.read_bytes())
    calls = []

    def counting(*args, **kwargs):
        calls.append(args)
        raise AssertionError("resume must not retrain")

    monkeypatch.setattr(runs, "train_joint", counting)
    monkeypatch.setattr(runs, "train_compose", counting)
    lines = []
    results = run_demo(out, tiny_config(), resume=True, progress=False, log=lines.append)
    monkeypatch.undo()
    return {
        "out": out,
        "results": results,
        "calls": calls,
        "lines": lines,
        "checkpoint": checkpoint,
        "before": before,
    }


def test_resume_does_not_retrain(tiny_run):
    assert tiny_run["calls"] == []
    checkpoint = tiny_run["checkpoint"]
    assert (checkpoint.stat().st_mtime_ns, checkpoint.read_bytes()) == tiny_run["before"]
    assert any("train_joint: done earlier" in line for line in tiny_run["lines"])
    assert set(tiny_run["results"]) == set(STAGES)


def _finite(x):
    return isinstance(x, int | float) and not isinstance(x, bool) and math.isfinite(x)


def test_report_has_every_key_with_consistent_numbers(tiny_run):
    report_dir = tiny_run["out"] / "report"
    report = json.loads((report_dir / "report.json").read_text())
    for key in ("label_retrieval", "smooth_paths", "composed", "stages"):
        assert report[key], key
    table1 = report["label_retrieval"]
    assert table1["draws"] == 3 and table1["texts"] == "descriptions"
    rows = {r["row"]: r for r in table1["rows"]}
    assert sorted(rows) == list("ABCDEF")
    assert rows["B"]["space"] == "untrained ResNet-18"
    for r in table1["rows"]:
        assert {
            "row",
            "method",
            "space",
            "accuracy",
            "accuracy_mean",
            "accuracy_se",
            "retrievable",
        } <= set(r)
        if r["row"] != "B":  # B may be unavailable (no bracketing thresholds)
            assert _finite(r["accuracy_mean"]) and 0 <= r["accuracy_mean"] <= 1
        assert 0 <= r["retrievable"] <= r["queries"]
    assert rows["A"]["retrievable"] == rows["A"]["queries"]
    assert rows["C"]["retrievable"] == rows["D"]["retrievable"]
    assert rows["E"]["retrievable"] == rows["F"]["retrievable"]
    assert rows["F"]["retrievable"] >= rows["D"]["retrievable"]  # same threshold, more vertices
    assert {(c["better"], c["worse"]) for c in table1["comparisons"]} >= {("D", "C"), ("F", "E")}

    assert len(report["label_retrieval_sweep"]) == 2
    for r in report["label_retrieval_sweep"]:
        assert 0 <= r["image_retrievable"] <= r["joint_retrievable"] <= r["queries"]

    smooth = report["smooth_paths"]
    assert smooth["rule"] == "literal" and smooth["variant"]["rule"] == "merged"
    assert smooth["sampler"]["sampler"] == "image-jitter"
    assert len(smooth["rows"]) == 5
    for r in smooth["rows"]:
        assert all(
            _finite(r[k])
            for k in (
                "threshold",
                "image",
                "image_random",
                "image_shuffled",
                "image_text",
                "random_mean_degree",
                "text_mean_degree",
            )
        )
    thresholds = [r["threshold"] for r in smooth["rows"]]
    assert thresholds == sorted(thresholds)

    curves = report["curves"]
    for image, joint in zip(
        curves["retrievable"]["Image"], curves["retrievable"]["Joint"], strict=True
    ):
        assert 0 <= image <= joint <= curves["queries"]

    composed = report["composed"]
    assert composed["train_pairs"] == 10 + 6  # level 1 and the training branches
    assert composed["joint_term_images"] > 0
    assert len(composed["rows"]) == 5
    for r in composed["rows"]:
        assert 0 <= r["R@1"] <= r["R@10"] <= r["R@50"] <= 1
        assert 0 <= r["train_R@1"] <= 1
    assert {(r["method"], r["in_joint"]) for r in composed["rows"]} == {
        ("TIRG", False),
        ("TIRG", True),
        ("TIRG-conv", False),
        ("Relation", False),
        ("Relation", True),
    }

    stage_names = [s["stage"] for s in report["stages"]]
    assert stage_names == [s for s in STAGES if s != "report"]
    assert all(_finite(s["seconds"]) and s["seconds"] >= 0 for s in report["stages"])
    for fig in report["figures"]:
        assert (report_dir / fig["path"]).is_file()
    assert "retrievable.png" in {f["path"].split("/")[-1] for f in report["figures"]}
    page = (report_dir / "index.html").read_text()
    assert "<script" not in page and "Does it reproduce?" in page
    assert (report_dir / "report.md").read_text().startswith("# ")


def test_report_averages_the_training_seeds(tiny_run):
    """Every table is the mean of the per-seed tables the stages stored, and every claim
    carries its per-seed values, SE and verdict word (checked against numpy here)."""
    import numpy as np

    out = tiny_run["out"]
    report = json.loads((out / "report" / "report.json").read_text())
    seeds = tiny_config().training_seeds
    per_seed = {
        s: json.loads((out / "stages" / "composed" / f"seed{s}.json").read_text()) for s in seeds
    }
    for i, row in enumerate(report["composed"]["rows"]):
        values = [per_seed[s]["rows"][i]["R@1"] for s in seeds]
        assert row["R@1_per_seed"] == values
        assert row["R@1"] == pytest.approx(np.mean(values))
    claim = report["composed"]["over_seeds"][0]
    plain, joint = (
        next(
            r
            for r in report["composed"]["rows"]
            if r["method"] == claim["method"] and r["in_joint"] is j
        )
        for j in (False, True)
    )
    differences = np.subtract(joint["R@1_per_seed"], plain["R@1_per_seed"])
    assert claim["per_seed"] == pytest.approx(differences.tolist())
    assert claim["mean"] == pytest.approx(differences.mean())
    assert claim["se"] >= differences.std(ddof=1) / np.sqrt(len(seeds)) - 1e-12
    for table in ("label_retrieval", "smooth_paths", "composed"):
        claims = report[table]["over_seeds"]
        assert claims and all(c["seeds"] == len(seeds) for c in claims)
        assert all(
            c["verdict"] in ("reproduces", "does not reproduce", "cannot tell") for c in claims
        )
        assert all(c["verdict"] == "cannot tell" for c in claims if not c["converged"])
        assert f"Over {len(seeds)} training seeds" in report["verdicts"][table]
    labels = {
        s: json.loads((out / "stages" / "label_retrieval" / f"seed{s}.json").read_text())
        for s in seeds
    }
    d_minus_c = next(
        c
        for c in report["label_retrieval"]["over_seeds"]
        if (c["better"], c["worse"]) == ("D", "C")
    )
    expected = [
        next(c for c in labels[s]["comparisons"] if c["better"] == "D" and c["worse"] == "C")[
            "difference_mean"
        ]
        for s in seeds
    ]
    assert d_minus_c["per_seed"] == pytest.approx(expected, nan_ok=True)


def test_report_has_a_learning_curve_and_converged_flag_per_model(tiny_run):
    report = json.loads((tiny_run["out"] / "report" / "report.json").read_text())
    models = {(t["model"], t["seed"]) for t in report["training"]}
    names = {
        "joint_cci",
        "joint_classes",
        "tirg",
        "tirg_joint",
        "tirg-conv",
        "relation",
        "relation_joint",
    }
    assert models == {(m, s) for m in names for s in tiny_config().training_seeds}
    for t in report["training"]:
        steps = [p["step"] for p in t["curve"]]
        assert steps[0] == 0 and steps[-1] == t["steps"] and steps == sorted(steps)
        assert all(0 <= p["R@1"] <= 1 and math.isfinite(p["loss"]) for p in t["curve"])
        assert isinstance(t["converged"], bool)
    figures = {f["path"].split("/")[-1] for f in report["figures"]}
    assert "learning_curves.png" in figures


def test_index_stage_writes_a_searchable_index_of_the_cci_run(tiny_run):
    from textmanifold.collection import read_collection
    from textmanifold.index import ManifoldIndex

    out = tiny_run["out"]
    summary = tiny_run["results"]["index"]
    index = ManifoldIndex.load(out / "index")
    coll = read_collection(out / "data" / "cci")
    described = [it for it in coll.images() if it.text]
    assert (index.n_images, index.n_texts) == (
        len(coll.images()),
        len(described) + len(coll.texts()),
    )
    assert index.manifest["model"]["run"] == str((out / "runs" / "seed0" / "joint_cci").resolve())
    sentence = summary["text_query"]["query"]
    hits = index.search(text=sentence, k=3).geodesic
    assert summary["text_query"]["top"] == [[h.id, h.to_dict()["geodesic"]] for h in hits]
    assert len(summary["image_query"]["top"]) == 3


def test_directory_guards(tiny_run, tmp_path):
    with pytest.raises(InputError, match="not empty"):
        run_demo(tiny_run["out"], tiny_config(), stage="cci", progress=False)
    with pytest.raises(InputError, match="other settings"):
        run_demo(tiny_run["out"], tiny_config(seed=1), stage="cci", resume=True, progress=False)
    with pytest.raises(InputError, match="unknown stage"):
        run_demo(tmp_path / "x", tiny_config(), stage="nope", progress=False)
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "keep.txt").write_text("mine")
    with pytest.raises(InputError, match="no demo run"):
        run_demo(tmp_path / "other", tiny_config(), resume=True, progress=False)
    assert (tmp_path / "other" / "keep.txt").read_text() == "mine"


def test_cli_reports_errors_in_one_line(tiny_run, cli):
    code, out, err = cli("demo", "--out", tiny_run["out"], "--stage", "x")
    assert code != 0
    assert "unknown stage" in err + out


def test_same_seed_and_thread_count_give_the_same_training_bytes(tiny_run, tmp_path):
    """The reproducibility the README claims: one machine, one thread count, the same
    seed -> the same weights and losses (a stage run twice, in two directories)."""
    import torch

    again = tmp_path / "again"
    run_demo(again, tiny_config(), stage="train_joint", progress=False, log=lambda _: None)
    for seed in tiny_config().training_seeds:
        first, second = (
            json.loads((out / "stages" / "train_joint" / f"seed{seed}.json").read_text())
            for out in (tiny_run["out"], again)
        )
        for name in ("cci", "classes"):
            for summary in (first[name], second[name]):
                summary.pop("images_per_second")
            assert first[name] == second[name]
            weights = [
                torch.load(
                    out / "runs" / f"seed{seed}" / f"joint_{name}" / "checkpoints" / "last.pt",
                    weights_only=False,
                )["model"]
                for out in (tiny_run["out"], again)
            ]
            assert weights[0].keys() == weights[1].keys()
            assert all(torch.equal(weights[0][k], weights[1][k]) for k in weights[0])
    zero, one = (
        json.loads((again / "stages" / "train_joint" / f"seed{s}.json").read_text()) for s in (0, 1)
    )
    assert zero["cci"]["last_loss"] != one["cci"]["last_loss"]  # the seeds do differ
