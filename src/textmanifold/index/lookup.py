"""Looking up an index's vertices: ids, rows, metadata, counts and graph statistics.

:class:`VertexLookup` is the look-up half of :class:`~textmanifold.index.ManifoldIndex`,
a mixin on the state the index's constructor sets: ``_ids`` (vertex ids in row order),
``_row`` (the id -> row map, made on first use), ``_items`` (vertex metadata, read from
``items.jsonl`` in ``directory`` on first use), ``info`` (the manifest), ``graph`` and
``is_image``.
"""

from __future__ import annotations

from pathlib import Path

from .. import io
from ..errors import InputError, MissingFileError
from ..manifold.graph import graph_summary

__all__ = ["UnknownIdError", "VertexLookup"]


class UnknownIdError(InputError):
    """An id that is not a vertex of the index."""


class VertexLookup:
    """Ids, rows and metadata of an index's vertices (mixed into ``ManifoldIndex``)."""

    @property
    def ids(self) -> list[str]:
        """Vertex ids in row order (images and text vertices)."""
        return self._ids

    @property
    def manifest(self) -> dict:
        """What ``manifest.json`` holds (:meth:`IndexManifest.to_json`; a fresh copy)."""
        return self.info.to_json()

    @property
    def dim(self) -> int:
        """The vectors' dimension."""
        return int(self.info.dim)

    @property
    def n_images(self) -> int:
        """How many image vertices the index holds."""
        return int(self.info.counts.images)

    @property
    def n_texts(self) -> int:
        """How many text vertices the index holds."""
        return int(self.info.counts.texts)

    def row(self, id: str) -> int:
        """Return the vertex row of an id; :class:`UnknownIdError` if it is not indexed."""
        try:
            return self._row_of()[str(id)]
        except KeyError:
            raise UnknownIdError(f"unknown id {id!r}: not in the index") from None

    def _row_of(self) -> dict[str, int]:
        if self._row is None:
            self._row = {v: i for i, v in enumerate(self._ids)}
        return self._row

    def _all_items(self) -> list[dict]:
        if self._items is None:
            path = self.directory / "items.jsonl"
            self._items = [record for _, record in io.iter_jsonl(path)]
            if len(self._items) != len(self._ids):
                raise InputError(f"{path}: {len(self._items)} records for {len(self._ids)} ids")
        return self._items

    def item(self, id: str) -> dict:
        """Metadata of a vertex: ``{"id", "kind", "path", "text", "labels"}``."""
        return self.item_at(self.row(id))

    def item_at(self, row: int) -> dict:
        """Metadata of the vertex in row ``row`` (a copy), as :meth:`item`."""
        return dict(self._all_items()[row])

    def image_path(self, id: str) -> Path:
        """Return the image file of an indexed image vertex."""
        record = self.item(id)
        if record["kind"] != "image":
            raise InputError(f"{id!r} is a text vertex, not an image")
        if not record.get("path"):
            raise MissingFileError(f"{id!r}: the index holds no image path for it")
        return Path(record["path"])

    def stats(self) -> dict:
        """Graph statistics (:func:`~textmanifold.manifold.graph.graph_summary`)."""
        return graph_summary(self.graph, self.is_image)
