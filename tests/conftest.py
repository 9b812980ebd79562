"""Fixtures shared by every test folder: a tiny trained joint run and its index.

The run (21 drawn images with descriptions, 4 text-only sentences, 8 dimensions, 4 training
steps) is trained once per test process; the index is built from it and saved, so that
library calls, the CLI, the in-process app (TestClient) and a ``textmanifold serve``
subprocess answer from the same directory. Tests must not change it (copy it first).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from _models_fixtures import shapes_collection


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
    settings = TrainSettings(
        steps=4, batch_size=4, image_size=32, lr=0.01, device="cpu", progress=False
    )
    train_joint(collection, root / "run", dim=8, text_cache=root / "sentences", settings=settings)
    index = ManifoldIndex.build(collection, root / "run", target_degree=6, seed=0)
    index.save(root / "index")
    return root / "index"


@pytest.fixture(scope="session")
def tiny_index(tiny_index_dir):
    """The tiny index loaded (memory-mapped) in this process."""
    from textmanifold.index import ManifoldIndex

    return ManifoldIndex.load(tiny_index_dir)
