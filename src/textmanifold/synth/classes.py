"""A labelled scene-category set for label retrieval: our stand-in for ADE20K.

Each of ``n_classes`` categories is a *prototype* scene; its members are perturbations of
it. Categories come in *themes* of ``classes_per_theme``: a theme is one random scene and
its categories' prototypes are that scene after ``prototype_edits`` semantic changes, so
sibling categories share most of their objects and overlap the way "bedroom" and "hotel
room" do, while categories of different themes are far apart. A member is its prototype
after ``member_edits`` further changes (drawn uniformly from the given range), every object
nudged on the ground (``position_jitter``) and the camera jittered. The changes are those
of the CCI generator (:func:`textmanifold.synth.changes.sample_changes`): colour, material,
shape, size, add, drop and move, each with a camera jitter.

Per category, ``images_per_class`` members are rendered and labelled; ``texts_per_class``
more exist only as descriptions (text is cheap, images are not: the paper's premise).

Written as a Collection::

    items.jsonl   image items (path, text = description, labels = [category], scene)
                  then text items (text, labels = [category], scene)
    scenes.json   the prototypes first (split "prototype"), then one scene per item;
                  every scene carries its "category"
    images/       PNG files
"""

from __future__ import annotations

import math
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
from scipy.optimize import linear_sum_assignment

from ..collection import Item, write_collection
from ..errors import InputError
from ..outputs import check_output_dir
from ..validation import check_interval, check_positive_int
from . import render
from .changes import layout_ok, sample_changes
from .describe import describe_scene
from .output import ordered_map, process_pool, render_missing, write_scenes_first
from .scene import ATTRIBUTES, Scene, random_scene

NAME = "scene-categories"
MEMBER_TRIES = 50  # perturbation draws per member before giving up


@dataclass(frozen=True)
class ClassesConfig:
    """Settings of a category set; every field is recorded in ``collection.json``.

    Attributes
    ----------
    n_classes : int
        Number of categories K.
    images_per_class, texts_per_class : int
        Rendered (labelled) members and description-only members per category.
    classes_per_theme : int
        Categories derived from one random theme scene (siblings overlap).
    prototype_edits : int
        Changes from a theme scene to each of its category prototypes.
    member_edits : (int, int)
        Inclusive range of changes from a prototype to a member.
    position_jitter : float
        Standard deviation (world units) of each object's ground nudge in a member.
    width, height : int
        Image size in pixels.
    seed : int
    """

    n_classes: int = 16
    images_per_class: int = 12
    texts_per_class: int = 60
    classes_per_theme: int = 4
    prototype_edits: int = 3
    member_edits: tuple[int, int] = (1, 2)
    position_jitter: float = 0.15
    width: int = 128
    height: int = 96
    seed: int = 0

    def validate(self) -> None:
        for name in ("n_classes", "images_per_class", "classes_per_theme"):
            check_positive_int(getattr(self, name), name)
        for name in ("texts_per_class", "prototype_edits", "position_jitter"):
            check_interval(name, getattr(self, name), 0)
        low, high = self.member_edits
        if not 0 <= low <= high:
            raise InputError(f"member_edits must be a range 0 <= low <= high, got {low}-{high}")
        render.check_render_size(self.width, self.height)

    def to_record(self) -> dict[str, Any]:
        record = asdict(self)
        record["member_edits"] = list(self.member_edits)
        return record


def category_name(k: int) -> str:
    return f"category-{k:02d}"


# ----------------------------------------------------------------------------- distance


