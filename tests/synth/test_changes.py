"""Semantic changes: exactly the intended difference, instructions naming the right object,
unique and minimal referring expressions, distinct valid children.

References: object-by-object comparison of the scenes, an independent parser that reads
an instruction's words back and finds the objects they describe in the scene, brute force
over attribute subsets, and :func:`scene.is_free` for the spacing rules.
"""

import itertools
import re

import numpy as np
import pytest

from textmanifold.errors import InputError
from textmanifold.synth.changes import (
    KINDS,
    ChangeSpec,
    apply_change,
    count_changes,
    enumerate_changes,
    sample_changes,
)
from textmanifold.synth.instructions import TEMPLATES
from textmanifold.synth.referring import refer
from textmanifold.synth.render import is_visible
from textmanifold.synth.scene import (
    COLORS,
    MATERIALS,
    SHAPES,
    SIZES,
    Object,
    Scene,
    free_position,
    is_free,
    random_scene,
)
from textmanifold.synth.spacing import free_mask, layout_ok

W, H = 80, 60
WORDS = {
    **{c: ("color", c) for c in COLORS},
    **{s: ("size", s) for s in SIZES},
    **{m: ("material", m) for m in MATERIALS},
    **{s: ("shape", s) for s in SHAPES},
}
WORDS.update({"object": None, "thing": None})
SUPERLATIVE = {"leftmost": "left", "rightmost": "right", "frontmost": "front", "rearmost": "behind"}
RELATION = [
    ("left of", "left"),
    ("right of", "right"),
    ("in front of", "front"),
    ("behind", "behind"),
]


# ----------------------------------------------------------------------------- reader


def read_phrase(scene: Scene, phrase: str) -> list[Object]:
    """The objects a noun phrase ("red cube that is left of the sphere") describes."""
    dirs = scene.camera.ground_directions()
    for words, relation in RELATION:
        head, sep, anchor_phrase = phrase.partition(f" that is {words} the ")
        if sep:
            anchors = read_phrase(scene, anchor_phrase)
            assert len(anchors) == 1, f"anchor {anchor_phrase!r} is ambiguous"
            a, d = anchors[0], dirs[relation]
            return [
                o for o in read_phrase(scene, head) if (o.x - a.x) * d[0] + (o.y - a.y) * d[1] > 0
            ]
    words = phrase.split()
    superlative = SUPERLATIVE.get(words[0])
    if superlative:
        words = words[1:]
    wanted = [WORDS[w] for w in words if WORDS[w] is not None]
    assert words[-1] in SHAPES or words[-1] in ("object", "thing"), phrase
    hits = [o for o in scene.objects if all(getattr(o, k) == v for k, v in wanted)]
    if superlative and hits:
        d = dirs[superlative]
        best = max(o.x * d[0] + o.y * d[1] for o in hits)
        hits = [o for o in hits if o.x * d[0] + o.y * d[1] == best]
    return hits


def parse_instruction(kind: str, text: str) -> dict[str, str]:
    """Match the instruction against its kind's templates; the named fields' words."""
    vocabulary = "|".join([*COLORS, *SHAPES, *SIZES, *MATERIALS])
    words = "|".join([*WORDS, *SUPERLATIVE])
    simple = f"(?:(?:{words}) )*(?:{words})"
    relations = "|".join(words for words, _ in RELATION)
    ref = f"{simple}(?: that is (?:{relations}) the {simple})?"
    fields = {
        "ref": ref,
        "anchor": ref,
        "new": vocabulary,
        "new_material": "metallic|shiny metal|metal|rubber|matte rubber",
        "new_object": r"\w+ \w+ \w+ \w+",
        "where": "|".join(
            ["to the left of", "to the right of", "left of", "right of", "in front of", "behind"]
        ),
    }
    for template in TEMPLATES[kind]:
        pattern = re.escape(template)
        for name, alternatives in fields.items():
            pattern = pattern.replace(re.escape("{" + name + "}"), f"(?P<{name}>{alternatives})")
        match = re.fullmatch(pattern, text)
        if match:
            return match.groupdict()
    raise AssertionError(f"{text!r} matches no {kind} template")


# ----------------------------------------------------------------------------- changes


def _records(scene):
    return {
        o.id: (o.color, o.shape, o.material, o.size, o.x, o.y, o.rotation) for o in scene.objects
    }


