"""IndexManifest: from_json checks every field and names the file and key; to_json gives
the same JSON object back (the on-disk format does not change)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from _index_fixtures import vertices
from textmanifold.errors import DataFormatError
from textmanifold.index import ManifoldIndex
from textmanifold.index.manifest import REQUIRED, Counts, IndexManifest

SOURCE = "/some/index/manifest.json"


def valid() -> dict:
    return {
        "format": "textmanifold-index",
        "format_version": 1,
        "created_by": "textmanifold 0.1",
        "model": None,
        "encoder": None,
        "seed": 0,
        "collection": None,
        "dim": 3,
        "threshold": 0.4,
        "target_degree": None,
        "metric": "great-circle radians",
        "align": None,
        "counts": {"vertices": 5, "images": 3, "texts": 2, "edges": 4},
    }


def test_round_trip_is_the_same_object():
    data = valid()
    record = IndexManifest.from_json(data, SOURCE)
    assert record.counts == Counts(5, 3, 2, 4) and record.threshold == 0.4
    assert record.to_json() == data
    record.to_json()["counts"]["edges"] = 99  # a copy: the record does not change
    assert record.counts.edges == 4


def test_unknown_keys_are_kept_and_a_missing_seed_stays_missing():
    data = {k: v for k, v in valid().items() if k != "seed"} | {"note": {"a": [1]}}
    record = IndexManifest.from_json(data, SOURCE)
    assert record.seed is None and record.extra == {"note": {"a": [1]}}
    assert record.to_json() == data


def test_a_missing_optional_field_reads_as_null():
    data = {k: v for k, v in valid().items() if k not in ("encoder", "align", "metric")}
    record = IndexManifest.from_json(data, SOURCE)
    assert (record.encoder, record.align, record.metric) == (None, None, None)
    assert record.to_json() == data | {"encoder": None, "align": None, "metric": None}


@pytest.mark.parametrize("key", REQUIRED[2:])
def test_a_missing_required_key_is_named(key):
    data = valid()
    del data[key]
    with pytest.raises(DataFormatError, match=f"^{SOURCE}: missing field '{key}'$"):
        IndexManifest.from_json(data, SOURCE)


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("created_by", 3, "'created_by' must be a string"),
        ("dim", 0, "'dim' must be a positive integer"),
        ("dim", True, "'dim' must be a positive integer"),
        ("threshold", 4.0, "'threshold' must be a number of radians in (0, pi]"),
        ("threshold", "0.4", "'threshold' must be a number of radians"),
        ("target_degree", -1, "'target_degree' must be null or a positive number"),
        ("seed", 1.5, "'seed' must be an integer"),
        ("collection", 7, "'collection' must be null or a string"),
        ("align", [1], "'align' must be null or an object"),
        ("model", "run", "'model' must be null or an object"),
        ("model", {"run": "/r", "checksum": None}, "'model.checksum' must be a string"),
        ("model", {"kind": 3}, "'model.kind' must be a string"),
        ("encoder", {"name": "x"}, "'encoder' must be null or an object with a 'kind'"),
        ("counts", {"vertices": 5, "images": 3}, "'counts' must give vertices, images"),
        ("counts", {"vertices": 6, "images": 3, "texts": 2, "edges": 0}, "is not 6 vertices"),
    ],
)
def test_a_bad_value_is_named_with_its_file(key, value, message):
    data = valid() | {key: value}
    with pytest.raises(DataFormatError) as info:
        IndexManifest.from_json(data, SOURCE)
    assert str(info.value).startswith(f"{SOURCE}: ") and message in str(info.value)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ([1, 2], "not a textmanifold index manifest"),
        (valid() | {"format": "other"}, "not a textmanifold index manifest"),
        (valid() | {"format_version": 2}, "format_version 2 is not 1; rebuild the index"),
    ],
)
def test_not_an_index_manifest(data, message):
    with pytest.raises(DataFormatError, match=message):
        IndexManifest.from_json(data, SOURCE)


def test_query_kinds_follow_the_model_and_encoder():
    def kinds(**fields):
        return IndexManifest.from_json(valid() | fields, SOURCE).query_kinds()

    assert kinds() == ["id", "vector"]
    assert kinds(encoder={"kind": "sentence-transformers"}) == ["id", "vector", "text"]
    assert kinds(encoder={"kind": "open_clip"}) == ["id", "vector", "text", "image"]
    run = {"run": "/r", "kind": "compose", "checksum": "c"}
    assert kinds(model=run) == ["id", "vector", "text", "image", "modify"]


def test_a_saved_index_writes_what_the_record_says(tmp_path):
    index = ManifoldIndex.from_arrays(vertices(np.random.default_rng(0), 20, 10), threshold=0.5)
    index.save(tmp_path / "index")
    on_disk = json.loads((tmp_path / "index" / "manifest.json").read_text())
    assert on_disk == index.manifest == index.info.to_json()
    assert sorted(on_disk) == sorted(
        [
            "format",
            "format_version",
            "created_by",
            "model",
            "encoder",
            "seed",
            "collection",
            "dim",
            "threshold",
            "target_degree",
            "metric",
            "align",
            "counts",
        ]
    )
    loaded = ManifoldIndex.load(tmp_path / "index")
    assert loaded.info == index.info and loaded.info.counts.vertices == 30
