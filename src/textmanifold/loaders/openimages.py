"""Open Images (V6 / V7, validation split) -> a multi-label Collection.

Each validation image with at least one human-verified positive label becomes an image
item. Its ``labels`` are the display names of those labels, the *most significant* one
first (the label of its largest bounding box), the rest alphabetical. Its ``text`` is
its Localized Narratives caption. All tables are streamed line by line: the label and
box files are gigabytes for the training split and hundreds of megabytes here.
"""

from __future__ import annotations

import os
from collections import Counter, defaultdict
from pathlib import Path

from ..collection import Item
from ..errors import DataFormatError, MissingFileError
from ._common import LoadedDataset, find_file, iter_csv, locate_image, progress

# Where each table may lie, relative to ROOT (first match wins; --*-csv options override).
_DIRS = ("", "annotations", "labels", "metadata")
LABEL_FILES = (
    *tuple(
        f"{d}/{n}".lstrip("/")
        for d in _DIRS
        for n in (
            "validation-annotations-human-imagelabels.csv",
            "oidv7-val-annotations-human-imagelabels.csv",
            "validation-annotations-human-imagelabels-boxable.csv",
        )
    ),
    "validation/labels/classifications.csv",
)
CLASS_FILES = (
    *tuple(
        f"{d}/{n}".lstrip("/")
        for d in _DIRS
        for n in (
            "oidv7-class-descriptions.csv",
            "oidv6-class-descriptions.csv",
            "class-descriptions.csv",
            "class-descriptions-boxable.csv",
        )
    ),
    "validation/metadata/classes.csv",
)
BOX_FILES = (
    *tuple(
        f"{d}/{n}".lstrip("/")
        for d in _DIRS
        for n in (
            "validation-annotations-bbox.csv",
            "oidv6-validation-annotations-bbox.csv",
            "oidv7-val-annotations-bbox.csv",
        )
    ),
    "validation/labels/detections.csv",
)
NARRATIVE_FILES = tuple(
    f"{d}/{n}".lstrip("/")
    for d in _DIRS
    for n in (
        "open_images_validation_localized_narratives.jsonl",
        "open_images_v7_validation_localized_narratives.jsonl",
    )
)
# Where an image may lie, relative to ROOT; {id} is its ImageID.
IMAGE_PATTERNS = (
    "validation/{id}.jpg",
    "images/validation/{id}.jpg",
    "validation/data/{id}.jpg",
    "{id}.jpg",
)


def read_class_names(path: Path, *, show_progress: bool = True) -> dict[str, str]:
    """LabelName (a MID such as ``/m/01g317``) -> DisplayName; header line optional."""
    names: dict[str, str] = {}
    for _, row in iter_csv(
        path, ("LabelName", "DisplayName"), header="optional", show_progress=show_progress
    ):
        names[row["LabelName"]] = row["DisplayName"]
    if not names:
        raise DataFormatError(f"{path}: no class descriptions")
    return names


def _confidence(value: str, where: str) -> float:
    try:
        return float(value)
    except ValueError:
        raise DataFormatError(f"{where}: Confidence {value!r} is not a number") from None


def read_positive_labels(
    path: Path, names: dict[str, str], *, show_progress: bool = True
) -> tuple[dict[str, set[str]], int]:
    """ImageID -> the MIDs verified present (Confidence 1), and the number of images the
    file names at all. A positive row with a MID not in ``names`` is an error."""
    positives: dict[str, set[str]] = defaultdict(set)
    images: set[str] = set()
    for number, row in iter_csv(
        path, ("ImageID", "LabelName", "Confidence"), show_progress=show_progress
    ):
        where = f"{path}:{number}"
        images.add(row["ImageID"])
        if _confidence(row["Confidence"], where) != 1.0:
            continue
        if row["LabelName"] not in names:
            raise DataFormatError(
                f"{where}: unknown label id {row['LabelName']!r} (not in the class descriptions)"
            )
        positives[row["ImageID"]].add(row["LabelName"])
    return dict(positives), len(images)


def _coordinate(row: dict[str, str], key: str, where: str) -> float:
    try:
        value = float(row[key])
    except ValueError:
        raise DataFormatError(f"{where}: {key} {row[key]!r} is not a number") from None
    if not 0.0 <= value <= 1.0:
        raise DataFormatError(f"{where}: {key} {value} is outside [0, 1]")
    return value


def read_largest_boxes(
    path: Path, positives: dict[str, set[str]], names: dict[str, str], *, show_progress: bool = True
) -> dict[str, str]:
    """ImageID -> MID of its largest box among its verified positive labels.

    Area is ``(XMax - XMin) * (YMax - YMin)`` in normalised coordinates; equal areas go
    to the alphabetically first display name. Boxes of labels the image does not hold
    as verified positives are ignored.
    """
    best: dict[str, tuple[float, str, str]] = {}
    columns = ("ImageID", "LabelName", "XMin", "XMax", "YMin", "YMax")
    for number, row in iter_csv(path, columns, show_progress=show_progress):
        where = f"{path}:{number}"
        label = row["LabelName"]
        if label not in names:
            raise DataFormatError(f"{where}: unknown label id {label!r}")
        image = row["ImageID"]
        if label not in positives.get(image, ()):
            continue
        xmin, xmax, ymin, ymax = (
            _coordinate(row, k, where) for k in ("XMin", "XMax", "YMin", "YMax")
        )
        area = max(xmax - xmin, 0.0) * max(ymax - ymin, 0.0)
        key = (-area, names[label], label)
        if image not in best or key < best[image]:
            best[image] = key
    return {image: key[2] for image, key in best.items()}


