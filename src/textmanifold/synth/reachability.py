"""Reachable neighbours of CCI scenes, found by hashing (never by comparing all pairs).

Two scenes are *reachable neighbours* (DESIGN.md) iff

(a) they hold the same object ids and exactly one object differs in exactly one of its
    attributes color, shape, material, size, position (``x``, ``y`` together); or
(b) one holds exactly one extra object and all other objects are identical.

Objects are matched by their persistent ``id``; the camera never counts (it is the
distractor), and neither does an object's rotation about its vertical axis. Two
*identical* scenes (the same objects, perhaps seen from another camera) differ in
nothing, so they are not neighbours of each other; each has the other's neighbours.

How: every scene is a sorted tuple of object records. For (a), a scene falls in one
bucket per (object, attribute): the rest of the scene, that object's id and its other
attributes. Scenes in one bucket differ at most in that one attribute, so every pair in
it with different values is an edge. For (b), the scene without one of its objects is
looked up among all scenes' full records. The work is O(N x objects x attributes) plus
the number of edges.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

import numpy as np
import scipy.sparse

from ..errors import DataFormatError
from .scene import Scene

# One object record: (id, color, shape, material, size, (x, y)); slots 1..5 can differ.
SLOTS: tuple[str, ...] = ("color", "shape", "material", "size", "position")
ObjectRecord = tuple[int, str, str, str, str, tuple[float, float]]


def object_records(scene: Scene | dict[str, Any], where: str = "scene") -> tuple:
    """The scene's objects as records sorted by id, ignoring camera and rotation.

    Accepts a :class:`Scene` or a CLEVR-format dict (objects without ``id`` take their
    list position, as in :meth:`Scene.from_clevr_json`).
    """
    if isinstance(scene, Scene):
        records = [(o.id, o.color, o.shape, o.material, o.size, (o.x, o.y)) for o in scene.objects]
    else:
        try:
            records = [
                (
                    int(o.get("id", i)),
                    o["color"],
                    o["shape"],
                    o["material"],
                    o["size"],
                    (float(o["3d_coords"][0]), float(o["3d_coords"][1])),
                )
                for i, o in enumerate(scene["objects"])
            ]
        except (KeyError, TypeError, IndexError, ValueError) as exc:
            raise DataFormatError(f"{where}: malformed CLEVR scene ({exc!r})") from None
    records.sort(key=lambda r: r[0])
    ids = [r[0] for r in records]
    if len(set(ids)) != len(ids):
        raise DataFormatError(f"{where}: duplicate object ids {ids}")
    return tuple(records)


# C901: the hot loop over objects and buckets; helpers would add a call per object.
def reachable_pairs(scenes: Sequence[Scene | dict[str, Any]]) -> scipy.sparse.csr_matrix:  # noqa: C901
    """The reachable-neighbour relation of a list of scenes.

    Parameters
    ----------
    scenes : sequence of Scene or CLEVR-format dict, length N

    Returns
    -------
    scipy.sparse.csr_matrix of bool, shape (N, N)
        Symmetric, empty diagonal; entry (i, j) is True iff scenes i and j are
        reachable neighbours.
    """
    records = [object_records(s, f"scene {i}") for i, s in enumerate(scenes)]
    n = len(records)
    # Interning turns each distinct object tuple into a small int, so bucket keys hash
    # in constant time instead of rehashing the rest of the scene for every attribute.
    intern: dict[tuple, int] = {}
    scene_of_content: dict[int, list[int]] = defaultdict(list)
    for i, rec in enumerate(records):
        scene_of_content[intern.setdefault(rec, len(intern))].append(i)

    rows: list[int] = []
    cols: list[int] = []
    buckets: dict[tuple, dict[Any, list[int]]] = defaultdict(lambda: defaultdict(list))
    for i, rec in enumerate(records):
        for k, obj in enumerate(rec):
            rest = intern.setdefault(rec[:k] + rec[k + 1 :], len(intern))
            # (b) one extra object: this scene minus one object is another scene.
            for j in scene_of_content.get(rest, ()):
                rows.append(i)
                cols.append(j)
            # (a) one attribute of one object: bucket by everything but that attribute.
            for slot in range(1, len(SLOTS) + 1):
                key = (rest, obj[0], slot, obj[1:slot] + obj[slot + 1 :])
                buckets[key][obj[slot]].append(i)
    for by_value in buckets.values():
        if len(by_value) < 2:
            continue
        groups = list(by_value.values())
        for a in range(len(groups)):
            for b in range(a + 1, len(groups)):
                for i in groups[a]:
                    rows.extend([i] * len(groups[b]))
                    cols.extend(groups[b])

    data = np.ones(len(rows), dtype=bool)
    half = scipy.sparse.coo_matrix((data, (rows, cols)), shape=(n, n)).tocsr()
    full = (half + half.T).astype(bool)
    full.setdiag(False)
    full.eliminate_zeros()
    full.sort_indices()
    return full


def mean_neighbours(reachable: scipy.sparse.spmatrix, subset: Sequence[int] | None = None) -> float:
    """Mean number of reachable neighbours per scene, optionally within ``subset``."""
    matrix = scipy.sparse.csr_matrix(reachable)
    if subset is not None:
        index = np.asarray(subset, dtype=np.int64)
        matrix = matrix[index][:, index]
    if matrix.shape[0] == 0:
        return 0.0
    return float(matrix.sum()) / matrix.shape[0]


def content_scene_index(scenes: Sequence[Scene | dict[str, Any]]) -> np.ndarray:
    """Per scene, the index of the first scene holding the same objects (camera ignored).

    Where scenes may repeat (``cci generate --repeat-scenes``), two images of one content
    are *the same scene* for the smooth-path rules: a step between them is no change
    (literal rule) or is merged (merged rule), and a path may not return to a content it
    has shown. Mapping every vertex's scene through this index does that; the reachable
    relation is the same for all scenes of one content, so it needs no change.

    Returns
    -------
    ndarray of int64, shape (N,)
    """
    first: dict[tuple, int] = {}
    return np.array(
        [first.setdefault(object_records(s, f"scene {i}"), i) for i, s in enumerate(scenes)],
        dtype=np.int64,
    )
