"""ADE20K loader on hand-made 2016 (.mat + _atr.txt) and 2021 (.pkl + JSON) releases."""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import numpy as np
import pytest
import scipy.io

from _loaders_fixtures import DAMAGES, assert_refused_then_skipped, cli, round_trip, write_image
from textmanifold.errors import DataFormatError, MissingFileError
from textmanifold.loaders.ade20k import describe_objects, is_excluded, load_ade20k

# (file name, folder below the release dir, scene, objects as (level, wordnet, raw))
IMAGES = [
    (
        "ADE_train_00000001.jpg",
        "images/training/a/abbey",
        "abbey",
        [
            (0, "tree", "tree"),
            (0, "building, edifice", "building"),
            (0, "tree", "trees"),
            (1, "window", "window"),
        ],
    ),
    (
        "ADE_train_00000002.jpg",
        "images/training/b/bathroom",
        "bathroom",
        [
            (0, "wall", "wall"),
            (0, "toilet, can, commode, crapper", "toilet"),
            (0, "wall", "wall"),
            (0, "floor, flooring", "floor"),
            (0, "floor, flooring", "floor"),
            (2, "knob", "knob"),
        ],
    ),
    (
        "ADE_train_00000003.jpg",
        "images/training/m/misc",
        "misc",
        [(0, "person, individual", "person")],
    ),
    ("ADE_train_00000004.jpg", "images/training/o/outliers", "outliers", [(0, "car, auto", "car")]),
    (
        "ADE_train_00000005.jpg",
        "images/training/s/street",
        "street",
        [(0, "person, individual, someone", "person"), (0, "car, auto, automobile", "car")],
    ),
    ("ADE_val_00000001.jpg", "images/validation/a/abbey", "abbey", [(0, "sky", "sky")]),
]
# Worked out by hand: unique first WordNet terms, most instances first, ties alphabetical.
EXPECTED = {
    "ADE_train_00000001": ("abbey", "train", "tree, building"),
    "ADE_train_00000002": ("bathroom", "train", "floor, wall, toilet"),
    "ADE_train_00000005": ("street", "train", "car, person"),
    "ADE_val_00000001": ("abbey", "val", "sky"),
}
EXCLUDED = {"ADE_train_00000003", "ADE_train_00000004"}


def _cell(values: list[str]) -> np.ndarray:
    return np.array(values, dtype=object).reshape(1, -1)


def make_2016(tmp_path: Path) -> Path:
    root = tmp_path / "ADE20K_2016_07_26"
    index = {
        "filename": _cell([f for f, *_ in IMAGES]),
        "folder": _cell([f"ADE20K_2016_07_26/{d}" for _, d, *_ in IMAGES]),
        "typeset": np.ones((len(IMAGES), 1)),
        "scene": _cell([s for _, _, s, _ in IMAGES]),
        "objectnames": _cell(["tree", "building, edifice", "wall"]),
        "objectPresence": np.zeros((3, len(IMAGES))),
        "objectIsPart": np.zeros((3, len(IMAGES))),
    }
    root.mkdir(parents=True)
    scipy.io.savemat(root / "index_ade20k.mat", {"index": index})
    for filename, folder, scene, objects in IMAGES:
        image = root / folder / filename
        if scene in ("misc", "outliers"):  # excluded before their files are looked at
            continue
        write_image(image)
        lines = [
            f'{n:03d} # {level} # 0 # {wordnet} # {raw} # ""'
            for n, (level, wordnet, raw) in enumerate(objects, start=1)
        ]
        (image.parent / f"{image.stem}_atr.txt").write_text("\n".join(lines) + "\n")
    return root


