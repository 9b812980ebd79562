"""Adding vertices to a built index: new rows, conflicts with indexed ids, replacement.

:class:`VertexAdding` is the growing half of :class:`~textmanifold.index.ManifoldIndex`,
a mixin on the index's arrays (``vectors``, ``norms``, ``kinds``, ``graph``), ids and
items: new rows go through the index's stored alignment and edge threshold, the graph
grows without a rebuild (:func:`.extend.extend_graph`), and an id already indexed with
another item is a conflict (:func:`conflicting_ids`) unless it is to be replaced.
"""

from __future__ import annotations

import numpy as np

from ..collection import Collection, read_collection
from ..errors import InputError
from ..validation import check_unit_rows
from . import store
from .extend import extend_graph
from .scan import row_norms
from .vertices import Vertices, collection_records, gather

__all__ = ["VertexAdding", "check_no_conflict", "conflicting_ids"]


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


class VertexAdding:
    """:meth:`add` and the removal of replaced vertices (mixed into ``ManifoldIndex``).

    It relies on the index's look-up (``_ids``, ``_row_of``, ``_all_items``, ``row``),
    ``dim``, ``threshold``, ``align_images``, ``query_encoder`` and ``_count``.
    """

    def add(
        self,
        collection=None,
        *,
        image_embeddings=None,
        text_embeddings=None,
        progress: bool = False,
        replace: bool = False,
    ) -> int:
        """Insert new images and sentences as vertices, with their edges; no rebuild.

        Existing vertices keep their rows, ids and edges. A row whose id is already in
        the index is skipped (never embedded again) when it holds the same item (same
        metadata, and with embedding files the same vector); one that holds another
        item is a conflict: an :class:`InputError` naming the first ids, or with
        ``replace`` the old vertex is removed and the new one added. New rows go
        through the index's stored alignment and edge threshold, so the graph equals the
        one a build of the union at the same threshold and alignment would give (up to
        the row order). Parameters as in :meth:`build` (the run is the index's own).

        Returns
        -------
        int
            The number of vertices added (replaced ones included).
        """
        coll = (
            None
            if collection is None
            else (collection if isinstance(collection, Collection) else read_collection(collection))
        )
        if image_embeddings is not None:
            given = gather(
                coll, None, image_embeddings=image_embeddings, text_embeddings=text_embeddings
            )
            if given.image.shape[1] != self.dim:
                raise InputError(
                    f"image embeddings have dimension {given.image.shape[1]}, the index {self.dim}"
                )
            rows = self._aligned_rows(given)
            records = given.items
        else:
            rows, records = None, collection_records(coll)
        clash = conflicting_ids(records, self._row_of(), self._all_items(), self.vectors, rows)
        check_no_conflict(clash, replace)
        if clash:
            self._remove(clash)
        known = set(self._ids)
        if image_embeddings is not None:
            keep = [i for i, record in enumerate(given.items) if record["id"] not in known]
            X, new_items = rows[keep], [given.items[i] for i in keep]
            n_images = sum(1 for r in new_items if r["kind"] == "image")
        else:
            new = gather(coll, self.query_encoder(), progress=progress, skip=known)
            if new.image.shape[1] != self.dim:
                raise InputError(
                    f"new rows have dimension {new.image.shape[1]}, the index {self.dim}"
                )
            X, new_items, n_images = self._aligned_rows(new), new.items, len(new.image_ids)
        if not new_items:
            return 0
        kinds = np.repeat(
            np.array([store.IMAGE, store.TEXT], np.uint8), [n_images, len(new_items) - n_images]
        )
        self._set_vertices(
            extend_graph(self.graph, np.asarray(self.vectors), X, self.threshold),
            np.concatenate([self.vectors, X]),
            np.concatenate([self.norms, row_norms(X)]),
            np.concatenate([self.kinds, kinds]),
            self._all_items() + new_items,
            self._ids + [record["id"] for record in new_items],
        )
        self._count()
        return len(new_items)

    def _aligned_rows(self, vertices: Vertices) -> np.ndarray:
        """Image rows through the index's alignment, then text rows; unit float32."""
        rows = np.concatenate([self.align_images(vertices.image), vertices.text])
        if rows.shape[1] != self.dim:
            raise InputError(f"new rows have dimension {rows.shape[1]}, the index {self.dim}")
        return (
            check_unit_rows(rows, name="new embeddings") if len(rows) else rows.astype(np.float32)
        )

    def _remove(self, ids: list[str]) -> None:
        """Drop vertices and their edges; the other vertices keep their edges."""
        keep = np.ones(len(self._ids), dtype=bool)
        keep[[self.row(i) for i in ids]] = False
        rows = np.flatnonzero(keep)
        items = self._all_items()
        self._set_vertices(
            self.graph[rows][:, rows].tocsr(),
            np.asarray(self.vectors)[rows],
            np.asarray(self.norms)[rows],
            self.kinds[rows],
            [items[r] for r in rows.tolist()],
            [self._ids[r] for r in rows.tolist()],
        )

    def _set_vertices(self, graph, vectors, norms, kinds, items, ids) -> None:
        self.graph, self.vectors, self.norms, self.kinds = graph, vectors, norms, kinds
        self.is_image = self.kinds == store.IMAGE
        self._items, self._ids, self._row = items, ids, None