def _scene_with_twins() -> Scene:
    objects = (
        Object(0, "cube", "red", "rubber", "small", -2.0, 1.0),
        Object(1, "cube", "red", "rubber", "small", 1.5, -1.5),
        Object(2, "sphere", "blue", "metal", "large", 0.5, 2.0),
        Object(3, "cylinder", "gray", "rubber", "large", -1.0, -1.8),
    )
    scene = Scene(objects)
    assert layout_ok(scene) and is_visible(scene, W, H)
    return scene


SCENES = [random_scene(np.random.default_rng(s), 3, 6) for s in range(3)] + [_scene_with_twins()]


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("scene_index", range(len(SCENES)))
def test_each_change_does_exactly_what_it_says(kind, scene_index):
    scene = SCENES[scene_index]
    rng = np.random.default_rng(scene_index)
    specs = [s for s in enumerate_changes(scene) if s.kind == kind]
    checked = 0
    for spec in [specs[int(i)] for i in rng.permutation(len(specs))[:6]]:
        child = apply_change(rng, scene, spec, W, H)
        if child is None:
            continue
        checked += 1
        before, after = _records(scene), _records(child.scene)
        fields = parse_instruction(kind, child.instruction)
        assert child.scene.camera != scene.camera  # the distractor
        dirs = scene.camera.ground_directions()
        if kind in ("color", "material", "shape", "size"):
            slot = ("color", "shape", "material", "size").index(kind)
            assert before.keys() == after.keys()
            diff = [k for k in before if before[k] != after[k]]
            assert diff == [spec.object_id]
            old, new = before[spec.object_id], after[spec.object_id]
            assert [i for i in range(7) if old[i] != new[i]] == [slot]
            assert new[slot] == spec.new == child.change.new
            assert spec.new in (fields.get("new") or fields.get("new_material"))
        elif kind == "drop":
            assert after == {k: v for k, v in before.items() if k != spec.object_id}
        elif kind == "add":
            assert {k: v for k, v in after.items() if k in before} == before
            (new_id,) = after.keys() - before.keys()
            assert new_id == scene.next_id == child.scene.next_id - 1
            size, color, material, shape = spec.new
            assert after[new_id][:4] == (color, shape, material, size)
            assert fields["new_object"] == f"{size} {color} {material} {shape}"
        else:  # move: only the position, now in the named relation to the anchor
            diff = [k for k in before if before[k] != after[k]]
            assert diff == [spec.object_id]
            assert before[spec.object_id][:4] == after[spec.object_id][:4]
        if kind in ("add", "move"):
            (anchor,) = read_phrase(scene, fields["anchor"])
            assert anchor.id == spec.anchor_id
            moved = child.scene.object(spec.object_id)
            d = dirs[spec.relation]
            assert (moved.x - anchor.x) * d[0] + (moved.y - anchor.y) * d[1] > 0
        if kind != "add":  # the words pick out the changed object, and only it
            assert [o.id for o in read_phrase(scene, fields["ref"])] == [spec.object_id]
        # CLEVR spacing under both cameras, and visibility, checked with scene.is_free
        for camera_scene in (child.scene, child.scene.with_camera(scene.camera)):
            assert all(
                is_free(camera_scene, o.x, o.y, o.radius, o.id) for o in camera_scene.objects
            )
        assert is_visible(child.scene, W, H)
    assert checked > 0 or (kind == "drop" and len(scene.objects) <= 2)


# ----------------------------------------------------------------------------- references


def test_references_are_unique_and_use_the_fewest_attributes():
    scenes = [random_scene(np.random.default_rng(s), 5, 9) for s in range(12)]
    scenes.append(_scene_with_twins())
    tiers = set()
    for scene in scenes:
        dirs = scene.camera.ground_directions()
        for obj in scene.objects:
            ref = refer(scene, obj.id, dirs)
            assert ref is not None
            assert [o.id for o in read_phrase(scene, ref.text("thing"))] == [obj.id]
            unique_sizes = [
                k
                for k in range(1, 5)
                for names in itertools.combinations(("shape", "color", "size", "material"), k)
                if sum(all(getattr(o, n) == getattr(obj, n) for n in names) for o in scene.objects)
                == 1
            ]
            if unique_sizes:
                assert ref.relation is None and ref.superlative is None
                assert len(ref.attributes) == min(unique_sizes)
            tiers.add(
                "attributes" if unique_sizes else "relation" if ref.relation else "superlative"
            )
    assert {"attributes", "relation"} <= tiers


