"""``load folder``: a hand-made folder of photos against a hand-written expectation."""

from __future__ import annotations

import json
import os

import pytest

from _cli_fixtures import refused, succeeded
from _loaders_fixtures import damage, round_trip, write_image
from textmanifold.errors import DataFormatError
from textmanifold.loaders.folder import load_folder


def make_folder(root):
    """Nested class folders, sidecar captions, a CSV of captions, one uncaptioned image,
    one corrupt file, a non-image, and a link that points out of the folder."""
    write_image(root / "cats" / "tom.jpg", (200, 0, 0))
    (root / "cats" / "tom.txt").write_text("a  grey cat\non a sofa\n")
    write_image(root / "cats" / "deep" / "felix.png", (0, 200, 0))
    write_image(root / "dogs" / "rex.webp", (0, 0, 200))
    write_image(root / "dogs" / "rex.png", (0, 0, 100))  # same stem, other file
    write_image(root / "top.gif", (90, 90, 90))  # no folder label, no caption
    damage(write_image(root / "dogs" / "broken.jpg"), "truncated")
    (root / "notes.md").write_text("not an image")
    outside = root.parent / "elsewhere.png"
    write_image(outside)
    os.symlink(outside, root / "cats" / "link.png")
    (root.parent / "captions.csv").write_text(
        "path,caption\n"
        "dogs/rex.webp,a blue dog\n"
        "dogs/rex.webp,a dog in the rain\n"
        "cats/deep/felix.png,a green cat\n"
    )
    (root.parent / "pairs.jsonl").write_text(
        json.dumps({"source": "dogs/rex.webp", "target": "dogs/rex.png", "text": "make it darker"})
        + "\n"
    )
    return root


EXPECTED = [  # (id, modality, text, labels)
    ("cats/deep/felix.png", "image", "a green cat", ["cats"]),
    ("cats/tom.jpg", "image", "a grey cat on a sofa", ["cats"]),
    ("dogs/rex.png", "image", None, ["dogs"]),
    ("dogs/rex.webp", "image", "a blue dog", ["dogs"]),
    ("top.gif", "image", None, []),
    ("dogs/rex.webp#2", "text", "a dog in the rain", ["dogs"]),
]


def _load(tmp_path, **options):
    root = make_folder(tmp_path / "photos")
    return load_folder(
        root,
        captions=tmp_path / "captions.csv",
        labels_from_folders=True,
        pairs=tmp_path / "pairs.jsonl",
        show_progress=False,
        **options,
    )


def test_a_folder_gives_the_expected_items_labels_and_pairs(tmp_path):
    loaded = _load(tmp_path, skip_bad_images=True)
    got = [(it.id, it.modality, it.text, it.labels) for it in loaded.items]
    assert got == EXPECTED
    assert [it.path for it in loaded.items if it.modality == "image"] == [
        e[0] for e in EXPECTED if e[1] == "image"
    ]  # paths point at the user's files
    assert [(p.source, p.target, p.text, p.split) for p in loaded.pairs] == [
        ("dogs/rex.webp", "dogs/rex.png", "make it darker", "train")
    ]
    counts = loaded.config["counts"]
    assert counts["bad_images_skipped"] == 1 and counts["links_outside_root"] == 1
    assert counts["captioned"] == 3 and counts["extra_captions"] == 1
    coll = round_trip(loaded, tmp_path / "coll")  # collection validate accepts it
    assert coll.image_path(coll.items[0]) == (tmp_path / "photos" / "cats/deep/felix.png")


def test_a_corrupt_image_is_named_unless_skipped(tmp_path):
    with pytest.raises(
        DataFormatError,
        match=r"dogs/broken\.jpg: unreadable image.*"
        r"--skip-bad-images",
    ):
        _load(tmp_path)


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ("path,caption\nmissing.jpg,x\n", "captions.csv:2: no image 'missing.jpg'"),
        ("file,caption\ncats/tom.jpg,x\n", "captions.csv:2: missing column 'path'"),
    ],
)
def test_caption_tables_that_name_no_image_are_refused(tmp_path, table, message):
    root = make_folder(tmp_path / "photos")
    (tmp_path / "captions.csv").write_text(table)
    with pytest.raises(DataFormatError, match=message):
        load_folder(
            root, captions=tmp_path / "captions.csv", skip_bad_images=True, show_progress=False
        )


def test_tsv_jsonl_and_parquet_captions_with_other_column_names(tmp_path):
    pytest.importorskip("pyarrow")
    import pyarrow as pa
    import pyarrow.parquet as pq

    root = make_folder(tmp_path / "photos")
    rows = [("dogs/rex.png", "a dark dog"), ("top.gif", "a grey square")]
    (tmp_path / "c.tsv").write_text("file\ttext\n" + "".join(f"{a}\t{b}\n" for a, b in rows))
    (tmp_path / "c.jsonl").write_text(
        "".join(json.dumps({"file": a, "text": b}) + "\n" for a, b in rows)
    )
    pq.write_table(
        pa.table({"file": [a for a, _ in rows], "text": [b for _, b in rows]}),
        tmp_path / "c.parquet",
    )
    for name in ("c.tsv", "c.jsonl", "c.parquet"):
        loaded = load_folder(
            root,
            captions=tmp_path / name,
            path_column="file",
            caption_column="text",
            skip_bad_images=True,
            show_progress=False,
        )
        texts = {it.id: it.text for it in loaded.items}
        assert texts["dogs/rex.png"] == "a dark dog" and texts["top.gif"] == "a grey square"


def test_the_command_writes_a_collection_and_counts_what_it_skipped(tmp_path, capsys):
    root = make_folder(tmp_path / "photos")
    args = [
        "load",
        "folder",
        root,
        tmp_path / "coll",
        "--captions",
        tmp_path / "captions.csv",
        "--labels-from-folders",
        "--no-progress",
    ]
    assert "dogs/broken.jpg: unreadable image" in refused(args, capsys)
    assert not (tmp_path / "coll").exists()
    out, _ = succeeded([*args, "--skip-bad-images"], capsys)
    assert "folder: wrote 5 images" in out and "1 unreadable images skipped" in out
    succeeded(["collection", "validate", tmp_path / "coll"], capsys)
