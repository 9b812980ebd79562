"""Smooth shortest-path counting (paper Sec. 3.2.1 and 4.3.2).

Every vertex of the graph shows a scene (a text vertex: the scene it describes). The
shortest path between two image vertices is *smooth* when its scene sequence steps only
between reachable neighbours, never revisits a scene, and never holds two non-adjacent
scenes that are reachable from each other (a shortcut would make the path redundant).

Two rules (:data:`RULES`) differ in one point, a step between two vertices of the *same*
scene (an image and its own description, or two images of one scene):

- ``"literal"`` (default; the paper's Fig. 1, every step is one change): such a step is
  no change, so the path is not smooth;
- ``"merged"``: consecutive duplicates are merged first, so such a step is free.

"Same scene" means the same scene index; a caller whose scenes may repeat in content
maps each vertex to one index per content first (:mod:`textmanifold.evaluate.smooth_path_table`
does, see docs/decisions/paths-and-table1.md).

We run Dijkstra from every image vertex and count the smooth shortest paths that end on
another image vertex. Both directions are counted: ``(a, b)`` from ``a``'s Dijkstra and
``(b, a)`` from ``b``'s, so on a graph without ties the total is twice the number of
unordered smooth pairs.

Why it is exact, and fast
-------------------------
Call a vertex *live* when its path in the source's shortest-path tree is smooth.

* Smoothness is prefix-monotone: every condition only gets harder as a path grows, so
  the subtree of a dead vertex is dead and is never walked. A vertex is live iff its
  parent is live and its scene extends the parent's merged sequence smoothly, an
  O(path) check (:func:`_extend`).
* Radius-limited search: scipy's Dijkstra with ``limit=r`` returns exact distances and
  predecessors for every vertex within ``r``. If every neighbour of every live vertex is
  within ``r``, the count is final: a vertex beyond ``r`` whose parent were live would
  be a neighbour of a live vertex, hence within ``r``. Otherwise the source is searched
  again with a radius covering those neighbours plus one edge. Live regions are small,
  so most of the graph is never touched.

Ties (equal-length paths): a vertex's parent is the predecessor scipy's Dijkstra records,
the first settled vertex that reached its final distance (relaxation is strict). The
radius schedule of a source depends only on that source (radii are quantised to a grid,
not pooled per batch), so the result does not depend on ``batch_size`` or on the order
of sources. Exactness is tested against networkx on tie-free graphs.
"""

from __future__ import annotations

import itertools
import math
from typing import NamedTuple

import numpy as np
import scipy.sparse
from numpy.typing import NDArray
from scipy.sparse.csgraph import dijkstra

from ..errors import InputError
from ..validation import check_graph, check_option, check_positive_int

# Dijkstra output held at once: batch_size * n_vertices entries of 8 + 4 bytes.
_MAX_BATCH_ENTRIES = 2**24
# Radii are multiples of longest_edge / _RADIUS_STEPS.
_RADIUS_STEPS = 4
RULES = ("literal", "merged")


class SmoothPathCount(NamedTuple):
    """Result of :func:`count_smooth_paths`.

    Attributes
    ----------
    total : int
        Number of smooth shortest paths over ordered pairs of distinct image vertices.
    per_source : ndarray of shape (n_vertices,), int64
        Smooth paths starting at each vertex; 0 for text vertices.
    """

    total: int
    per_source: np.ndarray


