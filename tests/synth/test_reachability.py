"""Reachable neighbours by hashing, against an O(N^2) brute force written from DESIGN.md."""

import itertools

import numpy as np
import pytest

from textmanifold.errors import DataFormatError
from textmanifold.synth.changes import sample_changes
from textmanifold.synth.reachability import mean_neighbours, reachable_pairs
from textmanifold.synth.scene import COLORS, MATERIALS, SHAPES, SIZES, Camera, random_scene

W, H = 64, 48


def _objects(scene) -> dict[int, tuple]:
    return {o.id: (o.color, o.shape, o.material, o.size, (o.x, o.y)) for o in scene.objects}


def brute_force(scenes) -> np.ndarray:
    """Compare every pair of scenes object by object, straight from the definition."""
    n = len(scenes)
    out = np.zeros((n, n), dtype=bool)
    for i, j in itertools.combinations(range(n), 2):
        a, b = _objects(scenes[i]), _objects(scenes[j])
        if a.keys() == b.keys():
            differing = [(a[k], b[k]) for k in a if a[k] != b[k]]
            one_attribute = (
                len(differing) == 1 and sum(x != y for x, y in zip(*differing[0], strict=True)) == 1
            )
            out[i, j] = one_attribute
        else:
            small, big = (a, b) if len(a) < len(b) else (b, a)
            out[i, j] = (
                len(big) == len(small) + 1
                and small.keys() <= big.keys()
                and all(small[k] == big[k] for k in small)
            )
        out[j, i] = out[i, j]
    return out


def _tree(seed: int, branching: int):
    rng = np.random.default_rng(seed)
    root = random_scene(rng)
    scenes, parents = [root], []
    for child in sample_changes(rng, root, branching, W, H):
        scenes.append(child.scene)
        parents.append((0, len(scenes) - 1))
        parent_index = len(scenes) - 1
        for grandchild in sample_changes(rng, child.scene, branching, W, H):
            scenes.append(grandchild.scene)
            parents.append((parent_index, len(scenes) - 1))
    return scenes, parents


@pytest.mark.parametrize("seed", [0, 1])
def test_depth_two_tree_equals_brute_force(seed):
    scenes, parents = _tree(seed, branching=6)
    got = reachable_pairs(scenes)
    assert got.shape == (43, 43) and got.dtype == bool
    np.testing.assert_array_equal(got.toarray(), brute_force(scenes))
    for parent, child in parents:  # one change is one step
        assert got[parent, child] and got[child, parent]


def _mutate(rng, scene):
    """A random relative: 0-3 attribute edits, an add, a drop, a duplicate, a camera move."""
    kind = rng.integers(6)
    if kind == 0:
        return scene.with_camera(Camera(azimuth=float(rng.uniform(-60, 0))))  # duplicate
    if kind == 1 and len(scene.objects) > 1:
        return scene.drop_object(scene.objects[int(rng.integers(len(scene.objects)))].id)
    if kind == 2:
        obj = scene.objects[0].with_changes(id=scene.next_id, x=float(rng.uniform(-3, 3)))
        return scene.add_object(obj)
    for _ in range(int(rng.integers(1, 4))):
        obj = scene.objects[int(rng.integers(len(scene.objects)))]
        field = ("color", "shape", "material", "size", "x")[int(rng.integers(5))]
        value = {
            "color": list(COLORS),
            "shape": SHAPES,
            "material": MATERIALS,
            "size": list(SIZES),
            "x": [obj.x, obj.x + 0.5],
        }[field]
        scene = scene.replace_object(obj.with_changes(**{field: value[int(rng.integers(2))]}))
    return scene


@pytest.mark.parametrize("seed", range(4))
def test_random_scene_sets_with_adds_drops_and_duplicates_equal_brute_force(seed):
    rng = np.random.default_rng(seed)
    scenes = [random_scene(rng, 2, 4) for _ in range(3)]
    for _ in range(60):
        scenes.append(_mutate(rng, scenes[int(rng.integers(len(scenes)))]))
    expected = brute_force(scenes)
    got = reachable_pairs(scenes)
    np.testing.assert_array_equal(got.toarray(), expected)
    assert expected.sum() > 20  # the set really has neighbours to find


def test_hand_example_and_duplicates():
    base = random_scene(np.random.default_rng(3), 3, 3)
    first = base.objects[0]
    recoloured = base.replace_object(
        first.with_changes(color="red" if first.color != "red" else "blue")
    )
    dropped = base.drop_object(first.id)
    twice = recoloured.replace_object(
        recoloured.objects[1].with_changes(
            material="metal" if recoloured.objects[1].material == "rubber" else "rubber"
        )
    )
    duplicate = base.with_camera(Camera(azimuth=-30.0))
    got = reachable_pairs([base, recoloured, dropped, twice, duplicate]).toarray()
    expected = np.array(
        [
            [0, 1, 1, 0, 0],  # base: one colour away, one object more than `dropped`
            [1, 0, 1, 1, 1],  # recoloured minus its first object is `dropped`
            [1, 1, 0, 0, 1],
            [0, 1, 0, 0, 0],  # two attributes from base
            [0, 1, 1, 0, 0],  # identical to base: not its neighbour, shares its neighbours
        ],
        dtype=bool,
    )
    np.testing.assert_array_equal(got, expected)


def test_clevr_dicts_give_the_same_relation_and_ids_default_to_position():
    scenes, _ = _tree(2, branching=3)
    dicts = [s.to_clevr_json(i, f"{i}.png", W, H) for i, s in enumerate(scenes)]
    np.testing.assert_array_equal(
        reachable_pairs(dicts).toarray(), reachable_pairs(scenes).toarray()
    )
    without_ids = [
        {
            "objects": [
                {k: v for k, v in o.items() if k != "id"}
                for o in sorted(d["objects"], key=lambda o: o["id"])
            ]
        }
        for d in dicts[:1]
    ]
    assert reachable_pairs(without_ids).shape == (1, 1)
    with pytest.raises(DataFormatError, match="scene 0"):
        reachable_pairs([{"objects": [{"color": "red"}]}])


def test_mean_neighbours():
    scenes, _ = _tree(0, branching=3)
    reach = reachable_pairs(scenes)
    dense = brute_force(scenes)
    assert mean_neighbours(reach) == pytest.approx(dense.sum(axis=1).mean())
    subset = [0, 1, 2]
    assert mean_neighbours(reach, subset) == pytest.approx(
        dense[np.ix_(subset, subset)].sum(axis=1).mean()
    )
    assert mean_neighbours(reachable_pairs([])) == 0.0
