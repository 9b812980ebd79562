"""Indexes built from trained runs: text, image and composed queries against brute force."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from _index_fixtures import check, reference
from _models_fixtures import shapes_collection
from textmanifold.collection import read_collection
from textmanifold.errors import InputError
from textmanifold.index import ManifoldIndex
from textmanifold.index import encoders as index_encoders
from textmanifold.models.data import load_image
from textmanifold.models.runs import load_run, train_compose, train_joint
from textmanifold.models.sentence import SentenceTextEncoder
from textmanifold.models.train import TrainSettings

torch.set_num_threads(1)
TINY = dict(steps=2, batch_size=4, image_size=32, lr=0.01, device="cpu", progress=False)


@pytest.fixture(scope="module")
def shapes(tmp_path_factory):
    """21 described images, 20 pairs, 2 text-only items, 32x32 pixels."""
    return shapes_collection(tmp_path_factory.mktemp("shapes"), size=32, text_only=2)


@pytest.fixture(scope="module")
def joint_run(shapes, tmp_path_factory):
    out = tmp_path_factory.mktemp("joint") / "run"
    train_joint(
        shapes,
        out,
        dim=8,
        text_cache=tmp_path_factory.mktemp("cache"),
        settings=TrainSettings(**TINY),
    )
    return out


@pytest.fixture(scope="module")
def joint_index(shapes, joint_run):
    return ManifoldIndex.build(shapes, joint_run, target_degree=4)


def test_build_from_a_run_makes_every_item_a_vertex(shapes, joint_run, joint_index):
    coll = read_collection(shapes)
    images = [it.id for it in coll.images()]
    assert joint_index.ids == images + [f"text:{i}" for i in images] + ["txt0000", "txt0001"]
    assert (joint_index.n_images, joint_index.n_texts) == (21, 23)
    model = joint_index.manifest["model"]
    assert model["kind"] == "joint" and model["run"] == str(joint_run.resolve())
    assert joint_index.manifest["align"]["method"] == "icp-paired"
    assert joint_index.image_path("img0003") == (shapes / "images" / "img0003.png").resolve()
    item = joint_index.item("text:img0003")
    assert item["kind"] == "text" and item["text"] == coll.items[3].text


def test_text_query_equals_brute_force(joint_run, joint_index):
    run = load_run(joint_run)
    sentence = "there is a green square at the middle left."
    raw = SentenceTextEncoder(
        run.config["model"]["text_model"], cache_dir=False, progress=False
    ).encode([sentence])
    with torch.no_grad():
        q = run.model.embed_texts(torch.from_numpy(raw)).numpy()[0]
    result = joint_index.search(text=sentence, k=5, metric="both", return_paths=True)
    check(result, joint_index, *reference(joint_index, q=q, k=5))
    assert result.query == {"kind": "text", "text": sentence}
    reachable = [h for h in result.geodesic if h.reachable]
    assert reachable and reachable[0].path[0].caption == sentence


def test_image_query_equals_brute_force(shapes, joint_run, joint_index):
    run = load_run(joint_run)
    path = shapes / "images" / "img0005.png"
    with torch.no_grad():
        raw = run.model.embed_images(load_image(path, 32)[None]).numpy()
    q = joint_index.align_images(raw)[0]  # the index's stored ICP map
    result = joint_index.search(image=path, k=6, metric="both")
    check(result, joint_index, *reference(joint_index, q=q, k=6))
    # the same picture is (almost exactly) the indexed vertex: nearest by angle
    assert result.euclidean[0].id == "img0005" and result.euclidean[0].euclidean < 1e-3
    from PIL import Image

    with Image.open(path) as pil:
        assert joint_index.search(image=pil, k=6, metric="both").euclidean == result.euclidean


def test_build_resumes_from_finished_blocks(shapes, joint_run, joint_index, tmp_path, monkeypatch):
    work = tmp_path / "work"
    ManifoldIndex.build(shapes, joint_run, target_degree=4, work_dir=work)
    assert (work / "image-000000000.npy").is_file() and (work / "text.npy").is_file()

    def refuse(*args, **kwargs):
        raise AssertionError("embedded again")

    monkeypatch.setattr(index_encoders.RunEncoder, "images", refuse)
    monkeypatch.setattr(index_encoders.RunEncoder, "texts", refuse)
    again = ManifoldIndex.build(shapes, joint_run, target_degree=4, work_dir=work)
    np.testing.assert_array_equal(again.vectors, joint_index.vectors)


def test_add_from_a_run_equals_a_build_of_the_whole_collection(shapes, joint_run, tmp_path):
    from textmanifold.collection import write_collection

    coll = read_collection(shapes)
    part = write_collection(
        tmp_path / "part", name="part", items=coll.items[:15], image_root=coll.image_root
    )
    grown = ManifoldIndex.build(part, joint_run, threshold=0.8, align=False)
    assert grown.add(shapes) == 6 + 6 + 2  # images, their descriptions, text items
    assert grown.add(shapes) == 0  # already indexed: skipped
    whole = ManifoldIndex.build(shapes, joint_run, threshold=0.8, align=False)
    assert sorted(grown.ids) == sorted(whole.ids)
    for query in ("img0018", "text:img0020", "txt0001", "img0002"):
        _same_hits(grown.search(id=query, metric="both"), whole.search(id=query, metric="both"))
    sentence = "there is a blue square at the top right."
    _same_hits(
        grown.search(text=sentence, metric="both"), whole.search(text=sentence, metric="both")
    )


def _same_hits(a, b):
    """Same ids in the same order and the same distances up to float32 rounding: the
    grown index embeds its images in other batches, and oneDNN's float32 convolutions
    may round differently with the batch (seen on this session's CPU: up to 2e-7 rad)."""
    for kind in ("geodesic", "euclidean"):
        first, second = getattr(a, kind), getattr(b, kind)
        assert [(h.id, h.reachable) for h in first] == [(h.id, h.reachable) for h in second]
        for x, y in zip(first, second, strict=True):
            assert x.geodesic == pytest.approx(y.geodesic, abs=1e-5)
            assert x.euclidean == pytest.approx(y.euclidean, abs=1e-5)


def test_modify_needs_a_compose_run(joint_index):
    with pytest.raises(InputError, match="no compositor"):
        joint_index.search(id="img0001", modify="make it red")
    with pytest.raises(InputError, match="empty"):
        joint_index.search(text="   ")


def test_composed_query_in_joint_equals_brute_force(shapes, tmp_path):
    out = tmp_path / "compose"
    train_compose(shapes, out, method="tirg", in_joint=True, dim=8, settings=TrainSettings(**TINY))
    index = ManifoldIndex.build(shapes, out, target_degree=4)
    assert index.manifest["model"]["kind"] == "compose"
    run = load_run(out)
    text = "make the red circle blue"
    with torch.no_grad():
        source = run.model.source_features(load_image(index.image_path("img0002"), 32)[None])
        tokens, lengths = run.vocab.encode([text])
        raw = run.model.composed(source, tokens, lengths).numpy()
    q = index.align_images(raw)[0]
    result = index.search(id="img0002", modify=text, k=5, metric="both")
    check(result, index, *reference(index, q=q, k=5))
    assert result.query["kind"] == "composed" and result.query["modify"] == text
    # text queries go through the side LSTM and g_text of Eq. 2's first term
    sentence = index.item("text:img0004")["text"]
    with torch.no_grad():
        tokens, lengths = run.vocab.encode([sentence])
        q_text = run.model.compose.g_text(run.model.side_text(tokens, lengths)).numpy()[0]
    check(index.search(text=sentence, k=5, metric="both"), index, *reference(index, q=q_text, k=5))


def test_cli_build_and_search_by_image_and_sentence(shapes, joint_run, joint_index, tmp_path, cli):
    import json

    out = tmp_path / "idx"
    code, stdout, _ = cli(
        "index", "build", shapes, joint_run, "--out", out, "--target-degree", "4", "--no-progress"
    )
    assert code == 0 and "21 images, 23 texts" in stdout
    sentence = "there is a red circle at the middle left."
    code, stdout, _ = cli("search", out, "--text", sentence, "--k", "4", "--json", "--paths")
    expected = joint_index.search(text=sentence, k=4, return_paths=True).to_dict()
    assert code == 0 and json.loads(stdout) == json.loads(json.dumps(expected))
    image = shapes / "images" / "img0007.png"
    code, stdout, _ = cli("search", out, "--image", image, "--metric", "euclidean")
    assert code == 0 and stdout.splitlines()[2].split()[1] == "img0007"
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"not a png at all")
    for args, match in (
        (("--image", bad), "unreadable image"),
        (("--image", tmp_path / "none.png"), "image file not found"),
        (("--id", "img0001", "--modify", "make it red"), "no compositor"),
        (("--text", ""), "text query is empty"),
    ):
        code, _, stderr = cli("search", out, *args)
        assert code == 2 and stderr.startswith("error: ") and match in stderr
        assert stderr.count("\n") == 1


def test_cli_build_resumes_after_an_interruption(shapes, joint_run, tmp_path, monkeypatch, capsys):
    from textmanifold.cli import main
    from textmanifold.index import assembly

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    out = tmp_path / "idx"
    args = [
        "index",
        "build",
        str(shapes),
        str(joint_run),
        "--out",
        str(out),
        "--target-degree",
        "4",
        "--no-progress",
    ]
    with monkeypatch.context() as patch:
        patch.setattr(assembly, "build_graph", interrupted)
        with pytest.raises(SystemExit) as exit_info:
            main(args)
    assert exit_info.value.code == 130 and not out.exists()
    partial = tmp_path / "idx.partial"
    assert (partial / "image-000000000.npy").is_file() and (partial / "text.npy").is_file()

    def refuse(*a, **k):
        raise AssertionError("embedded again")

    monkeypatch.setattr(index_encoders.RunEncoder, "images", refuse)
    monkeypatch.setattr(index_encoders.RunEncoder, "texts", refuse)
    with pytest.raises(SystemExit) as exit_info:
        main(args)
    assert exit_info.value.code == 0 and not partial.exists()
    assert ManifoldIndex.load(out).n_images == 21
    capsys.readouterr()
