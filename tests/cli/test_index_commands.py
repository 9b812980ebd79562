"""The index CLI on embedding files: build, search, add, info, and every bad input."""

from __future__ import annotations

import json

import networkx as nx
import numpy as np
import pytest

from _cli_fixtures import run_cli as cli
from _index_fixtures import unit_rows
from textmanifold.collection import Item, save_embedding, write_collection
from textmanifold.index import ManifoldIndex

THRESHOLD = "0.3"


def write_set(root, image_ids, text_ids, seed):
    """Embedding files for images and texts; ``text:<id>`` rows describe the images."""
    rng = np.random.default_rng(seed)
    save_embedding(root / "image.npy", unit_rows(rng, len(image_ids)), image_ids)
    save_embedding(root / "text.npy", unit_rows(rng, len(text_ids)), text_ids)
    return root / "image.npy", root / "text.npy"


@pytest.fixture
def files(tmp_path):
    images = [f"img{i}" for i in range(80)]
    items = [
        Item(
            id=i,
            modality="image",
            path=f"images/{i}.png",
            text=f"picture {i}",
            labels=["a" if n % 2 else "b"],
        )
        for n, i in enumerate(images)
    ]
    items += [Item(id=f"note{j}", modality="text", text=f"note {j}") for j in range(10)]
    coll = write_collection(tmp_path / "coll", name="tiny", items=items)
    first = write_set(
        tmp_path,
        images[:60],
        [f"text:{i}" for i in images[:60]] + [f"note{j}" for j in range(10)],
        seed=1,
    )
    (tmp_path / "more").mkdir()
    more = write_set(tmp_path / "more", images[60:], [f"text:{i}" for i in images[60:]], seed=2)
    return {"coll": coll, "first": first, "more": more, "root": tmp_path}


def build(capsys, files, out, *extra):
    image, text = files["first"]
    return cli(
        capsys,
        "index",
        "build",
        files["coll"],
        "--out",
        out,
        "--image-embeddings",
        image,
        "--text-embeddings",
        text,
        "--threshold",
        THRESHOLD,
        "--no-progress",
        *extra,
    )


def test_build_search_info(capsys, files):
    out = files["root"] / "idx"
    code, stdout, _ = build(capsys, files, out)
    assert code == 0 and "60 images, 70 texts" in stdout
    assert not (files["root"] / "idx.partial").exists()
    index = ManifoldIndex.load(out)
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["format_version"] == 1 and manifest["dim"] == 3
    assert manifest["collection"] == str(files["coll"].resolve())
    assert manifest["threshold"] == float(THRESHOLD) and manifest["align"]["method"]
    assert index.item("img4") == {
        "id": "img4",
        "kind": "image",
        "labels": ["b"],
        "path": str((files["coll"] / "images/img4.png").resolve()),
        "text": "picture img4",
    }
    code, stdout, _ = cli(
        capsys, "search", out, "--id", "img3", "--k", "7", "--metric", "both", "--paths", "--json"
    )
    assert code == 0
    expected = index.search(id="img3", k=7, metric="both", return_paths=True).to_dict()
    assert json.loads(stdout) == json.loads(json.dumps(expected))
    code, table, _ = cli(capsys, "search", out, "--id", "img3", "--k", "7", "--paths")
    lines = table.splitlines()
    assert lines[0] == "ranked by geodesic distance (radians)"
    hits = expected["geodesic"]
    first = lines[2].split()
    assert first[:2] == ["1", hits[0]["id"]] and float(first[2]) == pytest.approx(
        hits[0]["geodesic"], abs=1e-4
    )
    assert sum(line.strip().startswith("path:") for line in lines) == sum(
        h["geodesic"] is not None for h in hits
    )
    assert sum("unreachable" in line for line in lines) == sum(h["geodesic"] is None for h in hits)
    # a query vector from a file
    np.save(files["root"] / "q.npy", np.array([0.0, 0.0, 1.0]))
    code, stdout, _ = cli(capsys, "search", out, "--vector", files["root"] / "q.npy", "--json")
    assert json.loads(stdout) == json.loads(
        json.dumps(index.search(vector=np.array([0.0, 0.0, 1.0])).to_dict())
    )
    # info: the manifest and graph statistics, checked with networkx
    code, stdout, _ = cli(capsys, "index", "info", out)
    info = json.loads(stdout)
    graph = nx.from_scipy_sparse_array(index.graph)
    parts = sorted(nx.connected_components(graph), key=len)
    assert info["manifest"] == manifest
    assert info["graph"]["components"] == len(parts)
    assert info["graph"]["largest_component"] == len(parts[-1])
    assert info["graph"]["edges"] == graph.number_of_edges() == manifest["counts"]["edges"]
    assert info["graph"]["isolated_vertices"] == sum(d == 0 for _, d in graph.degree())