def make_2021(tmp_path: Path) -> Path:
    root = tmp_path / "ADE20K_2021_17_01"
    folders = [d.replace("images/", "images/ADE/") for _, d, *_ in IMAGES]
    index = {
        "filename": [f for f, *_ in IMAGES],
        "folder": [f"ADE20K_2021_17_01/{d}" for d in folders],
        "scene": [f"/{s}" for _, _, s, _ in IMAGES],
        "objectnames": ["tree", "wall"],
        "objectPresence": np.zeros((2, len(IMAGES)), dtype=np.uint8),
    }
    root.mkdir(parents=True)
    with open(root / "index_ade20k.pkl", "wb") as handle:
        pickle.dump(index, handle)
    for (filename, _, scene, objects), folder in zip(IMAGES, folders, strict=True):
        if scene in ("misc", "outliers"):
            continue
        image = write_image(root / folder / filename)
        entries = [
            {
                "id": n,
                "name": wordnet,
                "raw_name": raw,
                "occluded": "no",
                "parts": {"part_level": level, "ispartof": [] if level == 0 else 0},
            }
            for n, (level, wordnet, raw) in enumerate(objects)
        ]
        annotation = {
            "filename": filename,
            "folder": folder,
            "scene": ["x", scene],
            "object": entries,
        }
        image.with_suffix(".json").write_text(json.dumps({"annotation": annotation}))
    return root


@pytest.mark.parametrize(("make", "release"), [(make_2016, "2016"), (make_2021, "2021")])
def test_both_releases_give_labels_texts_splits_and_filters(tmp_path, make, release):
    root = make(tmp_path)
    loaded = load_ade20k(root, show_progress=False)  # release detected from the index file
    assert loaded.config["release"] == release
    got = {it.id: (it.labels[0], it.split, it.text) for it in loaded.items}
    assert got == EXPECTED
    assert [it.id for it in loaded.items] == sorted(EXPECTED)
    counts = loaded.config["counts"]
    assert (counts["before"], counts["after"]) == (len(IMAGES), len(EXPECTED))
    assert counts["excluded_scene"] == len(EXCLUDED)
    assert counts["classes"] == 3
    coll = round_trip(loaded, tmp_path / "out")
    assert coll.meta["image_root"] == str(root.resolve())
    first = coll.items[0]
    assert (
        coll.image_path(first)
        == root
        / "images"
        / ("ADE/" if release == "2021" else "")
        / "training/a/abbey/ADE_train_00000001.jpg"
    )


@pytest.mark.parametrize("make", [make_2016, make_2021])
def test_raw_names_split_and_max_objects(tmp_path, make):
    root = make(tmp_path)
    raw = load_ade20k(root, names="raw", split="train", show_progress=False)
    texts = {it.id: it.text for it in raw.items}
    assert texts["ADE_train_00000001"] == "building, tree, trees"  # all once: alphabetical
    assert all(it.split == "train" for it in raw.items)
    assert raw.config["counts"]["other_split"] == 1
    short = load_ade20k(root, max_objects=1, show_progress=False)
    assert {it.id: it.text for it in short.items}["ADE_train_00000002"] == "floor"


def test_excluded_scene_matching_by_words():
    from textmanifold.loaders.ade20k import IndexEntry

    def entry(scene, folder="images/training/x/x"):
        return IndexEntry(1, "a.jpg", folder, scene)

    excluded = ("outliers", "misc")
    assert is_excluded(entry("misc"), excluded)
    assert is_excluded(entry("/outlier"), excluded)
    assert is_excluded(entry("street", "ADE/images/training/misc/street"), excluded)
    assert not is_excluded(entry("mission"), excluded)
    assert not is_excluded(entry("abbey"), excluded)


def test_describe_objects_orders_by_count_then_name():
    assert describe_objects(["b", "a", "c", "c", "b"]) == "b, c, a"
    assert describe_objects([]) == ""


def test_missing_image_names_file_and_index_record(tmp_path):
    root = make_2016(tmp_path)
    (root / "images/training/s/street/ADE_train_00000005.jpg").unlink()
    with pytest.raises(
        MissingFileError,
        match=r"street/ADE_train_00000005\.jpg: image file "
        r"not found.*index_ade20k\.mat record 5",
    ):
        load_ade20k(root, show_progress=False)
    loaded = load_ade20k(root, skip_missing_images=True, show_progress=False)
    assert loaded.config["counts"]["missing_image"] == 1
    assert len(loaded.items) == len(EXPECTED) - 1


