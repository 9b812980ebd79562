"""The vertices of an index: embeddings from a run or from files, metadata, alignment.

Vertex order is the image rows, then the text rows (an image's description has id
``text:<image id>``, see :mod:`textmanifold.collection`). Image rows are mapped by ICP
onto their descriptions (paper Algorithm 1) unless alignment is switched off; the fitted
map is kept so that query images and added images go through the same map
(:mod:`.alignment`).

Embedding a large collection is resumable: with a ``work_dir`` each block of
:data:`CHUNK` images is saved as it is done and reused by the next call with the same
inputs.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .. import io
from ..collection import (
    Collection,
    item_id_of_row,
    load_embedding,
    read_collection,
    text_rows,
)
from ..errors import InputError
from ..manifold import ICPAligner
from ..validation import check_ids, check_unit_rows
from .alignment import (
    MIN_ALIGN_PAIRS,
    aligner_from,
    aligner_state,
    check_alignable,
    described_pairs,
)
from .store import IMAGE, TEXT

__all__ = [
    "CHUNK",
    "MIN_ALIGN_PAIRS",  # the alignment names are re-exported from .alignment
    "Vertices",
    "aligner_from",
    "aligner_state",
    "build_inputs",
    "check_alignable",
    "check_work_dir",
    "collection_records",
    "described_pairs",
    "gather",
    "remove_work_dir",
    "vertex_rows",
]

CHUNK = 1024  # images embedded (and saved, with a work_dir) at a time


@dataclass
class Vertices:
    """Rows of a future index, before alignment.

    Attributes
    ----------
    image, text : ndarray of shape (n_images, d) and (n_texts, d), float32
    image_ids, text_ids : list of str
    items : list of dict
        Metadata per vertex (images then texts): id, kind, path, text, labels.
    """

    image: np.ndarray
    image_ids: list[str]
    text: np.ndarray
    text_ids: list[str]
    items: list[dict]


def _as_embedding(value, name: str) -> tuple[np.ndarray, list[str]]:
    """Read an embedding: a ``.npy`` path (ids beside it) or an ``(array, ids)`` pair."""
    if isinstance(value, str | os.PathLike):
        return load_embedding(value)
    try:
        X, ids = value
    except (TypeError, ValueError):
        raise InputError(f"{name} must be a .npy path or an (array, ids) pair") from None
    X = np.asarray(X, dtype=np.float32)
    ids = [str(i) for i in ids]
    if X.ndim != 2 or len(ids) != len(X):
        raise InputError(
            f"{name}: expected (n, d) rows with n ids, got {X.shape} and {len(ids)} ids"
        )
    return X, ids


def _metadata(coll: Collection | None, where: dict[str, int], row_id: str, kind: str) -> dict:
    """Make a vertex's record; ``where`` maps item id -> position in ``coll.items``."""
    record = {"id": row_id, "kind": kind, "path": None, "text": None, "labels": []}
    position = where.get(item_id_of_row(row_id))
    if position is not None:
        item = coll.items[position]
        record.update(text=item.text, labels=list(item.labels))
        if kind == "image" and item.path:
            record["path"] = str(coll.image_path(item).resolve())
    return record


_WORK_STAMP = "work.json"


def check_work_dir(path: str | os.PathLike) -> Path:
    """Refuse a ``work_dir`` that exists but is not one this module made.

    A work directory is discarded when its inputs change, so a directory that is not
    ours (no ``work.json`` stamp, yet not empty) is never touched: it is an error.
    """
    path = Path(path)
    if path.exists() and (
        not path.is_dir() or (not (path / _WORK_STAMP).is_file() and any(path.iterdir()))
    ):
        raise InputError(
            f"{path}: exists and is not an index build's work directory "
            f"(no {_WORK_STAMP}); move it, or choose another --out"
        )
    return path


def remove_work_dir(path: str | os.PathLike) -> None:
    """Delete a work directory after a successful build (only one of ours)."""
    path = check_work_dir(path)
    if path.is_dir():
        shutil.rmtree(path)


