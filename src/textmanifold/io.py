"""Atomic file writes and line-numbered JSON Lines reading.

Every artefact the project writes goes through :func:`atomic_write`: the bytes land in
a temporary file in the same directory, are flushed to disk, and replace the target by
``os.replace``. A crash therefore leaves either the old file or the new one, never half.
"""

from __future__ import annotations

import io
import json
import os
import tempfile
import zipfile
import zlib
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

import numpy as np
import scipy.sparse

from .errors import DataFormatError, MissingFileError


def _process_umask() -> int:
    mask = os.umask(0)  # reading the umask means setting it; put it straight back
    os.umask(mask)
    return mask


# Read once, at import: setting the umask even briefly races with other threads' files.
_UMASK = _process_umask()


@contextmanager
def atomic_write(path: str | os.PathLike, mode: str = "wb") -> Iterator[IO]:
    """Open a temporary file beside ``path``; on success, rename it over ``path``.

    Parameters
    ----------
    path : path-like
        The final file. Its parent directory is created if needed.
    mode : {"wb", "w"}
        Binary or text (UTF-8) mode.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    # mkstemp creates the file private (0600); give it the mode open() would have.
    os.fchmod(fd, 0o666 & ~_UMASK)
    try:
        encoding = None if "b" in mode else "utf-8"
        with os.fdopen(fd, mode, encoding=encoding) as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def write_bytes(path: str | os.PathLike, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically."""
    with atomic_write(path, "wb") as handle:
        handle.write(data)


def write_text(path: str | os.PathLike, text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` atomically."""
    write_bytes(path, text.encode("utf-8"))


def dumps_json(obj: Any) -> str:
    """The project's one JSON style: sorted keys, two-space indent, trailing newline."""
    return json.dumps(obj, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def write_json(path: str | os.PathLike, obj: Any) -> None:
    """Write ``obj`` as pretty JSON, atomically and byte-reproducibly."""
    write_text(path, dumps_json(obj))


def write_jsonl(path: str | os.PathLike, records: Iterable[dict]) -> None:
    """Write one compact JSON object per line (keys sorted, so bytes are reproducible)."""
    lines = (
        json.dumps(r, sort_keys=True, ensure_ascii=False, separators=(",", ":")) for r in records
    )
    write_text(path, "".join(line + "\n" for line in lines))


def read_json(path: str | os.PathLike) -> Any:
    """Read a JSON file; a missing file or bad JSON raises an error naming the file."""
    path = Path(path)
    if not path.is_file():
        raise MissingFileError(f"{path}: file not found")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise DataFormatError(f"{path}: invalid JSON at line {exc.lineno}: {exc.msg}") from None
    except UnicodeDecodeError:
        raise DataFormatError(f"{path}: not UTF-8 text") from None


def iter_jsonl(path: str | os.PathLike) -> Iterator[tuple[int, dict]]:
    """Yield ``(line_number, record)`` for each non-blank line of a JSON Lines file.

    Raises
    ------
    MissingFileError
        If ``path`` does not exist.
    DataFormatError
        On the first line that is not a JSON object, naming the file and line.
    """
    path = Path(path)
    if not path.is_file():
        raise MissingFileError(f"{path}: file not found")
    with open(path, "rb") as handle:
        for number, raw in enumerate(handle, start=1):
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise DataFormatError(
                    f"{path}:{number}: not UTF-8 text (byte {exc.start + 1} of the line)"
                ) from None
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                raise DataFormatError(f"{path}:{number}: invalid JSON: {exc.msg}") from None
            if not isinstance(record, dict):
                raise DataFormatError(f"{path}:{number}: expected a JSON object")
            yield number, record


def save_npy(path: str | os.PathLike, array: np.ndarray) -> None:
    """Save one array in ``.npy`` format atomically."""
    with atomic_write(path, "wb") as handle:
        np.save(handle, array, allow_pickle=False)


def load_npy(path: str | os.PathLike, mmap_mode: str | None = None) -> np.ndarray:
    """Load a ``.npy`` file without pickles; errors name the file.

    ``mmap_mode`` (``"r"``) memory-maps it. A ``.npz`` archive given where one array
    goes is refused by name (``np.load`` would return an archive object, not an array).
    """
    path = Path(path)
    if not path.is_file():
        raise MissingFileError(f"{path}: file not found")
    try:
        array = np.load(path, mmap_mode=mmap_mode, allow_pickle=False)
    except (ValueError, OSError, EOFError) as exc:
        raise DataFormatError(f"{path}: not a valid .npy array ({exc})") from None
    if not isinstance(array, np.ndarray):
        array.close()
        raise DataFormatError(f"{path}: is a .npz archive of arrays, not one .npy array")
    return array


def load_npz_arrays(path: str | os.PathLike, names: Iterable[str]) -> dict[str, np.ndarray]:
    """The named arrays of a ``.npz`` archive (no pickles); errors name the file."""
    path = Path(path)
    if not path.is_file():
        raise MissingFileError(f"{path}: file not found")
    try:
        data = np.load(path, allow_pickle=False)
        if isinstance(data, np.ndarray):
            raise DataFormatError(f"{path}: is one .npy array, not a .npz archive")
        with data:
            missing = [name for name in names if name not in data.files]
            if missing:
                raise DataFormatError(f"{path}: no array {missing[0]!r} in the archive")
            return {name: data[name] for name in names}
    except (ValueError, OSError, EOFError, KeyError, zipfile.BadZipFile, zlib.error) as exc:
        raise DataFormatError(f"{path}: not a valid .npz archive ({exc})") from None


def save_sparse(path: str | os.PathLike, matrix: scipy.sparse.spmatrix) -> None:
    """Save a sparse matrix (``scipy.sparse.save_npz`` format) atomically."""
    buffer = io.BytesIO()
    scipy.sparse.save_npz(buffer, scipy.sparse.csr_matrix(matrix), compressed=True)
    write_bytes(path, buffer.getvalue())


def load_sparse(path: str | os.PathLike) -> scipy.sparse.csr_matrix:
    """Load a matrix saved by :func:`save_sparse`; errors name the file."""
    path = Path(path)
    if not path.is_file():
        raise MissingFileError(f"{path}: file not found")
    try:
        return scipy.sparse.load_npz(path).tocsr()
    except (
        ValueError,
        OSError,
        KeyError,
        EOFError,
        TypeError,
        zipfile.BadZipFile,
        zlib.error,
    ) as exc:  # TypeError: a .npy given where the .npz goes
        raise DataFormatError(f"{path}: not a valid sparse .npz matrix ({exc})") from None


def save_with(path: str | os.PathLike, writer: Callable[[IO], None]) -> None:
    """Atomically save whatever ``writer(handle)`` writes (e.g. ``image.save``)."""
    with atomic_write(path, "wb") as handle:
        writer(handle)
