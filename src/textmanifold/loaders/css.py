"""CSS (TIRG's CLEVR-style synthetic set) -> a composed-retrieval Collection.

TIRG releases CSS as ``css_toy_dataset_novel2_small.dup.npy``: a pickled dict holding,
per split, each image's objects (``objects_img``) and the modifications (``mods``), each
a text (``to_str``) with the source and target image indices it applies to. Every
(source, target) of a modification becomes a pair; every image becomes an image item
described by its objects ("large red circle at top-left, ..."). Images are
``images/css_<split>_%06d.png``.
"""

from __future__ import annotations

import os
import pickle
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..collection import Item, Pair
from ..errors import DataFormatError, MissingFileError
from ._common import LoadedDataset, locate_image, parse_choices, progress, sort_pairs

DATA_FILE = "css_toy_dataset_novel2_small.dup.npy"
SPLITS = ("train", "test")
IMAGE_PATTERNS = ("images/{name}.png", "{name}.png", "images/{split}/{name}.png")
OBJECT_KEYS = ("size", "color", "shape", "pos")
ROWS = ("top", "middle", "bottom")
COLUMNS = ("left", "center", "right")


def _text(value: Any) -> str:
    """A string from a pickle written by Python 2 (bytes) or 3 (str)."""
    return value.decode("latin-1") if isinstance(value, bytes) else str(value)


def _normalise_keys(mapping: Any, where: str) -> dict[str, Any]:
    if not isinstance(mapping, dict):
        raise DataFormatError(f"{where}: expected a dict, got {type(mapping).__name__}")
    return {_text(k): v for k, v in mapping.items()}


def read_css(path: Path) -> dict[str, Any]:
    """The dict inside TIRG's ``.npy`` file (a pickle: load only files you trust)."""
    if not path.is_file():
        raise MissingFileError(f"{path}: CSS data file not found")
    try:
        data = np.load(path, allow_pickle=True, encoding="latin1")
    except (ValueError, OSError, EOFError, pickle.UnpicklingError) as exc:
        raise DataFormatError(f"{path}: not a readable .npy file ({exc})") from None
    if not (isinstance(data, np.ndarray) and data.dtype == object and data.shape == ()):
        raise DataFormatError(f"{path}: expected a pickled dict in a 0-d object array")
    return _normalise_keys(data.item(), str(path))


def grid_cell(pos: Any, where: str) -> str:
    """``[y, x]`` in [0, 1] -> "top-left" ... "bottom-right" (thirds of the image)."""
    try:
        y, x = (float(v) for v in pos)
    except (TypeError, ValueError):
        raise DataFormatError(f"{where}: pos {pos!r} is not a [y, x] pair") from None
    row = ROWS[min(int(np.clip(y, 0.0, 1.0) * 3), 2)]
    column = COLUMNS[min(int(np.clip(x, 0.0, 1.0) * 3), 2)]
    return f"{row}-{column}"


def describe_objects(objects: Any, where: str) -> str:
    """Objects, top row first and left to right, as "<size> <color> <shape> at <cell>"."""
    if not isinstance(objects, list | tuple | np.ndarray):
        raise DataFormatError(f"{where}: expected a list of objects")
    described = []
    for number, obj in enumerate(objects):
        here = f"{where} object {number}"
        obj = _normalise_keys(obj, here)
        missing = [k for k in OBJECT_KEYS if k not in obj]
        if missing:
            raise DataFormatError(f"{here}: missing key {missing[0]!r}")
        cell = grid_cell(obj["pos"], here)
        y, x = (float(v) for v in obj["pos"])
        phrase = f"{_text(obj['size'])} {_text(obj['color'])} {_text(obj['shape'])} at {cell}"
        described.append(((y, x), phrase))
    return ", ".join(phrase for _, phrase in sorted(described))


def _indices(mod: dict[str, Any], key: str, n_images: int, where: str) -> list[int]:
    values = mod.get(key)
    if values is None:
        raise DataFormatError(f"{where}: missing key {key!r}")
    try:
        indices = [int(v) for v in values]
    except (TypeError, ValueError):
        raise DataFormatError(f"{where}: {key!r} must be a list of image indices") from None
    bad = [i for i in indices if not 0 <= i < n_images]
    if bad:
        raise DataFormatError(
            f"{where}: image index {bad[0]} in {key!r} is outside 0..{n_images - 1}"
        )
    return indices


