"""The JSON API (FastAPI TestClient) against the library's own ``ManifoldIndex.search``."""

from __future__ import annotations

import base64
import io
import math

import numpy as np
import pytest
from fastapi.testclient import TestClient

from textmanifold.service import create_app
from textmanifold.service.limits import MAX_BODY_BYTES

SENTENCE = "there is a red circle at the middle left, a blue square at the middle right."


@pytest.fixture(scope="module")
def client(tiny_index):
    return TestClient(create_app(tiny_index), raise_server_exceptions=False)


def _steps(path):
    return None if path is None else [(s.id, s.kind, s.caption) for s in path]


def assert_same_ranking(answer: list[dict], hits) -> None:
    """The JSON hits equal the library's: ids, ranks, distances, captions, paths."""
    assert [h["id"] for h in answer] == [h.id for h in hits]
    assert [h["rank"] for h in answer] == [h.rank for h in hits]
    for got, want in zip(answer, hits, strict=True):
        assert got["reachable"] is want.reachable
        assert got["euclidean"] == pytest.approx(want.euclidean, abs=1e-9)
        if math.isfinite(want.geodesic):
            assert got["geodesic"] == pytest.approx(want.geodesic, abs=1e-9)
        else:
            assert got["geodesic"] is None
        steps = got["path"] and [(s["id"], s["kind"], s["caption"]) for s in got["path"]]
        assert steps == _steps(want.path)
        assert got["image_url"] == f"/items/{got['id']}/image"


def _search(client, index, body: dict, **query):
    answer = client.post("/search", json={**body, "k": 5, "metric": "both", "paths": True})
    assert answer.status_code == 200, answer.text
    want = index.search(**query, k=5, metric="both", return_paths=True)
    got = answer.json()
    assert_same_ranking(got["geodesic"], want.geodesic)
    assert_same_ranking(got["euclidean"], want.euclidean)
    assert len(got["geodesic"]) == len(got["euclidean"]) == 5
    return got


def _image_ids(index) -> list[str]:
    return [i for i in index.ids if index.item(i)["kind"] == "image"]


def test_text_search_equals_the_library(client, tiny_index):
    got = _search(client, tiny_index, {"text": SENTENCE}, text=SENTENCE)
    assert got["query"]["kind"] == "text"
    # some geodesic result is reached through the graph: its path starts at the query
    paths = [h["path"] for h in got["geodesic"] if h["path"]]
    assert paths and all(p[0]["kind"] == "query" for p in paths)
    for hit in got["geodesic"]:  # captions are the items' texts
        assert hit["caption"] == tiny_index.item(hit["id"])["text"]


def test_image_search_from_base64_equals_the_library(client, tiny_index):
    image_id = _image_ids(tiny_index)[3]
    path = tiny_index.image_path(image_id)
    encoded = base64.b64encode(path.read_bytes()).decode("ascii")
    _search(client, tiny_index, {"image": encoded}, image=path)
    # a data URL, as a browser's FileReader gives it, is the same query
    _search(client, tiny_index, {"image": "data:image/png;base64," + encoded}, image=path)


def test_id_and_vector_search_equal_the_library(client, tiny_index):
    image_id = _image_ids(tiny_index)[5]
    got = _search(client, tiny_index, {"id": image_id}, id=image_id)
    assert got["query"]["id"] == image_id
    vector = np.random.default_rng(0).standard_normal(tiny_index.manifest["dim"])
    vector /= np.linalg.norm(vector)
    _search(client, tiny_index, {"vector": vector.tolist()}, vector=vector)


def test_one_metric_leaves_the_other_ranking_empty(client, tiny_index):
    answer = client.post("/search", json={"text": SENTENCE, "k": 3, "metric": "euclidean"})
    assert answer.status_code == 200
    assert answer.json()["geodesic"] == [] and len(answer.json()["euclidean"]) == 3
    want = tiny_index.search(text=SENTENCE, k=3, metric="euclidean")
    assert [h["id"] for h in answer.json()["euclidean"]] == [h.id for h in want.euclidean]


