"""Fashion-IQ -> a composed-retrieval Collection (candidate + feedback -> target).

Pairs come from ``captions/cap.<category>.<split>.json``; the two relative captions are
joined with "and", as the benchmark's starter code joins them (with an ``<and>`` token).
An image's side information, its attribute words from ``tags/asin2attr.<category>.<split>.json``,
becomes its description text. Following the paper (section 4.1), only pairs whose two
images both have side information are kept.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .. import io
from ..collection import Item, Pair
from ..errors import DataFormatError, MissingFileError
from ._common import (
    LoadedDataset,
    locate_image,
    parse_choices,
    progress,
    sort_pairs,
    split_name,
)

CATEGORIES = ("dress", "toptee", "shirt")
SPLITS = ("train", "val", "test")
IMAGE_PATTERNS = (
    "images/{asin}.jpg",
    "images/{asin}.png",
    "images/{category}/{asin}.jpg",
    "images/{category}/{asin}.png",
)


def join_captions(captions: Sequence[str]) -> str:
    """The pair's modification text: its captions, stripped, joined by " and "."""
    return " and ".join(" ".join(c.split()) for c in captions if c.strip())


def flatten_attributes(groups: Any, where: str) -> list[str]:
    """A list of lists of attribute words -> unique words, in order of first appearance."""
    if not isinstance(groups, list):
        raise DataFormatError(f"{where}: expected a list of lists of attribute words")
    words: list[str] = []
    for group in groups:
        for word in group if isinstance(group, list) else [group]:
            if not isinstance(word, str):
                raise DataFormatError(f"{where}: attribute {word!r} is not a string")
            word = word.strip()
            if word and word not in words:
                words.append(word)
    return words


def read_attributes(path: Path) -> dict[str, list[str]]:
    """ASIN -> its attribute words, from one ``asin2attr`` file."""
    data = io.read_json(path)
    if not isinstance(data, dict):
        raise DataFormatError(f"{path}: expected an object mapping ASIN -> attribute lists")
    return {
        asin: flatten_attributes(groups, f"{path} record {asin!r}") for asin, groups in data.items()
    }


def read_image_split(path: Path) -> list[str]:
    """The ASINs of one ``image_splits`` file."""
    data = io.read_json(path)
    if not isinstance(data, list):
        raise DataFormatError(f"{path}: expected a list of ASINs")
    for number, asin in enumerate(data):
        if not isinstance(asin, str) or not asin:
            raise DataFormatError(f"{path} record {number}: ASIN {asin!r} is not a string")
    return data


def read_caption_records(path: Path) -> list[tuple[int, str, str | None, list[str]]]:
    """``(record, candidate, target or None, captions)`` of one ``captions`` file."""
    data = io.read_json(path)
    if not isinstance(data, list):
        raise DataFormatError(f"{path}: expected a list of caption records")
    records = []
    for number, record in enumerate(data):
        where = f"{path} record {number}"
        if not isinstance(record, dict):
            raise DataFormatError(f"{where}: expected an object")
        if not isinstance(record.get("candidate"), str):
            raise DataFormatError(f"{where}: missing string field 'candidate'")
        target = record.get("target")
        if target is not None and not isinstance(target, str):
            raise DataFormatError(f"{where}: 'target' must be a string")
        captions = record.get("captions")
        if (
            not isinstance(captions, list)
            or not captions
            or not all(isinstance(c, str) for c in captions)
        ):
            raise DataFormatError(f"{where}: 'captions' must be a non-empty list of strings")
        records.append((number, record["candidate"], target, captions))
    return records


