"""The scene-category set: edit distance, counts, labels, determinism, category structure."""

import itertools
import json
import os

import numpy as np
import pytest

from textmanifold.collection import read_collection, validate_collection
from textmanifold.synth.classes import (
    ClassesConfig,
    category_name,
    category_scenes,
    generate_classes,
    scene_edit_distance,
)
from textmanifold.synth.describe import describe_scene
from textmanifold.synth.scene import ATTRIBUTES, Scene, random_scene

TINY = ClassesConfig(
    n_classes=3,
    images_per_class=2,
    texts_per_class=3,
    classes_per_theme=2,
    width=64,
    height=48,
    seed=3,
)


def brute_force_distance(a: Scene, b: Scene) -> int:
    """Try every way to pair objects of the smaller scene with objects of the larger."""
    small, large = sorted((a.objects, b.objects), key=len)
    best = len(small) + len(large)  # drop everything, add everything
    for size in range(len(small) + 1):
        for chosen in itertools.combinations(small, size):
            for partners in itertools.permutations(large, size):
                cost = sum(
                    getattr(x, k) != getattr(y, k)
                    for x, y in zip(chosen, partners, strict=True)
                    for k in ATTRIBUTES
                )
                best = min(best, cost + (len(small) - size) + (len(large) - size))
    return best


def test_edit_distance_equals_brute_force():
    rng = np.random.default_rng(0)
    scenes = [random_scene(rng, 1, 4) for _ in range(12)]
    scenes.append(Scene(objects=()))
    for a, b in itertools.product(scenes, repeat=2):
        assert scene_edit_distance(a, b) == brute_force_distance(a, b)
    assert scene_edit_distance(scenes[0], scenes[0]) == 0


def test_edit_distance_of_hand_made_scenes():
    a = random_scene(np.random.default_rng(1), 3, 3)
    obj = a.objects[0]
    recoloured = a.replace_object(obj.with_changes(color="red" if obj.color != "red" else "blue"))
    assert scene_edit_distance(a, recoloured) == 1
    assert scene_edit_distance(a, a.drop_object(obj.id)) == 1
    # A dict from scenes.json measures the same as the Scene.
    record = recoloured.to_clevr_json(0, "", 64, 48)
    assert scene_edit_distance(a, record) == 1


def test_members_are_closer_to_their_own_prototype():
    config = ClassesConfig(
        n_classes=6,
        images_per_class=4,
        texts_per_class=6,
        classes_per_theme=3,
        width=64,
        height=48,
        seed=1,
    )
    scenes = category_scenes(config)
    assert len(scenes.prototypes) == 6
    own, other = [], []
    for scene, k in scenes.images + scenes.texts:
        d = [scene_edit_distance(scene, p) for p in scenes.prototypes]
        own.append(d[k])
        other.append(np.mean([x for j, x in enumerate(d) if j != k]))
    assert np.mean(own) < np.mean(other)
    _, high = config.member_edits
    assert max(own) <= high  # at most one attribute or object per change


def test_counts_labels_and_descriptions(tmp_path):
    root = generate_classes(tmp_path / "c", TINY, progress=False)
    assert validate_collection(root) == []
    coll = read_collection(root)
    images, texts = coll.images(), coll.texts()
    assert len(images) == 3 * 2 and len(texts) == 3 * 3
    assert len(coll.scenes) == 3 + len(images) + len(texts)
    assert coll.pairs == []
    for item in coll.items:
        scene = coll.scenes[item.scene]
        assert item.labels == [scene["category"]]
        assert item.text == describe_scene(scene)
    assert [it.labels[0] for it in images] == [category_name(k) for k in (0, 0, 1, 1, 2, 2)]
    assert [s["split"] for s in coll.scenes[:3]] == ["prototype"] * 3
    assert coll.meta["config"]["n_classes"] == 3


def _files(root):
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def test_same_seed_same_bytes_whatever_the_workers(tmp_path):
    a = _files(generate_classes(tmp_path / "a", TINY, workers=1, progress=False))
    b = _files(generate_classes(tmp_path / "b", TINY, workers=2, progress=False))
    assert a == b
    other = ClassesConfig(**{**TINY.__dict__, "seed": 4})
    c = _files(generate_classes(tmp_path / "c", other, progress=False))
    assert c["scenes.json"] != a["scenes.json"]


def test_cli_generate_resume_and_errors(tmp_path, cli):
    out = tmp_path / "cats"
    args = [
        "classes",
        "generate",
        str(out),
        "--classes",
        "2",
        "--images-per-class",
        "2",
        "--texts-per-class",
        "1",
        "--size",
        "64x48",
        "--seed",
        "5",
    ]
    code, out_text, err = cli(*args)
    assert code == 0, err
    assert "2 categories, 4 images, 2 text-only scenes" in out_text
    png = out / "images" / "img-00000.png"
    stamp = png.stat().st_mtime_ns
    code, _, err = cli(*args)  # non-empty, no --resume
    assert code != 0 and "not empty" in err
    assert cli(*args, "--resume").code == 0
    assert png.stat().st_mtime_ns == stamp  # kept, not re-rendered
    png.write_bytes(png.read_bytes()[:50])  # truncated: re-rendered on resume
    assert cli(*args, "--resume").code == 0
    assert validate_collection(out) == []
    changed = [a if a != "5" else "6" for a in args]
    assert "other settings" in cli(*changed, "--resume").err
    assert json.loads((out / "collection.json").read_text())["config"]["seed"] == 5
    bad = [a if a != "64x48" else "64by48" for a in args]
    code, out_text, err = cli(*bad, "--force")
    assert "--size must be WIDTHxHEIGHT" in err + out_text


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("n_classes", 0, "n_classes must be a positive integer, got 0"),
        ("images_per_class", 1.5, "images_per_class must be a positive integer, got 1.5"),
        ("member_edits", (2, 1), "member_edits"),
        ("width", 20, "too small"),
    ],
)
def test_bad_config(tmp_path, field, value, message):
    config = ClassesConfig(**{**TINY.__dict__, field: value})
    with pytest.raises(Exception, match=message):
        generate_classes(tmp_path / "x", config, progress=False)
    assert not os.path.exists(tmp_path / "x" / "collection.json")
