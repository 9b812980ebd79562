"""ADE20K (2016 and 2021 releases) -> a labelled Collection for label retrieval.

Each image becomes an image item whose label is its scene category and whose text is
its side information: the names of the objects annotated in it (part level 0), most
frequent first. Images of the "outliers" and "misc" categories are excluded (paper,
section 4.1). The index (``index_ade20k.mat`` in 2016, ``index_ade20k.pkl`` in 2021)
gives each image's file, folder and scene; the objects come from the per-image
annotation beside it (``<name>_atr.txt`` in 2016, ``<name>.json`` in 2021).
"""

from __future__ import annotations

import json
import os
import pickle
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..collection import Item
from ..errors import DataFormatError, MissingFileError
from ..validation import check_option, check_positive_int
from ._common import LoadedDataset, locate_image, parse_choices, parse_list, progress, split_name

RELEASES = ("2016", "2021")
INDEX_FILES = {"2016": "index_ade20k.mat", "2021": "index_ade20k.pkl"}
EXCLUDED_SCENES = ("outliers", "misc")
NAME_KINDS = ("wordnet", "raw")
SPLITS = ("train", "val")


@dataclass(frozen=True)
class IndexEntry:
    """One image of the index: its file name, folder (as stored) and scene."""

    number: int  # position in the index, 1-based, for error messages
    filename: str
    folder: str
    scene: str


# ----------------------------------------------------------------------------- index


def detect_release(root: Path) -> str:
    """``"2021"`` if ROOT holds ``index_ade20k.pkl``, ``"2016"`` if ``index_ade20k.mat``."""
    for release in ("2021", "2016"):
        if (root / INDEX_FILES[release]).is_file():
            return release
    raise MissingFileError(
        f"{root}: neither {INDEX_FILES['2021']} (2021 release) nor "
        f"{INDEX_FILES['2016']} (2016 release) found; pass --index"
    )


def _matlab_string(value: Any) -> str:
    """Unwrap a MATLAB cell / char array as scipy loads it (nested 1-element arrays)."""
    while isinstance(value, np.ndarray):
        if value.size == 0:
            return ""
        if value.dtype.kind == "U" and value.size > 1:  # char array kept as characters
            return "".join(value.ravel().tolist())
        value = value.ravel()[0]
    return str(value)


def _column(index: Any, field: str, path: Path) -> list[str]:
    """One per-image field of the index as a list of strings."""
    try:
        values = index[field]
    except (KeyError, ValueError, IndexError):
        raise DataFormatError(f"{path}: index has no field {field!r}") from None
    if isinstance(values, np.ndarray):
        values = list(values.ravel())
    return [_matlab_string(v).strip() for v in values]


def read_index_mat(path: Path) -> Any:
    """The ``index`` struct of the 2016 release's ``index_ade20k.mat``."""
    import scipy.io

    try:
        mat = scipy.io.loadmat(path)
    except NotImplementedError:
        raise DataFormatError(
            f"{path}: MATLAB v7.3 (HDF5) file; re-save it in MATLAB with save(..., '-v7')"
        ) from None
    except Exception as exc:  # scipy's reader raises many types on a damaged file
        raise DataFormatError(
            f"{path}: not a readable MATLAB file ({type(exc).__name__}: {exc})"
        ) from None
    if "index" not in mat:
        raise DataFormatError(f"{path}: no variable 'index' (has {', '.join(sorted(mat))})")
    index = mat["index"]
    if index.dtype.names is None or index.size != 1:
        raise DataFormatError(f"{path}: 'index' is not a 1x1 MATLAB struct")
    return index.ravel()[0]


def read_index_pkl(path: Path) -> Any:
    """The dict of the 2021 release's ``index_ade20k.pkl`` (a pickle: trusted files only)."""
    try:
        with open(path, "rb") as handle:
            index = pickle.load(handle)
    except (pickle.UnpicklingError, EOFError, AttributeError, ImportError, ValueError) as exc:
        raise DataFormatError(f"{path}: not a readable pickle ({exc})") from None
    if not isinstance(index, dict):
        raise DataFormatError(f"{path}: expected a dict, got {type(index).__name__}")
    return index


def read_index(path: Path, release: str) -> list[IndexEntry]:
    """Every image of an ADE20K index, in index order."""
    if not path.is_file():
        raise MissingFileError(f"{path}: ADE20K index not found")
    index = read_index_mat(path) if release == "2016" else read_index_pkl(path)
    filenames = _column(index, "filename", path)
    folders = _column(index, "folder", path)
    fields = index.dtype.names if isinstance(index, np.void) else tuple(index)
    # The scene comes from the index; an index without it falls back to the folder name.
    scenes = _column(index, "scene", path) if "scene" in fields else [""] * len(filenames)
    if not len(filenames) == len(folders) == len(scenes):
        raise DataFormatError(
            f"{path}: filename, folder and scene have different lengths "
            f"({len(filenames)}, {len(folders)}, {len(scenes)})"
        )
    return [
        IndexEntry(n, f, d, s or folder_scene(d))
        for n, (f, d, s) in enumerate(zip(filenames, folders, scenes, strict=True), start=1)
    ]


