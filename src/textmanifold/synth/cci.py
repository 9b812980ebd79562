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

Nodes are numbered breadth first: node ``k`` of level ``L`` has the global index
``offset(L) + k`` and children ``k * b .. k * b + b - 1`` of level ``L + 1``. Every
random choice comes from a generator seeded by ``(seed, purpose, level, k)``, so the
tree does not depend on the number of workers, on the order of work or on resuming.

The work runs in two passes: planning (cheap: changes, visibility masks) level by
level, then rendering (costly) in parallel; images already on disk that decode
completely are kept when resuming.
"""

from __future__ import annotations

import itertools
import os
from pathlib import Path
from typing import Any

import numpy as np

from ..collection import Item, Pair, write_collection
from ..errors import InputError
from ..outputs import check_output_dir
from . import render
from .changes import KINDS, Child, count_changes, preset_kinds, propose_changes
from .describe import describe_scene
from .output import ordered_map, process_pool, render_missing, write_scenes_first
from .reachability import object_records, reachable_pairs
from .scene import Scene, random_scene

# Purposes of the seeded generators (fixed-length spawn keys never collide).
SOURCE, CHILDREN, TEXT_ONLY, BRANCH = 1, 2, 3, 4
# Objects in the source scene, per change preset (CLEVR-Change: 3-10).
SOURCE_OBJECTS = {"all": (3, 6), "clevr-change": (3, 10)}
SOURCE_TRIES = 1000
NAME = "CCI"


def node_rng(seed: int, purpose: int, level: int, index: int) -> np.random.Generator:
    """The generator for one purpose at one tree position."""
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(purpose, level, index)))


def source_scene(seed: int, width: int, height: int, changes: str = "all") -> Scene:
    """The random source scene: re-drawn until every object is visible."""
    rng = node_rng(seed, SOURCE, 0, 0)
    low, high = SOURCE_OBJECTS[changes]
    for _ in range(SOURCE_TRIES):
        scene = random_scene(rng, low, high)
        if render.is_visible(scene, width, height):
            return scene
    raise InputError(f"no source scene with every object visible at {width}x{height}")


def text_only_parent(seed: int, j: int, tree_size: int) -> int:
    """Which tree node the ``j``-th text-only scene changes."""
    return int(node_rng(seed, TEXT_ONLY, 0, j).integers(tree_size))


def propose(task: tuple) -> list[Child]:
    """Up to ``want`` candidate children of one node.

    ``task`` is ``(seed, purpose, level, index, scene, want, width, height[, kinds])``
    (``kinds`` defaults to every change kind); the first candidates do not depend on
    ``want``.
    """
    seed, purpose, level, index, scene, want, width, height, *rest = task
    kinds = rest[0] if rest else KINDS
    rng = node_rng(seed, purpose, level, index)
    return list(itertools.islice(propose_changes(rng, scene, width, height, kinds), want))


def _take_new(
    task: tuple, proposals: list[Child], need: int, seen: set | None, where: str
) -> list[Child]:
    """The first ``need`` candidates whose scenes are new to the whole collection.

    Asks the node for twice as many candidates (in this process) when too few are new;
    ``seen`` (object records of every scene so far) grows by the ones taken. With
    ``seen=None`` (scenes may repeat) the first ``need`` candidates are taken; they still
    differ from their parent and from each other.
    """
    while True:
        taken = [c for c in proposals if seen is None or object_records(c.scene) not in seen][:need]
        if len(taken) == need:
            if seen is not None:
                seen.update(object_records(c.scene) for c in taken)
            return taken
        want = task[5]
        if len(proposals) < want:
            raise InputError(
                f"{where} allows only {len(taken)} changes that give new valid "
                f"scenes, {need} needed: lower the branching"
            )
        task = (*task[:5], 2 * want, *task[6:])
        proposals = propose(task)


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


# ----------------------------------------------------------------------------- planning


def plan_scenes(
    source: Scene, config: dict, pool=None, workers: int = 1, progress: bool = False
) -> list[dict]:
    """Every scene of the tree (breadth first), then the text-only ones.

    ``config`` holds ``seed``, ``depth``, ``branching``, ``size`` and
    ``text_only_scenes`` (and optionally ``changes``, ``repeat_scenes``,
    ``train_branches``); ``pool`` is an optional multiprocessing pool of ``workers``.

    Each node: ``scene``, ``level``, ``parent`` (global index or None), ``change``
    (record), ``instruction``, ``rendered`` (bool), ``branch`` (an extra training
    branch). By default every scene is new: no two hold the same objects (see
    docs/decisions/cci.md). Candidates are drawn in parallel, with spares, and taken in
    node order, so the result does not depend on ``workers``.
    """
    seed, branching = config["seed"], config["branching"]
    width, height = config["size"]
    kinds = preset_kinds(config.get("changes", "all"))
    want = branching + max(2, branching // 2)
    nodes = [
        {
            "scene": source,
            "level": 0,
            "parent": None,
            "change": None,
            "instruction": None,
            "rendered": True,
            "branch": False,
        }
    ]
    seen = None if config.get("repeat_scenes") else {object_records(source)}

    def take(tasks, need, desc, parents, levels, rendered, branch=False):
        for task, proposals, parent, level in zip(
            tasks,
            ordered_map(propose, tasks, pool, workers, desc=desc, progress=progress),
            parents,
            levels,
            strict=True,
        ):
            for child in _take_new(task, proposals, need, seen, f"scene {parent}"):
                nodes.append(
                    {
                        "scene": child.scene,
                        "level": level,
                        "parent": parent,
                        "change": child.change.to_record(),
                        "instruction": child.instruction,
                        "rendered": rendered,
                        "branch": branch,
                    }
                )

    level_start = 0
    for level in range(config["depth"]):
        parents = list(range(level_start, len(nodes)))
        tasks = [
            (seed, CHILDREN, level, k, nodes[p]["scene"], want, width, height, kinds)
            for k, p in enumerate(parents)
        ]
        level_start = len(nodes)
        take(
            tasks,
            branching,
            f"planning level {level + 1}",
            parents,
            [level + 1] * len(parents),
            True,
        )
    tree_size = len(nodes)
    inner = level_start  # nodes above the last level: parents of the training branches
    parents = [
        int(node_rng(seed, BRANCH, 0, j).integers(inner))
        for j in range(config.get("train_branches", 0))
    ]
    tasks = [
        (seed, BRANCH, 1, j, nodes[p]["scene"], 3, width, height, kinds)
        for j, p in enumerate(parents)
    ]
    take(
        tasks,
        1,
        "planning training branches",
        parents,
        [nodes[p]["level"] + 1 for p in parents],
        True,
        branch=True,
    )
    parents = [text_only_parent(seed, j, tree_size) for j in range(config["text_only_scenes"])]
    tasks = [
        (seed, TEXT_ONLY, 1, j, nodes[p]["scene"], 3, width, height, kinds)
        for j, p in enumerate(parents)
    ]
    take(tasks, 1, "planning text-only", parents, [None] * len(parents), False)
    return nodes


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