def test_items_and_their_images(client, tiny_index):
    image_id = _image_ids(tiny_index)[0]
    record = client.get(f"/items/{image_id}")
    assert record.status_code == 200
    item = tiny_index.item(image_id)
    assert record.json() == {
        "id": image_id,
        "kind": "image",
        "text": item["text"],
        "labels": item["labels"],
        "image_url": f"/items/{image_id}/image",
    }
    image = client.get(f"/items/{image_id}/image")
    assert image.status_code == 200 and image.headers["content-type"] == "image/png"
    assert image.content == tiny_index.image_path(image_id).read_bytes()
    text_id = next(i for i in tiny_index.ids if tiny_index.item(i)["kind"] == "text")
    assert client.get(f"/items/{text_id}").json()["image_url"] is None
    missing = client.get(f"/items/{text_id}/image")
    assert missing.status_code == 404 and "has no image" in missing.json()["error"]


def test_path_between_two_items_equals_the_library(client, tiny_index):
    ids = _image_ids(tiny_index)
    a, b = ids[0], ids[-1]
    answer = client.get("/path", params={"from": a, "to": b})
    assert answer.status_code == 200
    want = tiny_index.path_between(a, b)
    got = answer.json()
    assert [(s["id"], s["kind"], s["caption"]) for s in got["steps"]] == _steps(want)
    assert got["reachable"] is bool(want) and (got["from"], got["to"]) == (a, b)


def test_healthz(client, tiny_index):
    health = client.get("/healthz").json()
    assert health["status"] == "ok"
    assert (health["n_images"], health["n_texts"]) == (tiny_index.n_images, tiny_index.n_texts)
    assert health["n_images"] == len(_image_ids(tiny_index)) == 21


def _png(width: int, height: int) -> str:
    """A base64 PNG of one colour: a few kB that decode to width x height pixels."""
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("1", (width, height)).save(buffer, format="PNG")
    return base64.b64encode(buffer.getvalue()).decode("ascii")


@pytest.mark.parametrize(
    ("method", "url", "body", "status", "message"),
    [
        ("post", "/search", {"id": "no-such-image"}, 404, "unknown id 'no-such-image'"),
        ("post", "/search", {"id": "../img0000"}, 404, "unknown id '../img0000'"),
        ("get", "/items/..%2F..%2Fetc%2Fpasswd/image", None, 404, "unknown id '../../etc/passwd'"),
        ("get", "/items/..%2Fimages%2Fimg0000.png", None, 404, "unknown id"),
        ("get", "/path?from=../img0000&to=img0001", None, 404, "unknown id '../img0000'"),
        ("post", "/search", {"image": "not base64!"}, 400, "image: not valid base64"),
        (
            "post",
            "/search",
            {"image": base64.b64encode(b"GIF89a garbage").decode()},
            400,
            "image: unreadable image",
        ),
        ("post", "/search", {"image": _png(9000, 8000)}, 400, "9000x8000 pixels is more than"),
        ("post", "/search", {"image": _png(20000, 20000)}, 400, "image: more pixels than the"),
        (
            "post",
            "/search",
            {"id": "img0000", "modify": "make it red"},
            400,
            "is a joint run with no compositor",
        ),
        ("post", "/search", {"text": "a", "modify": "make it red"}, 422, "modify goes with"),
        ("post", "/search", {"text": "a", "k": 0}, 422, "k: Input should be greater than"),
        ("post", "/search", {"text": "a", "k": 1000}, 422, "k: Input should be less than"),
        ("post", "/search", {"text": "a", "id": "img0000"}, 422, "exactly one of"),
        ("post", "/search", {}, 422, "exactly one of"),
        ("post", "/search", {"text": "   "}, 400, "text: the sentence is empty"),
        ("post", "/search", {"text": "a", "metric": "cosine"}, 422, "metric"),
        ("post", "/search", {"text": "a", "sql": 1}, 422, "sql"),
        ("post", "/search", {"vector": [1.0, 0.0]}, 400, ""),
        ("get", "/path?from=img0000", None, 422, "to: Field required"),
    ],
)
def test_bad_requests_get_a_4xx_json_error(client, method, url, body, status, message):
    answer = getattr(client, method)(url, **({} if body is None else {"json": body}))
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"] == "application/json"
    assert message in answer.json()["error"]
    assert "Traceback" not in answer.text


