"""Scene descriptions: hand-computed sentences, and the same words from a Scene or a dict."""

import numpy as np
import pytest

from textmanifold.errors import DataFormatError
from textmanifold.synth.describe import describe_scene
from textmanifold.synth.scene import Camera, Object, Scene, random_scene


def _at(right: float, behind: float) -> tuple[float, float]:
    """World (x, y) of a point ``right`` / ``behind`` units from the centre (default camera)."""
    dirs = Camera().ground_directions()
    point = right * dirs["right"] + behind * dirs["behind"]
    return float(point[0]), float(point[1])


def test_hand_made_scene():
    objects = (
        Object(0, "cube", "gray", "metal", "large", *_at(-2.0, 2.0)),
        Object(1, "sphere", "red", "rubber", "small", *_at(0.2, -0.5)),
        Object(2, "cylinder", "cyan", "rubber", "small", *_at(2.5, -2.0)),
        Object(3, "cube", "yellow", "metal", "small", *_at(-2.0, -1.5)),
    )
    assert describe_scene(Scene(objects)) == (
        "a small yellow metal cube at the front left, a large gray metal cube at the back left, "
        "a small red rubber sphere in the middle and a small cyan rubber cylinder at the front "
        "right"
    )
    assert describe_scene(Scene(objects[1:2])) == "a small red rubber sphere in the middle"
    assert describe_scene(Scene(())) == "an empty scene"


def test_dicts_describe_like_scenes():
    for seed in range(5):
        scene = random_scene(np.random.default_rng(seed))
        scene = scene.with_camera(scene.camera.jittered(np.random.default_rng(seed), 5.0))
        record = scene.to_clevr_json(0, "x.png", 320, 240)
        assert describe_scene(record) == describe_scene(scene)
        without_ids = {
            "objects": [{k: v for k, v in o.items() if k != "id"} for o in record["objects"]],
            "directions": record["directions"],
        }
        assert describe_scene(without_ids) == describe_scene(scene)
        camera_only = {"objects": record["objects"], "camera": record["camera"]}
        assert describe_scene(camera_only) == describe_scene(scene)


def test_malformed_dict_names_the_scene():
    with pytest.raises(DataFormatError, match="scene 4"):
        describe_scene({"image_index": 4, "objects": [{"color": "red"}]})
