"""Helpers every dataset loader shares.

* :class:`LoadedDataset` — what a loader returns: items, pairs, the config it records.
* :func:`iter_csv` — a streaming CSV reader (gigabyte files, one line at a time) with
  line numbers, required-column checks and a byte-based progress bar.
* :func:`locate_image` — find an image under its candidate paths, or name the file
  that is missing.
* :func:`prepare_output` / :func:`write_loaded` — refuse a non-empty output directory
  unless asked, then write the Collection (images are never copied).
"""

from __future__ import annotations

import csv
import os
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import scipy.sparse
from tqdm import tqdm

from ..collection import Item, Pair, write_collection
from ..errors import DataFormatError, InputError, MissingFileError
from ..images import image_problem
from ..validation import check_option

T = TypeVar("T")

# Files a Collection directory may hold; --force removes exactly these, nothing else.
COLLECTION_FILES = ("collection.json", "items.jsonl", "pairs.jsonl", "scenes.json", "reachable.npz")

# Split names written into the Collection, whatever the dataset calls them.
SPLIT_NAMES = {
    "training": "train",
    "train": "train",
    "validation": "val",
    "val": "val",
    "test": "test",
}


@dataclass
class LoadedDataset:
    """A dataset read into Collection records, not yet written.

    ``config`` records the dataset, release, root, filters and the counts before and
    after filtering; it becomes ``collection.json["config"]``.
    """

    name: str
    root: Path
    items: list[Item]
    pairs: list[Pair] = field(default_factory=list)
    config: dict[str, Any] = field(default_factory=dict)
    scenes: list[dict] | None = None
    reachable: scipy.sparse.spmatrix | None = None


# ----------------------------------------------------------------------------- progress


def progress(
    iterable: Iterable[T],
    *,
    desc: str,
    total: int | None = None,
    enabled: bool = True,
    unit: str = "it",
) -> Iterable[T]:
    """Wrap ``iterable`` in a tqdm bar on stderr when ``enabled``."""
    if not enabled:
        return iterable
    return tqdm(iterable, desc=desc, total=total, unit=unit, leave=False)


# ----------------------------------------------------------------------------- CSV


def _decoded_lines(path: Path, bar: tqdm | None) -> Iterator[str]:
    """Yield the text lines of ``path``, advancing ``bar`` by the bytes read."""
    pending = 0  # bytes not yet shown: updating the bar per line would cost more than csv
    with open(path, "rb") as handle:
        for number, raw in enumerate(handle, start=1):
            if bar is not None:
                pending += len(raw)
                if pending >= 1 << 20:
                    bar.update(pending)
                    pending = 0
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError:
                raise DataFormatError(f"{path}:{number}: not UTF-8 text") from None
            if number == 1:
                line = line.removeprefix("\ufeff")  # a byte-order mark some tools add
            yield line
    if bar is not None:
        bar.update(pending)


# C901: header sniffing, column lookup and the progress bar share one streaming loop.
def iter_csv(  # noqa: C901
    path: str | os.PathLike,
    columns: Sequence[str],
    *,
    header: str = "required",
    show_progress: bool = True,
) -> Iterator[tuple[int, dict[str, str]]]:
    """Stream the rows of a CSV file as ``(line_number, {column: value})``.

    The file is read one line at a time (Open Images' files are gigabytes), so memory
    stays flat. Only the named ``columns`` are returned.

    Parameters
    ----------
    path : path-like
    columns : sequence of str
        The columns the caller needs. With a header they are looked up by name (extra
        columns are ignored); without one they are the file's first columns, in order.
    header : {"required", "optional"}
        ``"required"``: the first line must be a header holding every column.
        ``"optional"``: the first line is a header if it names every column, else data
        (some releases ship the same table with and without a header line).
    show_progress : bool
        Show a byte-based progress bar on stderr.

    Raises
    ------
    MissingFileError
        If ``path`` is not a file.
    DataFormatError
        On a missing column, a short row or undecodable text, naming file and line.
    """
    path = Path(path)
    if not path.is_file():
        raise MissingFileError(f"{path}: file not found")
    bar = None
    if show_progress:
        bar = tqdm(
            total=path.stat().st_size, desc=path.name, unit="B", unit_scale=True, leave=False
        )
    try:
        reader = csv.reader(_decoded_lines(path, bar))
        try:
            first = next(reader)
        except StopIteration:
            raise DataFormatError(f"{path}: empty file, expected a CSV table") from None
        except csv.Error as exc:
            raise DataFormatError(f"{path}:1: malformed CSV ({exc})") from None
        names = [name.strip() for name in first]
        has_header = all(column in names for column in columns)
        if header == "required" and not has_header:
            missing = next(column for column in columns if column not in names)
            raise DataFormatError(
                f"{path}:1: missing column {missing!r} (header has {', '.join(names)})"
            )
        positions = [names.index(c) for c in columns] if has_header else list(range(len(columns)))
        width = max(positions) + 1
        rows: Iterable[list[str]] = reader if has_header else _chain_first(first, reader)
        try:
            for row in rows:
                number = reader.line_num
                if not row:
                    continue
                if len(row) < width:
                    raise DataFormatError(
                        f"{path}:{number}: expected at least {width} fields, got {len(row)}"
                    )
                yield number, {c: row[p].strip() for c, p in zip(columns, positions, strict=True)}
        except csv.Error as exc:
            raise DataFormatError(f"{path}:{reader.line_num}: malformed CSV ({exc})") from None
    finally:
        if bar is not None:
            bar.close()


