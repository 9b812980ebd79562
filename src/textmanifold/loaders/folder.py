"""A plain folder of images (and captions) -> a Collection.

The layout users already have, with the conventions of the tools they know:

- every image under ROOT, recursively (``.jpg .jpeg .png .webp .bmp .gif``; a GIF is its
  first frame); a symbolic link whose target lies outside ROOT is not followed;
- captions from a sidecar text file of the same stem (``photo.jpg`` + ``photo.txt``, the
  img2dataset / webdataset convention) and/or a captions table (CSV, TSV, JSONL or
  parquet; columns ``path`` and ``caption`` by default, ``path`` relative to ROOT);
  an image may have several captions: the first is its description (what the joint
  space pairs it with), the others become text items ``<image id>#<n>``;
- labels from the first sub-folder under ROOT (``--labels-from-folders``, torchvision's
  ImageFolder convention);
- modification triplets from a table with ``source``, ``target``, ``text`` (paths
  relative to ROOT) and an optional ``split``.

An image's id is its path under ROOT (POSIX, with its extension), so two files of one
stem stay distinct. Images are never copied: the Collection records ROOT.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Iterator
from pathlib import Path

from ..collection import Item, Pair
from ..errors import DataFormatError, InputError, MissingFileError
from ..images import image_problem
from ._common import LoadedDataset, progress

__all__ = ["IMAGE_SUFFIXES", "load_folder"]

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp", ".bmp", ".gif")
TABLE_SUFFIXES = (".csv", ".tsv", ".jsonl", ".parquet")


def _images_under(root: Path) -> tuple[list[Path], int]:
    """Image files under ``root`` (sorted by their path under it), and how many links
    pointing outside it were left out."""
    inside, outside = root.resolve(), 0
    found = []
    for directory, folders, files in os.walk(root):  # never descends into linked folders
        folders.sort()
        for name in sorted(files):
            path = Path(directory) / name
            if path.suffix.lower() not in IMAGE_SUFFIXES:
                continue
            if path.is_symlink() and not path.resolve().is_relative_to(inside):
                outside += 1
                continue
            found.append(path)
    return sorted(found, key=lambda p: p.relative_to(root).as_posix()), outside


def read_table(
    path: str | os.PathLike, columns: tuple[str, ...], optional: tuple[str, ...] = ()
) -> Iterator[tuple[str, dict[str, str]]]:
    """Rows of a CSV / TSV / JSONL / parquet table as ``(where, {column: text})``.

    ``where`` is ``file:line`` (``file:row`` for parquet). Every row must hold each of
    ``columns`` as text; ``optional`` columns are passed on when present.
    """
    path = Path(path)
    if not path.is_file():
        raise MissingFileError(f"{path}: file not found")
    suffix = path.suffix.lower()
    if suffix not in TABLE_SUFFIXES:
        raise InputError(f"{path}: a table must be {', '.join(TABLE_SUFFIXES)}")
    if suffix == ".jsonl":
        from .. import io

        rows = ((f"{path}:{n}", r) for n, r in io.iter_jsonl(path))
    elif suffix == ".parquet":
        try:
            import pyarrow.parquet as pq
        except ImportError:
            raise InputError(
                f"{path}: reading parquet needs pyarrow (pip install 'textmanifold[scale]')"
            ) from None
        try:
            records = pq.read_table(path).to_pylist()
        except Exception as exc:  # pyarrow raises its own types for a damaged file
            raise DataFormatError(f"{path}: not a readable parquet file ({exc})") from None
        rows = ((f"{path}:row {n}", r) for n, r in enumerate(records, start=1))
    else:
        rows = _delimited(path, "\t" if suffix == ".tsv" else ",")
    for where, record in rows:
        missing = [c for c in columns if c not in record]
        if missing:
            raise DataFormatError(f"{where}: missing column {missing[0]!r}")
        bad = [c for c in columns if not isinstance(record[c], str)]
        if bad:
            raise DataFormatError(f"{where}: {bad[0]!r} must be text, got {record[bad[0]]!r}")
        yield where, {c: record[c] for c in (*columns, *optional) if record.get(c) is not None}


def _delimited(path: Path, delimiter: str) -> Iterator[tuple[str, dict]]:
    try:
        with open(path, encoding="utf-8-sig", newline="") as handle:
            reader = csv.DictReader(handle, delimiter=delimiter)
            for record in reader:
                yield f"{path}:{reader.line_num}", record
    except UnicodeDecodeError:
        raise DataFormatError(f"{path}: not UTF-8 text") from None
    except csv.Error as exc:
        raise DataFormatError(f"{path}: malformed table ({exc})") from None


def _sidecar(image: Path) -> str | None:
    text_file = image.with_suffix(".txt")
    if not text_file.is_file():
        return None
    try:
        text = " ".join(text_file.read_text(encoding="utf-8").split())
    except UnicodeDecodeError:
        raise DataFormatError(f"{text_file}: not UTF-8 text") from None
    return text or None


def _image_id(root: Path, where: str, value: str, known: dict[str, Path]) -> str:
    """The id of the image a table row names by its path under ROOT."""
    key = Path(value).as_posix().removeprefix("./")
    if Path(value).is_absolute():
        try:
            key = Path(value).resolve().relative_to(root.resolve()).as_posix()
        except ValueError:
            raise DataFormatError(f"{where}: {value!r} is not under {root}") from None
    if key not in known:
        raise DataFormatError(f"{where}: no image {value!r} under {root}")
    return key


# C901: one pass over the release's files that also counts what it skips; helpers would
# only thread the counters and maps through.
def load_folder(  # noqa: C901
    root: str | os.PathLike,
    *,
    captions: str | os.PathLike | None = None,
    path_column: str = "path",
    caption_column: str = "caption",
    labels_from_folders: bool = False,
    pairs: str | os.PathLike | None = None,
    skip_bad_images: bool = False,
    show_progress: bool = True,
) -> LoadedDataset:
    """Read a folder of images, its captions, labels and pairs (see the module docstring).

    Raises
    ------
    MissingFileError
        ROOT or a table is missing.
    DataFormatError
        An unreadable or truncated image (naming it) unless ``skip_bad_images``; a table
        row that is malformed or names no image under ROOT (naming file and line).
    InputError
        No image under ROOT.
    """
    root = Path(root)
    if not root.is_dir():
        raise MissingFileError(f"{root}: image folder not found")
    files, outside = _images_under(root)
    known: dict[str, Path] = {}
    skipped = []
    for path in progress(files, desc="checking images", enabled=show_progress, unit="img"):
        problem = image_problem(path)
        if problem is not None:
            if not skip_bad_images:
                raise DataFormatError(f"{problem} (skip such files with --skip-bad-images)")
            skipped.append(path)
            continue
        known[path.relative_to(root).as_posix()] = path
    if not known:
        raise InputError(f"{root}: no readable image ({', '.join(IMAGE_SUFFIXES)}) under it")
    texts: dict[str, list[str]] = {key: [] for key in known}
    for key, path in known.items():
        sidecar = _sidecar(path)
        if sidecar:
            texts[key].append(sidecar)
    if captions is not None:
        for where, row in read_table(captions, (path_column, caption_column)):
            caption = " ".join(row[caption_column].split())
            if caption:
                texts[_image_id(root, where, row[path_column], known)].append(caption)
    items, extra = [], []
    for key in known:
        first = key.split("/")[0] if "/" in key else None
        labels = [first] if labels_from_folders and first else []
        items.append(
            Item(
                id=key,
                modality="image",
                path=key,
                text=texts[key][0] if texts[key] else None,
                labels=labels,
            )
        )
        extra += [
            Item(id=f"{key}#{n}", modality="text", text=t, labels=labels)
            for n, t in enumerate(texts[key][1:], start=2)
        ]
    triplets = []
    if pairs is not None:
        for where, row in read_table(pairs, ("source", "target", "text"), ("split",)):
            triplets.append(
                Pair(
                    _image_id(root, where, row["source"], known),
                    _image_id(root, where, row["target"], known),
                    " ".join(row["text"].split()),
                    row.get("split", "train"),
                )
            )
    captioned = sum(1 for it in items if it.text)
    config = {
        "dataset": "folder",
        "root": str(root.resolve()),
        "captions": None if captions is None else str(Path(captions).resolve()),
        "columns": {"path": path_column, "caption": caption_column},
        "labels_from_folders": labels_from_folders,
        "pairs": None if pairs is None else str(Path(pairs).resolve()),
        "counts": {
            "before": len(files),
            "after": len(items),
            "captioned": captioned,
            "extra_captions": len(extra),
            "bad_images_skipped": len(skipped),
            "links_outside_root": outside,
            "pairs": len(triplets),
        },
    }
    return LoadedDataset(
        name=root.resolve().name, root=root, items=items + extra, pairs=triplets, config=config
    )
