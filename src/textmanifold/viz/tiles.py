"""Strips of framed image tiles: smooth paths (the paper's Fig. 1) and geodesic vs
Euclidean neighbours (Fig. 3).

A vertex of the graph is drawn as a :class:`Tile`: an image vertex shows its image in a
blue frame; a text vertex shows the rendering of the scene its sentence describes in a
red frame, with the sentence underneath. The functions take plain RGB arrays, so they
serve generated and real datasets alike.
"""

from __future__ import annotations

import os
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..errors import InputError
from ..validation import check_option
from .output import BLUE, RED, new_figure, save_png

KINDS = ("image", "text")


@dataclass(frozen=True)
class Tile:
    """One vertex of a strip.

    Parameters
    ----------
    image : ndarray of shape (h, w, 3), uint8
        The image (image vertex) or the rendering of the described scene (text vertex).
    kind : {"image", "text"}
        Sets the frame colour: blue for images, red for text.
    caption : str
        Shown under the tile (the sentence of a text vertex, an id or a label).
    title : str
        Shown above the tile ("start", "geodesic NN", ...); may be empty.
    """

    image: np.ndarray
    kind: str
    caption: str = ""
    title: str = ""

    def __post_init__(self) -> None:
        check_option("tile kind", self.kind, KINDS)
        shape = np.shape(self.image)
        if len(shape) != 3 or shape[2] != 3:
            raise InputError(f"tile image must have shape (h, w, 3), got {shape}")


def plot_tile_rows(
    rows: Sequence[Sequence[Tile]],
    path: str | os.PathLike,
    *,
    title: str = "",
    tile_inches: float = 1.9,
    wrap: int = 28,
) -> None:
    """Draw each row of tiles left to right, framed by kind, and save a PNG.

    Parameters
    ----------
    rows : sequence of sequences of :class:`Tile`
        One strip per row; rows may differ in length (short rows leave blanks).
    path : path-like
        Output PNG (written atomically).
    title : str
        Figure title.
    tile_inches : float
        Width of one tile in inches.
    wrap : int
        Caption line width in characters.
    """
    rows = [list(r) for r in rows if len(r)]
    if not rows:
        raise InputError("nothing to draw: no non-empty rows of tiles")
    n_cols = max(len(r) for r in rows)
    caption_lines = max(
        len(textwrap.wrap(t.caption, wrap)) if t.caption else 0 for r in rows for t in r
    )
    row_inches = tile_inches * 0.75 + 0.3 + 0.11 * caption_lines
    fig = new_figure(tile_inches * n_cols + 0.2, row_inches * len(rows) + (0.4 if title else 0))
    grid = fig.add_gridspec(len(rows), n_cols)
    for i, row in enumerate(rows):
        for j in range(n_cols):
            ax = fig.add_subplot(grid[i, j])
            ax.set_xticks([])
            ax.set_yticks([])
            if j >= len(row):
                ax.set_axis_off()
                continue
            tile = row[j]
            ax.imshow(np.asarray(tile.image, dtype=np.uint8), interpolation="nearest")
            colour = BLUE if tile.kind == "image" else RED
            for spine in ax.spines.values():
                spine.set_edgecolor(colour)
                spine.set_linewidth(4)
            if tile.title:
                ax.set_title(tile.title, fontsize=8)
            if tile.caption:
                ax.set_xlabel(
                    "\n".join(textwrap.wrap(tile.caption, wrap)),
                    fontsize=6,
                    color=colour if tile.kind == "text" else "black",
                )
    if title:
        fig.suptitle(title, fontsize=10)
    save_png(fig, path)


def plot_path_strips(
    paths: Sequence[Sequence[Tile]],
    path: str | os.PathLike,
    title: str = "Smooth geodesic paths (blue: image, red: text)",
) -> None:
    """Fig. 1 analogue: each row is one shortest path from an image to an image."""
    plot_tile_rows(paths, path, title=title)


def plot_neighbour_examples(
    examples: Sequence[tuple[Sequence[Tile], Tile]],
    path: str | os.PathLike,
    title: str = "Geodesic path to the nearest target vs the Euclidean nearest target",
) -> None:
    """Fig. 3 analogue: the geodesic path from a query image to its nearest target, then
    the Euclidean nearest target.

    Parameters
    ----------
    examples : sequence of (path_tiles, euclidean_tile)
        ``path_tiles`` runs from the query (first) to the geodesic neighbour (last).
    """
    rows = []
    for tiles, euclid in examples:
        tiles = list(tiles)
        if not tiles:
            raise InputError("a neighbour example needs at least the query tile")
        titled = [_retitle(tiles[0], "query")]
        titled += list(tiles[1:-1])
        if len(tiles) > 1:
            titled.append(_retitle(tiles[-1], "geodesic NN"))
        titled.append(_retitle(euclid, "Euclidean NN"))
        rows.append(titled)
    plot_tile_rows(rows, path, title=title)


def _retitle(tile: Tile, title: str) -> Tile:
    return Tile(tile.image, tile.kind, tile.caption, title)
