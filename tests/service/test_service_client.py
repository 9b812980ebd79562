"""``textmanifold.client.Client`` against a live ``textmanifold serve``; the CLI's errors."""

from __future__ import annotations

import socket

import pytest

from _service_fixtures import free_port, serving
from textmanifold.cli import main
from textmanifold.client import Client, ServiceError

SENTENCE = "there is a green triangle at the top centre."


def _ids(hits) -> list[str]:
    return [h["id"] if isinstance(h, dict) else h.id for h in hits]


def test_client_search_item_image_path(live_server, tiny_index):
    client = Client(live_server)
    assert client.health()["n_images"] == tiny_index.n_images
    got = client.search(text=SENTENCE, k=4)
    want = tiny_index.search(text=SENTENCE, k=4, metric="both", return_paths=True)
    assert _ids(got["geodesic"]) == _ids(want.geodesic)
    assert _ids(got["euclidean"]) == _ids(want.euclidean)
    first = want.geodesic[0].id
    image_file = tiny_index.image_path(first)
    by_image = client.search(image=image_file, k=3, metric="geodesic")
    assert _ids(by_image["geodesic"]) == _ids(
        tiny_index.search(image=image_file, k=3, metric="geodesic").geodesic
    )
    assert client.search(image=image_file.read_bytes(), k=3, metric="geodesic") == by_image
    assert client.item(first)["text"] == tiny_index.item(first)["text"]
    assert client.image(first) == image_file.read_bytes()
    other = want.geodesic[-1].id
    assert [s["id"] for s in client.path(first, other)["steps"]] == [
        s.id for s in tiny_index.path_between(first, other)
    ]


def test_client_errors_are_one_line(live_server):
    client = Client(live_server)
    with pytest.raises(ServiceError, match="HTTP 404: unknown id 'nope'") as info:
        client.search(id="nope")
    assert info.value.status == 404
    with pytest.raises(ServiceError, match="HTTP 422: k: Input should be greater"):
        client.search(text="a", k=0)
    with pytest.raises(ServiceError, match="cannot reach") as info:
        Client(f"http://127.0.0.1:{free_port()}", timeout=5).health()
    assert info.value.status == 0


def test_serve_cli_refuses_bad_input(tmp_path, tiny_index_dir, capsys):
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen()
    port = str(taken.getsockname()[1])
    cases = [
        ([str(tmp_path / "missing")], "index directory not found"),
        (
            [str(tmp_path), "--port", "70000"],
            "--port must be in [1, 65535] (a TCP port), got 70000",
        ),
        ([str(tmp_path), "--body-timeout", "0"], "--body-timeout must be positive (seconds)"),
        ([str(tmp_path), "--blas-threads", "0"], "--blas-threads must be a positive"),
        ([str(tiny_index_dir), "--port", port], f"cannot listen on 127.0.0.1:{port}"),
    ]
    with taken:
        _refused(cases, capsys)


def _refused(cases, capsys) -> None:
    for args, message in cases:
        with pytest.raises(SystemExit) as exit_info:
            main(["serve", *args])
        assert exit_info.value.code == 2
        err = capsys.readouterr().err
        assert err.startswith("error: ") and message in err and len(err.splitlines()) == 1


def test_serve_without_its_run_still_answers_id_queries(tiny_index_dir, tiny_index, tmp_path):
    import json
    import shutil

    copy = tmp_path / "index"
    shutil.copytree(tiny_index_dir, copy)
    manifest = json.loads((copy / "manifest.json").read_text())
    manifest["model"]["run"] = str(tmp_path / "moved-away")
    (copy / "manifest.json").write_text(json.dumps(manifest))
    with serving(copy, tmp_path / "serve.log") as url:
        client = Client(url)
        hits = client.search(id="img0000", k=3)["geodesic"]
        assert _ids(hits) == _ids(tiny_index.search(id="img0000", k=3).geodesic)
        with pytest.raises(ServiceError, match=r"HTTP 400: <server path>.*not found") as info:
            client.search(text="a red circle")
        assert info.value.status == 400
        assert "moved-away" not in str(info.value) and str(tmp_path) not in str(info.value)
    log = (tmp_path / "serve.log").read_text()
    assert "warning: text and image queries will fail" in log