def count_smooth_paths(
    graph: scipy.sparse.spmatrix,
    vertex_scene: NDArray[np.integer],
    is_image: NDArray[np.bool_],
    reachable: scipy.sparse.spmatrix | NDArray[np.bool_],
    *,
    batch_size: int | None = None,
    progress: bool = False,
    rule: str = "literal",
) -> SmoothPathCount:
    """Count smooth shortest paths between image vertices.

    Parameters
    ----------
    graph : sparse matrix of shape (n_vertices, n_vertices)
        Edge lengths (great-circle distances, radians); every stored entry off the
        diagonal is an edge, read row -> column (explicit zeros are zero-length edges,
        as in :mod:`scipy.sparse.csgraph`). Lengths must be finite and >= 0.
    vertex_scene : array of int, shape (n_vertices,)
        The scene each vertex shows, an index into ``reachable``.
    is_image : array of bool, shape (n_vertices,)
        True for image vertices (path ends), False for text vertices (pass-through).
    reachable : sparse or dense bool matrix of shape (n_scenes, n_scenes)
        Symmetric reachable-neighbour relation between scenes; the diagonal is ignored.
    batch_size : int, optional
        Sources per call of :func:`scipy.sparse.csgraph.dijkstra`; the default keeps its
        output near 200 MB (64 sources up to 262,144 vertices). Does not change results.
    progress : bool
        Show a tqdm bar over the sources.
    rule : {"literal", "merged"}
        How a step between two vertices of the same scene counts (module docstring).

    Returns
    -------
    SmoothPathCount
        ``total`` and ``per_source`` counts.

    Raises
    ------
    InputError
        On an empty graph, no image vertex, mismatched lengths, scene indices outside
        ``reachable``, a non-symmetric ``reachable``, negative / non-finite lengths,
        ``batch_size < 1`` or an unknown ``rule``.
    """
    _check_rule(rule)
    graph = check_graph(graph, "count_smooth_paths: graph")
    n = graph.shape[0]
    scene = _check_vector(vertex_scene, n, "vertex_scene")
    image = _check_vector(is_image, n, "is_image").astype(bool)
    neighbours = _scene_neighbours(reachable, scene)
    sources = np.flatnonzero(image)
    if sources.size == 0:
        raise InputError("count_smooth_paths: no image vertex (is_image is all False)")
    if batch_size is None:
        batch_size = max(1, min(64, _MAX_BATCH_ENTRIES // n))
    batch_size = check_positive_int(batch_size, "count_smooth_paths: batch_size")

    search = _Search(graph, scene.tolist(), image.tolist(), neighbours, rule == "merged")
    per_source = np.zeros(n, dtype=np.int64)
    # First radius: one edge, final for every source whose neighbours are all dead.
    pending, radius = sources, np.full(len(sources), search.longest_edge)
    bar = _progress_bar(len(sources)) if progress else None
    while pending.size:
        retry_sources, retry_radius = [], []
        for limit in np.unique(radius).tolist():
            group = pending[radius == limit]
            for start in range(0, len(group), batch_size):
                batch = group[start : start + batch_size]
                counts, needed = search.count(batch, limit)
                done = needed == 0
                per_source[batch[done]] = counts[done]
                retry_sources.append(batch[~done])
                # One more edge: the vertices the retry reveals may be live too.
                retry_radius.append(search.quantise(needed[~done] + search.longest_edge))
                if bar is not None:
                    bar.update(int(done.sum()))
        pending, radius = np.concatenate(retry_sources), np.concatenate(retry_radius)
    if bar is not None:
        bar.close()
    return SmoothPathCount(int(per_source.sum()), per_source)


def is_smooth(scenes, reachable: scipy.sparse.spmatrix | np.ndarray, rule: str = "literal") -> bool:
    """Whether a path showing ``scenes`` (one per vertex, in order) is smooth.

    A direct reading of the definition, for single paths (figures, checks); use
    :func:`count_smooth_paths` for counting. ``rule`` as there.
    """
    _check_rule(rule)
    scenes = list(scenes)
    repeated = any(a == b for a, b in itertools.pairwise(scenes))
    if repeated and rule == "literal":
        return False
    merged = [s for i, s in enumerate(scenes) if i == 0 or s != scenes[i - 1]]
    if len(set(merged)) != len(merged):
        return False
    # No copy of a CSR matrix: figures call this once per candidate path.
    lookup = reachable.tocsr() if scipy.sparse.issparse(reachable) else np.asarray(reachable)
    for i, a in enumerate(merged):
        for j in range(i + 1, len(merged)):
            if bool(lookup[a, merged[j]]) != (j == i + 1):
                return False
    return True


def _progress_bar(total: int):
    from tqdm import tqdm

    return tqdm(total=total, desc="smooth paths", unit="source")


# ----------------------------------------------------------------------------- search


class _Search:
    """Radius-limited Dijkstra from a batch of sources, then the live part of each tree."""

    def __init__(
        self, graph, scene: list[int], is_image: list[bool], neighbours, merge: bool = False
    ):
        self.merge = merge
        self.graph = graph
        self.scene = scene
        self.is_image = is_image
        self.neighbours = neighbours
        # reach[u]: u's longest edge, so dist[u] + reach[u] bounds u's neighbours' distances.
        self.reach = np.zeros(graph.shape[0])
        rows = np.repeat(np.arange(graph.shape[0]), np.diff(graph.indptr))
        np.maximum.at(self.reach, rows, graph.data)
        self.longest_edge = float(self.reach.max())

    def quantise(self, radius: np.ndarray) -> np.ndarray:
        """Round radii up to the grid, so a source's radii never depend on its batch."""
        step = self.longest_edge / _RADIUS_STEPS
        if step == 0 or not math.isfinite(step):
            return radius
        return np.ceil(radius / step) * step

    def count(self, sources: np.ndarray, limit: float) -> tuple[np.ndarray, np.ndarray]:
        """Smooth-path counts of ``sources`` within ``limit``.

        Returns ``(counts, needed)``; ``needed[i] == 0`` when source ``i``'s count is
        final, else a radius that reaches every neighbour of its live vertices.
        """
        dist, pred = dijkstra(self.graph, indices=sources, limit=limit, return_predecessors=True)
        counts = np.zeros(len(sources), dtype=np.int64)
        needed = np.zeros(len(sources))
        for row, source in enumerate(sources.tolist()):
            counts[row], needed[row] = self._count_tree(source, dist[row], pred[row], limit)
        return counts, needed

    def _count_tree(self, source: int, dist, pred, limit: float) -> tuple[int, float]:
        """Walk the live part of the shortest-path tree of ``source``.

        ``dist`` and ``pred`` are one row of a Dijkstra limited to ``limit``; its finite
        entries are exact. A live vertex with a neighbour beyond ``limit`` makes the
        count uncertain: that neighbour's true parent may be the live vertex.
        """
        reached = np.flatnonzero(np.isfinite(dist))
        parents = pred[reached]
        order = np.argsort(parents, kind="stable")
        sorted_parents, children = parents[order], reached[order]

        # Level by level (one hop more each time), so numpy serves a whole level at once.
        count, needed = 0, 0.0
        level = np.array([source])
        paths = [(self.scene[source],)]
        while len(level):
            near_limit = level[dist[level] + self.reach[level] > limit]
            for u in near_limit.tolist():
                needed = max(needed, self._beyond(u, dist))
            first = sorted_parents.searchsorted(level, side="left").tolist()
            last = sorted_parents.searchsorted(level, side="right").tolist()
            next_level, next_paths = [], []
            for path, lo, hi in zip(paths, first, last, strict=True):
                for v in children[lo:hi].tolist():
                    extended = _extend(path, self.scene[v], self.neighbours, self.merge)
                    if extended is not None:
                        count += self.is_image[v]
                        next_level.append(v)
                        next_paths.append(extended)
            level, paths = np.array(next_level, dtype=np.int64), next_paths
        return count, needed

    def _beyond(self, u: int, dist: np.ndarray) -> float:
        """Longest ``dist[u] + w(u, v)`` over neighbours ``v`` beyond the limit, else 0."""
        edges = slice(self.graph.indptr[u], self.graph.indptr[u + 1])
        unreached = np.isinf(dist[self.graph.indices[edges]])
        if not unreached.any():
            return 0.0
        return float(dist[u] + self.graph.data[edges][unreached].max())


def _extend(path: tuple, s: int, neighbours: list[frozenset], merge: bool = False) -> tuple | None:
    """Extend the (merged) scene sequence ``path`` by ``s`` if still smooth, else None.

    A repeat of the last scene is merged with ``merge`` and ends the path without it.
    """
    last = path[-1]
    if s == last:
        return path if merge else None
    if s not in neighbours[last] or s in path:
        return None
    if not neighbours[s].isdisjoint(path[:-1]):
        return None  # s is reachable from an earlier, non-adjacent scene: a shortcut
    return (*path, s)


# ----------------------------------------------------------------------------- validation


def _check_rule(rule: str) -> None:
    check_option("smooth-path rule", rule, RULES)


def _check_vector(values, n: int, name: str) -> np.ndarray:
    values = np.asarray(values)
    if values.shape != (n,):
        raise InputError(
            f"count_smooth_paths: {name} must have shape ({n},) to match the graph, "
            f"got {values.shape}"
        )
    return values


def _scene_neighbours(reachable, scene: np.ndarray) -> list[frozenset]:
    """Per scene, the frozenset of its reachable scenes (diagonal dropped)."""
    if not np.issubdtype(scene.dtype, np.integer):
        raise InputError(f"count_smooth_paths: vertex_scene must be integers, got {scene.dtype}")
    matrix = scipy.sparse.coo_matrix(reachable, dtype=bool)
    if matrix.shape[0] != matrix.shape[1]:
        raise InputError(f"count_smooth_paths: reachable must be square, got {matrix.shape}")
    n_scenes = matrix.shape[0]
    if scene.size and (scene.min() < 0 or scene.max() >= n_scenes):
        raise InputError(
            f"count_smooth_paths: vertex_scene values must lie in [0, {n_scenes}) "
            f"(reachable has {n_scenes} scenes), got range [{scene.min()}, {scene.max()}]"
        )
    matrix = matrix.tocsr()
    if (matrix != matrix.T).nnz:
        raise InputError("count_smooth_paths: reachable must be symmetric")
    coo = matrix.tocoo()
    off_diagonal = (coo.row != coo.col) & coo.data
    rows, cols = coo.row[off_diagonal], coo.col[off_diagonal]
    order = np.argsort(rows, kind="stable")
    bounds = np.searchsorted(rows[order], np.arange(n_scenes + 1))
    cols = cols[order].tolist()
    return [frozenset(cols[bounds[i] : bounds[i + 1]]) for i in range(n_scenes)]