class _Work:
    """Resumable intermediate files, discarded when the inputs change."""

    def __init__(self, path: str | os.PathLike | None, key: dict):
        self.path = None if path is None else check_work_dir(path)
        if self.path is None:
            return
        stamp = self.path / _WORK_STAMP
        if self.path.exists() and (not stamp.is_file() or io.read_json(stamp) != key):
            shutil.rmtree(self.path)
        self.path.mkdir(parents=True, exist_ok=True)
        io.write_json(stamp, key)

    def array(self, name: str, compute) -> np.ndarray:
        if self.path is not None and (self.path / name).is_file():
            return io.load_npy(self.path / name)
        value = compute()
        if self.path is not None:
            io.save_npy(self.path / name, value)
        return value


def gather(
    collection=None,
    encoder=None,
    *,
    image_embeddings=None,
    text_embeddings=None,
    work_dir=None,
    progress: bool = False,
    skip=frozenset(),
) -> Vertices:
    """Collect image and text rows with their metadata.

    Parameters
    ----------
    collection : path-like or Collection, optional
        Gives each row's metadata; with ``encoder`` and no embedding files, its images,
        descriptions and text items are embedded.
    encoder : RunEncoder or a pretrained encoder (:mod:`.pretrained`), optional
        What embeds the collection.
    image_embeddings, text_embeddings : path or (array, ids), optional
        Precomputed rows (``embed`` writes them); ids as in the embedding files.
    work_dir : path-like, optional
        Where to keep finished blocks of a run's embedding (resume).
    progress : bool
    skip : set of str
        Row ids to leave out (already indexed): never embedded, never returned.
    """
    coll = None
    if collection is not None:
        coll = collection if isinstance(collection, Collection) else read_collection(collection)
    if image_embeddings is not None:
        image, image_ids = _without(*_as_embedding(image_embeddings, "image embeddings"), skip)
        text, text_ids = (
            (np.zeros((0, image.shape[1]), np.float32), [])
            if text_embeddings is None
            else _without(*_as_embedding(text_embeddings, "text embeddings"), skip)
        )
    elif encoder is not None and coll is not None:
        image, image_ids, text, text_ids = _embed(coll, encoder, work_dir, progress, skip)
    else:
        raise InputError("give image embeddings, or a collection and a run to embed it")
    if text.shape[1] != image.shape[1] and len(text):
        raise InputError(
            f"text embeddings have dimension {text.shape[1]}, image embeddings {image.shape[1]}"
        )
    where = coll.index() if coll is not None else {}
    items = [_metadata(coll, where, i, "image") for i in image_ids] + [
        _metadata(coll, where, t, "text") for t in text_ids
    ]
    return Vertices(image, image_ids, text, text_ids, items)


def build_inputs(
    collection,
    run=None,
    *,
    encoder=None,
    image_embeddings=None,
    text_embeddings=None,
    align: bool = True,
    work_dir=None,
    progress: bool = False,
    device: str = "cpu",
):
    """Gather what an index build embeds and records (parameters of ``ManifoldIndex.build``).

    Returns
    -------
    coll : Collection or None
    vertices : Vertices
    model : dict or None
        The run's record for the manifest (run, kind, checksum, dim).
    encoder : RunEncoder, pretrained encoder or None
        What embeds later queries (the run's, or the given one).
    """
    if run is not None and encoder is not None:
        raise InputError("give a run or an encoder, not both")
    coll = (
        None
        if collection is None
        else (collection if isinstance(collection, Collection) else read_collection(collection))
    )
    if align and coll is not None and image_embeddings is None:
        described = sum(1 for it in coll.images() if it.text)
        check_alignable(described, len(coll.images()), str(coll.root))
    model = None
    if run is not None:
        from .encoders import RunEncoder

        encoder = RunEncoder(run, device=device, text_cache=None)
        model = {
            "run": encoder.spec["run"],
            "kind": encoder.kind,
            "checksum": encoder.spec["checksum"],
            "dim": encoder.dim,
        }
    embed_with = None if image_embeddings is not None else encoder
    if embed_with is None and image_embeddings is None:
        raise InputError("give a run or an encoder to embed the collection, or image embeddings")
    vertices = gather(
        coll,
        embed_with,
        image_embeddings=image_embeddings,
        text_embeddings=text_embeddings,
        work_dir=work_dir,
        progress=progress,
    )
    if encoder is not None and vertices.image.shape[1] != encoder.dim:
        raise InputError(
            f"the embeddings have dimension {vertices.image.shape[1]}, the "
            f"encoder {encoder.dim}: queries could not be compared to them"
        )
    return coll, vertices, model, encoder