def read_first_captions(
    path: Path, wanted: set[str], *, show_progress: bool = True
) -> tuple[dict[str, str], int]:
    """ImageID -> its first Localized Narratives caption (file order); and how many
    images had more than one narrative."""
    from .. import io

    captions: dict[str, str] = {}
    seen: Counter[str] = Counter()
    records = progress(
        io.iter_jsonl(path), desc=path.name, enabled=show_progress, unit=" narratives"
    )
    for number, record in records:
        for key in ("image_id", "caption"):
            if not isinstance(record.get(key), str):
                raise DataFormatError(f"{path}:{number}: missing string field {key!r}")
        image = record["image_id"]
        if image not in wanted:
            continue
        seen[image] += 1
        caption = " ".join(record["caption"].split())
        if image not in captions and caption:
            captions[image] = caption
    return captions, sum(n > 1 for n in seen.values())


def load_openimages(
    root: str | os.PathLike,
    *,
    labels_csv: str | os.PathLike | None = None,
    classes_csv: str | os.PathLike | None = None,
    boxes_csv: str | os.PathLike | None = None,
    narratives: str | os.PathLike | None = None,
    require_caption: bool = False,
    skip_missing_images: bool = False,
    show_progress: bool = True,
) -> LoadedDataset:
    """Read the Open Images validation split as multi-label image items with captions.

    Parameters
    ----------
    root : path-like
        The directory holding the CSV / JSONL files and the images (see the docs page
        for the layouts searched); each file may instead be named explicitly.
    labels_csv, classes_csv, boxes_csv, narratives : path-like, optional
        Human-verified image labels, class descriptions, boxes, Localized Narratives.
    require_caption : bool
        Drop images without a narrative (default: keep them, with no text).
    skip_missing_images : bool
        Drop images whose file is missing instead of stopping with an error.
    show_progress : bool
        Progress bars over the (large) files.

    Returns
    -------
    LoadedDataset
        Image items sorted by ImageID; ``labels[0]`` is the most significant label.
    """
    root = Path(root)
    if not root.is_dir():
        raise MissingFileError(f"{root}: Open Images directory not found")
    classes_path = find_file(root, CLASS_FILES, "class descriptions CSV", classes_csv)
    labels_path = find_file(root, LABEL_FILES, "human-verified image labels CSV", labels_csv)
    boxes_path = find_file(root, BOX_FILES, "bounding boxes CSV", boxes_csv)
    narratives_path = find_file(root, NARRATIVE_FILES, "Localized Narratives JSONL", narratives)

    names = read_class_names(classes_path, show_progress=show_progress)
    positives, n_listed = read_positive_labels(labels_path, names, show_progress=show_progress)
    largest = read_largest_boxes(boxes_path, positives, names, show_progress=show_progress)
    captions, multi = read_first_captions(
        narratives_path, set(positives), show_progress=show_progress
    )
    # Fallback for an image without a usable box: its most frequent label overall.
    frequency = Counter(label for labels in positives.values() for label in labels)

    counts = Counter(
        images_in_labels_file=n_listed,
        images_with_positive_labels=len(positives),
        images_with_several_narratives=multi,
    )
    items = []
    for image_id in sorted(positives):
        if require_caption and image_id not in captions:
            counts["no_caption_dropped"] += 1
            continue
        candidates = [p.format(id=image_id) for p in IMAGE_PATTERNS]
        path = locate_image(
            root,
            candidates,
            f"image {image_id!r} of {labels_path}",
            skip_missing=skip_missing_images,
        )
        if path is None:
            counts["missing_image"] += 1
            continue
        mids = positives[image_id]
        if image_id in largest:
            top = largest[image_id]
            counts["most_significant_from_box"] += 1
        else:
            top = min(mids, key=lambda m: (-frequency[m], names[m], m))
            counts["most_significant_fallback"] += 1
        rest = sorted({names[m] for m in mids} - {names[top]})
        counts["no_caption"] += image_id not in captions
        items.append(
            Item(
                id=image_id,
                modality="image",
                path=path,
                text=captions.get(image_id),
                labels=[names[top], *rest],
                split="val",
            )
        )
    counts["images"] = len(items)
    counts["classes"] = len({label for it in items for label in it.labels})
    counts["most_significant_classes"] = len({it.labels[0] for it in items})
    config = {
        "dataset": "openimages",
        "split": "validation",
        "root": str(root.resolve()),
        "files": {
            "classes": str(classes_path),
            "labels": str(labels_path),
            "boxes": str(boxes_path),
            "narratives": str(narratives_path),
        },
        "filters": {
            "labels": "human-verified positive (Confidence 1)",
            "most_significant": "labels[0]: label of the largest box among the verified "
            "positives; else the image's most frequent label overall",
            "text": "first Localized Narratives caption in file order",
            "require_caption": require_caption,
            "skip_missing_images": skip_missing_images,
        },
        "counts": {"before": n_listed, "after": len(items), **dict(sorted(counts.items()))},
    }
    return LoadedDataset(name="openimages-validation", root=root, items=items, config=config)