def test_identical_twins_get_a_relation_or_superlative():
    scene = _scene_with_twins()
    for object_id in (0, 1):
        ref = refer(scene, object_id)
        assert ref.relation is not None or ref.superlative is not None
        assert [o.id for o in read_phrase(scene, ref.text())] == [object_id]


def test_twins_without_a_unique_anchor_get_a_superlative():
    rng = np.random.default_rng(0)
    scene = Scene(())
    for object_id, (shape, color) in enumerate(
        [("cube", "red"), ("cube", "red"), ("sphere", "blue"), ("sphere", "blue")]
    ):
        x, y = free_position(rng, scene, SIZES["small"])
        scene = scene.add_object(Object(object_id, shape, color, "rubber", "small", x, y))
    for obj in scene.objects:
        ref = refer(scene, obj.id)
        assert ref.superlative is not None and ref.relation is None
        assert [o.id for o in read_phrase(scene, ref.text())] == [obj.id]


# ----------------------------------------------------------------------------- sampling


def test_count_matches_enumeration_and_changes_are_distinct():
    for scene in SCENES:
        specs = list(enumerate_changes(scene))
        assert count_changes(scene) == len(specs) == len(set(specs))


def test_sample_changes_gives_distinct_valid_children_deterministically():
    scene = SCENES[0]
    children = sample_changes(np.random.default_rng(7), scene, 12, W, H)
    again = sample_changes(np.random.default_rng(7), scene, 12, W, H)
    assert [c.instruction for c in children] == [c.instruction for c in again]
    assert [c.scene for c in children] == [c.scene for c in again]
    contents = {tuple(sorted(_records(c.scene).items())) for c in children}
    assert len(contents) == 12 and tuple(sorted(_records(scene).items())) not in contents
    assert len({c.change.kind for c in children}) >= 4


def test_too_many_changes_is_an_input_error():
    scene = SCENES[0]
    with pytest.raises(InputError, match="allows only"):
        sample_changes(np.random.default_rng(0), scene, count_changes(scene) + 1, W, H)


def test_a_change_that_breaks_spacing_is_refused():
    dirs = Scene(()).camera.ground_directions()
    spot = dirs["right"] + dirs["behind"]  # 1.41 apart, 1.0 along each direction
    scene = Scene(
        (
            Object(0, "cube", "red", "rubber", "small", 0.0, 0.0),
            Object(1, "sphere", "blue", "metal", "large", spot[0], spot[1]),
        )
    )
    assert layout_ok(scene)
    grow = ChangeSpec("size", 0, "large")  # footprints would leave 0.01 < MIN_GAP
    assert apply_change(np.random.default_rng(0), scene, grow, W, H) is None
    for child in sample_changes(np.random.default_rng(0), scene, 20, W, H):
        assert child.change.to_record() != {
            "type": "size",
            "object": 0,
            "attribute": "size",
            "old": "small",
            "new": "large",
            "anchor": None,
            "relation": None,
        }


def test_free_mask_agrees_with_is_free():
    rng = np.random.default_rng(0)
    free = []
    for scene in SCENES:
        dirs = scene.camera.ground_directions()
        xs, ys = rng.uniform(-3.2, 3.2, size=(2, 300))
        for radius in SIZES.values():
            got = free_mask(scene, xs, ys, radius, dirs)
            expected = [
                is_free(scene, float(x), float(y), radius) for x, y in zip(xs, ys, strict=True)
            ]
            np.testing.assert_array_equal(got, expected)
            free.extend(got)
        moved = scene.objects[0]
        got = free_mask(scene, xs, ys, moved.radius, dirs, ignore_id=moved.id)
        np.testing.assert_array_equal(
            got,
            [
                is_free(scene, float(x), float(y), moved.radius, moved.id)
                for x, y in zip(xs, ys, strict=True)
            ],
        )
        assert layout_ok(scene) == all(
            is_free(scene, o.x, o.y, o.radius, o.id) for o in scene.objects
        )
    assert 0 < sum(free) < len(free)  # both answers occur
    verdicts = []
    for k in range(40):  # layouts with one object dropped somewhere at random
        scene = SCENES[k % len(SCENES)]
        obj = scene.objects[k % len(scene.objects)]
        x, y = rng.uniform(-3, 3, size=2)
        moved = scene.replace_object(obj.with_changes(x=float(x), y=float(y)))
        verdicts.append(layout_ok(moved))
        assert verdicts[-1] == all(is_free(moved, o.x, o.y, o.radius, o.id) for o in moved.objects)
    assert 0 < sum(verdicts) < len(verdicts)
