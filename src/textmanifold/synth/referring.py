"""Referring expressions: words that pick exactly one object out of a scene.

An instruction such as "change the small red cube to blue" must name its object
unambiguously. :func:`refer` finds the shortest description that does it, in three tiers:

1. the fewest attributes (subsets of shape, color, size, material, smallest first) that
   match only this object: "the cube", "the red object", "the small red metal cube";
2. otherwise a spatial relation to another object that attributes alone pick out:
   "the cube that is left of the red sphere" (fewest attributes again);
3. otherwise a superlative among its identical twins: "the leftmost small red metal cube".

Spatial words follow CLEVR: ``a`` is *left of* ``b`` when ``a - b`` points along the
camera's ground direction "left" (any positive amount; the placement rules keep every
pair of objects at least ``DIRECTION_MARGIN`` apart along these directions, so the
relation is never ambiguous).
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations

import numpy as np

from .scene import Object, Scene

SEARCH_ORDER: tuple[str, ...] = ("shape", "color", "size", "material")
WORD_ORDER: tuple[str, ...] = ("size", "color", "material", "shape")  # "small red rubber cube"
RELATIONS: tuple[str, ...] = ("left", "right", "front", "behind")
RELATION_WORDS = {
    "left": "left of",
    "right": "right of",
    "front": "in front of",
    "behind": "behind",
}
SUPERLATIVE_WORDS = {
    "left": "leftmost",
    "right": "rightmost",
    "front": "frontmost",
    "behind": "rearmost",
}


@dataclass(frozen=True)
class Reference:
    """A structured referring expression.

    ``attributes`` are ``(attribute, value)`` pairs the object must have; with
    ``relation`` and ``anchor`` it must also lie in that direction from the anchor's
    object; with ``superlative`` it is the one furthest in that direction among the
    objects matching ``attributes``.
    """

    attributes: tuple[tuple[str, str], ...]
    relation: str | None = None
    anchor: Reference | None = None
    superlative: str | None = None

    def has(self, obj: Object) -> bool:
        """Whether ``obj`` has every attribute named."""
        return all(getattr(obj, name) == value for name, value in self.attributes)

    def text(self, noun: str = "object") -> str:
        """The words, without article: ``noun`` stands in when the shape is not named."""
        values = dict(self.attributes)
        words = [values[name] for name in WORD_ORDER[:3] if name in values]
        words.append(values.get("shape", noun))
        if self.superlative:
            words.insert(0, SUPERLATIVE_WORDS[self.superlative])
        phrase = " ".join(words)
        if self.relation is not None and self.anchor is not None:
            # "that is" keeps "move the cube that is left of the sphere behind the cone"
            # readable one way only.
            phrase += f" that is {RELATION_WORDS[self.relation]} the {self.anchor.text(noun)}"
        return phrase


def directions_of(scene: Scene) -> dict[str, np.ndarray]:
    """The scene camera's ground directions (left, right, front, behind)."""
    return scene.camera.ground_directions()


def offset_along(a: Object, b: Object, direction: np.ndarray) -> float:
    """How far ``a`` lies from ``b`` along a ground ``direction`` (world units)."""
    return float((a.x - b.x) * direction[0] + (a.y - b.y) * direction[1])


def resolve(scene: Scene, ref: Reference, directions: dict[str, np.ndarray]) -> list[Object]:
    """The objects of ``scene`` that ``ref`` describes (a good reference gives one)."""
    matching = [o for o in scene.objects if ref.has(o)]
    if ref.relation is not None and ref.anchor is not None:
        anchors = resolve(scene, ref.anchor, directions)
        if len(anchors) != 1:
            return []
        d = directions[ref.relation]
        matching = [o for o in matching if offset_along(o, anchors[0], d) > 0]
    if ref.superlative is not None and matching:
        d = directions[ref.superlative]
        scores = [o.x * d[0] + o.y * d[1] for o in matching]
        best = max(scores)
        matching = [o for o, s in zip(matching, scores, strict=True) if s == best]
    return matching


def _attribute_subsets(obj: Object):
    for k in range(1, len(SEARCH_ORDER) + 1):
        for names in combinations(SEARCH_ORDER, k):
            yield tuple((name, getattr(obj, name)) for name in names)


def refer_by_attributes(scene: Scene, object_id: int) -> Reference | None:
    """The fewest attributes that match only this object, or None if it has a twin."""
    target = scene.object(object_id)
    for attributes in _attribute_subsets(target):
        ref = Reference(attributes)
        if sum(ref.has(o) for o in scene.objects) == 1:
            return ref
    return None


def refer(
    scene: Scene, object_id: int, directions: dict[str, np.ndarray] | None = None
) -> Reference | None:
    """The shortest unambiguous :class:`Reference` to an object, or None if none exists.

    None happens only when identical objects share every extreme position and no other
    object can anchor a relation (e.g. three identical cubes); callers then choose
    another change.
    """
    ref = refer_by_attributes(scene, object_id)
    if ref is not None:
        return ref
    directions = directions if directions is not None else directions_of(scene)
    target = scene.object(object_id)
    anchors = [(o, refer_by_attributes(scene, o.id)) for o in scene.objects if o.id != object_id]
    anchors = [(o, r) for o, r in anchors if r is not None]
    for attributes in _attribute_subsets(target):
        matching = [o for o in scene.objects if Reference(attributes).has(o)]
        for anchor, anchor_ref in anchors:
            for relation in RELATIONS:
                d = directions[relation]
                hits = [o for o in matching if offset_along(o, anchor, d) > 0]
                if len(hits) == 1 and hits[0].id == object_id:
                    return Reference(attributes, relation, anchor_ref)
    full = next(a for a in _attribute_subsets(target) if len(a) == len(SEARCH_ORDER))
    for direction in RELATIONS:
        ref = Reference(full, superlative=direction)
        hits = resolve(scene, ref, directions)
        if len(hits) == 1 and hits[0].id == object_id:
            return ref
    return None
