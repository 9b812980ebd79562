"""An index's vertex table: ids in row order, the id -> row map, and each vertex's metadata.

:class:`VertexTable` is a value the index holds (not a base class): it knows nothing of
vectors or graphs. Metadata are read from ``items.jsonl`` on first use when the index
was loaded from disk; the id -> row map is made on first use.
"""

from __future__ import annotations

from pathlib import Path

from .. import io
from ..errors import InputError, MissingFileError

__all__ = ["UnknownIdError", "VertexTable"]


class UnknownIdError(InputError):
    """An id that is not a vertex of the index."""


class VertexTable:
    """Ids and metadata of an index's vertices, in row order.

    Parameters
    ----------
    ids : sequence of str
        Vertex ids, row order.
    items : list of dict, optional
        Their metadata (``{"id", "kind", "path", "text", "labels"}``), one per id.
    items_file : path-like, optional
        Where to read them on first use instead (an index's ``items.jsonl``).
    """

    def __init__(self, ids, items: list[dict] | None = None, items_file=None):
        self.ids = list(ids)
        self._items = items
        self._items_file = None if items_file is None else Path(items_file)
        self._row: dict[str, int] | None = None

    def __len__(self) -> int:
        """Count the vertices."""
        return len(self.ids)

    def row_of(self) -> dict[str, int]:
        """Return the id -> row map (made once, then shared; do not change it)."""
        if self._row is None:
            self._row = {v: i for i, v in enumerate(self.ids)}
        return self._row

    def row(self, id: str) -> int:
        """Return the row of an id; :class:`UnknownIdError` if it is not a vertex."""
        try:
            return self.row_of()[str(id)]
        except KeyError:
            raise UnknownIdError(f"unknown id {id!r}: not in the index") from None

    def items(self) -> list[dict]:
        """Every vertex's metadata in row order (read from ``items_file`` on first use)."""
        if self._items is None:
            if self._items_file is None:
                raise InputError("this index holds no item metadata")
            path = self._items_file
            self._items = [record for _, record in io.iter_jsonl(path)]
            if len(self._items) != len(self.ids):
                raise InputError(f"{path}: {len(self._items)} records for {len(self.ids)} ids")
        return self._items

    def item_at(self, row: int) -> dict:
        """Metadata of the vertex in row ``row`` (a copy)."""
        return dict(self.items()[row])

    def image_path(self, id: str) -> Path:
        """Return the image file of an image vertex."""
        record = self.item_at(self.row(id))
        if record["kind"] != "image":
            raise InputError(f"{id!r} is a text vertex, not an image")
        if not record.get("path"):
            raise MissingFileError(f"{id!r}: the index holds no image path for it")
        return Path(record["path"])

    def taken(self, rows: list[int]) -> VertexTable:
        """Make a table of the vertices in ``rows``, in that order."""
        items = self.items()
        return VertexTable([self.ids[r] for r in rows], [items[r] for r in rows])

    def extended(self, records: list[dict]) -> VertexTable:
        """Make a table with the vertices of ``records`` (each with an ``"id"``) after these."""
        return VertexTable(
            self.ids + [record["id"] for record in records], self.items() + list(records)
        )
