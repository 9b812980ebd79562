"""Training runs: batch order, exact resume, checkpoints, bad input, the CLI, embeddings."""

from __future__ import annotations

import json
import shutil
from dataclasses import replace

import numpy as np
import pytest
import torch
import torchvision

from _cli_fixtures import TINY_TRAINING, exit_code
from _models_fixtures import shapes_collection
from textmanifold.collection import load_embedding, read_collection
from textmanifold.errors import InputError, MissingFileError, TextManifoldError
from textmanifold.models.data import batch_indices
from textmanifold.models.runs import load_run, train_compose, train_joint
from textmanifold.models.train import TrainSettings, checkpoint_path, load_checkpoint

torch.set_num_threads(1)


@pytest.fixture(scope="module")
def shapes(tmp_path_factory):
    """21 images (all described), 20 pairs, 2 text-only items, 32x32 pixels."""
    return shapes_collection(tmp_path_factory.mktemp("shapes"), size=32, text_only=2)


@pytest.fixture(scope="module")
def text_cache(tmp_path_factory):
    return tmp_path_factory.mktemp("sentences")


def cli(*args: str) -> int:
    return exit_code(*args, "--no-progress")


# ----------------------------------------------------------------------------- batch order


def test_batch_order_is_a_seeded_permutation_per_epoch():
    n, b = 23, 5  # 4 batches per epoch, 3 examples dropped each epoch
    for epoch in range(3):
        batches = [batch_indices(n, b, seed=7, step=epoch * 4 + j) for j in range(4)]
        seen = np.concatenate(batches)
        assert len(seen) == len(set(seen.tolist())) == 20  # no example twice in an epoch
        expected = np.random.default_rng([7, epoch]).permutation(n)[:20]
        np.testing.assert_array_equal(seen, expected)
    assert not np.array_equal(batch_indices(n, b, 7, 0), batch_indices(n, b, 8, 0))
    with pytest.raises(InputError, match="batch size"):
        batch_indices(3, 4, 0, 0)


def test_step_learning_rate():
    settings = TrainSettings(lr=0.5, lr_step=10)
    assert [settings.lr_at(s) for s in (0, 9, 10, 25)] == pytest.approx([0.5, 0.5, 0.05, 0.005])
    assert TrainSettings(lr=0.5).lr_at(10**6) == 0.5


# ----------------------------------------------------------------------------- resume


def _states_equal(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_joint_resume_continues_with_exactly_the_same_losses(
    shapes, text_cache, tiny_settings, tmp_path
):
    def run(out, steps, resume=False):
        return train_joint(
            shapes,
            out,
            dim=8,
            text_cache=text_cache,
            resume=resume,
            settings=replace(tiny_settings, steps=steps, checkpoint_every=2),
        )

    straight = run(tmp_path / "a", 6)
    run(tmp_path / "b", 3)
    assert load_checkpoint(checkpoint_path(tmp_path / "b"))["step"] == 3  # the last step
    resumed = run(tmp_path / "b", 6, resume=True)
    assert len(straight.losses) == 6 and resumed.losses == straight.losses  # bit for bit
    assert _states_equal(
        load_checkpoint(checkpoint_path(tmp_path / "a"))["model"],
        load_checkpoint(checkpoint_path(tmp_path / "b"))["model"],
    )
    # asking again for 6 steps trains nothing and reports the same history
    again = run(tmp_path / "b", 6, resume=True)
    assert again.losses == straight.losses and np.isnan(again.images_per_second)
    assert again.to_record()["images_per_second"] is None  # JSON has no NaN


def test_compose_resume_in_joint_with_workers(shapes, tiny_settings, tmp_path):
    def run(out, steps, resume=False, workers=0):
        settings = replace(tiny_settings, steps=steps, checkpoint_every=3, workers=workers)
        return train_compose(
            shapes,
            out,
            method="relation",
            in_joint=True,
            dim=8,
            relation_hidden=16,
            settings=settings,
            resume=resume,
        )

    straight = run(tmp_path / "a", 6)
    run(tmp_path / "b", 4)  # checkpoints at steps 3 and 4
    state = load_checkpoint(checkpoint_path(tmp_path / "b"))
    assert (state["step"], state["samples_seen"], len(state["losses"])) == (4, 16, 4)
    resumed = run(tmp_path / "b", 6, resume=True, workers=1)  # workers change nothing
    assert resumed.losses == straight.losses
    assert _states_equal(
        load_checkpoint(checkpoint_path(tmp_path / "a"))["model"],
        load_checkpoint(checkpoint_path(tmp_path / "b"))["model"],
    )


def test_runs_are_never_overwritten_and_resume_checks_settings(shapes, tiny_settings, tmp_path):
    settings = replace(tiny_settings, steps=1)
    train_compose(shapes, tmp_path / "run", method="tirg", dim=8, settings=settings)
    with pytest.raises(InputError, match="already holds a run"):
        train_compose(shapes, tmp_path / "run", method="tirg", dim=8, settings=settings)
    changed = replace(tiny_settings, steps=2, lr=0.1)
    with pytest.raises(InputError, match=r"lr=0\.01, this call has 0\.1"):
        train_compose(shapes, tmp_path / "run", method="tirg", dim=8, settings=changed, resume=True)
    with pytest.raises(InputError, match="its model"):
        train_compose(
            shapes, tmp_path / "run", method="relation", dim=8, settings=settings, resume=True
        )
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "notes.txt").write_text("mine")
    with pytest.raises(InputError, match="not empty"):
        train_compose(shapes, tmp_path / "other", method="tirg", dim=8, settings=settings)


