"""The index directory on disk: every file validated on load, and --force that replaces an
index and nothing else (atomically, with stale temporary directories cleared)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse

import textmanifold
from _cli_fixtures import refused, succeeded, tree_hash
from _index_fixtures import vertices
from textmanifold.collection import Item, write_collection
from textmanifold.errors import DataFormatError, InputError
from textmanifold.index import ManifoldIndex, store

THRESHOLD = 0.45


def _embedding_files(root: Path, seed: int = 0) -> tuple[Path, Path]:
    """Embedding files of 40 images and their descriptions, and a Collection of them
    (``root.parent / "coll"``, shared by every call under the same parent)."""
    v = vertices(np.random.default_rng(seed), 40, 40)
    text_ids = [f"text:{i}" for i in v.image_ids]  # each image's description row
    root.mkdir(parents=True, exist_ok=True)
    np.save(root / "image.npy", v.image)
    (root / "image.ids.json").write_text(json.dumps(v.image_ids))
    np.save(root / "text.npy", v.text)
    (root / "text.ids.json").write_text(json.dumps(text_ids))
    coll = root.parent / "coll"
    if not coll.exists():
        write_collection(
            coll,
            name="c",
            items=[
                Item(id=i, modality="image", path=f"{i}.png", text=f"about {i}")
                for i in v.image_ids
            ],
        )
    return root / "image.npy", root / "text.npy"


def _build_args(inputs: tuple[Path, Path], out: Path, *extra) -> list:
    return [
        "index",
        "build",
        inputs[0].parent.parent / "coll",
        "--image-embeddings",
        inputs[0],
        "--text-embeddings",
        inputs[1],
        "--out",
        out,
        "--threshold",
        THRESHOLD,
        "--no-progress",
        "--no-align",
        *extra,
    ]


@pytest.fixture
def saved(tmp_path) -> Path:
    index = ManifoldIndex.from_arrays(
        vertices(np.random.default_rng(0), 30, 20), threshold=THRESHOLD, align=False
    )
    index.save(tmp_path / "index")
    return tmp_path / "index"


# ----------------------------------------------------------------------------- loading


def _rewrite_manifest(root: Path, **changes) -> None:
    manifest = json.loads((root / "manifest.json").read_text())
    manifest.update(changes)
    (root / "manifest.json").write_text(json.dumps(manifest))


def _rewrite_graph(root: Path, edit) -> None:
    graph = scipy.sparse.load_npz(root / "graph.npz").tocsr()
    edit(graph)
    # saved as arrays, so an out-of-range index reaches the file as it is
    np.savez(
        root / "graph.npz",
        data=graph.data,
        indices=graph.indices,
        indptr=graph.indptr,
        shape=np.array(graph.shape),
        format=np.array(b"csr"),
    )


def _rewrite_array(root: Path, name: str, edit) -> None:
    array = np.load(root / name)
    np.save(root / name, edit(array))


def _set(array, index, value):
    array[index] = value
    return array


CORRUPTIONS = {
    "negative edge": (
        "graph.npz",
        "negative edge lengths",
        lambda r: _rewrite_graph(r, lambda g: _set(g.data, 0, -3.0)),
    ),
    "NaN edge": (
        "graph.npz",
        "NaN or inf edge lengths",
        lambda r: _rewrite_graph(r, lambda g: _set(g.data, 1, np.nan)),
    ),
    "edge past the last vertex": (
        "graph.npz",
        "outside 0..49",
        lambda r: _rewrite_graph(r, lambda g: _set(g.indices, 0, 99)),
    ),
    "graph of garbage bytes": (
        "graph.npz",
        "not a valid sparse .npz",
        lambda r: (r / "graph.npz").write_bytes(b"PK\x03\x04" * 30),
    ),
    "NaN vector row": (
        "vectors.npy",
        "row 4 holds NaN",
        lambda r: _rewrite_array(r, "vectors.npy", lambda a: _set(a, 4, np.nan)),
    ),
    "vector off the sphere": (
        "vectors.npy",
        "row 2 is not unit norm",
        lambda r: _rewrite_array(r, "vectors.npy", lambda a: _set(a, 2, a[2] * 2)),
    ),
    "vectors of another dtype": (
        "vectors.npy",
        "expected float32",
        lambda r: _rewrite_array(r, "vectors.npy", lambda a: a.astype(np.float64)),
    ),
    "vectors as an npz": (
        "vectors.npy",
        "is a .npz archive",
        lambda r: (
            np.savez(r / "vectors.npy.npz", a=np.zeros(3))
            or os.replace(r / "vectors.npy.npz", r / "vectors.npy")
        ),
    ),
    "NaN norm": (
        "norms.npy",
        "must be finite and 1",
        lambda r: _rewrite_array(r, "norms.npy", lambda a: _set(a, 0, np.nan)),
    ),
    "unknown kind": (
        "kinds.npy",
        "row 0 holds 7",
        lambda r: _rewrite_array(r, "kinds.npy", lambda a: a * 0 + 7),
    ),
    "kinds against the counts": (
        "kinds.npy",
        "image rows, the manifest counts 30",
        lambda r: _rewrite_array(r, "kinds.npy", lambda a: a * 0),
    ),
    "duplicate id": (
        "ids.json",
        "'img0' appears 2 times",
        lambda r: (r / "ids.json").write_text(
            json.dumps(["img0", *json.loads((r / "ids.json").read_text())[:-1]])
        ),
    ),
    "integer id": (
        "ids.json",
        "must be a non-empty string, got 3",
        lambda r: (r / "ids.json").write_text(
            json.dumps([3, *json.loads((r / "ids.json").read_text())[1:]])
        ),
    ),
    "too few ids": (
        "ids.json",
        "holds 49 ids but there are 50 rows",
        lambda r: (r / "ids.json").write_text(
            json.dumps(json.loads((r / "ids.json").read_text())[1:])
        ),
    ),
    "threshold null": (
        "manifest.json",
        "'threshold' must be a number of radians",
        lambda r: _rewrite_manifest(r, threshold=None),
    ),
    "threshold text": (
        "manifest.json",
        "'threshold' must be a number of radians",
        lambda r: _rewrite_manifest(r, threshold="0.4"),
    ),
    "dim zero": (
        "manifest.json",
        "'dim' must be a positive integer",
        lambda r: _rewrite_manifest(r, dim=0),
    ),
    "counts that do not add up": (
        "manifest.json",
        "is not 50 vertices",
        lambda r: _rewrite_manifest(
            r, counts={"vertices": 50, "images": 30, "texts": 30, "edges": 1}
        ),
    ),
    "model of the wrong type": (
        "manifest.json",
        "'model' must be null or an object",
        lambda r: _rewrite_manifest(r, model="run"),
    ),
    "alignment recorded, file missing": (
        "align.npz",
        "file not found",
        lambda r: _rewrite_manifest(r, align={"method": "x"}),
    ),
    "alignment file of garbage": (
        "align.npz",
        "not a valid .npz archive",
        lambda r: (
            _rewrite_manifest(r, align={"method": "x"}) or (r / "align.npz").write_bytes(b"garbage")
        ),
    ),
    "alignment of the wrong shape": (
        "align.npz",
        "'rotation' must be finite floats of shape",
        lambda r: (
            _rewrite_manifest(r, align={"method": "x"})
            or np.savez(
                r / "align.npz",
                rotation=np.eye(2),
                mean_source=np.zeros(3),
                mean_target=np.zeros(3),
            )
        ),
    ),
}


@pytest.mark.parametrize("case", sorted(CORRUPTIONS))
def test_a_damaged_index_is_refused_on_load_naming_the_file(saved, case):
    name, message, corrupt = CORRUPTIONS[case]
    corrupt(saved)
    with pytest.raises((DataFormatError, FileNotFoundError)) as info:
        ManifoldIndex.load(saved)
    assert str(saved / name) in str(info.value) and message in str(info.value)


@pytest.mark.parametrize(
    "case",
    [
        "negative edge",
        "duplicate id",
        "threshold null",
        "alignment file of garbage",
        "unknown kind",
    ],
)
@pytest.mark.parametrize(
    "command",
    [["index", "info"], ["search", "--id", "img1"], ["index", "add", "--image-embeddings"]],
)
def test_every_command_that_loads_an_index_refuses_a_damaged_one(
    saved, case, command, capsys, tmp_path
):
    name, message, corrupt = CORRUPTIONS[case]
    corrupt(saved)
    before = tree_hash(saved)
    if command[-1] == "--image-embeddings":
        args = [*command[:2], saved, command[2], _embedding_files(tmp_path / "new")[0]]
    else:
        args = (
            [command[0], *command[1:2], saved, *command[2:]]
            if command[0] == "index"
            else [command[0], saved, *command[1:]]
        )
    err = refused(args, capsys)
    assert str(saved / name) in err and message in err
    assert tree_hash(saved) == before


def test_a_valid_index_loads_with_exact_values(saved):
    loaded = ManifoldIndex.load(saved)
    vectors = np.load(saved / "vectors.npy")
    np.testing.assert_array_equal(np.asarray(loaded.vectors), vectors)
    graph = scipy.sparse.load_npz(saved / "graph.npz")
    assert (loaded.graph != graph).nnz == 0
    assert loaded.ids == json.loads((saved / "ids.json").read_text())
    assert all(isinstance(i, str) for i in loaded.ids)


# ----------------------------------------------------------------------------- replacing


def _collection_dir(root: Path) -> Path:
    (root / "images").mkdir(parents=True)
    (root / "images" / "a.png").write_bytes(b"\x89PNG not really")
    (root / "collection.json").write_text('{"name": "c", "format_version": 1}')
    (root / "items.jsonl").write_text('{"id": "a", "modality": "image", "path": "a.png"}\n')
    (root / "pairs.jsonl").write_text("")
    return root


def _run_dir(root: Path) -> Path:
    (root / "checkpoints").mkdir(parents=True)
    (root / "checkpoints" / "last.pt").write_bytes(b"weights")
    (root / "run.json").write_text('{"format": "textmanifold-run"}')
    return root


@pytest.mark.parametrize(
    ("holder", "message"),
    [
        (_collection_dir, "holds a Collection (collection.json)"),
        (_run_dir, "holds a training run (run.json)"),
        (
            lambda r: (r.mkdir(), (r / "keep.txt").write_text("mine"), r)[-1],
            "files that are not an index's (keep.txt)",
        ),
        (
            lambda r: (r.mkdir(), (r / "items.jsonl").write_text("{}\n"), r)[-1],
            "holds items.jsonl and no other index file",
        ),
    ],
)
def test_force_refuses_an_out_that_is_not_only_an_index(tmp_path, capsys, holder, message):
    inputs = _embedding_files(tmp_path / "inputs")
    out = holder(tmp_path / "out")
    before = tree_hash(tmp_path)
    err = refused(_build_args(inputs, out, "--force"), capsys)
    assert f"--out {out}: " in err and message in err
    assert tree_hash(tmp_path) == before  # nothing written, nothing removed


def test_an_index_with_a_foreign_file_is_refused_and_kept(tmp_path, capsys):
    inputs = _embedding_files(tmp_path / "inputs")
    out = tmp_path / "out"
    succeeded(_build_args(inputs, out), capsys)
    (out / "keep.txt").write_text("mine")
    before = tree_hash(tmp_path)
    err = refused(_build_args(inputs, out, "--force"), capsys)
    assert "(keep.txt)" in err
    assert tree_hash(tmp_path) == before


def test_force_replaces_an_index_and_clears_what_killed_builds_left(tmp_path, capsys):
    inputs = _embedding_files(tmp_path / "inputs")
    out = tmp_path / "out"
    succeeded(_build_args(inputs, out), capsys)
    stale = [tmp_path / ".out.tmp-abc123", tmp_path / ".out.old-def456"]
    for directory in stale:
        directory.mkdir()
        (directory / "vectors.npy").write_bytes(b"half")
    (tmp_path / "out.partial").mkdir()
    (tmp_path / "out.partial" / "work.json").write_text("{}")
    other = _embedding_files(tmp_path / "other", seed=1)
    succeeded(_build_args(other, out, "--force"), capsys)
    assert not any(p.exists() for p in [*stale, tmp_path / "out.partial"])
    rebuilt = ManifoldIndex.load(out)
    np.testing.assert_allclose(np.asarray(rebuilt.vectors)[:40], np.load(other[0]), atol=1e-6)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["coll", "inputs", "other", "out"]


def test_a_user_directory_named_like_the_work_directory_is_never_removed(tmp_path, capsys):
    inputs = _embedding_files(tmp_path / "inputs")
    (tmp_path / "out.partial").mkdir()
    (tmp_path / "out.partial" / "notes.txt").write_text("mine")
    before = tree_hash(tmp_path)
    err = refused(_build_args(inputs, tmp_path / "out"), capsys)
    assert "out.partial: exists and is not an index build's work directory" in err
    assert tree_hash(tmp_path) == before


def test_the_out_directory_exists_at_every_moment_of_a_replace(tmp_path):
    index = ManifoldIndex.from_arrays(
        vertices(np.random.default_rng(0), 30, 20), threshold=THRESHOLD
    )
    out = tmp_path / "index"
    index.save(out)
    missing, done = [], threading.Event()

    def watch():
        while not done.is_set():
            if not (out / "manifest.json").is_file():
                missing.append(1)

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        for _ in range(30):
            index.save(out, force=True)
    finally:
        done.set()
        watcher.join()
    assert missing == []
    assert ManifoldIndex.load(out).ids == index.ids


def test_the_exchange_swaps_two_directories(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir(), b.mkdir()
    (a / "from-a").write_text("a")
    (b / "from-b").write_text("b")
    if not store._exchange(a, b):
        pytest.skip("this filesystem has no renameat2(RENAME_EXCHANGE)")
    assert [p.name for p in a.iterdir()] == ["from-b"]
    assert [p.name for p in b.iterdir()] == ["from-a"]


def test_save_without_force_refuses_and_library_force_keeps_foreign_files(tmp_path):
    index = ManifoldIndex.from_arrays(
        vertices(np.random.default_rng(0), 30, 20), threshold=THRESHOLD
    )
    index.save(tmp_path / "index")
    with pytest.raises(InputError, match="already exists"):
        index.save(tmp_path / "index")
    coll = _collection_dir(tmp_path / "coll")
    before = tree_hash(coll)
    with pytest.raises(InputError, match="holds a Collection"):
        index.save(coll, force=True)
    assert tree_hash(coll) == before
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


# ----------------------------------------------------------------------------- kills

# Each point SIGKILLs the build: before anything is written, half-way through writing the
# new index's files, and after the new index is swapped in but before the old is removed.
KILL_AT = {
    "before the write": "ManifoldIndex.save",
    "half-way through the write": "textmanifold.io.write_jsonl",
    "after the swap": "textmanifold.index.store.shutil.rmtree",
}
KILLER = """
import os, signal, sys
import textmanifold.io, textmanifold.index.store, textmanifold.index.core
from textmanifold.index import ManifoldIndex
target = {target!r}
owner, _, name = target.rpartition(".")
holder = ManifoldIndex if owner == "ManifoldIndex" else sys.modules[owner] if owner in \\
    sys.modules else textmanifold.index.store.shutil
