"""VertexTable: rows, metadata, subsets and extensions against plain list references."""

import json

import pytest

from textmanifold.errors import InputError, MissingFileError
from textmanifold.index.lookup import UnknownIdError, VertexTable

ITEMS = [
    {"id": "a", "kind": "image", "path": "/p/a.png"},
    {"id": "b", "kind": "image", "path": None},
    {"id": "t", "kind": "text", "text": "a red cube"},
]


def test_rows_items_and_image_paths():
    table = VertexTable([r["id"] for r in ITEMS], ITEMS)
    assert len(table) == 3
    assert [table.row(i) for i in ("a", "b", "t")] == [0, 1, 2]
    assert table.row_of() == {"a": 0, "b": 1, "t": 2}
    copy = table.item_at(2)
    copy["text"] = "changed"
    assert table.item_at(2) == ITEMS[2]  # a copy, the table is unchanged
    assert str(table.image_path("a")) == "/p/a.png"
    with pytest.raises(UnknownIdError, match="unknown id 'zz'"):
        table.row("zz")
    with pytest.raises(InputError, match="text vertex"):
        table.image_path("t")
    with pytest.raises(MissingFileError, match="no image path"):
        table.image_path("b")


def test_taken_and_extended_match_list_operations():
    table = VertexTable([r["id"] for r in ITEMS], ITEMS)
    sub = table.taken([2, 0])
    assert sub.ids == ["t", "a"] and sub.items() == [ITEMS[2], ITEMS[0]]
    assert sub.row("a") == 1
    new = {"id": "c", "kind": "image", "path": "/p/c.png"}
    grown = table.extended([new])
    assert grown.ids == ["a", "b", "t", "c"] and grown.items() == [*ITEMS, new]
    assert table.ids == ["a", "b", "t"]  # the original is unchanged


def test_items_are_read_from_the_file_on_first_use(tmp_path):
    path = tmp_path / "items.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in ITEMS))
    table = VertexTable(["a", "b", "t"], items_file=path)
    assert table.items() == ITEMS
    short = VertexTable(["a", "b", "t", "u"], items_file=path)
    with pytest.raises(InputError, match="3 records for 4 ids"):
        short.items()