# ----------------------------------------------------------------------------- bad input


def test_missing_image_is_named_before_training(shapes, tiny_settings, tmp_path):
    copy = tmp_path / "coll"
    shutil.copytree(shapes, copy)
    (copy / "images" / "img0007.png").unlink()
    with pytest.raises(MissingFileError, match=r"img0007\.png: image file not found"):
        train_compose(
            copy, tmp_path / "run", method="tirg", dim=8, settings=replace(tiny_settings, steps=1)
        )
    assert not (tmp_path / "run").exists()


def test_unreadable_image_inside_a_worker_is_one_clear_error(shapes, tiny_settings, tmp_path):
    copy = tmp_path / "coll"
    shutil.copytree(shapes, copy)
    (copy / "images" / "img0003.png").write_bytes(b"\x89PNG broken")
    with pytest.raises(TextManifoldError, match=r"img0003\.png: unreadable image"):
        train_compose(
            copy,
            tmp_path / "run",
            method="tirg",
            dim=8,
            settings=replace(tiny_settings, steps=20, workers=1),
        )


def test_empty_split_and_small_data_and_text_model(shapes, text_cache, tiny_settings, tmp_path):
    settings = replace(tiny_settings, steps=1)
    with pytest.raises(InputError, match="no pairs in split 'test'"):
        train_compose(shapes, tmp_path / "a", method="tirg", split="test", settings=settings)
    with pytest.raises(InputError, match=r"split 'test' of .* no image items with a desc"):
        train_joint(shapes, tmp_path / "b", split="test", settings=settings)
    with pytest.raises(InputError, match="batch size 50 is larger than the 20 pairs"):
        train_compose(
            shapes,
            tmp_path / "c",
            method="tirg",
            settings=replace(tiny_settings, steps=1, batch_size=50),
        )
    with pytest.raises(MissingFileError, match="nowhere: sentence-transformers model"):
        train_joint(
            shapes,
            tmp_path / "d",
            text_model=str(tmp_path / "nowhere"),
            text_cache=text_cache,
            settings=settings,
        )
    with pytest.raises(InputError, match="method must be one of"):
        train_compose(shapes, tmp_path / "e", method="film", settings=settings)


def test_bad_settings():
    for field, value, message in [
        ("steps", -1, "steps"),
        ("image_size", 16, "32 pixels"),
        ("batch_size", 1, "needs negatives"),
        ("lr", 0.0, "lr must be positive"),
        ("checkpoint_every", 0, "checkpoint_every"),
    ]:
        with pytest.raises(InputError, match=message):
            TrainSettings(**{field: value}).validate()


# ----------------------------------------------------------------------------- CLI


