"""Pick example paths for the figures and turn graph vertices into tiles.

- :func:`find_smooth_paths`: smooth shortest paths between two image vertices that pass
  through text vertices (the paper's Fig. 1).
- :func:`neighbour_examples`: for query images, the geodesic path to the nearest target
  and the Euclidean nearest target (Fig. 3); cases where the two disagree come first.
- :func:`vertex_tile`: an image vertex shows its image file; a text vertex shows the
  rendering of the scene it describes (generated sets), framed red, with its sentence.

Choices are deterministic: sources are scanned in a seeded order and ties are broken by
vertex index.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import scipy.sparse
from scipy.sparse.csgraph import dijkstra

from ..manifold.paths import is_smooth
from .tiles import Tile


def _path_to(predecessors: np.ndarray, source: int, target: int) -> list[int]:
    path = [target]
    while path[-1] != source:
        path.append(int(predecessors[path[-1]]))
    return path[::-1]


def _merged(scenes: Sequence[int]) -> list[int]:
    return [s for i, s in enumerate(scenes) if i == 0 or s != scenes[i - 1]]


def find_smooth_paths(
    graph: scipy.sparse.spmatrix,
    vertex_scene: np.ndarray,
    is_image: np.ndarray,
    reachable: scipy.sparse.spmatrix,
    *,
    max_paths: int = 3,
    max_sources: int = 200,
    seed: int = 0,
    rule: str = "literal",
) -> list[list[int]]:
    """Smooth shortest paths between image vertices that visit at least one text vertex.

    ``rule`` is the smooth-path rule (:func:`textmanifold.manifold.paths.is_smooth`).

    Returns up to ``max_paths`` vertex lists, longest (in distinct scenes) first, at most
    one per source image and one per pair of end images, paths with new end images
    before paths that reuse one; sources are the first
    ``max_sources`` image vertices of a seeded permutation.
    """
    vertex_scene = np.asarray(vertex_scene)
    is_image = np.asarray(is_image, dtype=bool)
    images = np.flatnonzero(is_image)
    order = np.random.default_rng(seed).permutation(images)[:max_sources]
    found: list[tuple[int, int, list[int]]] = []
    ends: set[frozenset] = set()  # a path and its reverse are one example
    for source in order:
        dist, pred = dijkstra(graph, indices=int(source), return_predecessors=True)
        best: list[int] | None = None
        best_scenes = 0  # merged scenes along ``best``
        for target in np.flatnonzero(is_image & np.isfinite(dist)):
            if target == source or frozenset((int(source), int(target))) in ends:
                continue
            path = _path_to(pred, int(source), int(target))
            if is_image[path].all():
                continue
            path_scenes = vertex_scene[path].tolist()
            scenes = len(_merged(path_scenes))
            if scenes < 3 or not is_smooth(path_scenes, reachable, rule):
                continue
            if best is None or best_scenes < scenes:
                best, best_scenes = path, scenes
        if best is not None:
            ends.add(frozenset((best[0], best[-1])))
            found.append((-best_scenes, int(source), best))
    found.sort(key=lambda item: (item[0], item[1]))
    # Prefer variety: a path sharing an end image with a chosen one waits its turn.
    chosen: list[list[int]] = []
    for _, _, path in found:
        if not {path[0], path[-1]} & {v for c in chosen for v in (c[0], c[-1])}:
            chosen.append(path)
    chosen += [path for _, _, path in found if path not in chosen]
    return chosen[:max_paths]


def neighbour_examples(
    graph: scipy.sparse.spmatrix,
    targets: np.ndarray,
    queries: np.ndarray,
    X: np.ndarray,
    labels: Sequence,
    *,
    max_examples: int = 3,
) -> list[tuple[list[int], int]]:
    """Geodesic path from each query to its nearest target, and its Euclidean nearest target.

    Parameters
    ----------
    graph : sparse matrix over all vertices
    targets, queries : arrays of vertex indices (images)
    X : ndarray of shape (n_vertices, d), unit rows (for the Euclidean neighbour)
    labels : sequence indexed by vertex (labels of image vertices)

    Returns
    -------
    list of (path, euclidean_target)
        Queries whose geodesic and Euclidean neighbours carry different labels with the
        geodesic one right come first, then other disagreements, then the rest; within
        each group, longer paths first.
    """
    targets = np.asarray(targets)
    dist, pred, source = dijkstra(graph, indices=targets, min_only=True, return_predecessors=True)
    euclid = targets[np.argmax(X[queries] @ X[targets].T, axis=1)]
    ranked = []
    for q, e in zip(queries, euclid, strict=True):
        if not np.isfinite(dist[q]):
            continue
        path = _path_to(pred, int(source[q]), int(q))[::-1]  # query first
        geo = path[-1]
        right = labels[geo] == labels[q]
        disagree = labels[geo] != labels[e]
        group = 0 if (disagree and right) else 1 if disagree else 2
        ranked.append((group, -len(path), int(q), path, int(e)))
    ranked.sort(key=lambda item: item[:3])
    return [(path, e) for *_, path, e in ranked[:max_examples]]


def vertex_tile(image: np.ndarray, is_image: bool, caption: str = "", title: str = "") -> Tile:
    """A tile framed by the vertex's kind."""
    return Tile(np.asarray(image, dtype=np.uint8), "image" if is_image else "text", caption, title)