def folder_scene(folder: str) -> str:
    """The scene a folder names: its last component, or the one before ``indoor``/``outdoor``."""
    parts = [p for p in re.split(r"[\\/]+", folder) if p]
    if len(parts) > 1 and parts[-1] in ("indoor", "outdoor"):
        return parts[-2]
    return parts[-1] if parts else ""


# ----------------------------------------------------------------------------- per image


def scene_label(scene: str) -> str:
    """The scene category: the index's value without surrounding slashes and blanks."""
    return scene.strip().strip("/").strip()


def is_excluded(entry: IndexEntry, excluded: Sequence[str]) -> bool:
    """True when a word of the scene name or of a folder component is an excluded word.

    Words are runs of letters, lowercased; a word matches an excluded one with or
    without a trailing "s" ("outlier" and "outliers" both match "outliers").
    """
    words = set(re.findall(r"[a-z]+", f"{entry.scene} {entry.folder}".lower()))
    wanted = {w.lower() for w in excluded}
    wanted |= {w[:-1] for w in wanted if w.endswith("s")} | {w + "s" for w in wanted}
    return bool(words & wanted)


def image_candidates(entry: IndexEntry) -> list[str]:
    """Where an index entry's image may lie, relative to ROOT.

    The index stores folders from the dataset's parent (``ADE20K_2016_07_26/images/...``);
    the path from the ``images`` component on is tried first, then every other suffix.
    """
    parts = [p for p in re.split(r"[\\/]+", entry.folder) if p]
    starts = list(range(len(parts)))
    if "images" in parts:
        first = parts.index("images")
        starts.remove(first)
        starts.insert(0, first)
    candidates = [Path(*parts[k:], entry.filename).as_posix() for k in starts]
    return candidates or [entry.filename]


def image_split(entry: IndexEntry) -> str:
    """``train`` or ``val`` from the ``training`` / ``validation`` folder component."""
    for part in re.split(r"[\\/]+", entry.folder):
        if part in ("training", "validation"):
            return split_name(part)
    raise DataFormatError(
        f"index record {entry.number} ({entry.filename}): folder {entry.folder!r} "
        "has no 'training' or 'validation' component"
    )


def _first_wordnet_term(name: str) -> str:
    return name.split(",")[0].strip()


def objects_from_atr(path: Path, names: str) -> list[str]:
    """Object names (part level 0) of a 2016 ``_atr.txt`` file, one per instance."""
    if not path.is_file():
        raise MissingFileError(f"{path}: annotation file not found")
    objects = []
    text = path.read_bytes().decode("utf-8", errors="replace")
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        fields = [f.strip() for f in line.split("#", 5)]
        if len(fields) < 5:
            raise DataFormatError(
                f"{path}:{number}: expected fields split by '#' (instance # level # occluded "
                f"# wordnet name # raw name # attributes), got {len(fields)}"
            )
        try:
            level = int(fields[1])
        except ValueError:
            raise DataFormatError(
                f"{path}:{number}: part level {fields[1]!r} is not an integer"
            ) from None
        if level == 0:
            objects.append(_first_wordnet_term(fields[3]) if names == "wordnet" else fields[4])
    return [o for o in objects if o]


def _read_json_lenient(path: Path) -> Any:
    """Read a JSON file; UTF-8, falling back to Latin-1 (some annotations are not UTF-8)."""
    if not path.is_file():
        raise MissingFileError(f"{path}: annotation file not found")
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        text = raw.decode("latin-1")
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise DataFormatError(f"{path}: invalid JSON at line {exc.lineno}: {exc.msg}") from None


def objects_from_json(path: Path, names: str) -> list[str]:
    """Object names (part level 0) of a 2021 per-image JSON, one per instance."""
    data = _read_json_lenient(path)
    annotation = data.get("annotation") if isinstance(data, dict) else None
    if not isinstance(annotation, dict):
        raise DataFormatError(f"{path}: expected an object with an 'annotation' object")
    entries = annotation.get("object", [])
    if isinstance(entries, dict):  # a single object is sometimes stored unwrapped
        entries = [entries]
    if not isinstance(entries, list):
        raise DataFormatError(f"{path}: annotation.object must be a list")
    objects = []
    for number, entry in enumerate(entries):
        if not isinstance(entry, dict):
            raise DataFormatError(f"{path}: annotation.object[{number}] is not an object")
        parts = entry.get("parts") or {}
        level = parts.get("part_level", 0) if isinstance(parts, dict) else 0
        if level != 0:
            continue
        key = "name" if names == "wordnet" else "raw_name"
        if not isinstance(entry.get(key), str):
            raise DataFormatError(f"{path}: annotation.object[{number}] has no string {key!r}")
        objects.append(_first_wordnet_term(entry[key]) if names == "wordnet" else entry[key])
    return [o.strip() for o in objects if o.strip()]


