"""The index directory: a self-describing, memory-mappable on-disk format.

::

    manifest.json   format, format_version, created_by, model (run, kind, checksum),
                    collection, dim, threshold, target_degree, align, counts, files
    vectors.npy     (n, d) float32 unit rows, vertex order (memory-mapped on load)
    norms.npy       (n,) float64 row norms of vectors.npy, for exact query scores
    kinds.npy       (n,) uint8: 0 image vertex, 1 text vertex
    ids.json        the n vertex ids
    graph.npz       (n, n) CSR great-circle graph, float64 radians (scipy, uncompressed)
    items.jsonl     one record per vertex: id, kind, path (absolute or null), text, labels
    align.npz       the ICP map applied to image rows: rotation, mean_source, mean_target
                    (absent when the index was built without alignment)

A directory is written complete under a temporary name beside the target and renamed
into place (:func:`commit_directory`), so a reader never sees half an index; an
existing index is only replaced when asked (``force``).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np
import scipy.sparse

from .. import __version__, io
from ..errors import DataFormatError, InputError, MissingFileError

__all__ = ["FORMAT", "FORMAT_VERSION", "IMAGE", "TEXT", "commit_directory", "file_checksum",
           "read_arrays", "read_manifest", "staging_directory", "write_arrays"]

FORMAT = "textmanifold-index"
FORMAT_VERSION = 1
IMAGE, TEXT = 0, 1
FILES = ("vectors.npy", "norms.npy", "kinds.npy", "ids.json", "graph.npz", "items.jsonl")
_REQUIRED = ("format", "format_version", "created_by", "model", "dim", "threshold", "counts")


def created_by() -> str:
    return f"textmanifold {__version__}"


def file_checksum(*paths: str | os.PathLike) -> str:
    """SHA-256 (hex) over the bytes of ``paths`` in order, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    for path in paths:
        with open(path, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()


def read_manifest(directory: str | os.PathLike) -> dict:
    """Read and check ``manifest.json``; errors name the directory or file.

    Raises
    ------
    MissingFileError
        The directory, the manifest or a listed file is missing.
    DataFormatError
        The manifest is not JSON, not an index manifest, of another format version, or
        lacks a field.
    """
    root = Path(directory)
    if not root.is_dir():
        raise MissingFileError(f"{root}: index directory not found")
    path = root / "manifest.json"
    manifest = io.read_json(path)
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise DataFormatError(f"{path}: not a textmanifold index manifest")
    if manifest.get("format_version") != FORMAT_VERSION:
        raise DataFormatError(f"{path}: format_version {manifest.get('format_version')!r} "
                              f"is not {FORMAT_VERSION}; rebuild the index")
    for key in _REQUIRED:
        if key not in manifest:
            raise DataFormatError(f"{path}: missing field {key!r}")
    counts = manifest["counts"]
    if not isinstance(counts, dict) or not all(
            isinstance(counts.get(c), int) for c in ("vertices", "images", "texts", "edges")):
        raise DataFormatError(f"{path}: 'counts' must give vertices, images, texts, edges")
    for name in FILES:
        if not (root / name).is_file():
            raise MissingFileError(f"{root / name}: file not found (incomplete index)")
    return manifest


def read_arrays(root: Path, manifest: dict, mmap: bool) -> dict:
    """Load the arrays of an index directory and check them against the manifest."""
    mode = "r" if mmap else None
    arrays = {}
    for name in ("vectors", "norms", "kinds"):
        path = root / f"{name}.npy"
        try:
            arrays[name] = np.load(path, mmap_mode=mode, allow_pickle=False)
        except (ValueError, OSError, EOFError) as exc:
            raise DataFormatError(f"{path}: not a valid .npy array ({exc})") from None
    graph = _load_graph(root / "graph.npz")
    ids = io.read_json(root / "ids.json")
    n, d = manifest["counts"]["vertices"], manifest["dim"]
    vectors = arrays["vectors"]
    if vectors.dtype != np.float32 or vectors.shape != (n, d):
        raise DataFormatError(f"{root / 'vectors.npy'}: expected float32 ({n}, {d}), got "
                              f"{vectors.dtype} {vectors.shape}")
    for name in ("norms", "kinds"):
        if arrays[name].shape != (n,):
            raise DataFormatError(f"{root / name}.npy: expected shape ({n},)")
    if graph.shape != (n, n):
        raise DataFormatError(f"{root / 'graph.npz'}: shape {graph.shape}, expected ({n}, {n})")
    if not isinstance(ids, list) or len(ids) != n:
        raise DataFormatError(f"{root / 'ids.json'}: expected a list of {n} ids")
    align = None
    if (root / "align.npz").is_file():
        with np.load(root / "align.npz", allow_pickle=False) as data:
            align = {k: data[k] for k in ("rotation", "mean_source", "mean_target")}
    return dict(arrays, graph=graph, ids=[str(i) for i in ids], align=align)


def _load_graph(path: Path) -> scipy.sparse.csr_matrix:
    if not path.is_file():
        raise MissingFileError(f"{path}: file not found")
    try:
        graph = scipy.sparse.load_npz(path)
    except (ValueError, OSError, KeyError, EOFError) as exc:
        raise DataFormatError(f"{path}: not a valid sparse .npz matrix ({exc})") from None
    return graph.tocsr()


def write_arrays(root: Path, *, vectors, norms, kinds, ids, graph, items, align,
                 manifest: dict) -> None:
    """Write every file of an index into ``root`` (an empty staging directory)."""
    np.save(root / "vectors.npy", np.ascontiguousarray(vectors, dtype=np.float32))
    np.save(root / "norms.npy", np.asarray(norms, dtype=np.float64))
    np.save(root / "kinds.npy", np.asarray(kinds, dtype=np.uint8))
    io.write_json(root / "ids.json", list(ids))
    scipy.sparse.save_npz(root / "graph.npz", scipy.sparse.csr_matrix(graph), compressed=False)
    io.write_jsonl(root / "items.jsonl", items)
    if align is not None:
        np.savez(root / "align.npz", **align)
    io.write_json(root / "manifest.json", manifest)  # last: marks a complete index


def commit_directory(staging: Path, target: Path, force: bool) -> None:
    """Move a complete ``staging`` directory to ``target``; replace it only if ``force``.

    With ``force``, the old directory is first renamed aside and removed after the new
    one is in place, so ``target`` always names a complete index.
    """
    if target.exists() and not force:
        raise InputError(f"{target} already exists; pass --force (force=True) to replace it")
    old = None
    if target.exists():
        old = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}.old-"))
        os.replace(target, old / "index")
    os.replace(staging, target)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def staging_directory(target: Path) -> Path:
    """A fresh empty directory beside ``target`` to write a new index into."""
    target.parent.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}.tmp-"))
