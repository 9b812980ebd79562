"""Fixtures of the service tests: a live server on the tiny index (``tests/conftest.py``),
and a check that no error answer of any test names a file of the server.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from _service_fixtures import serving


@pytest.fixture(scope="session")
def live_server(tiny_index_dir, tmp_path_factory):
    """``textmanifold serve`` on a free loopback port, as a subprocess; yields its URL."""
    with serving(tiny_index_dir, tmp_path_factory.mktemp("server") / "serve.log") as url:
        yield url


@pytest.fixture(scope="session")
def compose_index_dir(tiny_collection, tiny_settings, tmp_path_factory) -> Path:
    """An index of a TIRG run trained in Joint on the same shapes: answers ``modify``."""
    from textmanifold.index import ManifoldIndex
    from textmanifold.models.runs import train_compose

    collection = tiny_collection
    root = tmp_path_factory.mktemp("compose")
    train_compose(
        collection,
        root / "run",
        method="tirg",
        in_joint=True,
        dim=8,
        settings=dataclasses.replace(tiny_settings, steps=60),
    )
    # 60 steps and degree 10: enough that composed queries reach the graph (paths to show)
    ManifoldIndex.build(collection, root / "run", target_degree=10).save(root / "index")
    return root / "index"


@pytest.fixture(scope="session")
def compose_index(compose_index_dir):
    from textmanifold.index import ManifoldIndex

    return ManifoldIndex.load(compose_index_dir)


@pytest.fixture(autouse=True)
def no_server_path_in_error_answers(monkeypatch, tmp_path_factory):
    """Every 4xx/5xx body a TestClient or the live server's Client receives in these tests
    is scanned for the test's directories (index, run, collection all live under
    pytest's base temporary directory) and for any absolute path under /tmp: none may
    appear."""
    from fastapi.testclient import TestClient

    base = str(tmp_path_factory.getbasetemp().resolve())
    real = TestClient.request

    def request(self, *args, **kwargs):
        response = real(self, *args, **kwargs)
        if response.status_code >= 400:
            assert base not in response.text and "/tmp/" not in response.text, response.text
        return response

    monkeypatch.setattr(TestClient, "request", request)

    from textmanifold import client as http_client

    real_error = http_client.ServiceError.__init__

    def service_error(self, status, message):  # the live server's answers, via Client
        assert base not in message and "/tmp/" not in message, message
        real_error(self, status, message)

    monkeypatch.setattr(http_client.ServiceError, "__init__", service_error)