def test_add_equals_a_build_of_the_union(capsys, files):
    out, union = files["root"] / "grown", files["root"] / "union"
    build(capsys, files, out)
    image, text = files["more"]
    code, stdout, _ = cli(
        capsys,
        "index",
        "add",
        out,
        files["coll"],
        "--image-embeddings",
        image,
        "--text-embeddings",
        text,
    )
    assert code == 0 and "+20 images, +20 texts" in stdout
    # the union, with the alignment the first build fitted (add keeps it): pre-aligned rows
    grown = ManifoldIndex.load(out)
    ids = [i for i in grown.ids if grown.is_image[grown.row(i)]]
    tids = [i for i in grown.ids if not grown.is_image[grown.row(i)]]
    save_embedding(
        files["root"] / "u_image.npy", np.stack([grown.vectors[grown.row(i)] for i in ids]), ids
    )
    save_embedding(
        files["root"] / "u_text.npy", np.stack([grown.vectors[grown.row(i)] for i in tids]), tids
    )
    code, _, _ = cli(
        capsys,
        "index",
        "build",
        files["coll"],
        "--out",
        union,
        "--image-embeddings",
        files["root"] / "u_image.npy",
        "--text-embeddings",
        files["root"] / "u_text.npy",
        "--threshold",
        THRESHOLD,
        "--no-align",
        "--no-progress",
    )
    assert code == 0
    for query in (["--id", "img70"], ["--id", "note2"], ["--id", "img5"]):
        a = cli(capsys, "search", out, *query, "--metric", "both", "--json", "--paths")[1]
        b = cli(capsys, "search", union, *query, "--metric", "both", "--json", "--paths")[1]
        assert json.loads(a) == json.loads(b)
    assert ManifoldIndex.load(union).manifest["counts"] == grown.manifest["counts"]


def test_bad_inputs_end_with_one_error_line(capsys, files):
    out = files["root"] / "idx"
    build(capsys, files, out)

    def fails(*args, match):
        code, _, stderr = cli(capsys, *args)
        assert code == 2, stderr
        assert stderr.count("\n") == 1 and stderr.startswith("error: ") and match in stderr

    fails(
        "index",
        "build",
        files["coll"],
        "--out",
        out,
        "--threshold",
        "0.3",
        "--image-embeddings",
        files["first"][0],
        match="already exists",
    )
    fails("search", files["root"] / "nowhere", "--id", "img1", match="index directory not found")
    fails("search", out, "--id", "nope", match="unknown id 'nope'")
    fails("search", out, "--text", "  ", match="text query is empty")
    fails("search", out, "--text", "a red cube", match="without an encoder")
    fails("search", out, "--id", "img1", "--text", "x", match="exactly one")
    np.save(files["root"] / "q4.npy", np.ones(4))
    fails("search", out, "--vector", files["root"] / "q4.npy", match="shape (3,)")
    fails("search", out, "--id", "img1", "--metric", "cosine", match="metric")
    wrong = files["root"] / "wrong"
    wrong.mkdir()
    image, _ = write_set(wrong, ["x1", "x2"], ["t1"], seed=3)
    save_embedding(image, np.eye(4, dtype=np.float32)[:2], ["x1", "x2"])
    fails("index", "add", out, "--image-embeddings", image, match="dimension")
    (out / "manifest.json").write_text("{not json")
    fails("search", out, "--id", "img1", match="manifest.json: invalid JSON")
    (out / "manifest.json").write_text(
        json.dumps({"format": "textmanifold-index", "format_version": 99})
    )
    fails("index", "info", out, match="format_version 99")
    (out / "manifest.json").write_text(json.dumps({"format": "something else"}))
    fails("search", out, "--id", "img1", match="not a textmanifold index manifest")
    code, _, _ = build(capsys, files, out, "--force")
    assert code == 0 and ManifoldIndex.load(out).n_images == 60


def test_alignment_needs_described_images(capsys, files):
    image, _ = files["first"]
    notes = files["root"] / "notes"
    notes.mkdir()
    _, text = write_set(notes, ["t1"], ["note1"], seed=4)
    code, _, stderr = cli(
        capsys,
        "index",
        "build",
        files["coll"],
        "--out",
        files["root"] / "x",
        "--image-embeddings",
        image,
        "--text-embeddings",
        text,
        "--threshold",
        THRESHOLD,
    )
    assert code == 2 and "--no-align" in stderr and stderr.count("\n") == 1
    code, stdout, _ = cli(
        capsys,
        "index",
        "build",
        files["coll"],
        "--out",
        files["root"] / "x",
        "--image-embeddings",
        image,
        "--text-embeddings",
        text,
        "--threshold",
        THRESHOLD,
        "--no-align",
        "--no-progress",
    )
    assert code == 0 and "60 images, 1 texts" in stdout
    assert ManifoldIndex.load(files["root"] / "x").manifest["align"] is None
