"""Sharded embeddings: the layout clip-retrieval writes and embedding-reader reads.

A sharded space is a directory::

    SPACE/
      image_emb/0.npy  image_emb/1.npy ...     float32 rows, shard i in order
      metadata/0.parquet metadata/1.parquet ... columns ``id`` and ``path`` of those rows
      manifest.json                            format, rows, shards, shard_size, dim

Shard ``i`` holds rows ``i * shard_size`` up to ``(i + 1) * shard_size`` of the space;
``manifest.json`` is written first (it fixes the split into shards) and every shard is
complete once both of its files exist (each is written atomically, the ``.npy`` last).
A resumed job therefore recomputes exactly the shards :func:`missing_shards` lists.

:func:`load_embedding` (re-exported by :mod:`textmanifold.collection`) reads either
form, a single ``<space>.npy`` with ``<space>.ids.json`` or a sharded directory, so every
reader in the project (align, graph build, label-retrieval, the index) takes both.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from . import io
from .errors import DataFormatError, InputError, MissingFileError
from .validation import check_ids, check_positive_int

#: ``manifest.json``'s ``format`` field.
SHARDS_FORMAT = "textmanifold-shards/1"


def shard_paths(root: str | os.PathLike, i: int) -> tuple[Path, Path]:
    """The ``.npy`` and ``.parquet`` files of shard ``i``."""
    root = Path(root)
    return root / "image_emb" / f"{i}.npy", root / "metadata" / f"{i}.parquet"


def shard_ranges(rows: int, shard_size: int) -> list[tuple[int, int]]:
    """``[start, stop)`` of each shard of ``rows`` rows cut every ``shard_size``."""
    shard_size = check_positive_int(shard_size, "shard_size")
    return [(s, min(rows, s + shard_size)) for s in range(0, rows, shard_size)]


def open_sharded(
    root: str | os.PathLike, rows: int, shard_size: int, dim: int, source: dict | None = None
) -> dict:
    """Write (or check, when resuming) the manifest of a sharded space; return it.

    Raises
    ------
    InputError
        ``root`` holds a manifest with another row count, shard size or dimension.
    """
    root = Path(root)
    manifest = {
        "format": SHARDS_FORMAT,
        "rows": int(rows),
        "shard_size": int(shard_size),
        "shards": len(shard_ranges(rows, shard_size)),
        "dim": int(dim),
        "source": source or {},
    }
    path = root / "manifest.json"
    if path.exists():
        old = io.read_json(path)
        for key in ("format", "rows", "shard_size", "dim", "source"):
            if old.get(key) != manifest[key]:
                raise InputError(
                    f"{path}: cannot resume: its {key} {old.get(key)!r} differs "
                    f"from this job's {manifest[key]!r}"
                )
    else:
        io.write_json(path, manifest)
    return manifest


def missing_shards(root: str | os.PathLike, manifest: dict) -> list[int]:
    """Shards of ``manifest`` whose files are not both present under ``root``."""
    return [
        i for i in range(manifest["shards"]) if not all(p.is_file() for p in shard_paths(root, i))
    ]


def write_shard(
    root: str | os.PathLike, i: int, X: np.ndarray, ids: Sequence[str], paths: Sequence[str | None]
) -> None:
    """Write shard ``i``: metadata first, then the rows (whose file marks it complete)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    if not len(X) == len(ids) == len(paths):
        raise ValueError(f"{len(X)} rows, {len(ids)} ids, {len(paths)} paths")
    emb, meta = shard_paths(root, i)
    table = pa.table(
        {"id": [str(x) for x in ids], "path": [None if p is None else str(p) for p in paths]}
    )
    io.save_with(meta, lambda handle: pq.write_table(table, handle))
    io.save_npy(emb, np.ascontiguousarray(X, dtype=np.float32))


