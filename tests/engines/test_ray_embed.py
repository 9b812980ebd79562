"""``embed --engine ray``: the same rows as ``--engine local``, in shards, resumable."""

from __future__ import annotations

import json

import numpy as np
import pytest

from _models_fixtures import shapes_collection
from textmanifold.cli import main
from textmanifold.collection import load_embedding, read_collection
from textmanifold.manifold.graph import great_circle_graph
from textmanifold.models.embed import embed_joint_run
from textmanifold.models.runs import train_joint
from textmanifold.models.train import TrainSettings
from textmanifold.shards import SHARDS_FORMAT, shard_paths

ray = pytest.importorskip("ray")
pq = pytest.importorskip("pyarrow.parquet")


@pytest.fixture(scope="module")
def ray_local():
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


@pytest.fixture(scope="module")
def joint(tmp_path_factory):
    """A collection of 21 described images and a 1-step joint run, embedded locally."""
    root = tmp_path_factory.mktemp("ray")
    coll = shapes_collection(root / "shapes", size=32)
    cache = root / "sentences"
    train_joint(
        coll,
        root / "run",
        dim=8,
        text_cache=cache,
        settings=TrainSettings(steps=1, batch_size=4, image_size=32, device="cpu", progress=False),
    )
    local = embed_joint_run(coll, root / "run", device="cpu", text_cache=cache, progress=False)
    return coll, root / "run", cache, {k: load_embedding(v) for k, v in local.items()}


def test_ray_rows_equal_local_rows_and_resume_recomputes_only_missing(ray_local, joint):
    from textmanifold.engines.ray_embed import embed_joint_run_ray

    coll, run, cache, local = joint
    out = embed_joint_run_ray(
        coll, run, shard_size=5, device="cpu", text_cache=cache, progress=False
    )
    assert out["computed_shards"] == [0, 1, 2, 3, 4]  # 21 images, 5 per shard
    for space in ("image", "image_pretrained", "text"):
        X, ids = load_embedding(out[space])
        assert ids == local[space][1]
        assert X.shape == local[space][0].shape
        assert np.abs(X - local[space][0]).max() <= 1e-6
    image_dir = out["image"]
    manifest = json.loads((image_dir / "manifest.json").read_text())
    assert manifest == {
        "format": SHARDS_FORMAT,
        "rows": 21,
        "shard_size": 5,
        "shards": 5,
        "dim": 8,
        "source": manifest["source"],
    }
    table = pq.read_table(shard_paths(image_dir, 4)[1]).to_pydict()
    images = read_collection(coll).images()
    assert table["id"] == [it.id for it in images[20:]]
    assert table["path"] == [str(read_collection(coll).image_path(it)) for it in images[20:]]

    # A killed job: shards 1 and 3 of one space and 4's metadata of the other never landed.
    shard_paths(image_dir, 1)[0].unlink()
    shard_paths(image_dir, 3)[0].unlink()
    shard_paths(out["image_pretrained"], 4)[1].unlink()
    kept = {p: p.stat().st_mtime_ns for i in (0, 2) for p in shard_paths(image_dir, i)}
    again = embed_joint_run_ray(
        coll, run, shard_size=5, device="cpu", text_cache=cache, progress=False
    )
    assert again["computed_shards"] == [1, 3, 4]
    assert {p: p.stat().st_mtime_ns for p in kept} == kept  # untouched
    X, ids = load_embedding(image_dir)
    assert ids == local["image"][1] and np.abs(X - local["image"][0]).max() <= 1e-6
    assert (
        embed_joint_run_ray(
            coll, run, shard_size=5, device="cpu", text_cache=cache, progress=False
        )["computed_shards"]
        == []
    )


def test_cli_engine_ray_and_readers_take_the_sharded_form(ray_local, joint, tmp_path, capsys):
    coll, run, cache, local = joint
    with pytest.raises(SystemExit) as code:
        main(
            [
                "embed",
                str(coll),
                str(run),
                "--engine",
                "ray",
                "--shard-size",
                "5",
                "--device",
                "cpu",
                "--text-cache",
                str(cache),
                "--no-progress",
            ]
        )
    assert code.value.code == 0
    assert f"image: {run / 'embeddings' / 'image'}" in capsys.readouterr().out
    # graph build reads the sharded directory: the graph of the local rows
    with pytest.raises(SystemExit) as code:
        main(
            [
                "graph",
                "build",
                str(run / "embeddings" / "image"),
                "--out",
                str(tmp_path / "g.npz"),
                "--threshold",
                "0.5",
            ]
        )
    assert code.value.code == 0
    report = json.loads(capsys.readouterr().out)
    expected = great_circle_graph(local["image"][0], threshold=0.5, normalize=True)
    assert report["edges"] == expected.nnz // 2
    # align reads it too (image rows from shards, text rows from the .npy)
    with pytest.raises(SystemExit) as code:
        main(
            [
                "align",
                "--image",
                str(run / "embeddings" / "image"),
                "--text",
                str(run / "embeddings" / "text.npy"),
                "--out",
                str(tmp_path / "aligned.npy"),
            ]
        )
    assert code.value.code == 0
    aligned, ids = load_embedding(tmp_path / "aligned.npy")
    assert ids == local["image"][1] and aligned.shape == local["image"][0].shape
    # and so does the index
    from textmanifold.index import ManifoldIndex

    index = ManifoldIndex.build(
        coll,
        image_embeddings=run / "embeddings" / "image",
        text_embeddings=run / "embeddings" / "text.npy",
        threshold=0.5,
    )
    assert index.n_images == 21 and index.ids[:21] == local["image"][1]


def test_resume_with_another_shard_size_is_refused(ray_local, joint):
    from textmanifold.engines.ray_embed import embed_joint_run_ray
    from textmanifold.errors import InputError

    coll, run, cache, _ = joint
    embed_joint_run_ray(coll, run, shard_size=5, device="cpu", text_cache=cache, progress=False)
    with pytest.raises(InputError, match="shard_size"):
        embed_joint_run_ray(coll, run, shard_size=7, device="cpu", text_cache=cache, progress=False)
