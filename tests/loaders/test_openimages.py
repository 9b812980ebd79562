"""Open Images loader on hand-made validation tables in the official CSV / JSONL formats."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from _loaders_fixtures import DAMAGES, assert_refused_then_skipped, cli, round_trip, write_image
from textmanifold.errors import DataFormatError, MissingFileError
from textmanifold.loaders.openimages import load_openimages

A, B, C, D, E = (f"{n:016x}" for n in (0xA1, 0xB2, 0xC3, 0xD4, 0xE5))
CLASSES = [
    ("/m/01", "Person"),
    ("/m/02", "Dog"),
    ("/m/03", "Car"),
    ("/m/04", "Tree"),
    ("/m/05", "Building"),
]
LABELS = [  # ImageID, LabelName, Confidence
    (A, "/m/01", 1),
    (A, "/m/02", 1),
    (A, "/m/03", 0),
    (B, "/m/03", 1),
    (B, "/m/04", 1),
    (C, "/m/04", 1),
    (C, "/m/05", 1),
    (D, "/m/01", 0),
    (E, "/m/02", 1),
    (E, "/m/01", 1),
]
BOXES = [  # ImageID, LabelName, XMin, XMax, YMin, YMax
    (A, "/m/01", 0.1, 0.6, 0.2, 0.7),  # 0.25: the largest verified box
    (A, "/m/02", 0.0, 0.2, 0.0, 0.2),  # 0.04
    (A, "/m/03", 0.0, 0.9, 0.0, 0.9),  # larger, but Car is verified absent in A: ignored
    (B, "/m/04", 0.0, 0.4, 0.0, 0.5),  # 0.2
    (B, "/m/03", 0.5, 1.0, 0.5, 0.9),  # 0.2 as well: tie -> "Car" < "Tree"
    (E, "/m/02", 0.0, 0.1, 0.0, 0.1),
    (E, "/m/01", 0.2, 0.8, 0.2, 0.8),
]
NARRATIVES = [
    (A, "A man walks  his dog."),
    (A, "Second narrative."),
    (B, "A car by a tree."),
    (E, "A person and a dog."),
]
# C has no box: its most significant label falls back to its most frequent label overall
# (Tree: 2 images, Building: 1).
EXPECTED = {
    A: (["Person", "Dog"], "A man walks his dog."),
    B: (["Car", "Tree"], "A car by a tree."),
    C: (["Tree", "Building"], None),
    E: (["Person", "Dog"], "A person and a dog."),
}


def _csv(path: Path, header: str | None, rows) -> None:
    lines = [header] if header else []
    lines += [",".join(str(v) for v in row) for row in rows]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n")


def make_root(tmp_path: Path, *, v7: bool = False) -> Path:
    root = tmp_path / "openimages"
    classes = "oidv7-class-descriptions.csv" if v7 else "oidv6-class-descriptions.csv"
    # V7's header line is unconfirmed: the V7 fixture has none, the V6 one has one.
    _csv(root / classes, None if v7 else "LabelName,DisplayName", CLASSES)
    labels = (
        "oidv7-val-annotations-human-imagelabels.csv"
        if v7
        else "validation-annotations-human-imagelabels.csv"
    )
    _csv(
        root / labels,
        "ImageID,Source,LabelName,Confidence",
        [(i, "verification", m, c) for i, m, c in LABELS],
    )
    _csv(
        root / "validation-annotations-bbox.csv",
        "ImageID,Source,LabelName,Confidence,XMin,XMax,YMin,YMax,IsOccluded,IsTruncated,"
        "IsGroupOf,IsDepiction,IsInside",
        [(i, "xclick", m, 1, *xy, 0, 0, 0, 0, 0) for i, m, *xy in BOXES],
    )
    records = [
        {
            "dataset_id": "open_images",
            "image_id": i,
            "annotator_id": 7,
            "caption": c,
            "timed_caption": [],
            "traces": [],
            "voice_recording": "x.ogg",
        }
        for i, c in NARRATIVES
    ]
    (root / "open_images_validation_localized_narratives.jsonl").write_text(
        "".join(json.dumps(r) + "\n" for r in records)
    )
    for image in (A, B, C, D, E):
        write_image(root / "validation" / f"{image}.jpg")
    return root


@pytest.mark.parametrize("v7", [False, True])
def test_labels_most_significant_first_and_captions(tmp_path, v7):
    loaded = load_openimages(make_root(tmp_path, v7=v7), show_progress=False)
    got = {it.id: (it.labels, it.text) for it in loaded.items}
    assert got == EXPECTED
    assert [it.id for it in loaded.items] == sorted(EXPECTED)
    counts = loaded.config["counts"]
    assert counts["before"] == 5 and counts["after"] == 4  # D has no verified positive label
    assert counts["most_significant_from_box"] == 3
    assert counts["most_significant_fallback"] == 1
    assert counts["images_with_several_narratives"] == 1
    assert counts["classes"] == 5
    coll = round_trip(loaded, tmp_path / "out")
    assert coll.items[0].path == f"validation/{A}.jpg"


def test_require_caption_and_tolerant_image_folder(tmp_path):
    root = make_root(tmp_path)
    moved = root / "images" / "validation" / f"{B}.jpg"
    moved.parent.mkdir(parents=True)
    (root / "validation" / f"{B}.jpg").rename(moved)
    loaded = load_openimages(root, require_caption=True, show_progress=False)
    assert [it.id for it in loaded.items] == [A, B, E]
    assert loaded.items[1].path == f"images/validation/{B}.jpg"
    assert loaded.config["counts"]["no_caption_dropped"] == 1


def test_explicit_file_options_override_the_search(tmp_path):
    root = make_root(tmp_path)
    elsewhere = tmp_path / "tables" / "my-labels.csv"
    elsewhere.parent.mkdir()
    (root / "validation-annotations-human-imagelabels.csv").rename(elsewhere)
    with pytest.raises(MissingFileError, match="human-verified image labels CSV not found"):
        load_openimages(root, show_progress=False)
    loaded = load_openimages(root, labels_csv=elsewhere, show_progress=False)
    assert len(loaded.items) == 4


def test_missing_column_names_file_and_line(tmp_path):
    root = make_root(tmp_path)
    path = root / "validation-annotations-human-imagelabels.csv"
    _csv(path, "ImageID,Source,LabelName", [(A, "verification", "/m/01")])
    with pytest.raises(DataFormatError, match=r"imagelabels\.csv:1: missing column 'Confidence'"):
        load_openimages(root, show_progress=False)


def test_unknown_label_id_names_file_and_line(tmp_path):
    root = make_root(tmp_path)
    path = root / "validation-annotations-human-imagelabels.csv"
    with open(path, "a") as handle:
        handle.write(f"{E},verification,/m/99,1\n")
    line = len(LABELS) + 2  # header + rows + the new one
    with pytest.raises(
        DataFormatError, match=rf"imagelabels\.csv:{line}: unknown label id '/m/99'"
    ):
        load_openimages(root, show_progress=False)


def test_bad_box_coordinate_and_bad_narrative_json(tmp_path):
    root = make_root(tmp_path)
    boxes = root / "validation-annotations-bbox.csv"
    text = boxes.read_text().splitlines()
    text[4] = text[4].replace("0.4", "wide", 1)  # B's Tree box: a row that is used
    boxes.write_text("\n".join(text) + "\n")
    with pytest.raises(DataFormatError, match=r"bbox\.csv:5: XMax 'wide' is not a number"):
        load_openimages(root, show_progress=False)
    root = make_root(tmp_path / "again")
    narratives = root / "open_images_validation_localized_narratives.jsonl"
    narratives.write_text(narratives.read_text() + '{"image_id": "x", \n')
    with pytest.raises(DataFormatError, match=r"narratives\.jsonl:5: invalid JSON"):
        load_openimages(root, show_progress=False)


def test_missing_image_names_the_file(tmp_path):
    root = make_root(tmp_path)
    (root / "validation" / f"{C}.jpg").unlink()
    with pytest.raises(MissingFileError, match=rf"validation/{C}\.jpg: image file not found"):
        load_openimages(root, show_progress=False)
    loaded = load_openimages(root, skip_missing_images=True, show_progress=False)
    assert [it.id for it in loaded.items] == [A, B, E]


def test_cli(tmp_path, capsys):
    root = make_root(tmp_path)
    labels = root / "validation-annotations-human-imagelabels.csv"
    assert (
        cli(
            "load",
            "openimages",
            str(root),
            str(tmp_path / "out"),
            "--require-caption",
            "--labels-csv",
            str(labels),
        )
        == 0
    )
    assert "openimages: wrote 3 images, 0 pairs" in capsys.readouterr().out


@pytest.mark.parametrize("v7", [False, True])
@pytest.mark.parametrize("how", DAMAGES)
def test_a_damaged_image_is_named_or_skipped_and_counted(tmp_path, v7, how):
    root = make_root(tmp_path, v7=v7)
    image = root / "validation" / f"{C}.jpg"
    assert_refused_then_skipped(
        lambda **kw: load_openimages(root, show_progress=False, **kw),
        image,
        how,
        lambda loaded: 4 - len(loaded.items),
    )
