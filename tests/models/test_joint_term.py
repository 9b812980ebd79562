"""Eq. 2's joint term runs over every described training image, not only batch sources."""

from __future__ import annotations

import numpy as np
import torch

from _models_fixtures import cci_subset
from textmanifold import io
from textmanifold.collection import read_collection
from textmanifold.models.batches import SideBatches
from textmanifold.models.runs import train_compose
from textmanifold.models.train import TrainSettings

torch.set_num_threads(1)


def test_side_batches_count_distinct_images_by_brute_force():
    pool = np.array([3, 5, 8, 9, 11, 12, 20])
    side = SideBatches(pool, size=3, seed=4)
    for steps in (0, 1, 2, 3, 5, 9):
        seen = set()
        for step in range(steps):
            rows = side.rows(step)
            assert len(set(rows.tolist())) == 3 and set(rows.tolist()) <= set(pool.tolist())
            seen.update(rows.tolist())
        assert side.distinct_images(steps) == len(seen)
    assert side.distinct_images(2) == 6  # one epoch: 7 // 3 batches of 3, the rest dropped


def test_joint_term_sees_sources_and_targets(tmp_path):
    subset = cci_subset(tmp_path / "data", size=48)
    coll = read_collection(subset)
    described = [it.id for it in coll.images("train") if it.text]
    sources = {p.source for p in coll.pairs_of("train")}
    assert len(described) == 21 and len(sources) < 21  # leaves are targets only
    settings = TrainSettings(
        steps=4,
        batch_size=5,
        lr=0.01,
        image_size=32,
        device="cpu",
        progress=False,
        checkpoint_every=4,
    )
    train_compose(subset, tmp_path / "run", method="tirg", in_joint=True, dim=8, settings=settings)
    log = io.read_json(tmp_path / "run" / "train_log.json")
    # One epoch of the pool (21 // 5 = 4 batches): 4 x 5 distinct images of the 21.
    assert log["joint_term_pool"] == 21
    assert log["joint_term_images"] == 20 > len(sources)  # more than the sources alone
    run = io.read_json(tmp_path / "run" / "run.json")
    assert run["data"]["joint_term_pool"] == 21
    assert run["model"]["balanced_init"] is True