def collection_records(coll: Collection) -> list[dict]:
    """List the vertex records a Collection gives (images, then text rows), without embedding."""
    where = coll.index()
    text_ids, _ = text_rows(coll)
    return [_metadata(coll, where, it.id, "image") for it in coll.images()] + [
        _metadata(coll, where, t, "text") for t in text_ids
    ]


def _without(X: np.ndarray, ids: list[str], skip) -> tuple[np.ndarray, list[str]]:
    keep = [i for i, v in enumerate(ids) if v not in skip]
    return X[keep], [ids[i] for i in keep]


def _embed(coll: Collection, encoder, work_dir, progress, skip):
    images = [it for it in coll.images() if it.id not in skip]
    paths = [coll.image_path(it) for it in images]
    work = _Work(
        work_dir,
        {"collection": str(coll.root.resolve()), "n_images": len(paths), "encoder": encoder.spec},
    )
    blocks = [
        work.array(
            f"image-{start:09d}.npy",
            lambda s=start: encoder.images(paths[s : s + CHUNK], progress=progress),
        )
        for start in range(0, len(paths), CHUNK)
    ]
    rows = [(i, t) for i, t in zip(*text_rows(coll), strict=True) if i not in skip]
    text_ids, texts = [i for i, _ in rows], [t for _, t in rows]
    text = work.array("text.npy", lambda: encoder.texts(texts, progress=progress))
    image = np.concatenate(blocks) if blocks else np.zeros((0, encoder.dim), np.float32)
    return image, [it.id for it in images], text, text_ids


def fit_alignment(vertices: Vertices) -> ICPAligner:
    """Paired ICP from every described image row onto its description row.

    Images without a description are not part of the fit; the fitted map moves every
    image row all the same (``aligner.n_pairs_`` records how many pairs it saw).
    """
    images, texts = described_pairs(vertices.image_ids, vertices.text_ids)
    check_alignable(len(images), len(vertices.image_ids), "alignment")
    aligner = ICPAligner(correspondence="paired").fit(vertices.image[images], vertices.text[texts])
    aligner.n_pairs_ = len(images)
    return aligner


def vertex_rows(vertices: Vertices, align: bool):
    """Make the rows of a new index: ``(aligner, X, ids, kinds)``.

    ``aligner`` is the fitted paired ICP (:func:`fit_alignment`; None without ``align``),
    ``X`` the (n, d) unit float32 rows (aligned images, then texts), ``ids`` their ids,
    ``kinds`` (n,) uint8 (0 image, 1 text: :data:`.store.IMAGE`, :data:`.store.TEXT`).
    """
    aligner = fit_alignment(vertices) if align else None
    image = vertices.image if aligner is None else aligner.transform(vertices.image)
    X = check_unit_rows(np.concatenate([image, vertices.text]), name="embeddings")
    ids = check_ids(vertices.image_ids + vertices.text_ids, len(X), name="embedding ids")
    kinds = np.repeat(
        np.array([IMAGE, TEXT], np.uint8), [len(vertices.image_ids), len(vertices.text_ids)]
    )
    return aligner, X, ids, kinds