def describe_objects(objects: Sequence[str], max_objects: int | None = None) -> str:
    """Unique object names, most instances first, ties alphabetical, joined by ", "."""
    counts = Counter(objects)
    ordered = sorted(counts, key=lambda name: (-counts[name], name))
    if max_objects is not None:
        ordered = ordered[:max_objects]
    return ", ".join(ordered)


# ----------------------------------------------------------------------------- loader


def load_ade20k(
    root: str | os.PathLike,
    *,
    release: str = "auto",
    index: str | os.PathLike | None = None,
    split: str | Sequence[str] = SPLITS,
    names: str = "wordnet",
    max_objects: int | None = None,
    exclude_scenes: str | Sequence[str] = EXCLUDED_SCENES,
    skip_missing_images: bool = False,
    show_progress: bool = True,
) -> LoadedDataset:
    """Read ADE20K as image items labelled by scene, described by their objects.

    Parameters
    ----------
    root : path-like
        The release's directory (``ADE20K_2016_07_26`` or ``ADE20K_2021_17_01``).
    release : {"auto", "2016", "2021"}
        ``auto`` picks 2021 if ``index_ade20k.pkl`` is in ROOT, else 2016.
    index : path-like, optional
        The index file, when it is not in ROOT.
    split : str or sequence of {"train", "val"}
        The splits to keep (from the ``training`` / ``validation`` folders).
    names : {"wordnet", "raw"}
        ``wordnet``: an object's name is the first term of its WordNet name ("car" for
        "car, auto, automobile, machine, motorcar"); ``raw``: the annotator's raw name.
    max_objects : int, optional
        Keep only this many names per description (the most frequent).
    exclude_scenes : str or sequence of str
        Scene words whose images are left out (see :func:`is_excluded`).
    skip_missing_images : bool
        Drop an image whose file is missing instead of stopping with an error.
    show_progress : bool
        Show a progress bar over the images.

    Returns
    -------
    LoadedDataset
        Image items sorted by id (the file name without extension).
    """
    root = Path(root)
    if not root.is_dir():
        raise MissingFileError(f"{root}: ADE20K directory not found")
    if release == "auto":
        release = (
            detect_release(root)
            if index is None
            else ("2021" if Path(index).suffix == ".pkl" else "2016")
        )
    check_option("release", release, RELEASES)
    check_option("names", names, NAME_KINDS)
    if max_objects is not None:
        max_objects = check_positive_int(max_objects, "max_objects")
    splits = parse_choices(split, SPLITS)
    excluded = parse_list(exclude_scenes)
    index_path = Path(index) if index is not None else root / INDEX_FILES[release]
    entries = read_index(index_path, release)

    counts = Counter(index_images=len(entries))
    items: dict[str, Item] = {}
    for entry in progress(entries, desc="ADE20K images", enabled=show_progress, unit="img"):
        if is_excluded(entry, excluded):
            counts["excluded_scene"] += 1
            continue
        where = f"{index_path} record {entry.number} ({entry.filename})"
        split_of = image_split(entry)
        if split_of not in splits:
            counts["other_split"] += 1
            continue
        candidates = image_candidates(entry)
        path = locate_image(root, candidates, where, skip_missing=skip_missing_images)
        if path is None:
            counts["missing_image"] += 1
            continue
        image = root / path
        if release == "2016":
            objects = objects_from_atr(image.with_name(image.stem + "_atr.txt"), names)
        else:
            objects = objects_from_json(image.with_suffix(".json"), names)
        counts["no_objects"] += not objects
        item_id = Path(entry.filename).stem
        if item_id in items:
            raise DataFormatError(f"{where}: image {item_id!r} appears twice in the index")
        items[item_id] = Item(
            id=item_id,
            modality="image",
            path=path,
            text=describe_objects(objects, max_objects) or None,
            labels=[scene_label(entry.scene)],
            split=split_of,
        )
    kept = [items[k] for k in sorted(items)]
    counts["images"] = len(kept)
    counts["classes"] = len({it.labels[0] for it in kept})
    config = {
        "dataset": "ade20k",
        "release": release,
        "root": str(root.resolve()),
        "index": str(index_path.resolve()),
        "filters": {
            "exclude_scenes": excluded,
            "splits": splits,
            "names": names,
            "object_order": "most instances first, ties alphabetical; part level 0 only",
            "max_objects": max_objects,
            "skip_missing_images": skip_missing_images,
        },
        "counts": {"before": len(entries), "after": len(kept), **dict(sorted(counts.items()))},
    }
    return LoadedDataset(name=f"ade20k-{release}", root=root, items=kept, config=config)
