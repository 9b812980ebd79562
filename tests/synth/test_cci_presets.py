"""CCI closer to the paper: --changes clevr-change, --repeat-scenes, --train-branches.

The mean number of reachable neighbours printed by ``collection info`` is checked against
a brute-force reading of the definition over every pair of scenes.
"""

from __future__ import annotations

import itertools
import re

import numpy as np

from textmanifold.cli import main
from textmanifold.collection import read_collection, validate_collection
from textmanifold.synth.cci import generate_cci
from textmanifold.synth.changes import CHANGE_PRESETS
from textmanifold.synth.scene import Scene


def _records(scene: Scene) -> dict:
    return {o.id: (o.color, o.shape, o.material, o.size, (o.x, o.y)) for o in scene.objects}


def _brute_reachable(a: Scene, b: Scene) -> bool:
    """The definition, pair by pair: one attribute of one object, or one extra object."""
    ra, rb = _records(a), _records(b)
    if ra.keys() == rb.keys():
        diffs = [sum(x != y for x, y in zip(ra[k], rb[k], strict=True)) for k in ra]
        return sorted(diffs)[-1:] == [1] and sum(diffs) == 1
    small, big = (ra, rb) if len(ra) < len(rb) else (rb, ra)
    extra = big.keys() - small.keys()
    return len(big) == len(small) + 1 and len(extra) == 1 and all(big[k] == small[k] for k in small)


def _cli(capsys, *argv) -> tuple[int, str]:
    try:
        main(list(argv))
        code = 0
    except SystemExit as exc:
        code = exc.code
    return code, capsys.readouterr().out


def test_clevr_change_repeat_scenes_mean_neighbours_matches_brute_force(tmp_path, capsys):
    out = tmp_path / "cci"
    code, _ = _cli(
        capsys,
        "cci",
        "generate",
        str(out),
        "--depth",
        "2",
        "--branching",
        "4",
        "--size",
        "64x48",
        "--repeat-scenes",
        "--changes",
        "clevr-change",
        "--seed",
        "3",
    )
    assert code == 0
    coll = read_collection(out)
    assert validate_collection(out) == []
    scenes = [Scene.from_clevr_json(record) for record in coll.scenes]
    assert 3 <= len(scenes[0].objects) <= 10
    kinds = {record["cci"]["change"]["type"] for record in coll.scenes[1:]}
    assert kinds <= set(CHANGE_PRESETS["clevr-change"])
    n = len(scenes)
    degree = [0] * n
    for i, j in itertools.combinations(range(n), 2):
        if _brute_reachable(scenes[i], scenes[j]):
            degree[i] += 1
            degree[j] += 1
    expected = sum(degree) / n
    code, text = _cli(capsys, "collection", "info", str(out))
    assert code == 0
    printed = float(re.search(r"reachable neighbours per image: mean ([0-9.]+)", text)[1])
    assert abs(printed - expected) < 0.005
    assert coll.meta["config"]["changes"] == "clevr-change"
    assert coll.meta["config"]["repeat_scenes"] is True


def test_train_branches_add_training_pairs_only(tmp_path):
    root = generate_cci(
        tmp_path / "cci",
        depth=2,
        branching=3,
        size=(64, 48),
        seed=0,
        train_branches=5,
        progress=False,
    )
    coll = read_collection(root)
    assert len(coll.images()) == 13 + 5
    assert len(coll.pairs_of("train")) == 3 + 5 and len(coll.pairs_of("test")) == 9
    branches = [r for r in coll.scenes if r["cci"].get("branch")]
    assert len(branches) == 5
    assert all(coll.scenes[r["cci"]["parent"]]["cci"]["level"] < 2 for r in branches)
    assert validate_collection(root) == []


def test_default_config_record_unchanged(tmp_path):
    root = generate_cci(tmp_path / "cci", depth=1, branching=2, size=(64, 48), progress=False)
    assert set(read_collection(root).meta["config"]) == {
        "generator",
        "depth",
        "branching",
        "size",
        "seed",
        "text_only_scenes",
    }


def test_content_scene_index_maps_repeats_to_their_first_scene():
    from textmanifold.synth.reachability import content_scene_index
    from textmanifold.synth.scene import Object

    a = Scene(objects=(Object(0, "cube", "red", "rubber", "large", 0.0, 0.0, 0.0),))
    b = a.replace_object(a.objects[0].with_changes(color="blue"))
    moved_camera = a.with_camera(a.camera.jittered(np.random.default_rng(0)))
    assert content_scene_index([a, b, moved_camera, b]).tolist() == [0, 1, 0, 1]
