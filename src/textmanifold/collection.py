"""The Collection: the on-disk dataset every stage reads and writes.

A Collection is a directory::

    collection.json   name, format version, counts, the config that made it, image root
    items.jsonl       one record per item (image or text)
    pairs.jsonl       composed-retrieval triplets (source, target, text, split)
    scenes.json       CLEVR-format scenes (synthetic sets only)
    reachable.npz     boolean scene x scene reachable-neighbour matrix (CCI only)
    images/           PNG files (generated sets; loaders point ``image_root`` elsewhere)

An *image* item may carry ``text``: its paired description (side information), which
is what the joint model trains on and what becomes a text vertex of the graph. A *text*
item is a description with no image (text is cheap, images are not).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse

from . import io
from . import shards as _shards
from .errors import DataFormatError, InputError, MissingFileError
from .images import image_problem
from .items import (  # noqa: F401 (the Collection's records, re-exported)
    DESCRIPTION_PREFIX,
    MODALITIES,
    Item,
    Pair,
    _pair_from_record,
    description_id,
    description_rows,
    item_id_of_row,
    item_of_row,
    read_items,
)
from .validation import check_ids

FORMAT_VERSION = 1


@dataclass
class Collection:
    """A Collection read into memory. Build one with :func:`read_collection`."""

    root: Path
    meta: dict[str, Any]
    items: list[Item]
    pairs: list[Pair]
    scenes: list[dict] | None = None

    @property
    def name(self) -> str:
        """The collection's name: ``collection.json``'s ``name``, else the directory's."""
        return str(self.meta.get("name", self.root.name))

    @property
    def image_root(self) -> Path:
        """Where image paths resolve: ``meta["image_root"]`` (loaders) or the collection."""
        root = self.meta.get("image_root")
        return Path(root) if root else self.root

    def image_path(self, item: Item) -> Path:
        """Absolute path of an image item's file."""
        if item.path is None:
            raise DataFormatError(f"{self.root}: item {item.id!r} has no image path")
        return self.image_root / item.path

    def index(self) -> dict[str, int]:
        """Map item id -> position in ``items``."""
        return {item.id: i for i, item in enumerate(self.items)}

    def images(self, split: str | None = None) -> list[Item]:
        """Image items, optionally of one split."""
        return [
            it
            for it in self.items
            if it.modality == "image" and (split is None or it.split == split)
        ]

    def texts(self) -> list[Item]:
        """Text-only items."""
        return [it for it in self.items if it.modality == "text"]

    def pairs_of(self, split: str) -> list[Pair]:
        """Return the pairs of one split."""
        return [p for p in self.pairs if p.split == split]

    def reachable(self) -> scipy.sparse.csr_matrix:
        """Load the scene x scene reachable-neighbour matrix (raises if the set has none)."""
        return io.load_sparse(self.root / "reachable.npz")


# ----------------------------------------------------------------------------- writing


def write_collection(
    path: str | os.PathLike,
    *,
    name: str,
    items: Sequence[Item],
    pairs: Sequence[Pair] = (),
    scenes: Sequence[dict] | None = None,
    reachable: scipy.sparse.spmatrix | None = None,
    config: dict[str, Any] | None = None,
    image_root: str | os.PathLike | None = None,
) -> Path:
    """Write a Collection's metadata files atomically (images are written by the caller).

    Parameters
    ----------
    path : path-like
        The collection directory (created if needed).
    name : str
        Human-readable name stored in ``collection.json``.
    items, pairs : sequences of :class:`Item` / :class:`Pair`
    scenes : list of dict, optional
        CLEVR-format scenes; written to ``scenes.json``.
    reachable : sparse matrix, optional
        Boolean scene x scene matrix; written to ``reachable.npz``.
    config : dict, optional
        The generator or loader settings, recorded for provenance.
    image_root : path-like, optional
        Where image paths resolve when the images live outside the collection.

    Returns
    -------
    Path
        The collection directory.
    """
    root = Path(path)
    root.mkdir(parents=True, exist_ok=True)
    n_images = sum(it.modality == "image" for it in items)
    meta: dict[str, Any] = {
        "name": name,
        "format_version": FORMAT_VERSION,
        "counts": {
            "items": len(items),
            "images": n_images,
            "texts": len(items) - n_images,
            "pairs": len(pairs),
            "scenes": len(scenes) if scenes is not None else 0,
        },
        "config": config or {},
    }
    if image_root is not None:
        meta["image_root"] = str(Path(image_root).resolve())
    io.write_jsonl(root / "items.jsonl", (it.to_record() for it in items))
    io.write_jsonl(root / "pairs.jsonl", (p.to_record() for p in pairs))
    if scenes is not None:
        io.write_json(root / "scenes.json", {"scenes": list(scenes)})
    if reachable is not None:
        io.save_sparse(root / "reachable.npz", scipy.sparse.csr_matrix(reachable, dtype=bool))
    # collection.json last: its presence marks a complete collection.
    io.write_json(root / "collection.json", meta)
    return root


# ----------------------------------------------------------------------------- reading


