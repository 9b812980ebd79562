"""CLEVR v1.0 loader on hand-made scenes files and PNG renders."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from _loaders_fixtures import DAMAGES, assert_refused_then_skipped, cli, round_trip, write_image
from textmanifold.errors import DataFormatError, MissingFileError
from textmanifold.loaders.clevr import load_clevr
from textmanifold.synth.describe import describe_scene

# CLEVR's default ground directions (as in its released scenes).
DIRECTIONS = {
    "right": [0.6563, 0.7544, -0.0],
    "left": [-0.6563, -0.7544, 0.0],
    "front": [0.7544, -0.6563, 0.0],
    "behind": [-0.7544, 0.6563, 0.0],
    "above": [0.0, 0.0, 1.0],
    "below": [-0.0, -0.0, -1.0],
}


def _obj(color, shape, material, size, x, y):
    return {
        "color": color,
        "shape": shape,
        "material": material,
        "size": size,
        "3d_coords": [x, y, 0.7],
        "rotation": 30.0,
        "pixel_coords": [100, 120, 10.0],
    }


CUBE = _obj("gray", "cube", "metal", "large", -2.0, -2.0)
SPHERE = _obj("red", "sphere", "rubber", "small", 2.0, 1.0)
CYLINDER = _obj("cyan", "cylinder", "rubber", "small", 0.0, 2.5)


def _scene(split, index, objects):
    return {
        "split": split,
        "image_index": index,
        "image_filename": f"CLEVR_{split}_{index:06d}.png",
        "objects": objects,
        "relationships": {},
        "directions": DIRECTIONS,
    }


TRAIN = [
    _scene("train", 0, [CUBE, SPHERE]),
    _scene("train", 1, [CUBE, dict(SPHERE, color="blue")]),  # one attribute of object 1
    _scene("train", 2, [CUBE, SPHERE, CYLINDER]),  # one extra object
]
VAL = [
    _scene("val", 0, [SPHERE, CUBE]),  # train 0's objects in another order: not matched
    _scene("val", 1, [CYLINDER]),
]


def make_root(tmp_path: Path) -> Path:
    root = tmp_path / "CLEVR_v1.0"
    (root / "scenes").mkdir(parents=True)
    for split, scenes in (("train", TRAIN), ("val", VAL)):
        data = {"info": {"split": split, "version": "1.0"}, "scenes": scenes}
        (root / "scenes" / f"CLEVR_{split}_scenes.json").write_text(json.dumps(data))
        for scene in scenes:
            write_image(root / "images" / split / scene["image_filename"])
    return root


def test_items_are_described_by_their_scenes(tmp_path):
    loaded = load_clevr(make_root(tmp_path), show_progress=False)
    assert [it.id for it in loaded.items] == [
        "CLEVR_train_000000",
        "CLEVR_train_000001",
        "CLEVR_train_000002",
        "CLEVR_val_000000",
        "CLEVR_val_000001",
    ]
    originals = TRAIN + VAL
    for item, scene in zip(loaded.items, originals, strict=True):
        assert item.text == describe_scene(scene)
        assert loaded.scenes[item.scene] == scene  # scenes kept as released
        assert item.split == scene["split"]
        assert item.path == f"images/{scene['split']}/{scene['image_filename']}"
    assert len({it.text for it in loaded.items}) == 4  # val 0 == train 0 in content
    assert loaded.reachable is None
    coll = round_trip(loaded, tmp_path / "out")
    assert coll.scenes == originals


def test_reachability_matches_objects_by_list_index(tmp_path):
    loaded = load_clevr(make_root(tmp_path), reachability=True, show_progress=False)
    edges = {tuple(sorted(e)) for e in zip(*loaded.reachable.nonzero(), strict=True)}
    # Worked out by hand: train 1 recolours train 0's object 1; train 2 adds an object.
    # Train 1 vs 2 differ twice; val 0 lists train 0's objects in another order.
    assert edges == {(0, 1), (0, 2)}
    assert loaded.config["counts"]["reachable_pairs"] == 2
    coll = round_trip(loaded, tmp_path / "out")
    assert coll.reachable().nnz == 4


def test_one_split(tmp_path):
    loaded = load_clevr(make_root(tmp_path), split="val", show_progress=False)
    assert [(it.id, it.scene) for it in loaded.items] == [
        ("CLEVR_val_000000", 0),
        ("CLEVR_val_000001", 1),
    ]


def test_missing_image_and_missing_scenes_file(tmp_path):
    root = make_root(tmp_path)
    (root / "images" / "val" / "CLEVR_val_000001.png").unlink()
    with pytest.raises(
        MissingFileError,
        match=r"images/val/CLEVR_val_000001\.png: image file not found.*"
        r"CLEVR_val_scenes\.json scene 1",
    ):
        load_clevr(root, show_progress=False)
    assert len(load_clevr(root, skip_missing_images=True, show_progress=False).items) == 4
    with pytest.raises(MissingFileError, match="CLEVR test scenes file not found"):
        load_clevr(root, split="test", show_progress=False)


def test_malformed_scenes_name_file_and_scene(tmp_path):
    root = make_root(tmp_path)
    path = root / "scenes" / "CLEVR_val_scenes.json"
    path.write_text('{"scenes": [\n{"image_filename": 3}\n')
    with pytest.raises(DataFormatError, match=r"CLEVR_val_scenes\.json: invalid JSON at line 3"):
        load_clevr(root, show_progress=False)
    broken = copy.deepcopy(VAL)
    del broken[1]["objects"][0]["color"]
    path.write_text(json.dumps({"scenes": broken}))
    with pytest.raises(
        DataFormatError,
        match=r"CLEVR_val_scenes\.json scene 1 \(CLEVR_val_000001\.png\): "
        r"cannot describe",
    ):
        load_clevr(root, show_progress=False)
    path.write_text(json.dumps({"scenes": [{"objects": []}]}))
    with pytest.raises(DataFormatError, match=r"scene 0: missing string field 'image_filename'"):
        load_clevr(root, show_progress=False)


def test_cli(tmp_path, capsys):
    from textmanifold.collection import read_collection

    out = tmp_path / "out"
    assert (
        cli(
            "load",
            "clevr",
            str(make_root(tmp_path)),
            str(out),
            "--split",
            "train",
            "--reachability",
        )
        == 0
    )
    assert "clevr: wrote 3 images, 0 pairs" in capsys.readouterr().out
    assert read_collection(out).reachable().nnz == 4


@pytest.mark.parametrize("how", DAMAGES)
def test_a_damaged_image_is_named_or_skipped_and_counted(tmp_path, how):
    root = make_root(tmp_path)
    image = root / "images" / "val" / "CLEVR_val_000001.png"
    assert_refused_then_skipped(
        lambda **kw: load_clevr(root, show_progress=False, **kw),
        image,
        how,
        lambda loaded: loaded.config["counts"]["missing_image"],
    )
