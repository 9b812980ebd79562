"""Held-out validation: the split, the learning curve, the early stop, thread recording,
and that two identical runs give the same bytes (``textmanifold.models.validation``)."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest
import torch

from _models_fixtures import shapes_collection
from textmanifold.collection import read_collection
from textmanifold.errors import InputError
from textmanifold.models.batches import pair_table
from textmanifold.models.curves import plateau_reached
from textmanifold.models.data import load_image
from textmanifold.models.runs import load_run, train_compose
from textmanifold.models.train import (
    TrainSettings,
    checkpoint_path,
    load_checkpoint,
)
from textmanifold.models.validation import held_out_rows

torch.set_num_threads(1)


@pytest.fixture(scope="module")
def shapes(tmp_path_factory):
    """21 images (all described), 20 pairs, 32x32 pixels."""
    return shapes_collection(tmp_path_factory.mktemp("shapes"), size=32, text_only=0)


@pytest.mark.parametrize(
    ("values", "patience", "expected"),
    [
        ([0.1, 0.5, 0.51, 0.50], 2, True),  # 0.51 <= 0.5 + 0.02
        ([0.1, 0.5, 0.53, 0.50], 2, False),  # 0.53 beats 0.5 by more than 0.02
        ([0.1, 0.5], 2, False),  # too few measurements to tell
        ([0.3, 0.2, 0.1], 2, True),  # falling: no improvement at all
        ([0.1, 0.2, 0.3], 0, False),  # patience 0 never stops
    ],
)
def test_plateau_rule_by_hand(values, patience, expected):
    assert plateau_reached(values, patience, 0.02) is expected


def test_held_out_rows_are_a_fixed_disjoint_split():
    train, held = held_out_rows(50, 10, min_train=4)
    assert len(held) == 10 and len(train) == 40
    assert sorted(np.concatenate([train, held]).tolist()) == list(range(50))
    again_train, again_held = held_out_rows(50, 10, min_train=32)
    assert np.array_equal(held, again_held) and np.array_equal(train, again_train)
    assert len(held_out_rows(50, 0, 4)[1]) == 0
    with pytest.raises(InputError, match="at least 2"):
        held_out_rows(50, 1, 4)
    with pytest.raises(InputError, match="lower --validation"):
        held_out_rows(50, 48, 4)


def _brute_force_r1(run_dir, collection, held: np.ndarray) -> float:
    """R@1 of the held-out pairs, by a loop over queries (independent of the validator)."""
    run = load_run(run_dir)
    table = pair_table(read_collection(collection), "train")
    paths = [read_collection(collection).image_path(it) for it in table.images]
    distinct = sorted(set(table.sources[held].tolist()) | set(table.targets[held].tolist()))
    with torch.no_grad():
        images = torch.stack([load_image(paths[i], 32) for i in distinct])
        gallery = run.model.gallery_features(images).numpy().astype(np.float64)
        hits = 0
        for p in held:
            s, t = distinct.index(table.sources[p]), distinct.index(table.targets[p])
            tokens, lengths = run.vocab.encode([table.queries[p]])
            q = (
                run.model.composed(run.model.source_features(images[s : s + 1]), tokens, lengths)
                .numpy()[0]
                .astype(np.float64)
            )
            scores = gallery @ q
            scores[s] = -np.inf
            hits += int(np.sum(scores >= scores[t]) == 1)
    return hits / len(held)


def test_learning_curve_matches_a_brute_force_recall(shapes, tiny_settings, tmp_path):
    settings = replace(tiny_settings, steps=6, validation=8, eval_every=2, threads=1)
    result = train_compose(shapes, tmp_path / "run", method="tirg", dim=8, settings=settings)
    assert [p["step"] for p in result.curve] == [0, 2, 4, 6]
    assert all(np.isfinite(p["loss"]) and 0 <= p["R@1"] <= 1 for p in result.curve)
    _, held = held_out_rows(20, 8, 4)
    assert result.curve[-1]["R@1"] == pytest.approx(_brute_force_r1(tmp_path / "run", shapes, held))
    config = json.loads((tmp_path / "run" / "run.json").read_text())
    assert config["data"]["held_out"] == 8 and config["data"]["examples"] == 12
    assert config["train"]["threads"] == 1
    log = json.loads((tmp_path / "run" / "train_log.json").read_text())
    assert log["curve"] == result.curve and log["converged"] in (True, False)


def test_early_stop_and_its_resume(shapes, tiny_settings, tmp_path):
    # no measurement can beat the first by 1.0: the rule stops at the second one
    settings = replace(
        tiny_settings, steps=20, validation=8, eval_every=2, patience=1, min_delta=1.0
    )
    result = train_compose(shapes, tmp_path / "run", method="tirg", dim=8, settings=settings)
    assert result.stopped_early and result.converged and result.step == 2
    assert load_checkpoint(checkpoint_path(tmp_path / "run"))["step"] == 2
    again = train_compose(
        shapes, tmp_path / "run", method="tirg", dim=8, settings=settings, resume=True
    )
    assert again.step == 2 and again.curve == result.curve and again.stopped_early


def test_resumed_curve_equals_an_uninterrupted_one(shapes, tiny_settings, tmp_path):
    def run(out, steps, resume=False):
        return train_compose(
            shapes,
            out,
            method="tirg",
            dim=8,
            resume=resume,
            settings=replace(
                tiny_settings, steps=steps, validation=8, eval_every=2, checkpoint_every=2
            ),
        )

    straight = run(tmp_path / "a", 6)
    run(tmp_path / "b", 4)
    resumed = run(tmp_path / "b", 6, resume=True)
    assert resumed.curve == straight.curve and resumed.losses == straight.losses


@pytest.mark.parametrize("fast", [False, True])
def test_two_identical_runs_give_the_same_bytes(shapes, tiny_settings, tmp_path, fast):
    """Same seed, same thread count, same machine -> the same weights and losses, bit for
    bit, in float32 and with the bfloat16 + channels-last path."""
    extra = dict(precision="bfloat16", channels_last=True) if fast else {}
    settings = replace(tiny_settings, steps=4, validation=8, eval_every=2, **extra)
    a = train_compose(shapes, tmp_path / "a", method="tirg", dim=8, settings=settings)
    b = train_compose(shapes, tmp_path / "b", method="tirg", dim=8, settings=settings)
    assert a.losses == b.losses and a.curve == b.curve and np.isfinite(a.losses).all()
    sa = load_checkpoint(checkpoint_path(tmp_path / "a"))["model"]
    sb = load_checkpoint(checkpoint_path(tmp_path / "b"))["model"]
    assert sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)


def test_bad_training_settings_are_named():
    with pytest.raises(InputError, match="precision must be one of"):
        TrainSettings(precision="float16").validate()
    with pytest.raises(InputError, match="threads must be >= 0"):
        TrainSettings(threads=-1).validate()
