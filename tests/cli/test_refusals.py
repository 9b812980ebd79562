"""The command line's last tracebacks and silent answers (issue 18, part 4): each case
exits 2 with one ``error:`` line naming the file or option, and changes nothing."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse
from PIL import Image

from _cli_fixtures import refused, succeeded, tree_hash
from textmanifold.images import MAX_IMAGE_PIXELS
from textmanifold.index import ManifoldIndex


@pytest.fixture
def index_copy(tiny_index_dir, tmp_path) -> Path:
    """A copy of the tiny run-backed index (tests may not change the shared one)."""
    shutil.copytree(tiny_index_dir, tmp_path / "index")
    return tmp_path / "index"


def _run_and_collection(index_dir: Path) -> tuple[str, str]:
    manifest = json.loads((index_dir / "manifest.json").read_text())
    return manifest["model"]["run"], manifest["collection"]


@pytest.mark.parametrize(
    ("size", "message"),
    [
        ((20000, 20000), f"more pixels than the {MAX_IMAGE_PIXELS:,} this tool decodes"),
        ((12000, 12000), f"12000x12000 pixels is more than the {MAX_IMAGE_PIXELS:,}"),
    ],
)
def test_search_image_refuses_images_above_the_pixel_bound(
    index_copy, tmp_path, capsys, size, message
):
    big = tmp_path / "big.png"
    Image.new("1", size).save(big)  # a few tens of kB that decode to gigabytes
    assert big.stat().st_size < 500_000
    before = tree_hash(tmp_path)
    err = refused(["search", index_copy, "--image", big], capsys)
    assert str(big) in err and message in err
    assert tree_hash(tmp_path) == before


def test_search_text_with_bytes_that_are_not_utf8(index_copy, capsys):
    text = b"caf\xe9 \xff".decode("utf-8", "surrogateescape")  # what the shell passes on
    before = tree_hash(index_copy)
    err = refused(["search", index_copy, "--text", text], capsys)
    assert "text query is not valid UTF-8 text (character 4" in err
    err = refused(["search", index_copy, "--id", "img0000", "--modify", text], capsys)
    assert "modify query is not valid UTF-8" in err
    assert tree_hash(index_copy) == before


@pytest.mark.parametrize(
    ("device", "message"),
    [
        ("bogus", "unknown device 'bogus'"),
        ("cuda", "device 'cuda' was asked for, but torch sees no CUDA device"),
    ],
)
def test_index_build_checks_the_device_before_embedding(
    index_copy, tmp_path, capsys, device, message
):
    import torch

    if device == "cuda" and torch.cuda.is_available():
        pytest.skip("this machine has a CUDA device")
    run, collection = _run_and_collection(index_copy)
    out = tmp_path / "new"
    before = tree_hash(tmp_path)
    err = refused(
        ["index", "build", collection, run, "--out", out, "--device", device, "--no-progress"],
        capsys,
    )
    assert message in err
    assert not out.exists() and not (tmp_path / "new.partial").exists()
    assert tree_hash(tmp_path) == before


def test_an_npz_where_an_npy_goes_is_named(index_copy, tmp_path, capsys):
    archive = tmp_path / "vectors.npz"
    np.savez(archive, a=np.ones(8, np.float32))
    npy = tmp_path / "image.npy"
    np.save(npy, np.eye(3, dtype=np.float32))
    (tmp_path / "image.ids.json").write_text('["a", "b", "c"]')
    message = f"{archive}: is a .npz archive of arrays, not one .npy array"
    before = tree_hash(tmp_path)
    assert message in refused(["search", index_copy, "--vector", archive], capsys)
    assert message in refused(
        ["align", "--image", archive, "--text", npy, "--out", tmp_path / "o.npy"], capsys
    )
    _, collection = _run_and_collection(index_copy)
    assert message in refused(
        [
            "index",
            "build",
            collection,
            "--image-embeddings",
            archive,
            "--out",
            tmp_path / "i",
            "--no-progress",
        ],
        capsys,
    )
    assert tree_hash(tmp_path) == before


def test_index_add_refuses_conflicting_ids_and_replaces_them_when_asked(
    tiny_index, tmp_path, capsys
):
    index_dir = tmp_path / "index"
    ids = [i for i in tiny_index.ids if tiny_index.item(i)["kind"] == "image"][:2]
    rows = np.asarray(tiny_index.vectors)[[tiny_index.row(i) for i in ids]]
    built = ManifoldIndex.from_arrays(  # an index of bare vectors: no alignment to undo
        _vertices(np.asarray(tiny_index.vectors), tiny_index), threshold=tiny_index.threshold
    )
    built.save(index_dir)
    moved = np.roll(rows, 1, axis=1)
    np.save(tmp_path / "new.npy", moved)
    (tmp_path / "new.ids.json").write_text(json.dumps(ids))
    before = tree_hash(index_dir)
    err = refused(["index", "add", index_dir, "--image-embeddings", tmp_path / "new.npy"], capsys)
    assert "2 ids are already in the index with another item" in err and repr(ids[0]) in err
    assert tree_hash(index_dir) == before
    np.save(tmp_path / "wide.npy", np.eye(2, 9, dtype=np.float32))
    (tmp_path / "wide.ids.json").write_text(json.dumps(ids))
    assert "dimension 9, the index 8" in refused(
        ["index", "add", index_dir, "--image-embeddings", tmp_path / "wide.npy"], capsys
    )
    out, _ = succeeded(
        ["index", "add", index_dir, "--image-embeddings", tmp_path / "new.npy", "--replace"], capsys
    )
    assert "2 vertices added or replaced" in out
    after = ManifoldIndex.load(index_dir)
    for i, row in zip(ids, moved, strict=True):
        np.testing.assert_allclose(after.vectors[after.row(i)], row, atol=1e-6)


def _vertices(X: np.ndarray, index):
    from textmanifold.index import Vertices

    image = [i for i in index.ids if index.item(i)["kind"] == "image"]
    text = [i for i in index.ids if index.item(i)["kind"] == "text"]
    rows = {i: r for r, i in enumerate(index.ids)}
    items = [
        {"id": i, "kind": "image", "path": None, "text": None, "labels": []} for i in image
    ] + [{"id": t, "kind": "text", "path": None, "text": None, "labels": []} for t in text]
    return Vertices(X[[rows[i] for i in image]], image, X[[rows[t] for t in text]], text, items)


def test_collection_validate_blames_the_integer_id_itself(tmp_path, capsys):
    from textmanifold.collection import Item, Pair, write_collection

    write_collection(
        tmp_path / "c",
        name="c",
        items=[Item(id=f"i{n}", modality="image", path=f"{n}.png") for n in range(3)],
        pairs=[Pair("i0", "i2", "move it", "train")],
    )
    lines = (tmp_path / "c" / "items.jsonl").read_text().splitlines()
    record = json.loads(lines[2])
    record["id"] = 3
    lines[2] = json.dumps(record)
    (tmp_path / "c" / "items.jsonl").write_text("\n".join(lines) + "\n")
    before = tree_hash(tmp_path)
    err = refused(["collection", "validate", tmp_path / "c", "--no-images"], capsys)
    assert f"{tmp_path / 'c' / 'items.jsonl'}:3: id must be a non-empty string, got 3" in err
    assert tree_hash(tmp_path) == before


def test_paths_count_names_a_reachable_matrix_with_too_few_scenes(tmp_path, capsys):
    X = np.eye(4, 3, dtype=np.float32)
    X[3] = [0.6, 0.8, 0.0]
    np.save(tmp_path / "image.npy", X)
    (tmp_path / "image.ids.json").write_text('["a", "b", "c", "d"]')
    items = [
        {"id": i, "modality": "image", "path": f"{i}.png", "scene": n} for n, i in enumerate("abcd")
    ]
    (tmp_path / "items.jsonl").write_text("".join(json.dumps(r) + "\n" for r in items))
    scipy.sparse.save_npz(tmp_path / "r.npz", scipy.sparse.csr_matrix(np.eye(2, dtype=bool)))
    before = tree_hash(tmp_path)
    err = refused(
        [
            "paths",
            "count",
            "--items",
            tmp_path / "items.jsonl",
            "--reachable",
            tmp_path / "r.npz",
            "--embeddings",
            tmp_path / "image.npy",
            "--threshold",
            "1.0",
            "--no-progress",
        ],
        capsys,
    )
    assert f"{tmp_path / 'r.npz'}: shape (2, 2), but the items name scenes 0..3" in err
    assert tree_hash(tmp_path) == before


def test_weights_that_are_an_image_are_one_line_and_leave_no_run(tiny_index_dir, tmp_path, capsys):
    _, collection = _run_and_collection(tiny_index_dir)
    png = tmp_path / "weights.png"
    Image.new("RGB", (8, 8)).save(png)
    before = tree_hash(tmp_path)
    err = refused(
        [
            "train",
            "joint",
            collection,
            "--out",
            tmp_path / "run",
            "--weights",
            png,
            "--steps",
            "1",
            "--batch-size",
            "4",
            "--image-size",
            "32",
            "--dim",
            "8",
            "--text-cache",
            tmp_path / "cache",
            "--no-progress",
        ],
        capsys,
    )
    assert f"{png}: not a readable torch state dict (not a PyTorch file of tensors)" in err
    assert tree_hash(tmp_path) == before  # no run directory, no cache left behind


def test_commands_that_load_the_sentence_encoder_print_nothing_else_on_success(
    tiny_index_dir, tmp_path
):
    # a subprocess, as a user runs it: pytest would capture a warning before stderr does
    import os
    import subprocess
    import sys

    import textmanifold

    source = str(Path(textmanifold.__file__).resolve().parents[1])
    env = {**os.environ, "PYTHONPATH": source, "PYTHONWARNINGS": "default"}
    run, collection = _run_and_collection(tiny_index_dir)
    commands = [
        ["search", tiny_index_dir, "--text", "a red circle", "--k", "2"],
        ["index", "build", collection, run, "--out", tmp_path / "i", "--no-progress"],
    ]
    for command in commands:
        done = subprocess.run(
            [sys.executable, "-m", "textmanifold", *map(str, command)],
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert done.returncode == 0, done.stderr
        assert done.stderr == "", done.stderr
