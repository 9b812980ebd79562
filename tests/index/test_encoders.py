"""Pretrained encoders end to end: a folder -> an index embedded by open_clip loading a
weights file this test saved -> text and image search, against brute force on the same
encoder's outputs; sentence-transformers on bring-your-own vectors; partly captioned
collections."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image
from scipy.sparse.csgraph import dijkstra

from _cli_fixtures import refused, succeeded
from textmanifold.index import ManifoldIndex
from textmanifold.manifold.graph import build_graph

pytest.importorskip("open_clip")

TINY = {
    "embed_dim": 16,
    "vision_cfg": {"image_size": 32, "layers": 1, "width": 32, "patch_size": 8, "head_width": 16},
    "text_cfg": {"context_length": 77, "vocab_size": 49408, "width": 32, "heads": 2, "layers": 1},
}
COLOURS = {
    "red": (220, 20, 20),
    "green": (20, 200, 40),
    "blue": (20, 40, 220),
    "yellow": (230, 220, 20),
    "grey": (128, 128, 128),
}
SHAPES = ("square", "stripe", "dot")


@pytest.fixture(scope="module")
def tiny_clip(tmp_path_factory):
    """A tiny open_clip config and its random weights, saved as a user's files would be."""
    import open_clip
    import torch

    root = tmp_path_factory.mktemp("clip")
    config = root / "tiny-clip.json"
    config.write_text(json.dumps(TINY))
    open_clip.add_model_config(config)
    torch.manual_seed(0)
    model = open_clip.create_model("tiny-clip")
    torch.save(model.state_dict(), root / "tiny-clip.pt")
    return config, root / "tiny-clip.pt"


def _draw(path, colour, shape, size=48):
    image = Image.new("RGB", (size, size), (250, 250, 250))
    pixels = image.load()
    for x in range(size):
        for y in range(size):
            inside = {
                "square": 12 <= x < 36 and 12 <= y < 36,
                "stripe": 20 <= y < 28,
                "dot": (x - 24) ** 2 + (y - 24) ** 2 < 100,
            }[shape]
            if inside:
                pixels[x, y] = COLOURS[colour]
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path)


@pytest.fixture(scope="module")
def photo_folder(tmp_path_factory):
    """15 photos in two sub-folders, 12 captioned by sidecar files, 3 not."""
    root = tmp_path_factory.mktemp("photos")
    n = 0
    for colour in COLOURS:
        for shape in SHAPES:
            path = (
                root / ("warm" if colour in ("red", "yellow") else "cool") / f"{colour}-{shape}.png"
            )
            _draw(path, colour, shape)
            if n % 5 != 4:
                path.with_suffix(".txt").write_text(f"a {colour} {shape}")
            n += 1
    return root


def _brute_force(vectors, is_image, threshold, q, k):
    """The k nearest images to q on the great-circle graph rebuilt with q as a vertex."""
    X = np.concatenate([vectors, q[None, :]]).astype(np.float32)
    graph, _ = build_graph(X, threshold=threshold, target_degree=None)
    dist = dijkstra(graph, indices=len(vectors))[:-1]
    angle = np.arccos(np.clip(vectors.astype(np.float64) @ q.astype(np.float64), -1, 1))
    images = np.flatnonzero(is_image)
    return images[np.lexsort((angle[images], dist[images]))][:k].tolist()


def test_folder_to_open_clip_index_to_text_and_image_search(
    photo_folder, tiny_clip, tmp_path, capsys
):
    from textmanifold.index.pretrained import OpenClipEncoder

    config, weights = tiny_clip
    coll, index_dir = tmp_path / "coll", tmp_path / "index"
    succeeded(
        ["load", "folder", photo_folder, coll, "--labels-from-folders", "--no-progress"], capsys
    )
    out, _ = succeeded(
        [
            "index",
            "build",
            coll,
            "--out",
            index_dir,
            "--encoder",
            f"open_clip:{config}",
            "--pretrained",
            weights,
            "--no-align",
            "--target-degree",
            "4",
            "--no-progress",
        ],
        capsys,
    )
    assert "15 images, 12 texts" in out and "queries: id, vector, text, image" in out
    index = ManifoldIndex.load(index_dir)
    spec = index.manifest["encoder"]
    assert spec["kind"] == "open_clip" and spec["weights"] == str(weights.resolve())
    assert len(spec["checksum"]) == 64
    encoder = OpenClipEncoder(str(config), weights)  # the same model, called directly
    images = sorted(photo_folder.rglob("*.png"))
    np.testing.assert_allclose(  # the index's image rows are the encoder's outputs
        np.asarray(index.vectors)[
            [index.row(p.relative_to(photo_folder).as_posix()) for p in images]
        ],
        encoder.images(images),
        atol=1e-5,
    )
    vectors = np.asarray(index.vectors)
    queries = [
        ("--text", "a red square", encoder.texts(["a red square"])[0]),
        ("--text", "a blue dot", encoder.texts(["a blue dot"])[0]),
        ("--text", "something grey", encoder.texts(["something grey"])[0]),
    ]
    for name in ("red-dot", "grey-stripe"):
        query_image = tmp_path / f"{name}.png"
        _draw(query_image, *name.split("-"), size=40)
        queries.append(("--image", query_image, encoder.images([query_image])[0]))
    for option, value, q in queries:
        out, _ = succeeded(["search", index_dir, option, value, "--k", "6", "--json"], capsys)
        got = [hit["id"] for hit in json.loads(out)["geodesic"]]
        want = [index.ids[r] for r in _brute_force(vectors, index.is_image, index.threshold, q, 6)]
        assert got == want, (option, value)