def scene_edit_distance(a: Scene | dict, b: Scene | dict) -> int:
    """The fewest attribute changes, object additions and drops that turn ``a`` into ``b``.

    Objects are matched by an optimal assignment (positions and ids are ignored): a
    matched pair costs its number of differing attributes (color, shape, material,
    size); an unmatched object costs 1 (one add or one drop).
    """
    objs_a, objs_b = _attribute_tuples(a), _attribute_tuples(b)
    n, m = len(objs_a), len(objs_b)
    if n == 0 or m == 0:
        return n + m
    # Square (n + m) assignment: real pairs, then "drop a_i" / "add b_j" dummies.
    big = len(ATTRIBUTES) + 1
    cost = np.zeros((n + m, m + n))
    cost[:n, :m] = [
        [sum(x != y for x, y in zip(oa, ob, strict=True)) for ob in objs_b] for oa in objs_a
    ]
    cost[:n, m:] = np.where(np.eye(n, dtype=bool), 1, big)
    cost[n:, :m] = np.where(np.eye(m, dtype=bool), 1, big)
    rows, cols = linear_sum_assignment(cost)
    return int(round(cost[rows, cols].sum()))  # noqa: RUF046 (a float under numpy < 2)


def _attribute_tuples(scene: Scene | dict) -> list[tuple[str, ...]]:
    if isinstance(scene, Scene):
        return [tuple(getattr(o, k) for k in ATTRIBUTES) for o in scene.objects]
    return [tuple(o[k] for k in ATTRIBUTES) for o in scene["objects"]]


# ----------------------------------------------------------------------------- scenes


def perturb(
    rng: np.random.Generator, scene: Scene, n_edits: int, jitter: float, width: int, height: int
) -> Scene:
    """``scene`` after ``n_edits`` random semantic changes, a ground nudge of every object
    and the changes' camera jitters, with every object visible at ``width`` x ``height``.

    Raises
    ------
    InputError
        If no valid perturbation is found in :data:`MEMBER_TRIES` draws.
    """
    for _ in range(MEMBER_TRIES):
        current = scene.with_camera(scene.camera.jittered(rng))
        try:
            for _ in range(n_edits):
                current = sample_changes(rng, current, 1, width, height)[0].scene
        except InputError:
            continue
        current = _nudge(rng, current, jitter)
        if layout_ok(current) and render.is_visible(current, width, height):
            return current
    raise InputError(
        f"no valid perturbation with {n_edits} changes found in {MEMBER_TRIES} "
        f"draws; use a larger image size or fewer changes"
    )


def _nudge(rng: np.random.Generator, scene: Scene, sigma: float) -> Scene:
    """Move each object by a Gaussian step where it still keeps CLEVR's spacing rules."""
    if sigma == 0:
        return scene
    for obj in scene.objects:
        dx, dy = rng.normal(0.0, sigma, size=2)
        moved = scene.replace_object(obj.with_changes(x=obj.x + float(dx), y=obj.y + float(dy)))
        if layout_ok(moved):
            scene = moved
    return scene


@dataclass
class CategorySet:
    """The generated scenes: prototypes, and the members of each kind with their labels."""

    prototypes: list[Scene]
    images: list[tuple[Scene, int]]  # (scene, category index)
    texts: list[tuple[Scene, int]]


