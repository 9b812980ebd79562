"""Semantic changes of a scene, each with a camera-jitter distractor and an instruction.

A change is one of color, material, shape, size (one attribute of one object), add,
drop (one object) or move (one object's position, relative to another object). Every
change also moves the camera a little (:meth:`Camera.jittered`) so that no two images
are alike, as in the paper. A change is *valid* when the new scene keeps CLEVR's
spacing rules under both the old camera (the frame the instruction's "left of" speaks
in) and the new one (the frame of the image), and every object stays visible at the
image size; an invalid draw is re-sampled.

:func:`enumerate_changes` lists the distinct changes a scene allows, before positions
and cameras are drawn (a move or an add is one change per relation and anchor object);
:func:`sample_changes` draws distinct valid ones.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import numpy as np

from ..errors import InputError
from ..validation import check_option
from . import render
from .change_types import ATTRIBUTE_KINDS, KINDS, Change, ChangeSpec, Child
from .instructions import instruction
from .reachability import object_records
from .referring import RELATIONS, Reference, directions_of, offset_along, refer
from .scene import (
    COLORS,
    MATERIALS,
    SHAPES,
    SIZES,
    WORLD_HALF_WIDTH,
    Object,
    Scene,
)
from .spacing import free_mask, layout_ok

VALUES: dict[str, tuple[str, ...]] = {
    "color": tuple(COLORS),
    "material": MATERIALS,
    "shape": SHAPES,
    "size": tuple(SIZES),
}
NEW_OBJECTS: tuple[tuple[str, str, str, str], ...] = tuple(
    itertools.product(SIZES, COLORS, MATERIALS, SHAPES)
)  # (size, color, material, shape)
MIN_OBJECTS, MAX_OBJECTS = 2, 10
# Named sets of change kinds (``--changes``): "all" is this project's CCI; "clevr-change"
# the five change types of CLEVR-Change (Park et al. 2019), which CCI iterates.
CHANGE_PRESETS: dict[str, tuple[str, ...]] = {
    "all": KINDS,
    "clevr-change": ("color", "material", "add", "drop", "move"),
}


def preset_kinds(name: str) -> tuple[str, ...]:
    """The change kinds of a preset name (see :data:`CHANGE_PRESETS`)."""
    return CHANGE_PRESETS[check_option("--changes", name, CHANGE_PRESETS)]


ATTEMPTS = 8  # camera (and position) draws per change before it counts as invalid
POSITION_TRIES = 100  # positions drawn per attempt for add and move


# ----------------------------------------------------------------------------- enumerating


def _is_of(a: Object, b: Object, relation: str, directions) -> bool:
    return offset_along(a, b, directions[relation]) > 0


def _specs_of_kind(scene: Scene, kind: str, directions) -> Iterator[ChangeSpec]:
    objects = scene.objects
    if kind in ATTRIBUTE_KINDS:
        yield from _attribute_specs(objects, kind)
    elif kind == "drop" and len(objects) > MIN_OBJECTS:
        for obj in objects:
            yield ChangeSpec("drop", obj.id)
    elif kind == "move":
        yield from _move_specs(objects, directions)
    elif kind == "add" and len(objects) < MAX_OBJECTS:
        for new, anchor, relation in itertools.product(NEW_OBJECTS, objects, RELATIONS):
            yield ChangeSpec("add", scene.next_id, new, anchor.id, relation)


def _attribute_specs(objects, kind: str) -> Iterator[ChangeSpec]:
    for obj in objects:
        for value in VALUES[kind]:
            if value != getattr(obj, kind):
                yield ChangeSpec(kind, obj.id, value)


def _move_specs(objects, directions) -> Iterator[ChangeSpec]:
    for obj, anchor in itertools.permutations(objects, 2):
        for relation in RELATIONS:
            if not _is_of(obj, anchor, relation, directions):
                yield ChangeSpec("move", obj.id, None, anchor.id, relation)


def enumerate_changes(scene: Scene, kinds: tuple[str, ...] = KINDS) -> Iterator[ChangeSpec]:
    """Every distinct change of ``kinds`` the scene allows, kind by kind (see
    :func:`count_changes`)."""
    directions = directions_of(scene)
    for kind in kinds:
        yield from _specs_of_kind(scene, kind, directions)


def _count_of_kind(scene: Scene, kind: str) -> int:
    n = len(scene.objects)
    if kind in ATTRIBUTE_KINDS:
        return n * (len(VALUES[kind]) - 1)
    if kind == "drop":
        return n if n > MIN_OBJECTS else 0
    if kind == "move":  # of left/right one holds already, of front/behind too
        return n * (n - 1) * 2
    return len(NEW_OBJECTS) * n * len(RELATIONS) if n < MAX_OBJECTS else 0


def count_changes(scene: Scene, kinds: tuple[str, ...] = KINDS) -> int:
    """How many distinct changes :func:`enumerate_changes` lists, without listing them."""
    return sum(_count_of_kind(scene, kind) for kind in kinds)


class _SpecPool:
    """Draws untried changes: first a kind uniformly, then a change of it uniformly.

    Adds are too many to list per scene (96 objects x anchors x relations), so they are
    drawn by rejection against the set already tried.
    """

    def __init__(self, scene: Scene, directions, kinds: tuple[str, ...] = KINDS) -> None:
        self.scene, self.directions = scene, directions
        self.left = {kind: _count_of_kind(scene, kind) for kind in kinds}
        self.lists: dict[str, list[ChangeSpec]] = {}
        self.tried_adds: set[ChangeSpec] = set()

    def draw(self, rng: np.random.Generator) -> ChangeSpec | None:
        kinds = [kind for kind in self.left if self.left[kind] > 0]
        if not kinds:
            return None
        kind = kinds[int(rng.integers(len(kinds)))]
        self.left[kind] -= 1
        if kind == "add":
            return self._draw_add(rng)
        if kind not in self.lists:
            self.lists[kind] = list(_specs_of_kind(self.scene, kind, self.directions))
        specs = self.lists[kind]
        return specs.pop(int(rng.integers(len(specs))))

    def _draw_add(self, rng: np.random.Generator) -> ChangeSpec:
        objects = self.scene.objects
        while True:
            spec = ChangeSpec(
                "add",
                self.scene.next_id,
                NEW_OBJECTS[int(rng.integers(len(NEW_OBJECTS)))],
                objects[int(rng.integers(len(objects)))].id,
                RELATIONS[int(rng.integers(len(RELATIONS)))],
            )
            if spec not in self.tried_adds:
                self.tried_adds.add(spec)
                return spec


# ----------------------------------------------------------------------------- applying


def _position(
    rng,
    scene: Scene,
    anchor: Object,
    relation: str,
    radius: float,
    ignore_id: int | None,
    directions,
) -> tuple[float, float] | None:
    """A free ground position in ``relation`` to ``anchor``, or None.

    ``POSITION_TRIES`` uniform candidates are drawn at once; the first that fits wins.
    """
    xs, ys = rng.uniform(-WORLD_HALF_WIDTH, WORLD_HALF_WIDTH, size=(2, POSITION_TRIES))
    d = directions[relation]
    fits = ((xs - anchor.x) * d[0] + (ys - anchor.y) * d[1] > 0) & free_mask(
        scene, xs, ys, radius, directions, ignore_id
    )
    hits = np.flatnonzero(fits)
    return (float(xs[hits[0]]), float(ys[hits[0]])) if len(hits) else None


def _attributes(obj: Object) -> dict[str, str]:
    return {"size": obj.size, "color": obj.color, "material": obj.material, "shape": obj.shape}


def _semantic(rng, scene: Scene, spec: ChangeSpec, directions) -> tuple[Scene, Change] | None:
    """The scene after the change alone (old camera), or None if no position fits."""
    if spec.kind in ATTRIBUTE_KINDS:
        obj = scene.object(spec.object_id)
        old = getattr(obj, spec.kind)
        changed = scene.replace_object(obj.with_changes(**{spec.kind: spec.new}))
        return changed, Change(spec.kind, obj.id, spec.kind, old, spec.new)
    if spec.kind == "drop":
        obj = scene.object(spec.object_id)
        return (scene.drop_object(obj.id), Change("drop", obj.id, "object", _attributes(obj), None))
    anchor = scene.object(spec.anchor_id)
    if spec.kind == "move":
        obj = scene.object(spec.object_id)
        spot = _position(rng, scene, anchor, spec.relation, obj.radius, obj.id, directions)
        if spot is None:
            return None
        moved = scene.replace_object(obj.with_changes(x=spot[0], y=spot[1]))
        return moved, Change(
            "move", obj.id, "position", [obj.x, obj.y], list(spot), anchor.id, spec.relation
        )
    size, color, material, shape = spec.new
    spot = _position(rng, scene, anchor, spec.relation, SIZES[size], None, directions)
    if spot is None:
        return None
    new = Object(
        spec.object_id,
        shape,
        color,
        material,
        size,
        spot[0],
        spot[1],
        float(rng.uniform(0.0, 360.0)),
    )
    return scene.add_object(new), Change(
        "add", new.id, "object", None, _attributes(new), anchor.id, spec.relation
    )


def apply_change(
    rng: np.random.Generator, scene: Scene, spec: ChangeSpec, width: int, height: int
) -> Child | None:
    """Apply one change plus a camera jitter; None if no valid draw is found.

    Parameters
    ----------
    rng : numpy Generator
        Draws positions, the camera and the instruction's wording.
    scene : Scene
    spec : ChangeSpec
        One of :func:`enumerate_changes`'s changes of ``scene``.
    width, height : int
        Image size at which every object must stay visible.
    """
    directions = directions_of(scene)
    target: Reference | None = None
    if spec.kind != "add":
        target = refer(scene, spec.object_id, directions)
        if target is None:
            return None
    anchor: Reference | None = None
    if spec.anchor_id is not None:
        anchor = refer(scene, spec.anchor_id, directions)
        if anchor is None:
            return None
    for _ in range(ATTEMPTS):
        result = _semantic(rng, scene, spec, directions)
        if result is None:
            return None
        changed, change = result
        child = changed.with_camera(scene.camera.jittered(rng))
        if (
            layout_ok(changed, directions)
            and layout_ok(child)
            and render.is_visible(child, width, height)
        ):
            return Child(child, change, instruction(rng, change, target, anchor))
    return None


def propose_changes(
    rng: np.random.Generator, scene: Scene, width: int, height: int, kinds: tuple[str, ...] = KINDS
) -> Iterator[Child]:
    """Valid children of ``scene`` (changes of ``kinds``) in random order, each scene new,
    until none is left.

    The first ``n`` children do not depend on how many are taken later, which lets a
    caller ask for spares and still get the same first ``n``.
    """
    pool = _SpecPool(scene, directions_of(scene), kinds)
    seen = {object_records(scene)}
    while (spec := pool.draw(rng)) is not None:
        child = apply_change(rng, scene, spec, width, height)
        if child is None:
            continue
        key = object_records(child.scene)
        if key not in seen:  # distinct changes give distinct scenes; this guards it
            seen.add(key)
            yield child


def sample_changes(
    rng: np.random.Generator, scene: Scene, n: int, width: int, height: int
) -> list[Child]:
    """``n`` valid children of ``scene`` whose scenes differ from it and from each other.

    Raises
    ------
    InputError
        If the scene allows fewer than ``n`` distinct changes, or fewer than ``n`` of
        them can be applied validly.
    """
    allowed = count_changes(scene)
    if n > allowed:
        raise InputError(f"{n} changes asked, but the scene allows only {allowed}")
    children = list(itertools.islice(propose_changes(rng, scene, width, height), n))
    if len(children) < n:
        raise InputError(
            f"{n} changes asked, but only {len(children)} of the scene's "
            f"{allowed} changes keep every object visible and apart"
        )
    return children