def test_the_served_page_answers_text_queries_with_the_encoder(photo_folder, tiny_clip, tmp_path):
    from fastapi.testclient import TestClient

    from textmanifold.index.pretrained import parse_encoder
    from textmanifold.service import create_app

    config, weights = tiny_clip
    encoder = parse_encoder(f"open_clip:{config}", pretrained=weights)
    from textmanifold.loaders import load_dataset

    coll = load_dataset("folder", photo_folder, tmp_path / "coll", show_progress=False)
    index = ManifoldIndex.build(coll, encoder=encoder, target_degree=4, align=False)
    client = TestClient(create_app(index))
    assert client.get("/healthz").json()["queries"] == ["id", "vector", "text", "image"]
    answer = client.post("/search", json={"text": "a green stripe", "k": 3, "metric": "both"})
    assert answer.status_code == 200
    want = index.search(text="a green stripe", k=3, metric="both")
    assert [h["id"] for h in answer.json()["geodesic"]] == [h.id for h in want.geodesic]


def test_bring_your_own_vectors_with_the_sentence_encoder_answers_text(tmp_path, capsys):
    from textmanifold.collection import Item, write_collection
    from textmanifold.index.pretrained import SentenceEncoder

    sentences = [
        "a red apple on a table",
        "a green pear",
        "a yellow banana",
        "a car on the road",
        "a bus at night",
        "a bicycle by a wall",
    ]
    ids = [f"p{i}" for i in range(len(sentences))]
    write_collection(
        tmp_path / "coll",
        name="c",
        items=[
            Item(id=i, modality="image", path=f"{i}.jpg", text=s)
            for i, s in zip(ids, sentences, strict=True)
        ],
    )
    encoder = SentenceEncoder()
    text = encoder.texts(sentences)
    rng = np.random.default_rng(0)  # the user's "image" vectors: near their captions
    image = text + 0.05 * rng.normal(size=text.shape).astype(np.float32)
    image /= np.linalg.norm(image, axis=1, keepdims=True)
    np.save(tmp_path / "image.npy", image)
    (tmp_path / "image.ids.json").write_text(json.dumps(ids))
    np.save(tmp_path / "text.npy", text)
    (tmp_path / "text.ids.json").write_text(json.dumps([f"text:{i}" for i in ids]))
    args = [
        "index",
        "build",
        tmp_path / "coll",
        "--image-embeddings",
        tmp_path / "image.npy",
        "--text-embeddings",
        tmp_path / "text.npy",
        "--out",
        tmp_path / "index",
        "--no-align",
        "--threshold",
        "0.9",
        "--no-progress",
    ]
    refused_line = refused(["search", *_bare(args, tmp_path, capsys), "--text", "fruit"], capsys)
    assert "answers id and vector queries" in refused_line and "--encoder" in refused_line
    out, _ = succeeded([*args, "--encoder", "sentence-transformers"], capsys)
    assert "queries: id, vector, text" in out
    index = ManifoldIndex.load(tmp_path / "index")
    for query in ("a fruit", "vehicles in the city"):
        out, _ = succeeded(
            ["search", tmp_path / "index", "--text", query, "--k", "3", "--json"], capsys
        )
        got = [hit["id"] for hit in json.loads(out)["geodesic"]]
        q = encoder.texts([query])[0]
        want = [
            index.ids[r]
            for r in _brute_force(np.asarray(index.vectors), index.is_image, index.threshold, q, 3)
        ]
        assert got == want
    assert "embeds no images" in refused(
        ["search", tmp_path / "index", "--image", tmp_path / "none.png"], capsys
    )


def _bare(args, tmp_path, capsys):
    """Build the index without an encoder first (into tmp_path/bare); its path."""
    bare = [a if a != tmp_path / "index" else tmp_path / "bare" for a in args]
    succeeded(bare, capsys)
    return [tmp_path / "bare"]


def test_partly_captioned_folders_align_on_their_captioned_images(
    photo_folder, tiny_clip, tmp_path, capsys
):
    config, weights = tiny_clip
    coll = tmp_path / "coll"
    succeeded(["load", "folder", photo_folder, coll, "--no-progress"], capsys)
    out, _ = succeeded(
        [
            "index",
            "build",
            coll,
            "--out",
            tmp_path / "index",
            "--encoder",
            f"open_clip:{config}",
            "--pretrained",
            weights,
            "--target-degree",
            "4",
            "--no-progress",
        ],
        capsys,
    )
    assert "15 images, 12 texts" in out and "aligned on 12 image-description pairs" in out
    manifest = ManifoldIndex.load(tmp_path / "index").manifest
    assert manifest["align"]["pairs"] == 12 and manifest["counts"]["images"] == 15


def test_alignment_without_captions_is_refused_before_any_embedding(tmp_path, capsys, tiny_clip):
    from textmanifold.collection import Item, write_collection

    write_collection(
        tmp_path / "coll",
        name="c",
        items=[
            Item(id="a", modality="image", path="a.png", text="one caption"),
            Item(id="b", modality="image", path="b.png"),
        ],
    )  # no image file: never embedded
    config, weights = tiny_clip
    err = refused(
        [
            "index",
            "build",
            tmp_path / "coll",
            "--out",
            tmp_path / "index",
            "--encoder",
            f"open_clip:{config}",
            "--pretrained",
            weights,
            "--no-progress",
        ],
        capsys,
    )
    assert "1 of 2 images have a description" in err and "--no-align" in err
    assert not (tmp_path / "index.partial").exists()