def test_oversized_and_malformed_bodies(client, tiny_index):
    huge = {"image": "A" * (MAX_BODY_BYTES + 10)}  # over the default bound
    answer = client.post("/search", json=huge)
    assert answer.status_code == 413 and "request body larger than" in answer.json()["error"]
    client = TestClient(create_app(tiny_index, max_body_bytes=1000))
    big = {"image": base64.b64encode(bytes(2000)).decode()}
    answer = client.post("/search", json=big)
    assert answer.status_code == 413
    assert answer.json() == {"error": "request body larger than 1000 bytes"}

    def chunks():  # no Content-Length: the bytes received are counted
        yield b'{"text": "' + b"a" * 600
        yield b"b" * 600 + b'"}'

    answer = client.post("/search", content=chunks(), headers={"content-type": "application/json"})
    assert answer.status_code == 413
    answer = client.post(
        "/search", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert answer.status_code == 422 and "error" in answer.json()


def test_metrics_count_requests_in_prometheus_format(tiny_index):
    from prometheus_client import parser  # an independent reader of the format

    client = TestClient(create_app(tiny_index))
    image_id = _image_ids(tiny_index)[0]
    for _ in range(3):
        assert client.post("/search", json={"id": image_id, "k": 2}).status_code == 200
    assert client.post("/search", json={"id": "nope"}).status_code == 404
    assert client.get("/healthz").status_code == 200
    answer = client.get("/metrics")
    assert answer.headers["content-type"].startswith("text/plain; version=0.0.4")
    families = {f.name: f for f in parser.text_string_to_metric_families(answer.text)}
    requests = {
        (s.labels["method"], s.labels["route"], s.labels["status"]): s.value
        for s in families["textmanifold_http_requests"].samples
    }
    assert requests == {
        ("POST", "/search", "200"): 3,
        ("POST", "/search", "404"): 1,
        ("GET", "/healthz", "200"): 1,
    }
    latency = families["textmanifold_http_request_duration_seconds"]
    assert latency.type == "histogram"
    by_name = {}
    for s in latency.samples:
        if s.labels["route"] == "/search":
            by_name.setdefault(s.name, []).append(s)
    assert [s.value for s in by_name["textmanifold_http_request_duration_seconds_count"]] == [4]
    buckets = by_name["textmanifold_http_request_duration_seconds_bucket"]
    values = [s.value for s in buckets]
    assert values == sorted(values) and buckets[-1].labels["le"] == "+Inf" and values[-1] == 4


def test_an_unexpected_error_is_a_500_without_traceback(tiny_index_dir, monkeypatch):
    from textmanifold.index import ManifoldIndex

    index = ManifoldIndex.load(tiny_index_dir)

    def broken(**query):
        raise RuntimeError("secret internals")

    monkeypatch.setattr(index, "search", broken)  # a bug inside the engine
    client = TestClient(create_app(index), raise_server_exceptions=False)
    answer = client.post("/search", json={"id": index.ids[0]})
    assert answer.status_code == 500
    assert answer.json() == {"error": "internal server error"}


def test_the_api_is_documented_and_the_page_is_served(client):
    spec = client.get("/openapi.json").json()
    assert set(spec["paths"]) == {
        "/search",
        "/items/{item_id}",
        "/items/{item_id}/image",
        "/path",
        "/healthz",
        "/metrics",
    }
    assert "SearchRequest" in spec["components"]["schemas"]
    assert client.get("/docs").status_code == 200
    page = client.get("/")
    assert page.status_code == 200 and 'id="search-form"' in page.text
    script = client.get("/static/app.js")
    assert script.status_code == 200 and "javascript" in script.headers["content-type"]
    assert client.get("/static/../app.py").status_code == 404


def test_composed_search_equals_the_library(compose_index):
    client = TestClient(create_app(compose_index))
    modify = "make the red circle blue"
    got = _search(
        client, compose_index, {"id": "img0002", "modify": modify}, id="img0002", modify=modify
    )
    assert got["query"]["kind"] == "composed" and got["query"]["modify"] == modify
    assert "image" not in got["query"]  # the server's file path is not sent
    path = compose_index.image_path("img0002")
    encoded = base64.b64encode(path.read_bytes()).decode("ascii")
    _search(client, compose_index, {"image": encoded, "modify": modify}, image=path, modify=modify)
