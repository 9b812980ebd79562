"""Planning the CCI tree: every scene, its parent, change and instruction, before rendering.

Nodes are numbered breadth first: node ``k`` of level ``L`` has the global index
``offset(L) + k`` and children ``k * b .. k * b + b - 1`` of level ``L + 1``. Every
random choice comes from a generator seeded by ``(seed, purpose, level, k)``
(:func:`node_rng`), so the tree does not depend on the number of workers, on the order
of work or on resuming. Planning is cheap (changes, visibility masks) and runs level by
level; :mod:`.cci` renders the plan and writes it as a Collection.
"""

from __future__ import annotations

import itertools

import numpy as np

from ..errors import InputError
from . import render
from .changes import KINDS, Child, preset_kinds, propose_changes
from .output import ordered_map
from .reachability import object_records
from .scene import Scene, random_scene

__all__ = [
    "BRANCH",
    "CHILDREN",
    "SOURCE",
    "SOURCE_OBJECTS",
    "TEXT_ONLY",
    "node_rng",
    "plan_scenes",
    "propose",
    "source_scene",
    "text_only_parent",
]

# Purposes of the seeded generators (fixed-length spawn keys never collide).
SOURCE, CHILDREN, TEXT_ONLY, BRANCH = 1, 2, 3, 4
# Objects in the source scene, per change preset (CLEVR-Change: 3-10).
SOURCE_OBJECTS = {"all": (3, 6), "clevr-change": (3, 10)}
SOURCE_TRIES = 1000


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
