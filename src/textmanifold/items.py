"""The records of a Collection: :class:`Item` (``items.jsonl``) and :class:`Pair`
(``pairs.jsonl``), the one reader of ``items.jsonl``, and how an embedding row id names
its item (``text:<image id>`` is that image's description).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from . import io
from .errors import DataFormatError, InputError

MODALITIES = ("image", "text")
# In embedding files, the row of an image's description is ``text:<image id>``.
DESCRIPTION_PREFIX = "text:"


@dataclass
class Item:
    """One image or text record of ``items.jsonl``.

    ``path`` is relative to the collection's image root; ``scene`` indexes
    ``scenes.json`` (synthetic sets); ``labels`` may hold several labels.
    """

    id: str
    modality: str
    path: str | None = None
    text: str | None = None
    labels: list[str] = field(default_factory=list)
    scene: int | None = None
    split: str | None = None

    def to_record(self) -> dict[str, Any]:
        """The JSON record, without empty optional fields."""
        return {k: v for k, v in asdict(self).items() if v is not None}


@dataclass
class Pair:
    """One composed-retrieval triplet: ``source`` image + ``text`` -> ``target`` image."""

    source: str
    target: str
    text: str
    split: str

    def to_record(self) -> dict[str, Any]:
        return asdict(self)


# ----------------------------------------------------------------------------- reading


def _item_from_record(record: dict, where: str, require_path: bool = True) -> Item:
    missing = [k for k in ("id", "modality") if k not in record]
    if missing:
        raise DataFormatError(f"{where}: missing field {missing[0]!r}")
    if not isinstance(record["id"], str) or not record["id"]:
        raise DataFormatError(f"{where}: id must be a non-empty string, got {record['id']!r}")
    modality = record["modality"]
    if modality not in MODALITIES:
        raise DataFormatError(f"{where}: modality must be 'image' or 'text', got {modality!r}")
    path = record.get("path")
    if (require_path or path is not None) and modality == "image" and not isinstance(path, str):
        raise DataFormatError(f"{where}: image item needs a string 'path'")
    if modality == "text" and not isinstance(record.get("text"), str):
        raise DataFormatError(f"{where}: text item needs a string 'text'")
    labels = record.get("labels", [])
    if not isinstance(labels, list) or not all(
        isinstance(x, str | int) and not isinstance(x, bool) for x in labels
    ):
        raise DataFormatError(f"{where}: 'labels' must be a list of strings")
    scene = record.get("scene")
    if scene is not None and (not isinstance(scene, int) or isinstance(scene, bool)):
        raise DataFormatError(f"{where}: 'scene' must be an integer")
    return Item(
        id=record["id"],
        modality=modality,
        path=record.get("path"),
        text=record.get("text"),
        labels=[str(label) for label in labels],
        scene=scene,
        split=record.get("split"),
    )


def _pair_from_record(record: dict, where: str) -> Pair:
    for key in ("source", "target", "text", "split"):
        if key not in record:
            raise DataFormatError(f"{where}: missing field {key!r}")
        if not isinstance(record[key], str):
            raise DataFormatError(f"{where}: {key} must be a string, got {record[key]!r}")
    return Pair(record["source"], record["target"], record["text"], record["split"])


def read_items(path: str | os.PathLike, *, require_paths: bool = True) -> list[Item]:
    """Read an ``items.jsonl`` file: the one reader of the format.

    Parameters
    ----------
    path : path-like
        The file.
    require_paths : bool, default True
        Image items need a ``path`` (a Collection's do). ``False`` for an items file
        that only describes embedding rows (labels, scenes) outside a Collection.

    Returns
    -------
    list of Item

    Raises
    ------
    MissingFileError
        No such file.
    DataFormatError
        The file holds no item; a line that is not UTF-8, not a JSON object or not a
        valid item (naming file and line); a repeated id (naming both lines).
    """
    path = Path(path)
    items: list[Item] = []
    first_line: dict[str, int] = {}
    for number, record in io.iter_jsonl(path):
        item = _item_from_record(record, f"{path}:{number}", require_paths)
        if item.id in first_line:
            raise DataFormatError(
                f"{path}:{number}: duplicate item id {item.id!r} (first "
                f"on line {first_line[item.id]})"
            )
        first_line[item.id] = number
        items.append(item)
    if not items:
        raise DataFormatError(f"{path}: holds no items")
    return items


# ----------------------------------------------------------------------------- row ids


def description_id(image_id: str) -> str:
    """The embedding-row id of an image's paired description: ``text:<image id>``."""
    return DESCRIPTION_PREFIX + image_id


def item_id_of_row(row_id: str) -> str:
    """The item an embedding row shows: ``text:<id>`` -> ``<id>``; other ids unchanged."""
    return row_id[len(DESCRIPTION_PREFIX) :] if row_id.startswith(DESCRIPTION_PREFIX) else row_id


def item_of_row(items: dict[str, Item], row_id: str, where: str) -> Item:
    """The item an embedding row shows; a ``text:<id>`` row is image ``<id>``'s description,
    returned as a text item with that image's labels and scene.

    Raises
    ------
    InputError
        ``row_id`` names no item (``where`` names the ids file).
    """
    if row_id in items:
        return items[row_id]
    described = item_id_of_row(row_id)
    if described in items:
        return replace(items[described], modality="text")
    raise InputError(f"{where}: id {row_id!r} is not in items.jsonl")


def description_rows(
    image_ids: Sequence[str], text_ids: Sequence[str], where: str = "text embedding"
) -> np.ndarray:
    """For each image id, the row of ``text_ids`` holding its description, shape (n,).

    Raises
    ------
    InputError
        Naming the first image without a description row in ``where``.
    """
    row = {tid: i for i, tid in enumerate(text_ids)}
    missing = [i for i in image_ids if description_id(i) not in row]
    if missing:
        raise InputError(
            f"{where}: no description row {description_id(missing[0])!r} for "
            f"image {missing[0]!r} ({len(missing)} of {len(image_ids)} missing)"
        )
    return np.array([row[description_id(i)] for i in image_ids], dtype=np.int64)
