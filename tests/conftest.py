"""Fixtures shared by every test folder.

``torch_single_thread`` (torch on one thread, so timings and results do not depend on the
machine's cores), ``cli`` (the in-process command-line runner, bound to ``capsys``),
``tiny_collection`` (a drawn shapes Collection), ``tiny_settings`` (training settings of a
few CPU steps) and a tiny trained joint run's index (``tiny_index_dir``, ``tiny_index``).

The run (21 drawn images with descriptions, 4 text-only sentences, 8 dimensions, 4 training
steps) is trained once per test process; the index is built from it and saved, so that
library calls, the CLI, the in-process app (TestClient) and a ``textmanifold serve``
subprocess answer from the same directory. Tests must not change it (copy it first).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from _cli_fixtures import run_cli
from _models_fixtures import shapes_collection


@pytest.fixture(scope="session")
def torch_single_thread():
    """Torch, set to one intra-op thread for the test process."""
    import torch

    torch.set_num_threads(1)
    return torch


@pytest.fixture
def cli(capsys):
    """Run the command line in-process: ``cli(*args) -> (code, out, err)``."""
    return lambda *args: run_cli(capsys, *args)


@pytest.fixture(scope="session")
def tiny_collection(tmp_path_factory) -> Path:
    """A drawn shapes Collection (21 images with descriptions, 4 text-only sentences)."""
    return shapes_collection(tmp_path_factory.mktemp("tiny") / "shapes", size=32, text_only=4)


@pytest.fixture(scope="session")
def tiny_settings(torch_single_thread):
    """Training settings of 4 CPU steps on 32-pixel images, without progress bars."""
    from textmanifold.models.train import TrainSettings

    return TrainSettings(
        steps=4, batch_size=4, image_size=32, lr=0.01, device="cpu", progress=False
    )


@pytest.fixture(scope="session")
def tiny_index_dir(tmp_path_factory, tiny_collection, tiny_settings) -> Path:
    """An index directory built from a tiny joint run of :func:`tiny_collection`."""
    from textmanifold.index import ManifoldIndex
    from textmanifold.models.runs import train_joint

    root = tmp_path_factory.mktemp("service")
    collection = tiny_collection
    train_joint(
        collection, root / "run", dim=8, text_cache=root / "sentences", settings=tiny_settings
    )
    index = ManifoldIndex.build(collection, root / "run", target_degree=6, seed=0)
    index.save(root / "index")
    return root / "index"


@pytest.fixture(scope="session")
def tiny_index(tiny_index_dir):
    """The tiny index loaded (memory-mapped) in this process."""
    from textmanifold.index import ManifoldIndex

    return ManifoldIndex.load(tiny_index_dir)
