"""The manifold commands on tiny files: graph build, retrieve, paths count, label-retrieval."""

import json

import numpy as np
import pytest
import scipy.sparse
from scipy.sparse.csgraph import shortest_path

from _cli_fixtures import exit_code as run
from _manifold_fixtures import arc_graph, moons, on_sphere, reference_counts, tree_case
from textmanifold import io
from textmanifold.collection import save_embedding
from textmanifold.evaluate.label_retrieval import label_retrieval_table


def output(capsys) -> dict:
    return json.loads(capsys.readouterr().out)


@pytest.fixture
def labelled(tmp_path):
    """30 moon images (every third unlabelled), 60 text rows, a noisy pretrained space."""
    image, labels = moons(30, seed=0)
    text, _ = moons(60, seed=1)
    ids = [f"img{i}" for i in range(30)]
    items = [
        {"id": i, "modality": "image", "labels": [lab] if n % 3 else []}
        for n, (i, lab) in enumerate(zip(ids, labels, strict=True))
    ]
    rng = np.random.default_rng(0)
    resnet = image + 0.01 * rng.standard_normal(image.shape)
    save_embedding(tmp_path / "image.npy", image, ids)
    save_embedding(tmp_path / "text.npy", text, [f"t{i}" for i in range(60)])
    save_embedding(tmp_path / "resnet.npy", resnet[::-1], ids[::-1])  # other row order
    io.write_jsonl(tmp_path / "items.jsonl", items)
    return tmp_path, image, text, resnet, labels, items


def test_align_writes_the_paired_icp_map(tmp_path, capsys):
    from scipy.linalg import orthogonal_procrustes

    image, _ = moons(40, seed=2)
    q, _ = np.linalg.qr(np.random.default_rng(3).normal(size=(image.shape[1],) * 2))
    text = image @ q.T
    ids = [f"img{i}" for i in range(40)]
    save_embedding(tmp_path / "image.npy", image, ids)
    save_embedding(
        tmp_path / "text.npy",
        np.vstack([text[::-1], image[:5]]),
        [f"text:{i}" for i in ids[::-1]] + [f"t{i}" for i in range(5)],
    )
    assert (
        run(
            "align",
            "--image",
            tmp_path / "image.npy",
            "--text",
            tmp_path / "text.npy",
            "--out",
            tmp_path / "aligned.npy",
        )
        == 0
    )
    summary = output(capsys)
    aligned = np.load(tmp_path / "aligned.npy")
    omega, _ = orthogonal_procrustes(image - image.mean(0), text - text.mean(0))
    expected = (image - image.mean(0)) @ omega + text.mean(0)
    expected /= np.linalg.norm(expected, axis=1, keepdims=True)
    np.testing.assert_allclose(aligned, expected, atol=1e-5)
    assert json.loads((tmp_path / "aligned.ids.json").read_text()) == ids
    assert summary["rows"] == 40 and summary["paired_cosine_after"] == pytest.approx(1, abs=1e-5)
    # unpaired ICP runs without descriptions and reports no paired cosine
    save_embedding(tmp_path / "plain.npy", text, [f"t{i}" for i in range(40)])
    assert (
        run(
            "align",
            "--image",
            tmp_path / "image.npy",
            "--text",
            tmp_path / "plain.npy",
            "--out",
            tmp_path / "a2.npy",
            "--correspondence",
            "nearest",
        )
        == 0
    )
    assert output(capsys)["paired_cosine_before"] is None
    assert (
        run(
            "align",
            "--image",
            tmp_path / "image.npy",
            "--text",
            tmp_path / "plain.npy",
            "--out",
            tmp_path / "a3.npy",
        )
        == 2
    )
    assert "no description row 'text:img0'" in capsys.readouterr().err
    assert not (tmp_path / "a3.npy").exists()


def test_graph_build_matches_brute_force(labelled, capsys):
    path, image, *_ = labelled
    assert (
        run("graph", "build", path / "image.npy", "--out", path / "g.npz", "--threshold", 0.05) == 0
    )
    summary = output(capsys)
    expected = arc_graph(image, 0.05)
    graph = io.load_sparse(path / "g.npz")
    assert summary["edges"] == expected.nnz // 2 == graph.nnz // 2 > 0
    assert summary["vertices"] == 30 and summary["threshold"] == 0.05
    assert np.allclose(graph.toarray(), expected.toarray(), atol=1e-5)


def test_retrieve_matches_scipy_shortest_paths(labelled, capsys):
    path, image, text, _, _, items = labelled
    assert (
        run(
            "retrieve",
            "--embeddings",
            path / "image.npy",
            "--items",
            path / "items.jsonl",
            "--aux",
            path / "text.npy",
            "--threshold",
            0.05,
            "--k",
            2,
        )
        == 0
    )
    answer = output(capsys)
    targets = [n for n, it in enumerate(items) if it["labels"]]
    queries = [n for n, it in enumerate(items) if not it["labels"]]
    assert [q["id"] for q in answer["queries"]] == [f"img{n}" for n in queries]
    # Reference: every image and text row is a vertex; geodesics by scipy.
    dist = shortest_path(arc_graph(np.vstack([image, text]), 0.05), indices=queries)
    for q, row in zip(answer["queries"], dist[:, targets], strict=True):
        order = np.argsort(row, kind="stable")[:2]
        expected = [(f"img{targets[t]}", row[t]) for t in order if np.isfinite(row[t])]
        got = [(nb["id"], nb["distance"]) for nb in q["neighbours"]]
        assert [g[0] for g in got] == [e[0] for e in expected]
        assert np.allclose([g[1] for g in got], [e[1] for e in expected], atol=1e-4)
        assert q["retrievable"] == bool(expected)


