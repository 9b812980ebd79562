"""The index directory: a self-describing, memory-mappable on-disk format.

::

    manifest.json   format, format_version, created_by, model (run, kind, checksum),
                    encoder (a pretrained encoder's spec, or null), collection, dim,
                    threshold, target_degree, align (method, residual, pairs), counts
                    (:class:`.manifest.IndexManifest`)
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
import os
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import scipy.sparse

from .. import io
from ..errors import DataFormatError, InputError, MissingFileError
from ..validation import UNIT_NORM_TOL, check_graph, check_ids, check_unit_rows
from .manifest import FORMAT, FORMAT_VERSION, IndexManifest, created_by

__all__ = [
    "FORMAT",
    "FORMAT_VERSION",
    "IMAGE",
    "OWNED",
    "TEXT",
    "check_replaceable",
    "commit_directory",
    "created_by",
    "file_checksum",
    "read_arrays",
    "read_manifest",
    "remove_stale_staging",
    "staging_directory",
    "write_arrays",
    "write_index",
]

IMAGE, TEXT = 0, 1
FILES = ("vectors.npy", "norms.npy", "kinds.npy", "ids.json", "graph.npz", "items.jsonl")
#: Every entry an index directory may hold; ``--force`` replaces these and nothing else.
OWNED = frozenset((*FILES, "manifest.json", "align.npz"))


def file_checksum(*paths: str | os.PathLike) -> str:
    """SHA-256 (hex) over the bytes of ``paths`` in order, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    for path in paths:
        with open(path, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()


def read_manifest(directory: str | os.PathLike) -> IndexManifest:
    """Read and check ``manifest.json`` (:meth:`.manifest.IndexManifest.from_json`).

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
    manifest = IndexManifest.from_json(io.read_json(path), path)
    for name in FILES:
        if not (root / name).is_file():
            raise MissingFileError(f"{root / name}: file not found (incomplete index)")
    return manifest


@contextmanager
def _file_problem(path: Path):
    """Turn a validator's InputError about a file's contents into a DataFormatError."""
    try:
        yield
    except InputError as exc:
        raise DataFormatError(str(exc)) from None


def read_arrays(root: Path, manifest: IndexManifest, mmap: bool) -> dict:
    """Load the arrays of an index directory and check them against the manifest.

    Every file is checked in O(n d + edges): vectors float32 ``(n, d)``, finite unit
    rows; norms finite and near 1; kinds known values matching the counts; ids unique
    strings; the graph ``(n, n)`` with in-range indices and finite non-negative
    lengths; the alignment's arrays, when the manifest records one.
    """
    n, d = manifest.counts.vertices, manifest.dim
    vectors = io.load_npy(root / "vectors.npy", mmap_mode="r" if mmap else None)
    path = root / "vectors.npy"
    if vectors.dtype != np.float32 or vectors.shape != (n, d):
        raise DataFormatError(
            f"{path}: expected float32 ({n}, {d}), got {vectors.dtype} {vectors.shape}"
        )
    with _file_problem(path):
        check_unit_rows(vectors, name=str(path), copy=False)
    norms = _vertex_array(root / "norms.npy", n)
    if not np.isfinite(norms).all() or (np.abs(norms - 1.0) > UNIT_NORM_TOL).any():
        raise DataFormatError(
            f"{root / 'norms.npy'}: row norms must be finite and 1 (within {UNIT_NORM_TOL})"
        )
    kinds = _vertex_array(root / "kinds.npy", n)
    if not np.isin(kinds, (IMAGE, TEXT)).all():
        bad = int(np.argmax(~np.isin(kinds, (IMAGE, TEXT))))
        raise DataFormatError(
            f"{root / 'kinds.npy'}: row {bad} holds {kinds[bad].item()!r}; "
            f"kinds are {IMAGE} (image) or {TEXT} (text)"
        )
    if int(np.count_nonzero(kinds == IMAGE)) != manifest.counts.images:
        raise DataFormatError(
            f"{root / 'kinds.npy'}: {np.count_nonzero(kinds == IMAGE)} "
            f"image rows, the manifest counts {manifest.counts.images}"
        )
    path = root / "graph.npz"
    graph = io.load_sparse(path)
    if graph.shape != (n, n):
        raise DataFormatError(f"{path}: shape {graph.shape}, expected ({n}, {n})")
    with _file_problem(path):
        graph = check_graph(graph, name=str(path))
    path = root / "ids.json"
    with _file_problem(path):
        ids = check_ids(io.read_json(path), n, name=str(path))
    return dict(
        vectors=vectors,
        norms=norms,
        kinds=kinds,
        graph=graph,
        ids=ids,
        align=_read_align(root, manifest, d),
    )


def _vertex_array(path: Path, n: int) -> np.ndarray:
    """Load a per-vertex ``.npy`` array of shape ``(n,)``, real-valued."""
    array = io.load_npy(path)
    if array.shape != (n,) or not np.issubdtype(array.dtype, np.number):
        raise DataFormatError(
            f"{path}: expected shape ({n},) of numbers, got {array.dtype} {array.shape}"
        )
    return array


def _read_align(root: Path, manifest: IndexManifest, d: int) -> dict | None:
    path = root / "align.npz"
    if manifest.align is None:
        if path.exists():
            raise DataFormatError(f"{path}: present, but the manifest records no alignment")
        return None
    arrays = io.load_npz_arrays(path, ("rotation", "mean_source", "mean_target"))
    shapes = {"rotation": (d, d), "mean_source": (d,), "mean_target": (d,)}
    for name, shape in shapes.items():
        value = arrays[name]
        if (
            value.shape != shape
            or not np.issubdtype(value.dtype, np.floating)
            or not np.isfinite(value).all()
        ):
            raise DataFormatError(
                f"{path}: {name!r} must be finite floats of shape {shape}, "
                f"got {value.dtype} {value.shape}"
            )
    return arrays


def write_arrays(
    root: Path, *, vectors, norms, kinds, ids, graph, items, align, manifest: IndexManifest
) -> None:
    """Write every file of an index into ``root`` (an empty staging directory)."""
    np.save(root / "vectors.npy", np.ascontiguousarray(vectors, dtype=np.float32))
    np.save(root / "norms.npy", np.asarray(norms, dtype=np.float64))
    np.save(root / "kinds.npy", np.asarray(kinds, dtype=np.uint8))
    io.write_json(root / "ids.json", list(ids))
    scipy.sparse.save_npz(root / "graph.npz", scipy.sparse.csr_matrix(graph), compressed=False)
    io.write_jsonl(root / "items.jsonl", items)
    if align is not None:
        np.savez(root / "align.npz", **align)
    io.write_json(root / "manifest.json", manifest.to_json())  # last: marks a complete index


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
            shown = ", ".join(foreign[:5]) + (
                f" and {len(foreign) - 5} more" if len(foreign) > 5 else ""
            )
            what = f"files that are not an index's ({shown})"
        raise InputError(
            f"{option} {target}: holds {what}; an index is only written over "
            "another index, so nothing was changed (choose another "
            f"{option})"
        )
    if set(entries) <= {"items.jsonl"}:  # a Collection's file as much as an index's
        raise InputError(
            f"{option} {target}: holds items.jsonl and no other index file, so "
            f"it is not an index and nothing was changed (choose another "
            f"{option})"
        )


def write_index(target: Path, force: bool, write) -> None:
    """Write an index directory atomically.

    ``write(staging)`` fills a fresh directory beside ``target`` (:func:`write_arrays`),
    which then replaces ``target`` (:func:`commit_directory`); an existing ``target`` only
    with ``force``, and only when it holds nothing but an index (:func:`check_replaceable`,
    checked first).
    """
    if target.exists() and not force and (not target.is_dir() or any(target.iterdir())):
        raise InputError(f"{target} already exists; pass --force (force=True) to replace it")
    check_replaceable(target)
    staging = staging_directory(target)
    try:
        write(staging)
        commit_directory(staging, target, force)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


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
    renameat2.argtypes = [
        ctypes.c_int,
        ctypes.c_char_p,
        ctypes.c_int,
        ctypes.c_char_p,
        ctypes.c_uint,
    ]
    at_fdcwd, rename_exchange = -100, 2
    if renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange) == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.EINVAL, errno.ENOSYS, errno.EPERM, errno.ENOTSUP):
        return False  # a filesystem or kernel without RENAME_EXCHANGE
    raise OSError(code, os.strerror(code), str(b))


def staging_directory(target: Path) -> Path:
    """Make a fresh empty directory beside ``target`` to write a new index into."""
    target.parent.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}.tmp-"))
