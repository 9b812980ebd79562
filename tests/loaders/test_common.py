"""The loaders' streaming CSV reader and output-directory guard."""

from __future__ import annotations

import pytest

from textmanifold.errors import DataFormatError, InputError, MissingFileError
from textmanifold.loaders import LOADERS, load_dataset
from textmanifold.loaders._common import iter_csv, prepare_output


def test_iter_csv_selects_columns_by_header_and_counts_lines(tmp_path):
    path = tmp_path / "t.csv"
    path.write_bytes('\ufeffB,A,C\n1,"x, y",3\n\n4,"two\nlines",6\n7,z,9\n'.encode())
    rows = list(iter_csv(path, ("A", "B"), show_progress=False))
    assert rows == [
        (2, {"A": "x, y", "B": "1"}),
        (5, {"A": "two\nlines", "B": "4"}),
        (6, {"A": "z", "B": "7"}),
    ]


def test_iter_csv_optional_header(tmp_path):
    with_header = tmp_path / "h.csv"
    with_header.write_text("LabelName,DisplayName\n/m/1,Cat\n")
    without = tmp_path / "n.csv"
    without.write_text("/m/1,Cat\n/m/2,Dog\n")
    columns = ("LabelName", "DisplayName")
    assert [
        r for _, r in iter_csv(with_header, columns, header="optional", show_progress=False)
    ] == [{"LabelName": "/m/1", "DisplayName": "Cat"}]
    assert [n for n, _ in iter_csv(without, columns, header="optional", show_progress=False)] == [
        1,
        2,
    ]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"A,B\n1,2\n3\n", r"t\.csv:3: expected at least 2 fields, got 1"),
        (b"A,B\n1,\xff\n", r"t\.csv:2: not UTF-8 text"),
        (b"A,C\n1,2\n", r"t\.csv:1: missing column 'B' \(header has A, C\)"),
        (b"", r"t\.csv: empty file"),
    ],
)
def test_iter_csv_errors_name_file_and_line(tmp_path, content, message):
    path = tmp_path / "t.csv"
    path.write_bytes(content)
    with pytest.raises(DataFormatError, match=message):
        list(iter_csv(path, ("A", "B"), show_progress=False))


def test_iter_csv_missing_file(tmp_path):
    with pytest.raises(MissingFileError, match=r"nope\.csv: file not found"):
        list(iter_csv(tmp_path / "nope.csv", ("A",), show_progress=False))


def test_prepare_output(tmp_path):
    out = tmp_path / "out"
    assert prepare_output(out).is_dir()
    (out / "items.jsonl").write_text("")
    with pytest.raises(InputError, match="not empty"):
        prepare_output(out)
    prepare_output(out, force=True)
    assert list(out.iterdir()) == []
    (tmp_path / "file").write_text("")
    with pytest.raises(InputError, match="not a directory"):
        prepare_output(tmp_path / "file", force=True)


def test_registry_names_and_unknown_dataset(tmp_path):
    assert sorted(LOADERS) == ["ade20k", "clevr", "css", "fashioniq", "folder", "openimages"]
    with pytest.raises(InputError, match="unknown dataset 'coco'"):
        load_dataset("coco", tmp_path, tmp_path / "out")


def test_load_dataset_checks_its_output_before_reading(tmp_path):
    # The dataset root does not exist: an unusable OUT must be named first, before a
    # (possibly long) read fails or succeeds.
    (tmp_path / "file").write_text("")
    with pytest.raises(InputError, match="file: exists and is not a directory"):
        load_dataset("css", tmp_path / "no-such-root", tmp_path / "file")
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "keep.txt").write_text("")
    with pytest.raises(InputError, match="not empty"):
        load_dataset("ade20k", tmp_path / "no-such-root", tmp_path / "full")
