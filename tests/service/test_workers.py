"""``textmanifold serve --workers N``: several processes, one memory-mapped index, the
same answers as the library."""

from __future__ import annotations

import threading
from pathlib import Path

from _service_fixtures import serving
from textmanifold.client import Client


def _ids(hits) -> list[str]:
    return [h["id"] if isinstance(h, dict) else h.id for h in hits]


def _worker_processes(log: Path) -> set[str]:
    """The pids that uvicorn logged starting a worker ("Started server process [PID]")."""
    import re

    return set(re.findall(r"Started server process \[(\d+)\]", log.read_text()))


def test_two_workers_answer_like_the_library(tiny_index_dir, tiny_index, tmp_path):
    log = tmp_path / "serve.log"
    queries = [i for i, image in zip(tiny_index.ids, tiny_index.is_image, strict=True) if image][
        :12
    ]
    answers, failures = {}, []

    def ask(url: str, part: list[str]) -> None:
        client = Client(url)
        for query in part:
            try:
                answers[query] = _ids(client.search(id=query, k=4)["geodesic"])
            except Exception as exc:
                failures.append(repr(exc))

    with serving(tiny_index_dir, log, "--workers", "2", "--log-level", "info") as url:
        threads = [threading.Thread(target=ask, args=(url, queries[j::4])) for j in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        assert Client(url).health()["status"] == "ok"
    assert not failures, failures
    assert answers == {q: _ids(tiny_index.search(id=q, k=4).geodesic) for q in queries}
    assert len(_worker_processes(log)) == 2, log.read_text()
