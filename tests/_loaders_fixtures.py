"""Small helpers the loader tests share: tiny images and the Collection round trip."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

from textmanifold.collection import read_collection, validate_collection
from textmanifold.loaders import LoadedDataset
from textmanifold.loaders._common import write_loaded


def write_image(path: Path, color: tuple[int, int, int] = (40, 80, 120)) -> Path:
    """A 4 x 3 RGB image, its format (PNG / JPEG) taken from the file extension."""
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (4, 3), color).save(path)
    return path


def round_trip(loaded: LoadedDataset, out: Path):
    """Write ``loaded``, check the Collection validates (images decode), read it back."""
    write_loaded(loaded, out)
    assert validate_collection(out) == []
    return read_collection(out)


def cli(*args: str) -> int:
    """Run the command line as a user would (no progress bars); return its exit status."""
    from textmanifold.cli import main

    with pytest.raises(SystemExit) as exit_info:
        main([*args, "--no-progress"])
    return exit_info.value.code
