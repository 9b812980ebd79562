"""The service as routers with dependencies: ``app.dependency_overrides`` swaps the index
(answers checked against brute force) and the settings (the routers' own API-key check)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from fastapi.testclient import TestClient

from _index_fixtures import reference, unit_rows, vertices
from textmanifold.index import ManifoldIndex
from textmanifold.service import create_app
from textmanifold.service.dependencies import ServiceSettings, get_index, get_settings

KEY = "router-key-0123456789"


@pytest.fixture(scope="module")
def served():
    return ManifoldIndex.from_arrays(vertices(np.random.default_rng(0), 40, 10), threshold=0.6)


@pytest.fixture(scope="module")
def small():
    """A hand-built index of 25 images and 8 sentences on the 2-sphere, ids ``s...``."""
    return ManifoldIndex.from_arrays(
        vertices(np.random.default_rng(1), 25, 8, prefix="s"), threshold=0.7
    )


def test_the_index_dependency_is_overridden_and_answers_like_brute_force(served, small):
    app = create_app(served)
    app.dependency_overrides[get_index] = lambda: small
    client = TestClient(app)
    health = client.get("/healthz").json()
    assert (health["n_images"], health["n_texts"]) == (25, 8)
    for item_id in ("simg3", "simg17", "stxt2"):
        answer = client.post("/search", json={"id": item_id, "k": 6})
        assert answer.status_code == 200, answer.text
        got = answer.json()
        dist, angle, geo, euc = reference(small, row=small.row(item_id), k=6)
        assert [h["id"] for h in got["geodesic"]] == [small.ids[r] for r in geo]
        assert [h["id"] for h in got["euclidean"]] == [small.ids[r] for r in euc]
        for hit in got["geodesic"]:
            d = dist[small.row(hit["id"])]
            assert hit["reachable"] == math.isfinite(d)
            assert hit["geodesic"] == (pytest.approx(d, rel=1e-9) if math.isfinite(d) else None)
            assert hit["euclidean"] == pytest.approx(angle[small.row(hit["id"])], abs=1e-6)
            if hit["reachable"]:
                assert [hit["path"][0]["id"], hit["path"][-1]["id"]] == [item_id, hit["id"]]
    q = unit_rows(np.random.default_rng(7), 1)[0]
    got = client.post("/search", json={"vector": q.tolist(), "k": 5, "metric": "euclidean"}).json()
    images = np.flatnonzero(small.is_image)
    X = np.asarray(small.vectors, dtype=np.float64)[images]
    by_angle = images[
        np.argsort(np.arccos(np.clip(X @ q / np.linalg.norm(X, axis=1), -1, 1)), kind="stable")
    ][:5]
    assert [h["id"] for h in got["euclidean"]] == [small.ids[r] for r in by_angle]
    assert got["geodesic"] == []
    # the items and path routes read the same dependency
    assert client.get("/items/simg3").json()["text"] == "about simg3"
    assert client.get("/items/img3").status_code == 404  # the served index's id
    far = client.post("/search", json={"id": "simg17", "k": 6}).json()["geodesic"][-1]["id"]
    for source, target in (("simg17", far), ("simg3", "simg17")):  # a path, and none
        steps = client.get("/path", params={"from": source, "to": target}).json()["steps"]
        assert [s["id"] for s in steps] == [s.id for s in small.path_between(source, target)]
    assert len(small.path_between("simg17", far)) > 2
    app.dependency_overrides.clear()
    assert client.get("/healthz").json()["n_images"] == 40


def test_every_router_but_health_checks_the_key_itself(small):
    app = create_app(small)  # no key: no middleware; the routers' dependency alone guards
    app.dependency_overrides[get_settings] = lambda: ServiceSettings(api_key=KEY)
    client = TestClient(app)
    assert client.get("/healthz").status_code == 200
    for method, url, body in [
        ("post", "/search", {"id": "simg0"}),
        ("get", "/", None),
        ("get", "/items/simg0", None),
        ("get", "/metrics", None),
        ("get", "/path?from=simg0&to=simg1", None),
    ]:
        kwargs = {"json": body} if body else {}
        answer = getattr(client, method)(url, **kwargs)
        assert answer.status_code == 401, url
        assert answer.headers["www-authenticate"] == "Bearer"
        assert "needs its API key" in answer.json()["error"]
        client.cookies.set("textmanifold_key", KEY)
        assert getattr(client, method)(url, **kwargs).status_code == 200, url
        client.cookies.clear()
        right = getattr(client, method)(url, headers={"Authorization": f"Bearer {KEY}"}, **kwargs)
        assert right.status_code == 200, url


def test_the_settings_refuse_a_weak_key():
    from textmanifold.errors import InputError

    with pytest.raises(InputError, match="at least 16 characters"):
        ServiceSettings(api_key="short")
    assert ServiceSettings().api_key is None
