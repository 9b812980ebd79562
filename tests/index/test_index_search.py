"""ManifoldIndex search against brute force: scipy's full Dijkstra and numpy angles."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
import scipy.sparse
from scipy.sparse.csgraph import dijkstra

from _index_fixtures import as_attached, check, reference, unit_rows, vertices
from textmanifold.errors import InputError
from textmanifold.index import ManifoldIndex, UnknownIdError, Vertices
from textmanifold.index.bounded import bounded_dijkstra
from textmanifold.manifold import great_circle_graph, shortest_path

THRESHOLD = 0.45


@pytest.fixture(scope="module")
def index():
    # sparse enough (threshold 0.45 rad on S^2, ~10 neighbours) to leave some islands
    return ManifoldIndex.from_arrays(vertices(np.random.default_rng(0)), threshold=THRESHOLD)


@pytest.mark.parametrize("seed", range(6))
def test_vector_queries_equal_brute_force(index, seed):
    q = unit_rows(np.random.default_rng(100 + seed), 1)[0]
    result = index.search(vector=q, k=10, metric="both")
    check(result, index, *reference(index, q=q))
    assert result.query == {"kind": "vector"}


def test_unreachable_images_come_last_by_angle():
    # a graph of islands: fewer than k reachable images, the rest reported unreachable
    islands = ManifoldIndex.from_arrays(vertices(np.random.default_rng(1)), threshold=0.15)
    found = 0
    for seed in range(20):
        q = unit_rows(np.random.default_rng(1000 + seed), 1)[0]
        result = islands.search(vector=q, k=20, metric="geodesic", return_paths=True)
        dist, angle, geo, _ = reference(islands, q=q, k=20)
        check(result, islands, dist, angle, geo, [])
        flags = [h.reachable for h in result.geodesic]
        assert flags == sorted(flags, reverse=True)
        assert all((h.path is None) != h.reachable for h in result.geodesic)
        found += not flags[-1]
    assert found > 10


@pytest.mark.parametrize("row", [0, 7, 151, 170])
def test_id_queries_exclude_the_vertex_itself(index, row):
    vid = index.ids[row]
    result = index.search(id=vid, k=8, metric="both")
    check(result, index, *reference(index, row=row, k=8))
    assert vid not in [h.id for h in result.geodesic + result.euclidean]


def test_paths_are_shortest_paths(index):
    q = unit_rows(np.random.default_rng(7), 1)[0]
    result = index.search(vector=q, k=10, metric="geodesic", return_paths=True)
    q = as_attached(index, q).astype(np.float64)
    X = np.asarray(index.vectors)
    for hit in result.geodesic:
        if not hit.reachable:
            continue
        steps = hit.path
        assert steps[0].id == "query" and steps[0].kind == "query" and steps[-1].id == hit.id
        rows = [index.row(s.id) for s in steps[1:]]
        first = math.acos(min(1.0, float(X[rows[0]].astype(np.float64) @ q)))
        length = first + sum(index.graph[a, b] for a, b in itertools.pairwise(rows))
        assert length == pytest.approx(hit.geodesic, abs=1e-6)
        for s, r in zip(steps[1:], rows, strict=True):
            assert s.kind == ("image" if index.is_image[r] else "text")
            assert s.caption == index.item(s.id)["text"]
        # each step carries its hop: the attachment, then the graph's edge lengths
        assert steps[0].angle is None and steps[1].angle == pytest.approx(first, abs=1e-6)
        for s, a, b in zip(steps[2:], rows, rows[1:], strict=False):
            assert s.angle == index.graph[a, b]
        assert sum(s.angle for s in steps[1:]) == pytest.approx(hit.geodesic, abs=1e-9)


def test_metric_selects_the_rankings(index):
    q = unit_rows(np.random.default_rng(3), 1)[0]
    geo = index.search(vector=q, metric="geodesic")
    euc = index.search(vector=q, metric="euclidean")
    both = index.search(vector=q, metric="both")
    assert geo.euclidean == [] and euc.geodesic == []
    assert geo.geodesic == both.geodesic and euc.euclidean == both.euclidean


def test_out_of_sample_attachment_equals_rebuild(index):
    from textmanifold.index.scan import query_edges, row_norms

    X = np.asarray(index.vectors)
    for seed in range(5):
        q = unit_rows(np.random.default_rng(50 + seed), 1)[0]
        q = as_attached(index, q)
        rebuilt = great_circle_graph(np.concatenate([X, q[None, :]]), threshold=index.threshold)
        row = rebuilt.getrow(len(X))
        got_v, got_w = query_edges(
            q, float(row_norms(q[None])[0]), X, index.norms, X @ q, index.threshold
        )
        np.testing.assert_array_equal(got_v, row.indices)
        np.testing.assert_array_equal(got_w, row.data)  # bit for bit
        # ... and the rest of the rebuilt graph is the index's graph
        assert (rebuilt[: len(X), : len(X)] != index.graph).nnz == 0


def test_add_then_search_equals_build_of_the_union():
    rng = np.random.default_rng(11)
    first, second = vertices(rng, 120, 40), vertices(rng, 50, 20, prefix="new-")
    grown = ManifoldIndex.from_arrays(first, threshold=THRESHOLD)
    before = {i: np.array(grown.vectors[grown.row(i)]) for i in grown.ids}
    grown.add(
        image_embeddings=(second.image, second.image_ids),
        text_embeddings=(second.text, second.text_ids),
    )
    union = Vertices(
        np.concatenate([first.image, second.image]),
        first.image_ids + second.image_ids,
        np.concatenate([first.text, second.text]),
        first.text_ids + second.text_ids,
        first.items + second.items,
    )
    scratch = ManifoldIndex.from_arrays(union, threshold=THRESHOLD)
    assert sorted(grown.ids) == sorted(scratch.ids)
    assert grown.manifest["counts"] == scratch.manifest["counts"]
    for i, v in before.items():  # existing vertices unchanged
        np.testing.assert_array_equal(grown.vectors[grown.row(i)], v)
    # same graph up to the vertex order
    perm = np.array([scratch.row(i) for i in grown.ids])
    assert (scratch.graph[perm][:, perm] != grown.graph).nnz == 0
    for seed in range(5):
        q = unit_rows(np.random.default_rng(200 + seed), 1)[0]
        a, b = (ix.search(vector=q, k=10, metric="both") for ix in (grown, scratch))
        assert a == b
    assert grown.search(id="new-img3", metric="both") == scratch.search(
        id="new-img3", metric="both"
    )
    # the same rows again are skipped: nothing changes
    assert (
        grown.add(
            image_embeddings=(second.image, second.image_ids),
            text_embeddings=(second.text, second.text_ids),
        )
        == 0
    )
    assert grown.search(id="new-img3", metric="both") == scratch.search(
        id="new-img3", metric="both"
    )


def test_add_refuses_an_indexed_id_with_another_vector_unless_replace():
    rng = np.random.default_rng(12)
    first = vertices(rng, 120, 40)
    index = ManifoldIndex.from_arrays(first, threshold=THRESHOLD)
    moved = unit_rows(np.random.default_rng(13), 2)
    ids = first.image_ids[:2]
    with pytest.raises(InputError, match=r"2 ids are already in the index .*'img0', 'img1'"):
        index.add(image_embeddings=(moved, ids))
    assert index.manifest["counts"]["vertices"] == 160  # refused: nothing changed
    with pytest.raises(InputError, match="dimension 5, the index 3"):
        index.add(image_embeddings=(np.ones((1, 5), np.float32) / 5**0.5, ids[:1]))
    assert index.add(image_embeddings=(moved, ids), replace=True) == 2
    # a build from scratch with the two images moved: the same graph up to vertex order
    image = first.image.copy()
    image[:2] = moved
    scratch = ManifoldIndex.from_arrays(
        Vertices(image, first.image_ids, first.text, first.text_ids, first.items),
        threshold=THRESHOLD,
    )
    assert sorted(index.ids) == sorted(scratch.ids)
    perm = np.array([scratch.row(i) for i in index.ids])
    assert (scratch.graph[perm][:, perm] != index.graph).nnz == 0
    np.testing.assert_allclose(index.vectors[index.row("img0")], moved[0], atol=1e-6)
    q = unit_rows(np.random.default_rng(14), 1)[0]
    assert index.search(vector=q, k=10, metric="both") == scratch.search(
        vector=q, k=10, metric="both"
    )


def test_save_and_mmap_load_give_identical_results(index, tmp_path):
    index.save(tmp_path / "idx")
    loaded = ManifoldIndex.load(tmp_path / "idx")
    assert isinstance(loaded.vectors, np.memmap)
    assert loaded.ids == index.ids and loaded.manifest == index.manifest
    assert loaded.n_images == 150 and loaded.n_texts == 60
    for seed in range(4):
        q = unit_rows(np.random.default_rng(300 + seed), 1)[0]
        kwargs = dict(k=10, metric="both", return_paths=True)
        assert loaded.search(vector=q, **kwargs) == index.search(vector=q, **kwargs)
    assert loaded.search(id="txt3", **kwargs) == index.search(id="txt3", **kwargs)
    assert loaded.item("img4") == index.item("img4")
    with pytest.raises(InputError, match="already exists"):
        index.save(tmp_path / "idx")
    index.save(tmp_path / "idx", force=True)
    assert ManifoldIndex.load(tmp_path / "idx", mmap=False).ids == index.ids
    assert sorted(p.name for p in tmp_path.iterdir()) == ["idx"]  # no staging left


def test_path_between_is_a_shortest_path(index):
    for a, b in [("img0", "img90"), ("img3", "txt10"), ("txt1", "txt2")]:
        steps = index.path_between(a, b)
        expected = shortest_path(index.graph, index.row(a), index.row(b))
        if not expected:
            assert steps == []
            continue
        rows = [index.row(s.id) for s in steps]
        length = sum(index.graph[x, y] for x, y in itertools.pairwise(rows))
        ref = sum(index.graph[x, y] for x, y in itertools.pairwise(expected))
        assert rows[0] == index.row(a) and rows[-1] == index.row(b)
        assert length == pytest.approx(ref, rel=1e-12)


def test_bounded_dijkstra_equals_full_dijkstra_on_random_graphs():
    rng = np.random.default_rng(5)
    for trial in range(10):
        n = 300
        dense = scipy.sparse.random(n, n, density=4 / n, random_state=trial, format="csr")
        graph = (dense + dense.T).tocsr()
        graph.sort_indices()
        is_target = rng.random(n) < 0.5
        src = int(rng.integers(n))
        full = dijkstra(graph, indices=src)
        for k in (1, 5, 40, 400):
            got = bounded_dijkstra(
                graph.indptr, graph.indices, graph.data, [(src, 0.0)], is_target, k
            )
            targets = np.flatnonzero(is_target & np.isfinite(full))
            want = targets[np.lexsort((targets, full[targets]))][:k]
            assert [v for _, v in got.nearest] == want.tolist()
            assert [d for d, _ in got.nearest] == full[want].tolist()  # exact


def test_bad_queries(index):
    with pytest.raises(UnknownIdError, match="unknown id 'nope'"):
        index.search(id="nope")
    with pytest.raises(InputError, match="shape \\(3,\\)"):
        index.search(vector=np.ones(4))
    with pytest.raises(InputError, match="exactly one"):
        index.search(vector=np.ones(3), id="img1")
    with pytest.raises(InputError, match="zero vector"):
        index.search(vector=np.zeros(3))
    with pytest.raises(InputError, match="metric"):
        index.search(vector=np.ones(3), metric="cosine")
    with pytest.raises(InputError, match="k must"):
        index.search(vector=np.ones(3), k=0)
    with pytest.raises(InputError, match="without an encoder"):
        index.search(text="a red cube")
    with pytest.raises(InputError, match="text vertex"):
        index.image_path("txt1")
