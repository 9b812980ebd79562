"""The Collection format: a write/read round trip and validation of broken collections."""

import json

import numpy as np
import pytest
import scipy.sparse
from PIL import Image

from textmanifold.collection import (
    Item,
    Pair,
    read_collection,
    validate_collection,
    write_collection,
)
from textmanifold.errors import DataFormatError, MissingFileError


def _write(root, n_images=3):
    images = root / "images"
    images.mkdir(parents=True)
    items = []
    for k in range(n_images):
        colour = np.full((12, 16, 3), 40 * k, dtype=np.uint8)
        Image.fromarray(colour).save(images / f"{k}.png")
        items.append(
            Item(
                id=f"img-{k}",
                modality="image",
                path=f"images/{k}.png",
                text=f"scene {k}",
                labels=["a", "b"][: k % 3],
                scene=k,
                split="train" if k else "test",
            )
        )
    items.append(Item(id="txt-0", modality="text", text="a red cube", scene=0))
    pairs = [
        Pair("img-0", "img-1", "make it red", "train"),
        Pair("img-1", "img-2", "add a cube", "test"),
    ]
    scenes = [{"objects": [], "image_index": k} for k in range(n_images)]
    reach = scipy.sparse.csr_matrix(np.array([[0, 1, 0], [1, 0, 1], [0, 1, 0]], dtype=bool))
    write_collection(
        root,
        name="tiny",
        items=items,
        pairs=pairs,
        scenes=scenes,
        reachable=reach,
        config={"seed": 3},
    )
    return items, pairs, scenes, reach


def test_round_trip(tmp_path):
    items, pairs, scenes, reach = _write(tmp_path / "c")
    coll = read_collection(tmp_path / "c")
    assert coll.name == "tiny" and coll.meta["config"] == {"seed": 3}
    assert coll.meta["counts"] == {"items": 4, "images": 3, "texts": 1, "pairs": 2, "scenes": 3}
    assert coll.items == items and coll.pairs == pairs and coll.scenes == scenes
    assert (coll.reachable() != reach).nnz == 0
    assert [it.id for it in coll.images("train")] == ["img-1", "img-2"]
    assert [it.id for it in coll.texts()] == ["txt-0"]
    assert coll.image_path(items[1]) == tmp_path / "c" / "images" / "1.png"
    assert validate_collection(tmp_path / "c") == []


def test_validate_names_a_truncated_png(tmp_path):
    _write(tmp_path / "c")
    png = tmp_path / "c" / "images" / "1.png"
    png.write_bytes(png.read_bytes()[:-30])
    (tmp_path / "c" / "images" / "2.png").unlink()
    problems = validate_collection(tmp_path / "c")
    assert len(problems) == 2
    assert "1.png" in problems[0] and "unreadable" in problems[0]
    assert "2.png" in problems[1] and "not found" in problems[1]
    assert validate_collection(tmp_path / "c", check_images=False) == []


def test_validate_names_a_corrupt_items_line(tmp_path):
    _write(tmp_path / "c")
    path = tmp_path / "c" / "items.jsonl"
    lines = path.read_text().splitlines()
    lines[2] = lines[2][:10]
    path.write_text("\n".join(lines) + "\n")
    (problem,) = validate_collection(tmp_path / "c")
    assert problem.startswith(f"{path}:3: invalid JSON")
    with pytest.raises(DataFormatError, match=r"items\.jsonl:3"):
        read_collection(tmp_path / "c")


def test_validate_names_an_unknown_pair_id(tmp_path):
    _write(tmp_path / "c")
    path = tmp_path / "c" / "pairs.jsonl"
    with open(path, "a") as handle:
        handle.write(
            json.dumps({"source": "img-0", "target": "img-9", "text": "x", "split": "test"}) + "\n"
        )
    (problem,) = validate_collection(tmp_path / "c")
    assert "pairs.jsonl:3" in problem and "'img-9'" in problem


def test_validate_counts_reachable_and_missing_files(tmp_path):
    _write(tmp_path / "c")
    meta_path = tmp_path / "c" / "collection.json"
    meta = json.loads(meta_path.read_text())
    meta["counts"]["pairs"] = 5
    meta_path.write_text(json.dumps(meta))
    scipy.sparse.save_npz(
        tmp_path / "c" / "reachable.npz",
        scipy.sparse.csr_matrix(np.triu(np.ones((3, 3), dtype=bool), 1)),
    )
    problems = validate_collection(tmp_path / "c")
    assert len(problems) == 2
    assert "counts.pairs says 5, found 2" in problems[0]
    assert "not symmetric" in problems[1]
    meta_path.unlink()
    (problem,) = validate_collection(tmp_path / "c")
    assert "collection.json: file not found" in problem
    with pytest.raises(MissingFileError):
        read_collection(tmp_path / "nowhere")