def category_scenes(config: ClassesConfig, workers: int = 1, progress: bool = False) -> CategorySet:
    """Draw every scene of the set, nothing rendered.

    Deterministic in ``config.seed`` whatever ``workers`` is: each theme and each category
    draws from its own generator (spawned from the seed), in its own task.
    """
    config.validate()
    n_themes = math.ceil(config.n_classes / config.classes_per_theme)
    theme_seeds, class_seeds = np.random.SeedSequence(config.seed).spawn(2)
    themes = [
        _visible_random_scene(np.random.default_rng(seq), config.width, config.height)
        for seq in theme_seeds.spawn(n_themes)
    ]
    tasks = [
        (config, themes[k // config.classes_per_theme], seq)
        for k, seq in enumerate(class_seeds.spawn(config.n_classes))
    ]
    workers = min(workers, len(tasks))
    with process_pool(workers) as pool:
        planned = list(
            ordered_map(
                _plan_category,
                tasks,
                pool,
                workers,
                desc="planning categories",
                unit="category",
                progress=progress,
            )
        )
    out = CategorySet([], [], [])
    for k, (prototype, images, texts) in enumerate(planned):
        out.prototypes.append(prototype)
        out.images += [(scene, k) for scene in images]
        out.texts += [(scene, k) for scene in texts]
    return out


def _plan_category(task) -> tuple[Scene, list[Scene], list[Scene]]:
    """One category: its prototype, then its image members, then its text members."""
    config, theme, seq = task
    rng = np.random.default_rng(seq)
    w, h = config.width, config.height
    low, high = config.member_edits
    prototype = perturb(rng, theme, config.prototype_edits, 0.0, w, h)
    members = [
        perturb(rng, prototype, int(rng.integers(low, high + 1)), config.position_jitter, w, h)
        for _ in range(config.images_per_class + config.texts_per_class)
    ]
    return prototype, members[: config.images_per_class], members[config.images_per_class :]


def _visible_random_scene(rng: np.random.Generator, width: int, height: int) -> Scene:
    for _ in range(MEMBER_TRIES):
        scene = random_scene(rng)
        if render.is_visible(scene, width, height):
            return scene
    raise InputError(f"no random scene with every object visible at {width}x{height}")


# ----------------------------------------------------------------------------- writing


def generate_classes(
    out_dir: str | os.PathLike,
    config: ClassesConfig | None = None,
    *,
    workers: int = 1,
    resume: bool = False,
    force: bool = False,
    progress: bool = True,
) -> Path:
    """Generate, render and write the category set as a Collection (see module docstring).

    Parameters
    ----------
    out_dir : path-like
        The collection directory; must be empty or absent unless ``resume``/``force``.
    config : ClassesConfig
    workers : int
        Rendering processes (the output does not depend on it).
    resume : bool
        Keep images already on disk that decode completely; render the rest. Refused
        when the directory was generated with other settings.
    force : bool
        Overwrite a non-empty ``out_dir``, re-rendering every image.
    progress : bool
        Show a progress bar while rendering.

    Returns
    -------
    Path
        The collection directory.
    """
    config = config or ClassesConfig()
    config.validate()
    check_positive_int(workers, "workers")
    out = Path(out_dir)
    check_output_dir(out, None, force=force, resume=resume)
    record = {"generator": "textmanifold.synth.classes", **config.to_record()}
    scenes = category_scenes(config, workers, progress)
    items, scene_json = _items_and_scenes(scenes, config)
    write_scenes_first(out, scene_json, resume)
    with process_pool(workers) as pool:
        render_missing(
            [s for s, _ in scenes.images],
            [out / it.path for it in items if it.modality == "image"],
            config.width,
            config.height,
            resume=resume,
            pool=pool,
            workers=workers,
            progress=progress,
            desc="rendering categories",
        )
    return write_collection(out, name=NAME, items=items, scenes=scene_json, config=record)


def _items_and_scenes(scenes: CategorySet, config: ClassesConfig) -> tuple[list[Item], list[dict]]:
    """Items and CLEVR scene records: prototypes, then image members, then text members."""
    w, h = config.width, config.height

    def record(scene: Scene, k: int, filename: str, split: str) -> dict:
        data = scene.to_clevr_json(len(records), filename, w, h, split=split)
        data["category"] = category_name(k)
        return data

    records: list[dict] = []
    for k, prototype in enumerate(scenes.prototypes):
        records.append(record(prototype, k, "", "prototype"))
    items: list[Item] = []
    for i, (scene, k) in enumerate(scenes.images):
        item_id = f"img-{i:05d}"
        items.append(
            Item(
                id=item_id,
                modality="image",
                path=f"images/{item_id}.png",
                text=describe_scene(scene),
                labels=[category_name(k)],
                scene=len(records),
            )
        )
        records.append(record(scene, k, f"{item_id}.png", "image"))
    for i, (scene, k) in enumerate(scenes.texts):
        items.append(
            Item(
                id=f"txt-{i:05d}",
                modality="text",
                text=describe_scene(scene),
                labels=[category_name(k)],
                scene=len(records),
            )
        )
        records.append(record(scene, k, "", "text"))
    return items, records
