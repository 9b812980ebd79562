"""Adding vertices to a built index: new rows, conflicts with indexed ids, replacement.

:func:`grow` reads an index through its public attributes and returns its next
:class:`VertexState` (graph, vectors, norms, kinds and vertex table, changed together);
:meth:`ManifoldIndex.add <textmanifold.index.ManifoldIndex.add>` installs it. New rows go
through the index's stored alignment and edge threshold, the graph grows without a
rebuild (:func:`.extend.extend_graph`), and an id already indexed with another item is a
conflict (:func:`conflicting_ids`) unless it is to be replaced.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse

from ..collection import Collection, read_collection
from ..errors import InputError
from ..validation import check_unit_rows
from . import store
from .extend import extend_graph
from .lookup import VertexTable
from .scan import row_norms
from .vertices import Vertices, collection_records, gather

__all__ = ["VertexState", "check_no_conflict", "conflicting_ids", "grow"]


def conflicting_ids(
    records: list[dict],
    row_of: dict[str, int],
    items: list[dict],
    vectors: np.ndarray,
    rows: np.ndarray | None = None,
) -> list[str]:
    """Find the ids of ``records`` already indexed with other metadata or another vector.

    ``row_of`` maps an id to its row of ``items`` and ``vectors``; a vector is compared
    with the new ``rows``.
    """
    clash = []
    for position, record in enumerate(records):
        row = row_of.get(record["id"])
        if row is None:
            continue
        if items[row] != record or (
            rows is not None and not np.allclose(vectors[row], rows[position], rtol=0, atol=1e-5)
        ):
            clash.append(record["id"])
    return clash


def check_no_conflict(clash: list[str], replace: bool) -> None:
    """Refuse conflicting ids (:func:`conflicting_ids`) unless they are to be replaced."""
    if clash and not replace:
        shown = ", ".join(repr(i) for i in clash[:3]) + (
            f" and {len(clash) - 3} more" if len(clash) > 3 else ""
        )
        raise InputError(
            f"{len(clash)} ids are already in the index with another item "
            f"(other image, text, labels or vector): {shown}; pass --replace "
            "(replace=True) to replace them, or build a new index"
        )


@dataclass(frozen=True)
class VertexState:
    """The per-vertex state of an index, which adding and removing change together.

    ``graph`` (n, n) radians, ``vectors`` (n, d) float32 unit rows, ``norms`` (n,)
    float64, ``kinds`` (n,) uint8 (:data:`.store.IMAGE` / :data:`.store.TEXT`) and the
    vertex ``table`` (ids and metadata), all in row order.
    """

    graph: scipy.sparse.csr_matrix
    vectors: np.ndarray
    norms: np.ndarray
    kinds: np.ndarray
    table: VertexTable

    def without(self, ids: list[str]) -> VertexState:
        """Drop vertices and their edges; the other vertices keep their edges."""
        keep = np.ones(len(self.table), dtype=bool)
        keep[[self.table.row(i) for i in ids]] = False
        rows = np.flatnonzero(keep)
        return VertexState(
            self.graph[rows][:, rows].tocsr(),
            np.asarray(self.vectors)[rows],
            np.asarray(self.norms)[rows],
            self.kinds[rows],
            self.table.taken(rows.tolist()),
        )

    def extended(self, X: np.ndarray, n_images: int, records: list[dict], threshold: float):
        """Append unit rows ``X`` (images first, ``n_images`` of them) with their edges."""
        kinds = np.repeat(
            np.array([store.IMAGE, store.TEXT], np.uint8), [n_images, len(records) - n_images]
        )
        return VertexState(
            extend_graph(self.graph, np.asarray(self.vectors), X, threshold),
            np.concatenate([self.vectors, X]),
            np.concatenate([self.norms, row_norms(X)]),
            np.concatenate([self.kinds, kinds]),
            self.table.extended(records),
        )


def grow(
    index,
    collection=None,
    *,
    image_embeddings=None,
    text_embeddings=None,
    progress: bool = False,
    replace: bool = False,
) -> tuple[VertexState, int]:
    """Compute the state of ``index`` with new images and sentences as vertices, and edges.

    Existing vertices keep their rows, ids and edges. A row whose id is already in the
    index is skipped (never embedded again) when it holds the same item (same metadata,
    and with embedding files the same vector); one that holds another item is a
    conflict: an :class:`InputError` naming the first ids, or with ``replace`` the old
    vertex is removed and the new one added. New rows go through the index's stored
    alignment and edge threshold, so the graph equals the one a build of the union at
    the same threshold and alignment would give (up to the row order). Parameters as in
    :meth:`ManifoldIndex.build <textmanifold.index.ManifoldIndex.build>` (the run is the
    index's own).

    ``index`` is read through its public ``state``, ``dim``, ``threshold``,
    ``align_images`` and ``query_encoder``; it is not changed.

    Returns
    -------
    (VertexState, int)
        The next state, and the number of vertices added (replaced ones included).
    """
    state = index.state
    coll = (
        None
        if collection is None
        else (collection if isinstance(collection, Collection) else read_collection(collection))
    )
    if image_embeddings is not None:
        given = gather(
            coll, None, image_embeddings=image_embeddings, text_embeddings=text_embeddings
        )
        if given.image.shape[1] != index.dim:
            raise InputError(
                f"image embeddings have dimension {given.image.shape[1]}, the index {index.dim}"
            )
        rows, records = _aligned_rows(index, given), given.items
    else:
        rows, records = None, collection_records(coll)
    clash = conflicting_ids(records, state.table.row_of(), state.table.items(), state.vectors, rows)
    check_no_conflict(clash, replace)
    if clash:
        state = state.without(clash)
    known = set(state.table.ids)
    if image_embeddings is not None:
        keep = [i for i, record in enumerate(given.items) if record["id"] not in known]
        X, new_items = rows[keep], [given.items[i] for i in keep]
        n_images = sum(1 for r in new_items if r["kind"] == "image")
    else:
        new = gather(coll, index.query_encoder(), progress=progress, skip=known)
        if new.image.shape[1] != index.dim:
            raise InputError(f"new rows have dimension {new.image.shape[1]}, the index {index.dim}")
        X, new_items, n_images = _aligned_rows(index, new), new.items, len(new.image_ids)
    if not new_items:
        return state, 0
    return state.extended(X, n_images, new_items, index.threshold), len(new_items)


def _aligned_rows(index, vertices: Vertices) -> np.ndarray:
    """Image rows through the index's alignment, then text rows; unit float32."""
    rows = np.concatenate([index.align_images(vertices.image), vertices.text])
    if rows.shape[1] != index.dim:
        raise InputError(f"new rows have dimension {rows.shape[1]}, the index {index.dim}")
    return check_unit_rows(rows, name="new embeddings") if len(rows) else rows.astype(np.float32)
