"""Sharded embeddings: write, read back in order, resume bookkeeping, clear errors."""

import numpy as np
import pytest

from textmanifold.collection import load_embedding, save_embedding
from textmanifold.errors import DataFormatError, InputError, MissingFileError
from textmanifold.shards import (
    load_vectors,
    missing_shards,
    open_sharded,
    shard_paths,
    shard_ranges,
    write_shard,
)

pq = pytest.importorskip("pyarrow.parquet")


def write_all(root, X, ids, shard_size, skip=()):
    manifest = open_sharded(root, len(X), shard_size, X.shape[1], {"what": "test"})
    for i, (start, stop) in enumerate(shard_ranges(len(X), shard_size)):
        if i not in skip:
            write_shard(
                root, i, X[start:stop], ids[start:stop], [f"img/{k}.png" for k in ids[start:stop]]
            )
    return manifest


def test_sharded_reads_back_like_the_single_file(tmp_path):
    X = np.random.default_rng(0).normal(size=(23, 4)).astype(np.float32)
    ids = [f"i{k:02d}" for k in range(23)]
    manifest = write_all(tmp_path / "s", X, ids, 5)
    assert manifest["shards"] == 5 and shard_ranges(23, 5)[-1] == (20, 23)
    save_embedding(tmp_path / "one.npy", X, ids)
    for path in (tmp_path / "s", tmp_path / "one.npy"):
        Y, got = load_embedding(path)
        np.testing.assert_array_equal(Y, X)
        assert got == ids
    np.testing.assert_array_equal(load_vectors(tmp_path / "s"), X)
    table = pq.read_table(shard_paths(tmp_path / "s", 1)[1]).to_pydict()
    assert table == {"id": ids[5:10], "path": [f"img/{k}.png" for k in ids[5:10]]}


def test_missing_shards_are_listed_and_block_reading(tmp_path):
    X = np.ones((10, 2), np.float32)
    manifest = write_all(tmp_path / "s", X, [str(k) for k in range(10)], 3, skip=(1, 3))
    assert missing_shards(tmp_path / "s", manifest) == [1, 3]
    with pytest.raises(MissingFileError, match="2 of 4 shards are missing"):
        load_embedding(tmp_path / "s")
    with pytest.raises(InputError, match="shard_size"):
        open_sharded(tmp_path / "s", 10, 4, 2, {"what": "test"})


def test_a_shard_of_the_wrong_shape_is_named(tmp_path):
    X = np.ones((6, 2), np.float32)
    write_all(tmp_path / "s", X, [str(k) for k in range(6)], 3)
    np.save(shard_paths(tmp_path / "s", 1)[0], np.ones((3, 5), np.float32))
    with pytest.raises(DataFormatError, match=r"1\.npy: shape \(3, 5\)"):
        load_embedding(tmp_path / "s")