def _chain_first(first: list[str], rest: Iterator[list[str]]) -> Iterator[list[str]]:
    yield first
    yield from rest


# ----------------------------------------------------------------------------- files


def find_file(
    root: Path, candidates: Sequence[str], what: str, explicit: str | os.PathLike | None = None
) -> Path:
    """The first of ``candidates`` (paths relative to ``root``) that is a file.

    ``explicit``, when given, wins and must exist. The error lists every place looked.
    """
    if explicit is not None:
        path = Path(explicit)
        if not path.is_file():
            raise MissingFileError(f"{path}: {what} not found")
        return path
    for candidate in candidates:
        path = root / candidate
        if path.is_file():
            return path
    looked = ", ".join(str(root / c) for c in candidates)
    raise MissingFileError(f"{what} not found; looked for {looked}")


def locate_image(
    root: Path, candidates: Sequence[str], record: str, *, skip_missing: bool
) -> str | None:
    """The first candidate path (relative to ``root``) that is a file, as a POSIX string.

    The file must decode completely as an image (as ``collection validate`` checks it):
    a non-image or truncated file is a :class:`DataFormatError` naming it and
    ``record``. When no candidate is a file, raise :class:`MissingFileError` naming the
    file and ``record`` (where the image is referenced). With ``skip_missing``, both
    return None instead (the caller counts and drops the record).
    """
    for candidate in candidates:
        if (root / candidate).is_file():
            problem = image_problem(root / candidate)
            if problem is None:
                return Path(candidate).as_posix()
            if skip_missing:
                return None
            raise DataFormatError(f"{problem}, for {record}")
    if skip_missing:
        return None
    also = f" (also tried {', '.join(candidates[1:])})" if len(candidates) > 1 else ""
    raise MissingFileError(f"{root / candidates[0]}: image file not found{also}, for {record}")


def split_name(name: str) -> str:
    """Map a dataset's split folder or name to the Collection's (train, val, test)."""
    return SPLIT_NAMES.get(name, name)


def parse_list(value: str | Sequence[str] | None) -> list[str]:
    """``"a,b"`` or ``["a", "b"]`` -> ``["a", "b"]`` (empty entries dropped)."""
    if value is None:
        return []
    parts = value.split(",") if isinstance(value, str) else list(value)
    return [p.strip() for p in parts if p.strip()]


def parse_choices(
    value: str | Sequence[str] | None, choices: Sequence[str], name: str = "split"
) -> list[str]:
    """A non-empty list (:func:`parse_list`) of names among ``choices`` (``--split``,
    ``--categories``)."""
    given = parse_list(value)
    if not given:
        raise InputError(f"{name} must name at least one of {', '.join(choices)}")
    for each in given:
        check_option(name, each, choices)
    return given


# ----------------------------------------------------------------------------- output


def prepare_output(out: str | os.PathLike, *, force: bool = False) -> Path:
    """Make ``out`` ready for a new Collection.

    A non-empty ``out`` is refused unless ``force``; with ``force``, only the files a
    Collection consists of are removed (never anything else the user keeps there).
    """
    from ..outputs import check_output_dir, clear_owned

    out = check_output_dir(out, None, force=force, resume=None)
    if force:
        clear_owned(out, COLLECTION_FILES)
    out.mkdir(parents=True, exist_ok=True)
    return out


def write_loaded(loaded: LoadedDataset, out: str | os.PathLike, *, force: bool = False) -> Path:
    """Write a loaded dataset as a Collection whose image paths resolve under its root."""
    out = prepare_output(out, force=force)
    return write_collection(
        out,
        name=loaded.name,
        items=loaded.items,
        pairs=loaded.pairs,
        scenes=loaded.scenes,
        reachable=loaded.reachable,
        config=loaded.config,
        image_root=loaded.root,
    )


def sort_pairs(pairs: Iterable[Pair]) -> list[Pair]:
    """Pairs in a fixed order: by split, source, target, text."""
    return sorted(pairs, key=lambda p: (p.split, p.source, p.target, p.text))