def read_sharded(root: str | os.PathLike) -> tuple[np.ndarray, list[str]]:
    """All shards of a complete sharded space, in order: rows (float32) and ids.

    Raises
    ------
    MissingFileError
        No manifest, or a shard not written yet (naming it and the resume hint).
    DataFormatError
        A shard with the wrong number of rows or dimension, or unreadable metadata.
    """
    import pyarrow.parquet as pq

    root = Path(root)
    manifest = io.read_json(root / "manifest.json")
    if not isinstance(manifest, dict) or manifest.get("format") != SHARDS_FORMAT:
        raise DataFormatError(f"{root / 'manifest.json'}: not a {SHARDS_FORMAT} manifest")
    missing = missing_shards(root, manifest)
    if missing:
        raise MissingFileError(
            f"{root}: {len(missing)} of {manifest['shards']} shards are "
            f"missing (first: {missing[0]}); resume the embedding job"
        )
    blocks, ids = [], []
    for i, (start, stop) in enumerate(shard_ranges(manifest["rows"], manifest["shard_size"])):
        emb, meta = shard_paths(root, i)
        X = io.load_npy(emb)
        if X.ndim != 2 or X.shape != (stop - start, manifest["dim"]):
            raise DataFormatError(
                f"{emb}: shape {X.shape}, the manifest says ({stop - start}, {manifest['dim']})"
            )
        try:
            shard_ids = pq.read_table(meta, columns=["id"]).column("id").to_pylist()
        except Exception as exc:  # pyarrow raises several types for a bad file
            raise DataFormatError(f"{meta}: unreadable parquet metadata ({exc})") from None
        if len(shard_ids) != len(X):
            raise DataFormatError(f"{meta}: {len(shard_ids)} ids for {len(X)} rows")
        blocks.append(X)
        ids += [str(x) for x in shard_ids]
    dim = manifest["dim"]
    X = np.concatenate(blocks) if blocks else np.zeros((0, dim), np.float32)
    return X.astype(np.float32, copy=False), ids


def load_embedding(path: str | os.PathLike) -> tuple[np.ndarray, list[str]]:
    """Rows and row ids of an embedding, single-file or sharded.

    Parameters
    ----------
    path : path-like
        ``<space>.npy`` (row ids in ``<space>.ids.json`` beside it), or a sharded
        directory (see the module docstring).

    Returns
    -------
    X : ndarray of shape (n, d), float32
    ids : list of str, length n, all different

    Raises
    ------
    MissingFileError, DataFormatError
        A file is missing or unreadable; the array is not a non-empty 2-D array of real
        numbers (the ``.npy`` file is named); the ids are not one string per row, or repeat
        (the ``.ids.json`` file is named).
    """
    path = Path(path)
    if path.is_dir():
        X, ids = read_sharded(path)
        return X, _checked_ids(ids, len(X), path / "metadata", path.name)
    X = io.load_npy(path)
    if X.ndim != 2 or X.size == 0 or not np.issubdtype(X.dtype, np.number):
        raise DataFormatError(
            f"{path}: expected a non-empty 2-D array of numbers (n, d), "
            f"got shape {X.shape} of {X.dtype}"
        )
    ids_path = path.with_suffix(".ids.json")
    ids = io.read_json(ids_path)
    if isinstance(ids, list) and all(isinstance(i, int) and not isinstance(i, bool) for i in ids):
        ids = [str(i) for i in ids]  # numeric ids, as earlier versions accepted
    return X.astype(np.float32, copy=False), _checked_ids(ids, len(X), ids_path, path.name)


def _checked_ids(ids, n_rows: int, where: Path, rows_of: str) -> list[str]:
    """:func:`textmanifold.validation.check_ids` as a DataFormatError naming the file."""
    try:
        return check_ids(ids, n_rows, name=str(where))
    except InputError as exc:
        raise DataFormatError(f"{exc} (for the rows of {rows_of})") from None


def load_vectors(path: str | os.PathLike) -> np.ndarray:
    """Only the rows of an embedding: a bare ``.npy`` (ids not needed) or a sharded one."""
    path = Path(path)
    return read_sharded(path)[0] if path.is_dir() else io.load_npy(path)