# C901: one pass over the release's files that also counts what it skips; helpers would
# only thread the counters and maps through.
def load_css(  # noqa: C901
    root: str | os.PathLike,
    *,
    data_file: str | os.PathLike | None = None,
    split: str | Sequence[str] = SPLITS,
    skip_missing_images: bool = False,
    show_progress: bool = True,
) -> LoadedDataset:
    """Read CSS as image items described by their objects and modification pairs.

    Parameters
    ----------
    root : path-like
        Holds ``css_toy_dataset_novel2_small.dup.npy`` and ``images/``.
    data_file : path-like, optional
        The ``.npy`` file, when it is not in ROOT.
    split : str or sequence of {"train", "test"}
    skip_missing_images : bool
        Drop images whose file is missing (and their pairs) instead of an error.
    show_progress : bool

    Returns
    -------
    LoadedDataset
        Items ``css_<split>_%06d`` (``labels`` = the release's image label when it has
        one: images with equal labels are equivalent retrieval targets); pairs sorted.
    """
    root = Path(root)
    if not root.is_dir():
        raise MissingFileError(f"{root}: CSS directory not found")
    splits = parse_choices(split, SPLITS)
    path = Path(data_file) if data_file is not None else root / DATA_FILE
    data = read_css(path)

    items: list[Item] = []
    pairs: list[Pair] = []
    counts: Counter[str] = Counter()
    for part in splits:
        if part not in data:
            raise DataFormatError(f"{path}: no {part!r} split (has {', '.join(sorted(data))})")
        section = _normalise_keys(data[part], f"{path} [{part!r}]")
        for key in ("objects_img", "mods"):
            if key not in section:
                raise DataFormatError(f"{path} [{part!r}]: missing key {key!r}")
        images = list(section["objects_img"])
        labels = section.get("labels")
        if labels is not None and len(labels) != len(images):
            raise DataFormatError(
                f"{path} [{part!r}]: {len(labels)} labels for {len(images)} images"
            )
        missing: set[int] = set()
        for index in progress(
            range(len(images)), desc=f"CSS {part} images", enabled=show_progress, unit="img"
        ):
            name = f"css_{part}_{index:06d}"
            where = f"{path} [{part!r}] image {index}"
            text = describe_objects(images[index], where)
            candidates = [p.format(name=name, split=part) for p in IMAGE_PATTERNS]
            image_path = locate_image(root, candidates, where, skip_missing=skip_missing_images)
            if image_path is None:
                missing.add(index)
                continue
            label = [_text(labels[index])] if labels is not None else []
            items.append(
                Item(
                    id=name,
                    modality="image",
                    path=image_path,
                    text=text or None,
                    labels=label,
                    split=part,
                )
            )
        counts[f"images_{part}"] = len(images) - len(missing)
        counts["missing_image"] += len(missing)
        for number, mod in enumerate(section["mods"]):
            where = f"{path} [{part!r}] mods[{number}]"
            mod = _normalise_keys(mod, where)
            if "to_str" not in mod:
                raise DataFormatError(f"{where}: missing key 'to_str'")
            sources = _indices(mod, "from", len(images), where)
            targets = _indices(mod, "to", len(images), where)
            if len(sources) != len(targets):
                raise DataFormatError(
                    f"{where}: 'from' has {len(sources)} indices but 'to' has {len(targets)}"
                )
            text = " ".join(_text(mod["to_str"]).split())
            for s, t in zip(sources, targets, strict=True):
                counts["pairs_listed"] += 1
                if s in missing or t in missing:
                    counts["pairs_missing_image"] += 1
                    continue
                pairs.append(Pair(f"css_{part}_{s:06d}", f"css_{part}_{t:06d}", text, part))
                counts[f"pairs_{part}"] += 1
    config = {
        "dataset": "css",
        "root": str(root.resolve()),
        "data_file": str(path.resolve()),
        "splits": splits,
        "filters": {
            "text": "objects as '<size> <color> <shape> at <row>-<column>', rows of thirds "
            "top to bottom, then left to right",
            "skip_missing_images": skip_missing_images,
        },
        "counts": {
            "before": counts["pairs_listed"],
            "after": len(pairs),
            **dict(sorted(counts.items())),
        },
    }
    return LoadedDataset(
        name="css",
        root=root,
        items=sorted(items, key=lambda it: it.id),
        pairs=sort_pairs(pairs),
        config=config,
    )
