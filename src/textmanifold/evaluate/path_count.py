"""One smooth-path count on given vertices (the ``paths count`` command).

The graph is given (and checked against the vertices) or built from the rows under the
edge rule; the scene relation is checked against the scenes the vertices show; then
:func:`textmanifold.manifold.count_smooth_paths` counts, and :class:`PathCount` holds
the summary that the command prints and the per-vertex counts.
"""

from __future__ import annotations

import math
import os
import time
from typing import NamedTuple

import numpy as np

from .. import io
from ..errors import InputError
from ..manifold.graph import build_graph, mean_degree
from ..manifold.paths import count_smooth_paths

__all__ = ["PathCount", "smooth_path_count"]


class PathCount(NamedTuple):
    """What :func:`smooth_path_count` found.

    Attributes
    ----------
    summary : dict
        ``total`` (smooth shortest paths over ordered pairs of image vertices), ``rule``,
        ``log_total`` (natural log, None for 0), ``image_vertices``, ``text_vertices``,
        ``mean_degree``, ``threshold`` (radians; the one given with a given graph, else
        the one the build used) and ``seconds`` (the count's, not the build's).
    per_source : ndarray of shape (n,), int64
        Smooth paths starting at each vertex (0 for text vertices).
    is_image : ndarray of shape (n,), bool
    """

    summary: dict
    per_source: np.ndarray
    is_image: np.ndarray

    def per_image(self, ids) -> dict[str, int]:
        """``{image vertex id: smooth paths starting there}``, in vertex order."""
        return {ids[v]: int(self.per_source[v]) for v in np.flatnonzero(self.is_image)}


def smooth_path_count(
    scene,
    is_image,
    reachable,
    *,
    graph=None,
    X=None,
    threshold=None,
    target_degree=None,
    backend: str = "auto",
    build: str = "auto",
    rule: str = "literal",
    progress: bool = False,
    graph_name: str = "graph",
    reachable_name: str = "reachable",
) -> PathCount:
    """Count smooth shortest paths between image vertices, with a summary.

    Parameters
    ----------
    scene : array of int, shape (n,)
        The scene each vertex shows (an index into ``reachable``).
    is_image : array of bool, shape (n,)
        Image vertices (path ends); the others are text vertices (pass-through).
    reachable : sparse / dense bool matrix of shape (n_scenes, n_scenes), or path-like
        The reachable-neighbour relation of scenes, or its ``.npz`` file (read once the
        graph is ready); at least as many scenes as ``scene`` names.
    graph : sparse matrix of shape (n, n), optional
        Edge lengths in radians on exactly these vertices; else built from ``X``.
    X : array of shape (n, d), optional
        Unit rows of the vertices, when no ``graph`` is given.
    threshold, target_degree : float
        The edge rule of the build (exactly one); ``threshold`` is only recorded with a
        given ``graph``.
    backend, build : str
        The exact search engine and the graph build method
        (:func:`~textmanifold.manifold.great_circle_graph`), when building.
    rule : {"literal", "merged"}
        :data:`textmanifold.manifold.paths.RULES`.
    progress : bool
    graph_name, reachable_name : str
        What the graph and the relation are called in errors (their files).

    Raises
    ------
    InputError
        A graph of another size than the vertices, a relation too small or not square,
        or as :func:`~textmanifold.manifold.count_smooth_paths` and the graph build.
    """
    scene = np.asarray(scene, dtype=np.int64)
    is_image = np.asarray(is_image, dtype=bool)
    n = len(scene)
    used = threshold
    if graph is not None:
        if graph.shape != (n, n):
            raise InputError(
                f"{graph_name}: graph has shape {graph.shape} but the embeddings hold {n} rows"
            )
    else:
        graph, used = build_graph(
            X, threshold=threshold, target_degree=target_degree, backend=backend, build=build
        )
    if isinstance(reachable, str | os.PathLike):
        reachable_name, reachable = str(reachable), io.load_sparse(reachable)
    n_scenes = int(scene.max()) + 1
    if (
        reachable.ndim != 2
        or reachable.shape[0] != reachable.shape[1]
        or reachable.shape[0] < n_scenes
    ):
        raise InputError(
            f"{reachable_name}: shape {reachable.shape}, but the items name "
            f"scenes 0..{n_scenes - 1}; expected a square matrix of at least "
            f"{n_scenes} scenes"
        )
    start = time.perf_counter()
    result = count_smooth_paths(graph, scene, is_image, reachable, progress=progress, rule=rule)
    summary = {
        "total": result.total,
        "rule": rule,
        "log_total": math.log(result.total) if result.total else None,
        "image_vertices": int(is_image.sum()),
        "text_vertices": int((~is_image).sum()),
        "mean_degree": mean_degree(graph),
        "threshold": used,
        "seconds": round(time.perf_counter() - start, 3),
    }
    return PathCount(summary, result.per_source, is_image)