def test_malformed_atr_line_names_file_and_line(tmp_path):
    root = make_2016(tmp_path)
    atr = root / "images/training/b/bathroom/ADE_train_00000002_atr.txt"
    lines = atr.read_text().splitlines()
    lines[2] = '003 # zero # 0 # wall # wall # ""'
    atr.write_text("\n".join(lines))
    with pytest.raises(DataFormatError, match=r"ADE_train_00000002_atr\.txt:3: part level"):
        load_ade20k(root, show_progress=False)
    atr.write_text("001 # 0 # wall\n")
    with pytest.raises(DataFormatError, match=r"_atr\.txt:1: expected fields"):
        load_ade20k(root, show_progress=False)


def test_invalid_annotation_json_names_file(tmp_path):
    root = make_2021(tmp_path)
    bad = root / "images/ADE/validation/a/abbey/ADE_val_00000001.json"
    bad.write_text('{"annotation": {"object": [}}')
    with pytest.raises(DataFormatError, match=r"ADE_val_00000001\.json: invalid JSON at line 1"):
        load_ade20k(root, show_progress=False)


def test_index_without_scene_field_falls_back_to_the_folder(tmp_path):
    root = make_2021(tmp_path)
    with open(root / "index_ade20k.pkl", "rb") as handle:
        index = pickle.load(handle)
    del index["scene"]
    index["folder"][1] += "/indoor"  # 2016-style sub-folder: the scene is the one before
    (root / index["folder"][1].split("/", 1)[1]).mkdir()
    for name in ("ADE_train_00000002.jpg", "ADE_train_00000002.json"):
        old = root / index["folder"][1].split("/", 1)[1].removesuffix("/indoor") / name
        old.rename(old.parent / "indoor" / name)
    with open(root / "index_ade20k.pkl", "wb") as handle:
        pickle.dump(index, handle)
    loaded = load_ade20k(root, show_progress=False)
    assert {it.id: (it.labels[0], it.split, it.text) for it in loaded.items} == EXPECTED
    del index["folder"]
    with open(root / "index_ade20k.pkl", "wb") as handle:
        pickle.dump(index, handle)
    with pytest.raises(DataFormatError, match=r"index_ade20k\.pkl: index has no field 'folder'"):
        load_ade20k(root, show_progress=False)


def test_no_index_is_a_clear_error(tmp_path):
    with pytest.raises(MissingFileError, match=r"neither index_ade20k\.pkl"):
        load_ade20k(tmp_path, show_progress=False)


def test_cli(tmp_path, capsys):
    from textmanifold.collection import read_collection

    root = make_2016(tmp_path)
    out = tmp_path / "out"
    assert (
        cli(
            "load",
            "ade20k",
            str(root),
            str(out),
            "--release",
            "2016",
            "--names",
            "raw",
            "--split",
            "val",
            "--index",
            str(root / "index_ade20k.mat"),
        )
        == 0
    )
    assert "ade20k: wrote 1 images, 0 pairs" in capsys.readouterr().out
    coll = read_collection(out)
    assert [(it.id, it.text) for it in coll.items] == [("ADE_val_00000001", "sky")]
    assert coll.meta["config"]["filters"]["names"] == "raw"


@pytest.mark.parametrize("release", ["2016", "2021"])
@pytest.mark.parametrize("how", DAMAGES)
def test_a_damaged_image_is_named_or_skipped_and_counted(tmp_path, release, how):
    root = make_2016(tmp_path) if release == "2016" else make_2021(tmp_path)
    image = next(p for p in sorted(root.rglob("*.jpg")) if "_seg" not in p.name)
    assert_refused_then_skipped(
        lambda **kw: load_ade20k(root, show_progress=False, **kw),
        image,
        how,
        lambda loaded: loaded.config["counts"]["missing_image"],
    )
