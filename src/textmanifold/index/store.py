"""The index directory: a self-describing, memory-mappable on-disk format.

::

    manifest.json   format, format_version, created_by, model (run, kind, checksum),
                    encoder (a pretrained encoder's spec, or null), collection, dim,
                    threshold, target_degree, align (method, residual, pairs), counts
    vectors.npy     (n, d) float32 unit rows, vertex order (memory-mapped on load)
    norms.npy       (n,) float64 row norms of vectors.npy, for exact query scores
    kinds.npy       (n,) uint8: 0 image vertex, 1 text vertex
    ids.json        the n vertex ids
    graph.npz       (n, n) CSR great-circle graph, float64 radians (scipy, uncompressed)
    items.jsonl     one record per vertex: id, kind, path (absolute or null), text, labels
    align.npz       the ICP map applied to image rows: rotation, mean_source, mean_target
                    (absent when the index was built without alignment)

A directory is written complete under a temporary name beside the target and swapped
into place atomically (:func:`commit_directory`), so a reader never sees half an index
and the target never disappears; an existing index is only replaced when asked
(``force``), and only if the target holds nothing but an index's own files
(:func:`check_replaceable`). Loading checks every file (:func:`read_manifest`,
:func:`read_arrays`).
"""

from __future__ import annotations

import ctypes
import errno
import hashlib
import math
import os
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import scipy.sparse

from .. import __version__, io
from ..errors import DataFormatError, InputError, MissingFileError
from ..validation import (
    UNIT_NORM_TOL,
    check_graph,
    check_ids,
    check_unit_rows,
    is_finite_number,
)

__all__ = ["FORMAT", "FORMAT_VERSION", "IMAGE", "OWNED", "TEXT", "check_replaceable",
           "commit_directory", "file_checksum", "read_arrays", "read_manifest",
           "remove_stale_staging", "staging_directory", "write_arrays"]

FORMAT = "textmanifold-index"
FORMAT_VERSION = 1
IMAGE, TEXT = 0, 1
FILES = ("vectors.npy", "norms.npy", "kinds.npy", "ids.json", "graph.npz", "items.jsonl")
#: Every entry an index directory may hold; ``--force`` replaces these and nothing else.
OWNED = frozenset(FILES + ("manifest.json", "align.npz"))
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
    """Read and check ``manifest.json``: every field's presence, type and range.

    Raises
    ------
    MissingFileError
        The directory, the manifest or a listed file is missing.
    DataFormatError
        The manifest is not JSON, not an index manifest, of another format version, or
        a field is missing or of the wrong type (the message names the file and field).
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
    _check_manifest_fields(manifest, path)
    for name in FILES:
        if not (root / name).is_file():
            raise MissingFileError(f"{root / name}: file not found (incomplete index)")
    return manifest


def _field_error(path: Path, key: str, expected: str, value) -> DataFormatError:
    return DataFormatError(f"{path}: {key!r} must be {expected}, got {value!r}")


def _check_manifest_fields(manifest: dict, path: Path) -> None:
    """Types and ranges of the manifest's fields (the keys of :data:`_REQUIRED` exist)."""
    def is_int(value) -> bool:
        return isinstance(value, int) and not isinstance(value, bool)

    if not isinstance(manifest["created_by"], str):
        raise _field_error(path, "created_by", "a string", manifest["created_by"])
    if not is_int(manifest["dim"]) or manifest["dim"] < 1:
        raise _field_error(path, "dim", "a positive integer", manifest["dim"])
    threshold = manifest["threshold"]
    if not is_finite_number(threshold) or not 0 < float(threshold) <= math.pi:
        raise _field_error(path, "threshold", "a number of radians in (0, pi]", threshold)
    degree = manifest.get("target_degree")
    if degree is not None and (not is_finite_number(degree) or float(degree) <= 0):
        raise _field_error(path, "target_degree", "null or a positive number", degree)
    if "seed" in manifest and not is_int(manifest["seed"]):
        raise _field_error(path, "seed", "an integer", manifest["seed"])
    for key in ("collection", "metric"):
        if manifest.get(key) is not None and not isinstance(manifest[key], str):
            raise _field_error(path, key, "null or a string", manifest[key])
    if manifest.get("align") is not None and not isinstance(manifest["align"], dict):
        raise _field_error(path, "align", "null or an object", manifest["align"])
    model = manifest["model"]
    if model is not None:
        if not isinstance(model, dict):
            raise _field_error(path, "model", "null or an object", model)
        for key in ("run", "kind", "checksum"):
            if model.get(key) is not None and not isinstance(model[key], str):
                raise _field_error(path, f"model.{key}", "a string", model[key])
        if model.get("run") is not None and not isinstance(model.get("checksum"), str):
            raise _field_error(path, "model.checksum", "a string", model.get("checksum"))
    encoder = manifest.get("encoder")
    if encoder is not None and (not isinstance(encoder, dict)
                                or not isinstance(encoder.get("kind"), str)):
        raise _field_error(path, "encoder", "null or an object with a 'kind'", encoder)
    counts = manifest["counts"]
    if not isinstance(counts, dict) or not all(
            is_int(counts.get(c)) and counts[c] >= 0
            for c in ("vertices", "images", "texts", "edges")):
        raise DataFormatError(f"{path}: 'counts' must give vertices, images, texts, edges "
                              "as non-negative integers")
    if counts["images"] + counts["texts"] != counts["vertices"]:
        raise DataFormatError(f"{path}: counts: {counts['images']} images + "
                              f"{counts['texts']} texts is not {counts['vertices']} vertices")


