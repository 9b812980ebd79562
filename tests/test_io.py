"""Atomic writes and line-numbered readers of textmanifold.io."""

import json

import numpy as np
import pytest
import scipy.sparse

from textmanifold import io
from textmanifold.errors import DataFormatError, MissingFileError


def test_atomic_write_keeps_old_file_when_writer_fails(tmp_path):
    target = tmp_path / "a.json"
    io.write_json(target, {"v": 1})

    def crash_mid_write():
        with io.atomic_write(target, "w") as handle:
            handle.write('{"v": 2, "half')
            raise RuntimeError("crash mid-write")

    with pytest.raises(RuntimeError, match="crash mid-write"):
        crash_mid_write()
    assert json.loads(target.read_text()) == {"v": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["a.json"]  # no temp file left behind


def test_written_files_get_the_mode_open_would_give(tmp_path):
    import os
    import stat

    io.write_json(tmp_path / "a.json", {"x": 1})
    with open(tmp_path / "b.json", "w") as handle:  # the reference: a plain open()
        handle.write("{}")
    mode = stat.S_IMODE(os.stat(tmp_path / "a.json").st_mode)
    assert mode == stat.S_IMODE(os.stat(tmp_path / "b.json").st_mode)  # not mkstemp's 0600


def test_json_bytes_are_reproducible(tmp_path):
    io.write_json(tmp_path / "a.json", {"b": 1, "a": [1.5, "x"]})
    io.write_json(tmp_path / "b.json", {"a": [1.5, "x"], "b": 1})
    assert (tmp_path / "a.json").read_bytes() == (tmp_path / "b.json").read_bytes()


def test_jsonl_round_trip_and_line_numbers(tmp_path):
    path = tmp_path / "x.jsonl"
    io.write_jsonl(path, [{"id": 1}, {"id": 2}])
    assert [r for _, r in io.iter_jsonl(path)] == [{"id": 1}, {"id": 2}]
    path.write_text('{"id": 1}\n\n{"id": \n')
    with pytest.raises(DataFormatError, match=r"x\.jsonl:3: invalid JSON"):
        list(io.iter_jsonl(path))
    path.write_text('{"id": 1}\n[1, 2]\n')
    with pytest.raises(DataFormatError, match=r"x\.jsonl:2: expected a JSON object"):
        list(io.iter_jsonl(path))


def test_missing_and_corrupt_files_name_the_file(tmp_path):
    with pytest.raises(MissingFileError, match=r"nope\.json"):
        io.read_json(tmp_path / "nope.json")
    bad = tmp_path / "bad.npy"
    bad.write_bytes(b"not an array")
    with pytest.raises(DataFormatError, match=r"bad\.npy"):
        io.load_npy(bad)
    with pytest.raises(DataFormatError, match=r"bad\.npy"):
        io.load_sparse(bad)


def test_arrays_round_trip(tmp_path):
    X = np.arange(12, dtype=np.float32).reshape(3, 4)
    io.save_npy(tmp_path / "x.npy", X)
    np.testing.assert_array_equal(io.load_npy(tmp_path / "x.npy"), X)
    M = scipy.sparse.random(20, 20, density=0.1, random_state=0, format="csr")
    io.save_sparse(tmp_path / "m.npz", M)
    assert (io.load_sparse(tmp_path / "m.npz") != M).nnz == 0