# C901: one pass over the release's files that also counts what it skips; helpers would
# only thread the counters and maps through.
def load_fashioniq(  # noqa: C901
    root: str | os.PathLike,
    *,
    categories: str | Sequence[str] = CATEGORIES,
    split: str | Sequence[str] = ("train", "val"),
    require_side_info: bool = True,
    skip_missing_images: bool = False,
    show_progress: bool = True,
) -> LoadedDataset:
    """Read Fashion-IQ as image items (attribute descriptions) and relative-caption pairs.

    Parameters
    ----------
    root : path-like
        Holds ``captions/``, ``image_splits/``, ``tags/`` and ``images/``.
    categories : str or sequence of {"dress", "toptee", "shirt"}
    split : str or sequence of {"train", "val", "test"}
        The test captions have no target, so the test split adds images but no pairs.
    require_side_info : bool
        Keep only pairs whose two images both have attribute words (the paper's filter).
    skip_missing_images : bool
        Drop images whose file is missing (and the pairs using them) instead of
        stopping with an error.
    show_progress : bool

    Returns
    -------
    LoadedDataset
        Image items sorted by ASIN (``labels`` = the category), pairs sorted.
    """
    root = Path(root)
    if not root.is_dir():
        raise MissingFileError(f"{root}: Fashion-IQ directory not found")
    cats = parse_choices(categories, CATEGORIES, "category")
    splits = parse_choices(split, SPLITS)

    attributes: dict[str, list[str]] = {}
    image_split: dict[str, str] = {}
    image_category: dict[str, list[str]] = {}
    raw_pairs: list[Pair] = []  # before filtering
    counts: Counter[str] = Counter()

    def note_image(asin: str, part: str, cat: str) -> None:
        image_split.setdefault(asin, split_name(part))
        image_category.setdefault(asin, [])
        if cat not in image_category[asin]:
            image_category[asin].append(cat)

    for cat in cats:
        for part in splits:
            for asin, words in read_attributes(
                root / "tags" / f"asin2attr.{cat}.{part}.json"
            ).items():
                attributes.setdefault(asin, words)
            listed = read_image_split(root / "image_splits" / f"split.{cat}.{part}.json")
            for asin in listed:
                note_image(asin, part, cat)
            records = read_caption_records(root / "captions" / f"cap.{cat}.{part}.json")
            for _, candidate, target, captions in records:
                counts["pairs_listed"] += 1
                if target is None:
                    counts["pairs_without_target"] += 1
                    continue
                note_image(candidate, part, cat)
                note_image(target, part, cat)
                raw_pairs.append(Pair(candidate, target, join_captions(captions), split_name(part)))

    items: dict[str, Item] = {}
    missing: set[str] = set()
    for asin in progress(
        sorted(image_split), desc="Fashion-IQ images", enabled=show_progress, unit="img"
    ):
        cat = image_category[asin][0]
        candidates = [p.format(asin=asin, category=cat) for p in IMAGE_PATTERNS]
        path = locate_image(
            root, candidates, f"ASIN {asin!r} ({cat})", skip_missing=skip_missing_images
        )
        if path is None:
            missing.add(asin)
            continue
        words = attributes.get(asin, [])
        counts["images_with_side_info"] += bool(words)
        items[asin] = Item(
            id=asin,
            modality="image",
            path=path,
            text=", ".join(words) or None,
            labels=image_category[asin],
            split=image_split[asin],
        )

    pairs = []
    for pair in raw_pairs:
        if pair.source in missing or pair.target in missing:
            counts["pairs_missing_image"] += 1
        elif require_side_info and not (
            attributes.get(pair.source) and attributes.get(pair.target)
        ):
            counts["pairs_without_side_info"] += 1
        else:
            pairs.append(pair)
    for pair in pairs:
        counts[f"pairs_{pair.split}"] += 1
    counts["missing_image"] = len(missing)
    counts["images"] = len(items)
    config = {
        "dataset": "fashioniq",
        "root": str(root.resolve()),
        "categories": cats,
        "splits": splits,
        "filters": {
            "require_side_info": require_side_info,
            "text": "attribute words of tags/asin2attr, flattened, first appearance order",
            "pair_text": "the two captions joined with ' and '",
            "skip_missing_images": skip_missing_images,
        },
        "counts": {"before": len(raw_pairs), "after": len(pairs), **dict(sorted(counts.items()))},
    }
    return LoadedDataset(
        name="fashioniq",
        root=root,
        items=[items[k] for k in sorted(items)],
        pairs=sort_pairs(pairs),
        config=config,
    )
