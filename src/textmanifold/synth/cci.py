"""CLEVR-Change-Iterative (CCI): a tree of changed scenes, rendered, as a Collection.

One random source scene; each scene gets ``branching`` children, each by one semantic
change plus a camera jitter (:mod:`.changes`); ``depth`` iterations give
1 + b + b^2 + ... + b^depth images (11,111 for depth 4, branching 10).

Options closer to the paper, off by default (today's behaviour):

- ``changes="clevr-change"``: CLEVR-Change's five change types (color, material, add,
  drop, move) and a source scene of 3-10 objects; ``"all"`` (default) adds shape and
  size and draws 3-6 source objects.
- ``repeat_scenes``: by default every scene of the tree is new (no two hold the same
  objects); with it only the *images* are unique (through the camera jitter) and a
  scene may repeat, as in the paper (e.g. a change and its undo two levels down).
- ``train_branches``: extra rendered children of random non-leaf nodes, each a training
  pair (parent -> child); they give Eq. 2 more training pairs without a deeper tree.

The work runs in two passes: planning (cheap: changes, visibility masks) level by
level (:mod:`.cci_plan`, which says how nodes are numbered and seeded), then rendering
(costly) in parallel; images already on disk that decode completely are kept when
resuming.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from ..collection import Item, Pair, write_collection
from ..errors import InputError
from ..outputs import check_output_dir
from . import render
from .cci_plan import plan_scenes, source_scene
from .changes import count_changes, preset_kinds
from .describe import describe_scene
from .output import process_pool, render_missing, write_scenes_first
from .reachability import reachable_pairs

NAME = "CCI"


def _check_arguments(
    out: Path,
    depth,
    branching,
    size,
    seed,
    workers,
    text_only_scenes,
    train_branches,
    resume: bool,
    force: bool,
) -> tuple[int, int]:
    for name, value, low in (
        ("depth", depth, 1),
        ("branching", branching, 1),
        ("workers", workers, 1),
        ("seed", seed, 0),
        ("text_only_scenes", text_only_scenes, 0),
        ("train_branches", train_branches, 0),
    ):
        if not isinstance(value, int | np.integer) or isinstance(value, bool) or value < low:
            raise InputError(f"{name} must be an integer >= {low}, got {value!r}")
    width, height = size
    render.check_render_size(width, height)
    check_output_dir(out, None, force=force, resume=resume)
    return int(width), int(height)


def generate_cci(
    out_dir: str | os.PathLike,
    *,
    depth: int = 4,
    branching: int = 10,
    size: tuple[int, int] = (320, 240),
    seed: int = 0,
    workers: int = 1,
    text_only_scenes: int = 0,
    changes: str = "all",
    repeat_scenes: bool = False,
    train_branches: int = 0,
    resume: bool = False,
    force: bool = False,
    progress: bool = True,
) -> Path:
    """Generate the CCI Collection in ``out_dir``.

    Parameters
    ----------
    out_dir : path-like
        The Collection directory; must be empty or absent unless ``resume``/``force``.
    depth : int
        Iterations of changes (the tree's levels below the source); 4 in the paper.
    branching : int
        Children per scene; 10 in the paper.
    size : (int, int)
        Image width and height in pixels.
    seed : int
        Fixes every random choice: the same seed gives byte-identical files.
    workers : int
        Processes for planning and rendering (the output does not depend on it).
    text_only_scenes : int
        Extra scenes (a random change of a random tree scene) with a description but
        no image.
    changes : {"all", "clevr-change"}
        The change kinds (see the module docstring).
    repeat_scenes : bool
        Let scenes repeat across the tree (images stay unique through the camera).
    train_branches : int
        Extra rendered children of random non-leaf nodes, each a training pair.
    resume : bool
        Keep images already on disk that decode completely; render the rest.
    force : bool
        Overwrite a non-empty directory, re-rendering every image.
    progress : bool
        Show progress bars (on stderr).

    Returns
    -------
    Path
        The Collection directory.

    Raises
    ------
    InputError
        On depth < 1, a branching larger than the changes the source scene allows, an
        image size too small to see objects, a non-empty ``out_dir`` without
        ``resume``/``force``, or resuming a directory generated with other settings.
    """
    out = Path(out_dir)
    width, height = _check_arguments(
        out, depth, branching, size, seed, workers, text_only_scenes, train_branches, resume, force
    )
    config = cci_config(
        depth=depth,
        branching=branching,
        size=(width, height),
        seed=seed,
        text_only_scenes=text_only_scenes,
        changes=changes,
        repeat_scenes=repeat_scenes,
        train_branches=train_branches,
    )
    source = source_scene(seed, width, height, changes)
    allowed = count_changes(source, preset_kinds(changes))
    if branching > allowed:
        raise InputError(
            f"branching {branching} is larger than the {allowed} changes the source scene allows"
        )
    with process_pool(workers) as pool:
        plan = plan_scenes(source, config, pool, workers, progress)
        records = _scene_records(plan, config)
        write_scenes_first(out, records, resume)
        digits = _digits(len(plan))
        rendered = [index for index, node in enumerate(plan) if node["rendered"]]
        render_missing(
            [plan[index]["scene"] for index in rendered],
            [out / "images" / image_filename(index, digits) for index in rendered],
            width,
            height,
            resume=resume,
            pool=pool,
            workers=workers,
            progress=progress,
        )
    items, pairs = _items_and_pairs(plan, config)
    reachable = reachable_pairs([node["scene"] for node in plan])
    return write_collection(
        out, name=NAME, items=items, pairs=pairs, scenes=records, reachable=reachable, config=config
    )


def cci_config(
    *,
    depth: int,
    branching: int,
    size: tuple[int, int],
    seed: int,
    text_only_scenes: int = 0,
    changes: str = "all",
    repeat_scenes: bool = False,
    train_branches: int = 0,
) -> dict:
    """The generator's config record (``collection.json``); the options closer to the
    paper appear only when set, so today's collections keep their exact records."""
    preset_kinds(changes)  # validates the name
    config = {
        "generator": "textmanifold.synth.cci",
        "depth": depth,
        "branching": branching,
        "size": [int(size[0]), int(size[1])],
        "seed": seed,
        "text_only_scenes": text_only_scenes,
    }
    for key, value, default in (
        ("changes", changes, "all"),
        ("repeat_scenes", repeat_scenes, False),
        ("train_branches", train_branches, 0),
    ):
        if value != default:
            config[key] = value
    return config


def _digits(n: int) -> int:
    return max(6, len(str(max(n - 1, 0))))


def image_filename(index: int, digits: int) -> str:
    return f"CCI_{index:0{digits}d}.png"


def _split(node: dict, depth: int) -> str:
    """An image's split is that of the pair it is the target of; the source's is train.

    The tree's last level is the test split (the paper's CCI: 1,110 training and 10,000
    test pairs at depth 4); a training branch is always train.
    """
    return "test" if node["level"] == depth and not node.get("branch") else "train"


def _scene_records(plan: list[dict], config: dict) -> list[dict[str, Any]]:
    width, height = config["size"]
    digits = _digits(len(plan))
    records = []
    for index, node in enumerate(plan):
        record = node["scene"].to_clevr_json(
            index, image_filename(index, digits), width, height, split=_split(node, config["depth"])
        )
        record["cci"] = {
            "level": node["level"],
            "parent": node["parent"],
            "change": node["change"],
            "instruction": node["instruction"],
            "rendered": node["rendered"],
        }
        if node.get("branch"):
            record["cci"]["branch"] = True
        records.append(record)
    return records


def _items_and_pairs(plan: list[dict], config: dict) -> tuple[list[Item], list[Pair]]:
    digits = _digits(len(plan))
    items: list[Item] = []
    pairs: list[Pair] = []
    image_ids: dict[int, str] = {}
    for index, node in enumerate(plan):
        text = describe_scene(node["scene"])
        if not node["rendered"]:
            items.append(
                Item(
                    id=f"cci-text-{index:0{digits}d}",
                    modality="text",
                    text=text,
                    scene=index,
                    split="train",
                )
            )
            continue
        split = _split(node, config["depth"])
        image_ids[index] = f"cci-{index:0{digits}d}"
        items.append(
            Item(
                id=image_ids[index],
                modality="image",
                path=f"images/{image_filename(index, digits)}",
                text=text,
                scene=index,
                split=split,
            )
        )
        if node["parent"] is not None:
            pairs.append(
                Pair(image_ids[node["parent"]], image_ids[index], node["instruction"], split)
            )
    return items, pairs
