"""Small helpers the loader tests share: tiny images and the Collection round trip."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

from _cli_fixtures import exit_code
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
    return exit_code(*args, "--no-progress")


DAMAGES = ("not an image", "truncated")


def damage(path: Path, how: str) -> Path:
    """Replace an image file by bytes that are no image, or cut it after its header."""
    if how == "not an image":
        path.write_bytes(b"this is a text file, not a picture\n")
    else:
        Image.new("RGB", (64, 48), (200, 10, 10)).save(path)  # big enough to cut mid-pixels
        path.write_bytes(path.read_bytes()[:80])
    return path


def assert_refused_then_skipped(load, image: Path, how: str, count) -> None:
    """A damaged image fails the load naming it, and ``skip_missing_images`` drops it
    (``count(loaded)`` says how many records were dropped, expected 1 or more)."""
    from textmanifold.errors import DataFormatError

    damage(image, how)
    with pytest.raises(DataFormatError, match=rf"{image.name}: unreadable image"):
        load(skip_missing_images=False)
    assert count(load(skip_missing_images=True)) >= 1