@contextmanager
def _file_problem(path: Path):
    """Turn a validator's InputError about a file's contents into a DataFormatError."""
    try:
        yield
    except InputError as exc:
        raise DataFormatError(str(exc)) from None


def read_arrays(root: Path, manifest: dict, mmap: bool) -> dict:
    """Load the arrays of an index directory and check them against the manifest.

    Every file is checked in O(n d + edges): vectors float32 ``(n, d)``, finite unit
    rows; norms finite and near 1; kinds known values matching the counts; ids unique
    strings; the graph ``(n, n)`` with in-range indices and finite non-negative
    lengths; the alignment's arrays, when the manifest records one.
    """
    n, d = manifest["counts"]["vertices"], manifest["dim"]
    vectors = io.load_npy(root / "vectors.npy", mmap_mode="r" if mmap else None)
    path = root / "vectors.npy"
    if vectors.dtype != np.float32 or vectors.shape != (n, d):
        raise DataFormatError(f"{path}: expected float32 ({n}, {d}), got "
                              f"{vectors.dtype} {vectors.shape}")
    with _file_problem(path):
        check_unit_rows(vectors, name=str(path), copy=False)
    norms = _vertex_array(root / "norms.npy", n)
    if not np.isfinite(norms).all() or (np.abs(norms - 1.0) > UNIT_NORM_TOL).any():
        raise DataFormatError(f"{root / 'norms.npy'}: row norms must be finite and 1 "
                              f"(within {UNIT_NORM_TOL})")
    kinds = _vertex_array(root / "kinds.npy", n)
    if not np.isin(kinds, (IMAGE, TEXT)).all():
        bad = int(np.argmax(~np.isin(kinds, (IMAGE, TEXT))))
        raise DataFormatError(f"{root / 'kinds.npy'}: row {bad} holds {kinds[bad].item()!r}; "
                              f"kinds are {IMAGE} (image) or {TEXT} (text)")
    if int(np.count_nonzero(kinds == IMAGE)) != manifest["counts"]["images"]:
        raise DataFormatError(f"{root / 'kinds.npy'}: {np.count_nonzero(kinds == IMAGE)} "
                              f"image rows, the manifest counts {manifest['counts']['images']}")
    path = root / "graph.npz"
    graph = io.load_sparse(path)
    if graph.shape != (n, n):
        raise DataFormatError(f"{path}: shape {graph.shape}, expected ({n}, {n})")
    with _file_problem(path):
        graph = check_graph(graph, name=str(path))
    path = root / "ids.json"
    with _file_problem(path):
        ids = check_ids(io.read_json(path), n, name=str(path))
    return dict(vectors=vectors, norms=norms, kinds=kinds, graph=graph, ids=ids,
                align=_read_align(root, manifest, d))


def _vertex_array(path: Path, n: int) -> np.ndarray:
    """A per-vertex ``.npy`` array of shape ``(n,)``, real-valued."""
    array = io.load_npy(path)
    if array.shape != (n,) or not np.issubdtype(array.dtype, np.number):
        raise DataFormatError(f"{path}: expected shape ({n},) of numbers, got "
                              f"{array.dtype} {array.shape}")
    return array


