"""Figures: frames coloured by vertex kind, byte-reproducible PNGs, clear input errors."""

import numpy as np
import pytest
from PIL import Image

from textmanifold.errors import InputError
from textmanifold.viz.curves import plot_degree_vs_threshold
from textmanifold.viz.output import BLUE, RED
from textmanifold.viz.tiles import Tile, plot_neighbour_examples, plot_path_strips


def _grey(value=128):
    return np.full((30, 40, 3), value, dtype=np.uint8)


def _count_colour(path, hex_colour, tol=20):
    rgb = np.array([int(hex_colour[i : i + 2], 16) for i in (1, 3, 5)])
    pixels = np.asarray(Image.open(path).convert("RGB")).astype(int)
    return int((np.abs(pixels - rgb).max(axis=2) <= tol).sum())


def test_frames_follow_vertex_kind(tmp_path):
    only_images = tmp_path / "images.png"
    plot_path_strips([[Tile(_grey(), "image", "a"), Tile(_grey(), "image", "b")]], only_images)
    assert _count_colour(only_images, BLUE) > 100
    assert _count_colour(only_images, RED) == 0
    mixed = tmp_path / "mixed.png"
    plot_path_strips(
        [[Tile(_grey(), "image", "a"), Tile(_grey(), "text", "a small red cube")]], mixed
    )
    assert _count_colour(mixed, RED) > 100 and _count_colour(mixed, BLUE) > 100


def test_same_input_same_bytes(tmp_path):
    rng = np.random.default_rng(0)
    tiles = [
        Tile(rng.integers(0, 256, (30, 40, 3), dtype=np.uint8), kind, "caption")
        for kind in ("image", "text", "image")
    ]
    plot_neighbour_examples([(tiles, tiles[0])], tmp_path / "a.png")
    plot_neighbour_examples([(tiles, tiles[0])], tmp_path / "b.png")
    assert (tmp_path / "a.png").read_bytes() == (tmp_path / "b.png").read_bytes()
    plot_degree_vs_threshold([0.1, 0.2], {"Image": [1.0, 2.0]}, tmp_path / "c.png")
    plot_degree_vs_threshold([0.1, 0.2], {"Image": [1.0, 2.0]}, tmp_path / "d.png")
    assert (tmp_path / "c.png").read_bytes() == (tmp_path / "d.png").read_bytes()


def test_bad_input():
    with pytest.raises(InputError, match="kind"):
        Tile(_grey(), "audio")
    with pytest.raises(InputError, match="shape"):
        Tile(np.zeros((3, 4)), "image")
    with pytest.raises(InputError, match="no non-empty rows"):
        plot_path_strips([[]], "unused.png")
    with pytest.raises(InputError, match="2 values for 3 thresholds"):
        plot_degree_vs_threshold([0.1, 0.2, 0.3], {"Joint": [1.0, 2.0]}, "unused.png")
