"""CLEVR v1.0 -> a Collection of real CLEVR renders, each described by its scene.

``scenes/CLEVR_<split>_scenes.json`` holds one CLEVR-format scene per image; each image
``images/<split>/<image_filename>`` becomes an image item whose text is the sentence
:func:`textmanifold.synth.describe.describe_scene` writes for its scene, and whose
``scene`` indexes the collection's ``scenes.json`` (the scenes as released).

Optionally (``reachability=True``) the reachable-neighbour matrix between scenes is
computed as for CCI. CLEVR scenes are independent renders with no persistent object
ids, so objects are matched by their index in the scene's object list: two scenes are
reachable only if their objects, in list order, differ as CCI's rule allows (positions
compared exactly). This is an approximation: the same objects listed in another order
are not matched, and independent renders almost never qualify.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .. import io
from ..collection import Item
from ..errors import DataFormatError, MissingFileError
from ..synth.describe import describe_scene
from ..synth.reachability import reachable_pairs
from ._common import LoadedDataset, find_file, locate_image, parse_choices, progress

SPLITS = ("train", "val", "test")


def scene_file_candidates(split: str) -> list[str]:
    name = f"CLEVR_{split}_scenes.json"
    return [f"scenes/{name}", name]


def read_scenes(path: Path) -> list[dict[str, Any]]:
    """The ``scenes`` list of a CLEVR scenes file, each checked for its image and objects."""
    data = io.read_json(path)
    scenes = data.get("scenes") if isinstance(data, dict) else None
    if not isinstance(scenes, list):
        raise DataFormatError(f"{path}: expected an object with a 'scenes' list")
    for number, scene in enumerate(scenes):
        where = f"{path} scene {number}"
        if not isinstance(scene, dict):
            raise DataFormatError(f"{where}: expected an object")
        if not isinstance(scene.get("image_filename"), str):
            raise DataFormatError(f"{where}: missing string field 'image_filename'")
        if not isinstance(scene.get("objects"), list):
            raise DataFormatError(f"{where}: missing list field 'objects'")
    return scenes


def load_clevr(
    root: str | os.PathLike,
    *,
    split: str | Sequence[str] = ("train", "val"),
    reachability: bool = False,
    skip_missing_images: bool = False,
    show_progress: bool = True,
) -> LoadedDataset:
    """Read CLEVR v1.0 renders as image items described by their scenes.

    Parameters
    ----------
    root : path-like
        The ``CLEVR_v1.0`` directory (``scenes/`` and ``images/<split>/``).
    split : str or sequence of {"train", "val", "test"}
        CLEVR v1.0 releases no scenes for ``test``.
    reachability : bool
        Also compute the scene x scene reachable-neighbour matrix (objects matched by
        list index; see the module docstring for the caveat).
    skip_missing_images : bool
        Drop scenes whose image is missing instead of stopping with an error.
    show_progress : bool

    Returns
    -------
    LoadedDataset
        Items sorted by id (the image file name without extension), ``scenes`` in the
        same order, each item's ``scene`` its index.
    """
    root = Path(root)
    if not root.is_dir():
        raise MissingFileError(f"{root}: CLEVR directory not found")
    splits = parse_choices(split, SPLITS)

    counts: Counter[str] = Counter()
    found: list[tuple[str, str, str, str, dict[str, Any]]] = []  # id, path, text, split, scene
    files = {}
    for part in splits:
        path = find_file(root, scene_file_candidates(part), f"CLEVR {part} scenes file")
        files[part] = str(path)
        scenes = read_scenes(path)
        counts[f"scenes_{part}"] = len(scenes)
        for number, scene in enumerate(
            progress(scenes, desc=f"CLEVR {part} images", enabled=show_progress, unit="img")
        ):
            where = f"{path} scene {number} ({scene['image_filename']})"
            name = scene["image_filename"]
            candidates = [f"images/{part}/{name}", f"images/{name}"]
            image_path = locate_image(root, candidates, where, skip_missing=skip_missing_images)
            if image_path is None:
                counts["missing_image"] += 1
                continue
            try:
                text = describe_scene(scene)
            except (DataFormatError, KeyError, TypeError, ValueError) as exc:
                raise DataFormatError(f"{where}: cannot describe the scene ({exc})") from None
            found.append((Path(name).stem, image_path, text, part, scene))
    found.sort(key=lambda entry: entry[0])
    ids = [entry[0] for entry in found]
    if len(set(ids)) != len(ids):
        duplicate = next(i for i, n in Counter(ids).items() if n > 1)
        raise DataFormatError(f"image {duplicate!r} appears in more than one scene")
    items = [
        Item(id=item_id, modality="image", path=image_path, text=text, scene=number, split=part)
        for number, (item_id, image_path, text, part, _) in enumerate(found)
    ]
    scenes_out = [scene for *_, scene in found]

    reachable = None
    if reachability:
        # Objects without an id take their list position (reachable_pairs' convention).
        reachable = reachable_pairs(scenes_out)
        counts["reachable_pairs"] = int(reachable.nnz // 2)
    counts["images"] = len(items)
    config = {
        "dataset": "clevr",
        "release": "v1.0",
        "root": str(root.resolve()),
        "files": files,
        "splits": splits,
        "filters": {
            "text": "textmanifold.synth.describe.describe_scene(scene)",
            "reachability": (
                "objects matched by list index (CLEVR has no persistent ids)"
                if reachability
                else None
            ),
            "skip_missing_images": skip_missing_images,
        },
        "counts": {
            "before": sum(counts[f"scenes_{p}"] for p in splits),
            "after": len(items),
            **dict(sorted(counts.items())),
        },
    }
    return LoadedDataset(
        name="clevr", root=root, items=items, config=config, scenes=scenes_out, reachable=reachable
    )
