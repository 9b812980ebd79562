"""Fixtures of the service tests: a tiny trained joint run, its index, a live server.

The run (21 drawn images with descriptions, 4 text-only sentences, 8 dimensions, 4 training
steps) is trained once per test process; the index is built from it and saved, so that the
in-process app (TestClient) and a ``textmanifold serve`` subprocess answer from the same
directory.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from _models_fixtures import shapes_collection
from _service_fixtures import free_port


@pytest.fixture(scope="session")
def tiny_index_dir(tmp_path_factory) -> Path:
    """An index directory built from a tiny joint run of a shapes collection."""
    import torch

    from textmanifold.index import ManifoldIndex
    from textmanifold.models.runs import train_joint
    from textmanifold.models.train import TrainSettings

    torch.set_num_threads(1)
    root = tmp_path_factory.mktemp("service")
    collection = shapes_collection(root / "shapes", size=32, text_only=4)
    settings = TrainSettings(steps=4, batch_size=4, image_size=32, lr=0.01, device="cpu",
                             progress=False)
    train_joint(collection, root / "run", dim=8, text_cache=root / "sentences",
                settings=settings)
    index = ManifoldIndex.build(collection, root / "run", target_degree=6, seed=0)
    index.save(root / "index")
    return root / "index"


@pytest.fixture(scope="session")
def tiny_index(tiny_index_dir):
    """The tiny index loaded (memory-mapped) in this process."""
    from textmanifold.index import ManifoldIndex

    return ManifoldIndex.load(tiny_index_dir)


@pytest.fixture(scope="session")
def live_server(tiny_index_dir, tmp_path_factory):
    """``textmanifold serve`` on a free loopback port, as a subprocess; yields its URL."""
    port = free_port()
    log = tmp_path_factory.mktemp("server") / "serve.log"
    import textmanifold

    # the server imports the same textmanifold as this test process
    source = str(Path(textmanifold.__file__).resolve().parents[1])
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [source, os.environ.get("PYTHONPATH", "")])}
    with open(log, "wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-c", "from textmanifold.cli import main; main()", "serve",
             str(tiny_index_dir), "--host", "127.0.0.1", "--port", str(port),
             "--log-level", "warning"], stdout=out, stderr=subprocess.STDOUT, env=env)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                with urllib.request.urlopen(url + "/healthz", timeout=2):
                    break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("textmanifold serve did not come up:\n"
                                       + log.read_text(errors="replace")) from None
                time.sleep(0.2)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