def test_cli_train_embed_and_the_pretrained_space(shapes, text_cache, tmp_path, capsys):
    run = tmp_path / "joint"
    assert (
        cli(
            "train",
            "joint",
            str(shapes),
            "--out",
            str(run),
            *TINY_TRAINING,
            "--seed",
            "3",
            "--text-cache",
            str(text_cache),
        )
        == 0
    )
    summary = json.loads(capsys.readouterr().out)
    assert summary["steps"] == 2 and np.isfinite(summary["final_loss"])
    assert (
        cli("embed", str(shapes), str(run), "--device", "cpu", "--text-cache", str(text_cache)) == 0
    )
    coll = read_collection(shapes)
    image, image_ids = load_embedding(run / "embeddings" / "image.npy")
    text, text_ids = load_embedding(run / "embeddings" / "text.npy")
    pretrained, pre_ids = load_embedding(run / "embeddings" / "image_pretrained.npy")
    assert image_ids == pre_ids == [it.id for it in coll.images()]
    assert text_ids == [f"text:{it.id}" for it in coll.images()] + ["txt0000", "txt0001"]
    assert image.shape == (21, 8) and text.shape == (23, 8) and pretrained.shape == (21, 512)
    for X in (image, text, pretrained):
        np.testing.assert_allclose(np.linalg.norm(X, axis=1), 1.0, rtol=1e-5)

    # image_pretrained: torchvision's ResNet-18 as initialised by the run's seed, pooled
    torch.manual_seed(3)
    reference = torchvision.models.resnet18().eval()
    reference.fc = torch.nn.Identity()
    from textmanifold.models.data import load_image

    with torch.no_grad():
        pooled = reference(
            torch.stack([load_image(coll.image_path(it), 32) for it in coll.images()[:4]])
        ).numpy()
    expected = pooled / np.linalg.norm(pooled, axis=1, keepdims=True)
    np.testing.assert_allclose(pretrained[:4], expected, rtol=1e-4, atol=1e-5)

    # the exported rows are the trained model's
    loaded = load_run(run)
    with torch.no_grad():
        first = loaded.model.embed_images(load_image(coll.image_path(coll.images()[0]), 32)[None])
    np.testing.assert_allclose(image[0], first[0].numpy(), rtol=1e-4, atol=1e-5)


def test_cli_train_and_eval_compose(shapes, tmp_path, capsys):
    run = tmp_path / "tirg"
    assert (
        cli(
            "train",
            "compose",
            str(shapes),
            "--out",
            str(run),
            "--method",
            "tirg",
            "--in-joint",
            *TINY_TRAINING,
        )
        == 0
    )
    capsys.readouterr()
    assert cli("eval", "compose", str(run), "--split", "train", "--device", "cpu") == 0
    result = json.loads(capsys.readouterr().out)
    assert set(result) >= {"R@1", "R@10", "R@50", "queries", "gallery"}
    assert 0 <= result["R@1"] <= result["R@10"] <= result["R@50"] == 1.0  # 21 images
    assert (result["queries"], result["gallery"], result["in_joint"]) == (20, 21, True)
    assert json.loads((run / "eval_compose_train.json").read_text()) == result
    # errors are one line and exit status 2
    assert cli("eval", "compose", str(run), "--device", "cpu") == 2  # no test pairs
    assert "no pairs in split 'test'" in capsys.readouterr().err
    assert cli("embed", str(shapes), str(run), "--device", "cpu") == 2
    assert "is a compose run" in capsys.readouterr().err


def test_gallery_is_the_split_plus_its_targets(tmp_path):
    from textmanifold.collection import Item, Pair, write_collection
    from textmanifold.models.embed import gallery_items

    items = [
        Item(id=f"i{k}", modality="image", path=f"{k}.png", split=s)
        for k, s in enumerate(["train", "train", "test", "test", "train", None])
    ]
    pairs = [
        Pair("i1", "i2", "a", "test"),
        Pair("i1", "i4", "b", "test"),
        Pair("i0", "i1", "c", "train"),
    ]
    coll = read_collection(write_collection(tmp_path / "c", name="c", items=items, pairs=pairs))
    # CCI-like: the test images, plus i4 (a test target outside the split); the train
    # source i1 stays out
    assert [it.id for it in gallery_items(coll, "test")] == ["i2", "i3", "i4"]
    unsplit = [Item(id=it.id, modality="image", path=it.path) for it in items]
    coll = read_collection(write_collection(tmp_path / "d", name="d", items=unsplit, pairs=pairs))
    # images without splits: everything a test pair names, sources included
    assert [it.id for it in gallery_items(coll, "test")] == ["i1", "i2", "i4"]