def _read_align(root: Path, manifest: dict, d: int) -> dict | None:
    path = root / "align.npz"
    if manifest.get("align") is None:
        if path.exists():
            raise DataFormatError(f"{path}: present, but the manifest records no alignment")
        return None
    arrays = io.load_npz_arrays(path, ("rotation", "mean_source", "mean_target"))
    shapes = {"rotation": (d, d), "mean_source": (d,), "mean_target": (d,)}
    for name, shape in shapes.items():
        value = arrays[name]
        if value.shape != shape or not np.issubdtype(value.dtype, np.floating) \
                or not np.isfinite(value).all():
            raise DataFormatError(f"{path}: {name!r} must be finite floats of shape {shape}, "
                                  f"got {value.dtype} {value.shape}")
    return arrays


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


# ----------------------------------------------------------------------------- replacing


def check_replaceable(target: Path, option: str = "--out") -> None:
    """Refuse, before any work, a ``target`` that holds anything but an index's files.

    ``--force`` replaces an index's own files (:data:`OWNED`) and nothing else: a
    Collection, a training run or any other file in ``target`` is named and refused.
    An absent or empty ``target`` passes, and so does a damaged index (only index files,
    whatever their state: a rebuild is how it is repaired).

    Raises
    ------
    InputError
        ``target`` is a file, holds entries an index does not own, or holds nothing but
        an ``items.jsonl`` (which a Collection has too).
    """
    if not target.exists():
        return
    if not target.is_dir():
        raise InputError(f"{option} {target}: exists and is not a directory")
    entries = sorted(entry.name for entry in target.iterdir())
    if not entries:
        return
    foreign = [name for name in entries if name not in OWNED]
    if foreign:
        if "collection.json" in foreign:
            what = "a Collection (collection.json)"
        elif "run.json" in foreign:
            what = "a training run (run.json)"
        else:
            shown = ", ".join(foreign[:5]) + (f" and {len(foreign) - 5} more"
                                              if len(foreign) > 5 else "")
            what = f"files that are not an index's ({shown})"
        raise InputError(f"{option} {target}: holds {what}; an index is only written over "
                         "another index, so nothing was changed (choose another "
                         f"{option})")
    if set(entries) <= {"items.jsonl"}:  # a Collection's file as much as an index's
        raise InputError(f"{option} {target}: holds items.jsonl and no other index file, so "
                         f"it is not an index and nothing was changed (choose another "
                         f"{option})")


def commit_directory(staging: Path, target: Path, force: bool) -> None:
    """Move a complete ``staging`` directory to ``target``; replace it only if ``force``.

    An existing ``target`` is first checked (:func:`check_replaceable`), then swapped
    with ``staging`` in one atomic exchange (Linux ``renameat2(RENAME_EXCHANGE)``), so
    that ``target`` names a complete index at every moment; the old one is removed after.
    Where the exchange is not available, the old index is renamed aside just before the
    new one moves in. Temporary directories an interrupted earlier write left beside
    ``target`` are removed once the new index is in place.
    """
    if target.exists() and not force and any(target.iterdir()):
        raise InputError(f"{target} already exists; pass --force (force=True) to replace it")
    check_replaceable(target)
    if target.exists():
        if not _exchange(staging, target):
            aside = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}.old-"))
            os.replace(target, aside / "index")
            os.replace(staging, target)
            staging = aside
        shutil.rmtree(staging, ignore_errors=True)  # now the old index
    else:
        os.replace(staging, target)
    remove_stale_staging(target)


def remove_stale_staging(target: Path, keep: Path | None = None) -> list[Path]:
    """Delete ``.<name>.tmp-*`` / ``.<name>.old-*`` directories beside ``target``.

    They are what a killed build or replace of ``target`` left (:func:`staging_directory`,
    :func:`commit_directory`); ``keep`` (a build's own staging directory) is spared.
    """
    removed = []
    if not target.parent.is_dir():
        return removed
    for entry in target.parent.iterdir():
        stale = entry.name.startswith((f".{target.name}.tmp-", f".{target.name}.old-"))
        if stale and entry.is_dir() and not entry.is_symlink() and entry != keep:
            shutil.rmtree(entry, ignore_errors=True)
            removed.append(entry)
    return removed


def _exchange(a: Path, b: Path) -> bool:
    """Atomically swap two directory entries; False where the system cannot."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p,
                          ctypes.c_uint]
    at_fdcwd, rename_exchange = -100, 2
    if renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange) == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.EINVAL, errno.ENOSYS, errno.EPERM, errno.ENOTSUP):
        return False  # a filesystem or kernel without RENAME_EXCHANGE
    raise OSError(code, os.strerror(code), str(b))


def staging_directory(target: Path) -> Path:
    """A fresh empty directory beside ``target`` to write a new index into."""
    target.parent.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}.tmp-"))
