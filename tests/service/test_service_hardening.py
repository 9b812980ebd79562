"""The server against slow, aborted, numerous, unauthenticated and generated requests.

Slow and numerous clients run against a real ``textmanifold serve`` subprocess on
loopback (raw sockets, bounded in count and time); the rest in-process. Property-based
requests come from schemathesis, generated from the app's own OpenAPI schema.
"""

from __future__ import annotations

import asyncio
import json
import socket
import time

import pytest
from fastapi.testclient import TestClient

from _cli_fixtures import refused
from _service_fixtures import serving
from textmanifold.client import Client, ServiceError
from textmanifold.service import create_app
from textmanifold.service.auth import API_KEY_ENV

KEY = "k3y-for-the-tests-0123456789"


def _connect(url: str) -> socket.socket:
    host, port = url.removeprefix("http://").split(":")
    sock = socket.create_connection((host, int(port)), timeout=10)
    return sock


def _status_line(sock: socket.socket) -> bytes:
    data = b""
    while b"\r\n" not in data:
        chunk = sock.recv(4096)
        if not chunk:
            break
        data += chunk
    return data.split(b"\r\n")[0]


@pytest.fixture(scope="module")
def strict_server(tiny_index_dir, tmp_path_factory):
    """A server with a 1 s header and body bound and room for 3 connections."""
    log = tmp_path_factory.mktemp("strict") / "serve.log"
    with serving(
        tiny_index_dir,
        log,
        "--header-timeout",
        "1",
        "--body-timeout",
        "1",
        "--max-connections",
        "3",
    ) as url:
        yield url


def test_slow_headers_close_the_connection(strict_server):
    sock = _connect(strict_server)
    sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: test\r\n")  # never finished
    start = time.monotonic()
    assert sock.recv(4096) == b""  # closed by the server, not answered
    assert 0.8 < time.monotonic() - start < 5


def test_a_kept_alive_connection_has_the_same_header_bound(strict_server):
    sock = _connect(strict_server)
    sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: test\r\n\r\n")
    first = b""
    while b'"status"' not in first:
        first += sock.recv(4096)
    assert first.startswith(b"HTTP/1.1 200")
    sock.sendall(b"GET /healthz HTTP/1.1\r\n")
    start = time.monotonic()
    assert sock.recv(4096) == b""
    assert time.monotonic() - start < 5


def test_a_body_shorter_than_its_length_gets_408(strict_server):
    sock = _connect(strict_server)
    sock.sendall(
        b"POST /search HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n"
        b'Content-Length: 100\r\n\r\n{"text"'
    )
    start = time.monotonic()
    assert _status_line(sock) == b"HTTP/1.1 408 Request Timeout"
    assert 0.8 < time.monotonic() - start < 5


def test_connections_beyond_the_bound_get_503_and_the_bound_frees_up(strict_server):
    held = [_connect(strict_server) for _ in range(3)]
    for sock in held:
        sock.sendall(b"GET /healthz HTTP/1.1\r\n")
    time.sleep(0.3)
    extra = _connect(strict_server)
    extra.sendall(b"GET /healthz HTTP/1.1\r\nHost: test\r\n\r\n")
    assert _status_line(extra) == b"HTTP/1.1 503 Service Unavailable"
    time.sleep(1.5)  # the held connections pass their header bound and are closed
    assert Client(strict_server).health()["status"] == "ok"


def test_an_aborted_upload_is_not_counted_as_a_server_error(tiny_index):
    app = create_app(tiny_index)
    messages = iter(
        [{"type": "http.request", "body": b'{"te', "more_body": True}, {"type": "http.disconnect"}]
    )
    sent = []

    async def receive():
        return next(messages)

    async def send(message):
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "path": "/search",
        "raw_path": b"/search",
        "query_string": b"",
        "headers": [(b"content-type", b"application/json"), (b"content-length", b"100")],
        "client": ("127.0.0.1", 1),
        "server": ("127.0.0.1", 2),
        "scheme": "http",
        "root_path": "",
    }
    asyncio.run(app(scope, receive, send))
    assert sent == []  # nobody left to answer
    metrics = TestClient(app).get("/metrics").text
    assert 'method="POST",route="unmatched",status="499"} 1' in metrics
    assert 'status="500"' not in metrics


# ----------------------------------------------------------------------------- API key