def read_collection(path: str | os.PathLike) -> Collection:
    """Read a Collection directory, checking its structure (not its image files).

    Raises
    ------
    MissingFileError
        If the directory or ``collection.json`` / ``items.jsonl`` is missing.
    DataFormatError
        On the first malformed record, naming file and line; on duplicate ids, pairs that
        name unknown items, or scene indices out of range.
    """
    root = Path(path)
    if not root.is_dir():
        raise MissingFileError(f"{root}: collection directory not found")
    meta = _read_meta(root / "collection.json")
    items_path = root / "items.jsonl"
    items = read_items(items_path)
    pairs = _read_pairs(root / "pairs.jsonl", {item.id for item in items})
    scenes = _read_scenes(root / "scenes.json")
    n_scenes = len(scenes) if scenes is not None else 0
    for item in items:
        if item.scene is not None and not 0 <= item.scene < n_scenes:
            raise DataFormatError(
                f"{items_path}: item {item.id!r} names scene {item.scene}, "
                f"but the collection has {n_scenes} scenes"
            )
    return Collection(root=root, meta=meta, items=items, pairs=pairs, scenes=scenes)


def _read_meta(meta_path: Path) -> dict:
    """Read ``collection.json``: a JSON object of this format version."""
    meta = io.read_json(meta_path)
    if not isinstance(meta, dict):
        raise DataFormatError(f"{meta_path}: expected a JSON object")
    version = meta.get("format_version")
    if version != FORMAT_VERSION:
        raise DataFormatError(f"{meta_path}: format_version {version!r} is not {FORMAT_VERSION}")
    return meta


def _read_pairs(pairs_path: Path, seen: set[str]) -> list[Pair]:
    """Read ``pairs.jsonl`` (none when absent); both ends must be ids in ``seen``."""
    pairs: list[Pair] = []
    if pairs_path.exists():
        for n, r in io.iter_jsonl(pairs_path):
            pair = _pair_from_record(r, f"{pairs_path}:{n}")
            for end in (pair.source, pair.target):
                if end not in seen:
                    raise DataFormatError(f"{pairs_path}:{n}: unknown item id {end!r}")
            pairs.append(pair)
    return pairs


def _read_scenes(scenes_path: Path) -> list | None:
    """Read the ``scenes`` list of ``scenes.json``, or None when the file is absent."""
    if not scenes_path.exists():
        return None
    data = io.read_json(scenes_path)
    if not isinstance(data, dict) or not isinstance(data.get("scenes"), list):
        raise DataFormatError(f"{scenes_path}: expected an object with a 'scenes' list")
    return data["scenes"]


# ----------------------------------------------------------------------------- validation


def check_image_file(path: Path) -> str | None:
    """Return a one-line problem if ``path`` is missing or not a fully decodable image."""
    return image_problem(path)


def validate_collection(
    path: str | os.PathLike, *, check_images: bool = True, progress: bool = False
) -> list[str]:
    """List every problem of a Collection, one line each; an empty list means valid.

    Checks the structure (as :func:`read_collection`), the counts in ``collection.json``,
    the reachable matrix's shape and symmetry, and, with ``check_images``, that every
    image file exists and decodes completely.
    """
    try:
        coll = read_collection(path)
    except (DataFormatError, MissingFileError) as exc:
        return [str(exc)]
    problems = _count_problems(coll) + _reachable_problems(coll)
    if check_images:
        problems += _image_problems(coll, progress)
    return problems


def _count_problems(coll: Collection) -> list[str]:
    """List the counts in ``collection.json`` that disagree with the records."""
    counts = coll.meta.get("counts", {})
    actual = {"items": len(coll.items), "pairs": len(coll.pairs)}
    return [
        f"{coll.root / 'collection.json'}: counts.{key} says {counts[key]}, found {value}"
        for key, value in actual.items()
        if key in counts and counts[key] != value
    ]


def _reachable_problems(coll: Collection) -> list[str]:
    """List the reachable matrix's problems: unreadable, wrong shape, or not symmetric."""
    reach_path = coll.root / "reachable.npz"
    if not reach_path.exists():
        return []
    try:
        reach = coll.reachable()
        n = len(coll.scenes or [])
        if reach.shape != (n, n):
            return [f"{reach_path}: shape {reach.shape} does not match {n} scenes"]
        if (reach != reach.T).nnz:
            return [f"{reach_path}: matrix is not symmetric"]
    except (DataFormatError, MissingFileError) as exc:
        return [str(exc)]
    return []


def _image_problems(coll: Collection, progress: bool) -> list[str]:
    """One line per image file that is missing or does not decode completely."""
    images: Iterable[Item] = coll.images()
    if progress:
        from tqdm import tqdm

        images = tqdm(list(images), desc="checking images", unit="img")
    return [problem for item in images if (problem := check_image_file(coll.image_path(item)))]


def text_rows(coll: Collection) -> tuple[list[str], list[str]]:
    """Ids and sentences of the text vertices: image descriptions, then text items.

    An image's description is the row ``text:<image id>`` (:func:`description_id`).
    """
    ids = [description_id(it.id) for it in coll.images() if it.text]
    texts = [it.text for it in coll.images() if it.text]
    clash = set(ids) & {it.id for it in coll.items}
    if clash:
        raise InputError(
            f"{coll.root}: item id {sorted(clash)[0]!r} clashes with the id of "
            "an image description's text vertex"
        )
    ids += [it.id for it in coll.texts()]
    texts += [it.text for it in coll.texts()]
    return ids, texts


# ``load_embedding`` reads a single file or a sharded directory (see textmanifold.shards).
load_embedding = _shards.load_embedding


def save_embedding(path: str | os.PathLike, X: np.ndarray, ids: Sequence[str]) -> None:
    """Save an embedding and its row ids (``<space>.npy`` + ``<space>.ids.json``)."""
    path = Path(path)
    ids = check_ids([str(i) for i in ids], len(X), name=f"ids for {path}")
    io.save_npy(path, np.ascontiguousarray(X, dtype=np.float32))
    io.write_json(path.with_suffix(".ids.json"), ids)