def test_paths_count_matches_networkx(tmp_path, capsys):
    graph, scene, is_image, reach = tree_case(0)
    n = int(is_image.sum())
    ids = [f"s{i}" for i in range(n)]
    io.write_jsonl(
        tmp_path / "items.jsonl",
        [
            {"id": i, "modality": "image", "scene": int(s)}
            for i, s in zip(ids, scene[:n], strict=True)
        ],
    )
    # The graph's rows as embeddings are not needed with --graph; ids and order are.
    save_embedding(tmp_path / "image.npy", on_sphere(np.zeros((n, 2))), ids)
    save_embedding(tmp_path / "text.npy", on_sphere(np.zeros((n, 2))), [f"text:{i}" for i in ids])
    io.save_sparse(tmp_path / "g.npz", graph)
    io.save_sparse(tmp_path / "reach.npz", reach)
    assert (
        run(
            "paths",
            "count",
            "--items",
            tmp_path / "items.jsonl",
            "--reachable",
            tmp_path / "reach.npz",
            "--embeddings",
            tmp_path / "image.npy",
            "--embeddings",
            tmp_path / "text.npy",
            "--graph",
            tmp_path / "g.npz",
            "--no-progress",
            "--out",
            tmp_path / "counts.json",
        )
        == 0
    )
    summary = output(capsys)
    expected = reference_counts(graph, scene, is_image, reach, "literal")
    assert summary["total"] == expected.sum() > 0 and summary["rule"] == "literal"
    assert summary["log_total"] == pytest.approx(np.log(expected.sum()))
    assert (summary["image_vertices"], summary["text_vertices"]) == (n, n)
    per_source = json.loads((tmp_path / "counts.json").read_text())["per_source"]
    assert [per_source[i] for i in ids] == expected[:n].tolist()


def test_label_retrieval_writes_rows(labelled, capsys):
    path, image, text, resnet, labels, items = labelled
    for item in items:  # label every image for this task
        item["labels"] = [labels[int(item["id"][3:])]]
    io.write_jsonl(path / "items.jsonl", items)
    assert (
        run(
            "label-retrieval",
            "--image",
            path / "image.npy",
            "--items",
            path / "items.jsonl",
            "--text",
            path / "text.npy",
            "--resnet",
            path / "resnet.npy",
            "--k-shot",
            2,
            "--threshold",
            0.05,
            "--seed",
            1,
            "--normalize",
            "--out",
            path / "table.json",
        )
        == 0
    )
    printed = capsys.readouterr().out
    expected = label_retrieval_table(
        image,
        text,
        resnet,
        [[lab] for lab in labels],
        n_way=None,
        k_shot=2,
        threshold=0.05,
        seed=1,
        normalize=True,
    )
    rows = json.loads((path / "table.json").read_text())["label_retrieval"]
    assert [r["row"] for r in rows] == list("ABCDEF")
    for got, want in zip(rows, expected, strict=True):
        assert got["retrievable"] == want["retrievable"]
        assert got["accuracy"] == pytest.approx(want["accuracy"], nan_ok=True)
    assert printed.startswith("| Row | Method |") and printed.count("\n") == 8


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["graph", "build", "{p}/missing.npy", "--out", "{p}/g.npz", "--threshold", "0.1"],
            "missing.npy: file not found",
        ),
        (["graph", "build", "{p}/image.npy", "--out", "{p}/g.npz"], "exactly one of"),
        (
            [
                "retrieve",
                "--embeddings",
                "{p}/image.npy",
                "--items",
                "{p}/items.jsonl",
                "--threshold",
                "0.1",
                "--query",
                "nope",
            ],
            "query id 'nope'",
        ),
        (
            [
                "label-retrieval",
                "--image",
                "{p}/image.npy",
                "--items",
                "{p}/items.jsonl",
                "--k-shot",
                "2",
                "--threshold",
                "0.1",
            ],
            "have no labels",
        ),
        (
            [
                "label-retrieval",
                "--image",
                "{p}/image.npy",
                "--items",
                "{p}/bad.jsonl",
                "--k-shot",
                "2",
                "--threshold",
                "0.1",
            ],
            "bad.jsonl:2: invalid JSON",
        ),
        (
            [
                "paths",
                "count",
                "--items",
                "{p}/items.jsonl",
                "--reachable",
                "{p}/r.npz",
                "--embeddings",
                "{p}/image.npy",
                "--threshold",
                "0.1",
            ],
            "has no 'scene'",
        ),
        (
            ["graph", "build", "{p}/zero.npy", "--out", "{p}/g.npz", "--threshold", "0.1"],
            "row 1 is a zero vector",
        ),
    ],
)
def test_bad_input_is_one_line_and_exit_2(labelled, capsys, args, message):
    path = labelled[0]
    (path / "bad.jsonl").write_text('{"id": "a", "modality": "image"}\n{"id": \n')
    np.save(path / "zero.npy", np.array([[1.0, 0.0], [0.0, 0.0]]))
    scipy.sparse.save_npz(path / "r.npz", scipy.sparse.csr_matrix(np.eye(2, dtype=bool)))
    assert run(*[a.format(p=path) for a in args]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1
    assert message in err