def test_an_api_key_guards_every_endpoint_but_healthz(tiny_index):
    client = TestClient(create_app(tiny_index, api_key=KEY))
    assert client.get("/healthz").status_code == 200
    for method, url, body in [
        ("post", "/search", {"id": "img0000"}),
        ("get", "/", None),
        ("get", "/items/img0000", None),
        ("get", "/metrics", None),
        ("get", "/path?from=img0000&to=img0001", None),
        ("get", "/openapi.json", None),
        ("get", "/static/app.js", None),
    ]:
        kwargs = {"json": body} if body else {}
        answer = getattr(client, method)(url, **kwargs)
        assert answer.status_code == 401, url
        assert answer.headers["www-authenticate"] == "Bearer"
        assert "needs its API key" in answer.json()["error"]
        wrong = getattr(client, method)(url, headers={"Authorization": "Bearer nope"}, **kwargs)
        assert wrong.status_code == 401
        right = getattr(client, method)(url, headers={"Authorization": f"Bearer {KEY}"}, **kwargs)
        assert right.status_code == 200, (url, right.text)


def test_the_page_link_with_the_key_sets_a_cookie_that_opens_the_rest(tiny_index):
    client = TestClient(create_app(tiny_index, api_key=KEY), follow_redirects=False)
    assert client.get("/?key=wrong-key-0123456789").status_code == 401
    answer = client.get(f"/?key={KEY}&q=x")
    assert answer.status_code == 303 and answer.headers["location"] == "/?q=x"
    cookie = answer.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie
    assert client.get("/items/img0000/image").status_code == 200  # the cookie is sent


def test_serve_refuses_a_weak_api_key_and_reads_the_environment(
    tiny_index_dir, tmp_path, capsys, monkeypatch
):
    err = refused(["serve", tiny_index_dir, "--api-key", "short"], capsys)
    assert "the API key must be at least 16 characters" in err
    monkeypatch.setenv(API_KEY_ENV, "bad key with spaces!")
    assert "the API key must be" in refused(["serve", tiny_index_dir], capsys)
    monkeypatch.delenv(API_KEY_ENV)
    with serving(tiny_index_dir, tmp_path / "serve.log", env={API_KEY_ENV: KEY}) as url:
        with pytest.raises(ServiceError, match="HTTP 401"):
            Client(url).search(id="img0000", k=2)
        assert len(Client(url, api_key=KEY).search(id="img0000", k=2)["geodesic"]) == 2


# ----------------------------------------------------------------------------- paths


def test_error_answers_never_name_a_server_file(tiny_index, tiny_index_dir, tmp_path):
    import shutil

    from textmanifold.index import ManifoldIndex

    copy = tmp_path / "index"
    shutil.copytree(tiny_index_dir, copy)
    manifest = json.loads((copy / "manifest.json").read_text())
    manifest["model"]["checksum"] = "0" * 64  # "the run changed": a message about its path
    (copy / "manifest.json").write_text(json.dumps(manifest))
    for index in (tiny_index, ManifoldIndex.load(copy)):
        client = TestClient(create_app(index), raise_server_exceptions=False)
        answers = [
            client.post("/search", json={"id": "img0000", "modify": "x"}),
            client.post("/search", json={"text": "a red circle"}),
        ]
        for answer in answers:
            if answer.status_code >= 400:
                text = answer.text
                assert manifest["model"]["run"] not in text and str(copy) not in text
                assert str(tiny_index_dir) not in text and manifest["collection"] not in text
    changed = TestClient(create_app(ManifoldIndex.load(copy))).post(
        "/search", json={"text": "a red circle"}
    )
    assert changed.status_code == 400
    assert changed.json()["error"].startswith("<server path>: the run changed")


# ----------------------------------------------------------------------------- schemathesis


def _schema(tiny_index):
    import schemathesis

    return schemathesis.openapi.from_asgi("/openapi.json", create_app(tiny_index))


def test_generated_requests_get_no_server_error_and_fit_the_schema(tiny_index):
    """A bounded property-based run: every operation of the schema, up to 60 generated
    requests each (about 200 in all), checked for 5xx answers and schema conformance."""
    from hypothesis import HealthCheck, given, settings
    from schemathesis import checks

    schema = _schema(tiny_index)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert {op.path for op in operations} >= {
        "/search",
        "/items/{item_id}",
        "/path",
        "/healthz",
        "/metrics",
    }
    calls = []
    for operation in operations:

        @settings(
            max_examples=60,
            deadline=None,
            database=None,
            derandomize=True,
            suppress_health_check=list(HealthCheck),
        )
        @given(operation.as_strategy())
        def run(case):
            response = case.call()
            assert response.status_code < 500, (case.method, case.path, response.text)
            case.validate_response(
                response, checks=[checks.not_a_server_error, checks.response_schema_conformance]
            )
            calls.append(response.status_code)

        run()
    assert len(calls) >= 100
