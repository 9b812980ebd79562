"""Fashion-IQ loader on a hand-made release (captions, image splits, tags, images)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from _loaders_fixtures import DAMAGES, assert_refused_then_skipped, cli, round_trip, write_image
from textmanifold.errors import DataFormatError, MissingFileError
from textmanifold.loaders.fashioniq import flatten_attributes, load_fashioniq

CAPTIONS = {
    ("dress", "train"): [
        {"candidate": "D1", "target": "D2", "captions": ["is shorter", " is red "]},
        {"candidate": "D3", "target": "D4", "captions": ["has sleeves", "is blue"]},  # D4: none
        {"candidate": "D2", "target": "D1", "captions": ["is longer", "has flowers"]},
    ],
    ("dress", "val"): [
        {"candidate": "D5", "target": "D6", "captions": ["is darker", "is plain"]},
    ],
    ("shirt", "train"): [
        {"candidate": "S1", "target": "S2", "captions": ["has a collar", "is white"]},
        {"candidate": "S2", "target": "S9", "captions": ["is black", "no logo"]},  # S9: no tags
    ],
    ("shirt", "val"): [],
}
SPLITS = {
    ("dress", "train"): ["D1", "D2", "D3", "D4", "D7"],
    ("dress", "val"): ["D5", "D6"],
    ("shirt", "train"): ["S1", "S2", "S9"],
    ("shirt", "val"): ["S3"],
}
TAGS = {
    ("dress", "train"): {
        "D1": [["floral", "maxi"], ["floral"]],
        "D2": [["red"], []],
        "D3": [["long", "sleeve"]],
        "D4": [],
        "D7": [["mini"]],
    },
    ("dress", "val"): {"D5": [["dark"]], "D6": [["plain", "cotton"]]},
    ("shirt", "train"): {"S1": [["collar"]], "S2": [["white", "cotton"]]},
    ("shirt", "val"): {"S3": [["striped"]]},
}


def make_root(tmp_path: Path) -> Path:
    root = tmp_path / "fashion-iq"
    for folder, prefix, table in (
        ("captions", "cap", CAPTIONS),
        ("image_splits", "split", SPLITS),
        ("tags", "asin2attr", TAGS),
    ):
        (root / folder).mkdir(parents=True)
        for (cat, split), value in table.items():
            (root / folder / f"{prefix}.{cat}.{split}.json").write_text(json.dumps(value))
    for asins in SPLITS.values():
        for asin in asins:
            # Some mirrors store PNG: one image is a .png.
            write_image(root / "images" / f"{asin}.{'png' if asin == 'D2' else 'jpg'}")
    return root


def test_pairs_with_side_info_on_both_images(tmp_path):
    loaded = load_fashioniq(make_root(tmp_path), categories="dress,shirt", show_progress=False)
    got = [(p.source, p.target, p.text, p.split) for p in loaded.pairs]
    assert got == [  # sorted by split, source, target
        ("D1", "D2", "is shorter and is red", "train"),
        ("D2", "D1", "is longer and has flowers", "train"),
        ("S1", "S2", "has a collar and is white", "train"),
        ("D5", "D6", "is darker and is plain", "val"),
    ]
    counts = loaded.config["counts"]
    assert (counts["before"], counts["after"]) == (6, 4)
    assert counts["pairs_without_side_info"] == 2
    items = {it.id: it for it in loaded.items}
    assert sorted(items) == sorted({a for v in SPLITS.values() for a in v})
    assert items["D1"].text == "floral, maxi"  # flattened, first appearance, no duplicates
    assert items["D4"].text is None and items["S9"].text is None
    assert items["D2"].path == "images/D2.png"
    assert (items["D5"].split, items["D5"].labels) == ("val", ["dress"])
    assert items["S3"].labels == ["shirt"]
    coll = round_trip(loaded, tmp_path / "out")
    assert len(coll.pairs) == 4


def test_without_the_side_info_filter_and_one_category(tmp_path):
    loaded = load_fashioniq(
        make_root(tmp_path),
        categories="dress",
        split="train",
        require_side_info=False,
        show_progress=False,
    )
    assert len(loaded.pairs) == 3
    assert {it.id for it in loaded.items} == set(SPLITS[("dress", "train")])


def test_test_split_has_images_but_no_pairs(tmp_path):
    root = make_root(tmp_path)
    (root / "captions" / "cap.dress.test.json").write_text(
        json.dumps([{"candidate": "D8", "captions": ["is green", "is long"]}])
    )
    (root / "image_splits" / "split.dress.test.json").write_text(json.dumps(["D8"]))
    (root / "tags" / "asin2attr.dress.test.json").write_text(json.dumps({"D8": [["green"]]}))
    write_image(root / "images" / "D8.jpg")
    loaded = load_fashioniq(root, categories="dress", split="test", show_progress=False)
    assert loaded.pairs == []
    assert [(it.id, it.split, it.text) for it in loaded.items] == [("D8", "test", "green")]
    assert loaded.config["counts"]["pairs_without_target"] == 1


def test_flatten_attributes():
    assert flatten_attributes([["a", "b"], [], ["b", " c "]], "x") == ["a", "b", "c"]
    with pytest.raises(DataFormatError, match="x: attribute 3 is not a string"):
        flatten_attributes([["a", 3]], "x")


def test_invalid_json_names_file_and_line(tmp_path):
    root = make_root(tmp_path)
    path = root / "captions" / "cap.dress.train.json"
    path.write_text('[\n{"candidate": "D1",\n "target": }\n]')
    with pytest.raises(DataFormatError, match=r"cap\.dress\.train\.json: invalid JSON at line 3"):
        load_fashioniq(root, categories="dress", show_progress=False)


def test_malformed_record_names_file_and_record(tmp_path):
    root = make_root(tmp_path)
    path = root / "captions" / "cap.dress.train.json"
    records = CAPTIONS[("dress", "train")] + [{"target": "D1", "captions": ["x", "y"]}]
    path.write_text(json.dumps(records))
    with pytest.raises(
        DataFormatError, match=r"cap\.dress\.train\.json record 3: missing string field 'candidate'"
    ):
        load_fashioniq(root, categories="dress", show_progress=False)


def test_missing_image_and_missing_tags_file(tmp_path):
    root = make_root(tmp_path)
    (root / "images" / "D6.jpg").unlink()
    with pytest.raises(MissingFileError, match=r"images/D6\.jpg: image file not found"):
        load_fashioniq(root, categories="dress", show_progress=False)
    loaded = load_fashioniq(root, categories="dress", skip_missing_images=True, show_progress=False)
    assert loaded.config["counts"]["pairs_missing_image"] == 1
    assert "D6" not in {it.id for it in loaded.items}
    (root / "tags" / "asin2attr.shirt.val.json").unlink()
    with pytest.raises(MissingFileError, match=r"asin2attr\.shirt\.val\.json: file not found"):
        load_fashioniq(root, categories="shirt", show_progress=False)


def test_output_is_byte_identical_across_runs(tmp_path):
    from textmanifold.loaders import load_dataset

    root = make_root(tmp_path)
    first = load_dataset(
        "fashioniq", root, tmp_path / "a", categories="dress,shirt", show_progress=False
    )
    second = load_dataset(
        "fashioniq", root, tmp_path / "b", categories="dress,shirt", show_progress=False
    )
    for name in ("collection.json", "items.jsonl", "pairs.jsonl"):
        assert (first / name).read_bytes() == (second / name).read_bytes()


def test_cli(tmp_path, capsys):
    root = make_root(tmp_path)
    assert (
        cli(
            "load",
            "fashioniq",
            str(root),
            str(tmp_path / "out"),
            "--categories",
            "dress",
            "--split",
            "train",
            "--no-require-side-info",
        )
        == 0
    )
    assert "fashioniq: wrote 5 images, 3 pairs" in capsys.readouterr().out


@pytest.mark.parametrize("how", DAMAGES)
def test_a_damaged_image_is_named_or_skipped_and_counted(tmp_path, how):
    root = make_root(tmp_path)
    image = root / "images" / "D6.jpg"
    assert_refused_then_skipped(
        lambda **kw: load_fashioniq(root, categories="dress", show_progress=False, **kw),
        image,
        how,
        lambda loaded: loaded.config["counts"]["pairs_missing_image"],
    )
