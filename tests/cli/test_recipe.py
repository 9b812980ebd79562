"""The README's recipe for a labelled dataset, command by command, on a tiny category set:
classes generate -> train joint -> embed -> align -> label-retrieval."""

import json

import numpy as np
from scipy.linalg import orthogonal_procrustes

from _cli_fixtures import TINY_TRAINING
from _cli_fixtures import exit_code as cli
from textmanifold.collection import description_rows, load_embedding


def test_labelled_dataset_recipe(tmp_path, capsys):
    data, run = tmp_path / "cats", tmp_path / "run"
    assert (
        cli(
            "classes",
            "generate",
            data,
            "--classes",
            "3",
            "--images-per-class",
            "4",
            "--texts-per-class",
            "2",
            "--size",
            "64x48",
            "--workers",
            "1",
        )
        == 0
    )
    assert (
        cli(
            "train",
            "joint",
            data,
            "--out",
            run,
            *TINY_TRAINING,
            "--no-progress",
            "--text-cache",
            tmp_path / "cache",
        )
        == 0
    )
    assert (
        cli(
            "embed",
            data,
            run,
            "--device",
            "cpu",
            "--no-progress",
            "--text-cache",
            tmp_path / "cache",
        )
        == 0
    )
    emb = run / "embeddings"
    assert (
        cli(
            "align",
            "--image",
            emb / "image.npy",
            "--text",
            emb / "text.npy",
            "--out",
            emb / "image_aligned.npy",
        )
        == 0
    )
    capsys.readouterr()
    assert (
        cli(
            "label-retrieval",
            "--image",
            emb / "image_aligned.npy",
            "--text",
            emb / "text.npy",
            "--resnet",
            emb / "image_pretrained.npy",
            "--items",
            data / "items.jsonl",
            "--k-shot",
            "1",
            "--target-degree",
            "3",
            "--out",
            tmp_path / "table.json",
        )
        == 0
    )
    assert "| A |" in capsys.readouterr().out

    # align wrote the paired Procrustes map of the exported embeddings
    image, ids = load_embedding(emb / "image.npy")
    text, text_ids = load_embedding(emb / "text.npy")
    paired = text[description_rows(ids, text_ids)].astype(np.float64)
    image = image.astype(np.float64)
    omega, _ = orthogonal_procrustes(image - image.mean(0), paired - paired.mean(0))
    if np.linalg.det(omega) < 0:
        # align keeps a proper rotation (Kabsch): flip the last singular direction. Which
        # case occurs depends on the 2-step training, which varies with torch's threads.
        u, _, vt = np.linalg.svd((image - image.mean(0)).T @ (paired - paired.mean(0)))
        u[:, -1] *= -1
        omega = u @ vt
    assert np.linalg.det(omega) > 0
    expected = (image - image.mean(0)) @ omega + paired.mean(0)
    expected /= np.linalg.norm(expected, axis=1, keepdims=True)
    aligned, aligned_ids = load_embedding(emb / "image_aligned.npy")
    assert aligned_ids == ids
    np.testing.assert_allclose(aligned, expected, atol=1e-4)

    rows = json.loads((tmp_path / "table.json").read_text())["label_retrieval"]
    assert [r["row"] for r in rows] == list("ABCDEF")
    queries = 12 - 3  # 3 classes x (4 images - 1 shot)
    for r in rows:
        assert r["queries"] == queries and 0 <= r["retrievable"] <= queries
        assert r["accuracy"] is None or 0 <= r["accuracy"] <= 1