def die(*args, **kwargs):
    os.kill(os.getpid(), signal.SIGKILL)
setattr(holder, name, die)
from textmanifold.cli import main
main(sys.argv[1:])
"""


@pytest.mark.parametrize("point", sorted(KILL_AT))
def test_a_killed_force_build_leaves_an_index_and_the_next_build_cleans_up(tmp_path, capsys, point):
    inputs = _embedding_files(tmp_path / "inputs")
    out = tmp_path / "out"
    succeeded(_build_args(inputs, out), capsys)
    old_ids = ManifoldIndex.load(out).ids
    other = _embedding_files(tmp_path / "other", seed=1)
    source = str(Path(textmanifold.__file__).resolve().parents[1])
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([source, os.environ.get("PYTHONPATH", "")])}
    killed = subprocess.run(
        [
            sys.executable,
            "-c",
            KILLER.format(target=KILL_AT[point]),
            *map(str, _build_args(other, out, "--force")),
        ],
        env=env,
        capture_output=True,
    )
    assert killed.returncode == -9, killed.stderr.decode()
    after = ManifoldIndex.load(out)  # the old index or the new one, complete
    assert after.ids == old_ids
    new_rows = np.asarray(after.vectors)[:40]
    old_rows, moved = np.load(inputs[0]), np.load(other[0])
    assert np.allclose(new_rows, old_rows, atol=1e-6) or np.allclose(new_rows, moved, atol=1e-6)
    succeeded(_build_args(other, out, "--force"), capsys)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["coll", "inputs", "other", "out"]
    np.testing.assert_allclose(np.asarray(ManifoldIndex.load(out).vectors)[:40], moved, atol=1e-6)
