"""CSS loader on a hand-made TIRG-format ``.npy`` (a pickled dict) and its PNG images."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from _loaders_fixtures import DAMAGES, assert_refused_then_skipped, cli, round_trip, write_image
from textmanifold.errors import DataFormatError, MissingFileError
from textmanifold.loaders.css import DATA_FILE, grid_cell, load_css


def _obj(y, x, color, shape, size):
    return {"pos": [y, x], "color": color, "shape": shape, "size": size}


def css_data() -> dict:
    train = {
        "objects_img": [
            [
                _obj(0.8, 0.8, "red", "circle", "large"),
                _obj(0.2, 0.2, "blue", "rectangle", "small"),
            ],
            [_obj(0.5, 0.5, "gray", "triangle", "large")],
            [
                _obj(0.5, 0.5, "gray", "triangle", "large"),
                _obj(0.2, 0.8, "cyan", "circle", "small"),
            ],
        ],
        "mods": [
            {"from": [1], "to": [2], "to_str": "add small cyan circle to top-right"},
            {"from": [0, 2], "to": [1, 1], "to_str": "make  it simpler"},
        ],
        "labels": [0, 1, 2],
    }
    test = {
        "objects_img": [
            [_obj(0.2, 0.5, "green", "rectangle", "small")],
            [_obj(0.2, 0.5, "purple", "rectangle", "small")],
        ],
        "mods": [
            {
                "from": np.array([0]),
                "to": np.array([1]),
                "to_str": "make top-center green object purple",
            }
        ],
    }
    return {"train": train, "test": test}


def make_root(tmp_path: Path, data: dict | None = None) -> Path:
    root = tmp_path / "CSSDataset"
    root.mkdir()
    np.save(root / DATA_FILE, np.array(data or css_data(), dtype=object))
    for split, n in (("train", 3), ("test", 2)):
        for i in range(n):
            write_image(root / "images" / f"css_{split}_{i:06d}.png")
    return root


def test_items_descriptions_and_pairs(tmp_path):
    loaded = load_css(make_root(tmp_path), show_progress=False)
    items = {it.id: it for it in loaded.items}
    assert sorted(items) == [
        "css_test_000000",
        "css_test_000001",
        "css_train_000000",
        "css_train_000001",
        "css_train_000002",
    ]
    assert items["css_train_000000"].text == (
        "small blue rectangle at top-left, large red circle at bottom-right"
    )
    assert items["css_train_000002"].text == (
        "small cyan circle at top-right, large gray triangle at middle-center"
    )
    assert items["css_train_000001"].labels == ["1"]
    assert items["css_test_000000"].labels == []  # the test split has no labels
    assert items["css_test_000001"].path == "images/css_test_000001.png"
    got = [(p.source, p.target, p.text, p.split) for p in loaded.pairs]
    assert got == [
        ("css_test_000000", "css_test_000001", "make top-center green object purple", "test"),
        ("css_train_000000", "css_train_000001", "make it simpler", "train"),
        ("css_train_000001", "css_train_000002", "add small cyan circle to top-right", "train"),
        ("css_train_000002", "css_train_000001", "make it simpler", "train"),
    ]
    counts = loaded.config["counts"]
    assert (counts["pairs_train"], counts["pairs_test"], counts["after"]) == (3, 1, 4)
    round_trip(loaded, tmp_path / "out")


def test_one_split_and_images_beside_the_data_file(tmp_path):
    root = make_root(tmp_path)
    for path in (root / "images").glob("css_test_*.png"):
        path.rename(root / path.name)
    loaded = load_css(root, split="test", show_progress=False)
    assert [it.path for it in loaded.items] == ["css_test_000000.png", "css_test_000001.png"]
    assert len(loaded.pairs) == 1


def test_grid_cells():
    assert grid_cell([0.1, 0.1], "x") == "top-left"
    assert grid_cell([0.5, 0.9], "x") == "middle-right"
    assert grid_cell([1.0, 0.5], "x") == "bottom-center"


def test_mod_index_out_of_range_names_the_record(tmp_path):
    data = css_data()
    data["train"]["mods"][1]["to"] = [1, 7]
    root = make_root(tmp_path, data)
    with pytest.raises(
        DataFormatError, match=r"\['train'\] mods\[1\]: image index 7 in 'to' is outside 0\.\.2"
    ):
        load_css(root, show_progress=False)


def test_object_without_a_key_names_image_and_object(tmp_path):
    data = css_data()
    del data["test"]["objects_img"][1][0]["color"]
    root = make_root(tmp_path, data)
    with pytest.raises(DataFormatError, match=r"\['test'\] image 1 object 0: missing key 'color'"):
        load_css(root, show_progress=False)


def test_missing_image_and_wrong_file(tmp_path):
    root = make_root(tmp_path)
    (root / "images" / "css_train_000001.png").unlink()
    with pytest.raises(MissingFileError, match=r"images/css_train_000001\.png: image file not"):
        load_css(root, show_progress=False)
    loaded = load_css(root, skip_missing_images=True, show_progress=False)
    assert loaded.config["counts"]["pairs_missing_image"] == 3  # every train pair uses image 1
    np.save(root / DATA_FILE, np.arange(3))
    with pytest.raises(DataFormatError, match="expected a pickled dict"):
        load_css(root, show_progress=False)


def test_cli_load_refuses_a_non_empty_out_unless_forced(tmp_path, capsys):
    from textmanifold.collection import read_collection

    root = make_root(tmp_path)
    out = tmp_path / "out"
    assert cli("load", "css", str(root), str(out), "--split", "train") == 0
    assert "css: wrote 3 images, 3 pairs" in capsys.readouterr().out
    assert read_collection(out).meta["config"]["splits"] == ["train"]
    assert cli("load", "css", str(root), str(out)) == 2
    assert "directory is not empty (use --force to overwrite it)" in capsys.readouterr().err
    (out / "scenes.json").write_text("{}")  # a stale file from some other collection
    (out / "notes.txt").write_text("mine")
    assert cli("load", "css", str(root), str(out), "--force") == 0
    assert len(read_collection(out).pairs) == 4
    assert not (out / "scenes.json").exists()  # removed by --force ...
    assert (out / "notes.txt").read_text() == "mine"  # ... but nothing that is not ours


@pytest.mark.parametrize("how", DAMAGES)
def test_a_damaged_image_is_named_or_skipped_and_counted(tmp_path, how):
    root = make_root(tmp_path)
    image = root / "images" / "css_train_000001.png"
    assert_refused_then_skipped(
        lambda **kw: load_css(root, show_progress=False, **kw),
        image,
        how,
        lambda loaded: loaded.config["counts"]["pairs_missing_image"],
    )
