"""One description sentence per scene: every object with its attributes and coarse place.

"a large gray metal cube at the back left, a small red rubber sphere in the middle and
a small cyan rubber cylinder at the front right". Objects are listed left to right as
the camera sees them (ties front to back). A place is one of a 3 x 3 grid on the
ground, cut at +-1 world unit along the camera's ground directions through the world's
centre (the world spans +-3 units, so each band is about a third of it).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import DataFormatError
from .scene import Camera, Scene

BAND = 1.0  # world units from the centre where "middle" ends
PLACES = {
    ("left", "behind"): "at the back left",
    ("middle", "behind"): "at the back",
    ("right", "behind"): "at the back right",
    ("left", "middle"): "on the left",
    ("middle", "middle"): "in the middle",
    ("right", "middle"): "on the right",
    ("left", "front"): "at the front left",
    ("middle", "front"): "at the front",
    ("right", "front"): "at the front right",
}


def _objects_and_directions(scene: Scene | dict[str, Any]):
    """``[(size, color, material, shape, x, y)]`` and the ground ``right``/``behind``."""
    if isinstance(scene, Scene):
        dirs = scene.camera.ground_directions()
        objects = [(o.size, o.color, o.material, o.shape, o.x, o.y) for o in scene.objects]
        return objects, dirs["right"], dirs["behind"]
    where = f"scene {scene.get('image_index', '?')}" if isinstance(scene, dict) else "scene"
    try:
        objects = [
            (
                o["size"],
                o["color"],
                o["material"],
                o["shape"],
                float(o["3d_coords"][0]),
                float(o["3d_coords"][1]),
            )
            for o in scene["objects"]
        ]
        if "directions" in scene:
            right = np.asarray(scene["directions"]["right"], dtype=float)
            behind = np.asarray(scene["directions"]["behind"], dtype=float)
        else:
            camera = Camera.from_json(scene["camera"]) if "camera" in scene else Camera()
            dirs = camera.ground_directions()
            right, behind = dirs["right"], dirs["behind"]
    except (KeyError, TypeError, IndexError, ValueError) as exc:
        raise DataFormatError(f"{where}: malformed CLEVR scene ({exc!r})") from None
    return objects, right, behind


def _band(value: float, low: str, high: str) -> str:
    if value < -BAND:
        return low
    return high if value > BAND else "middle"


def describe_scene(scene: Scene | dict[str, Any]) -> str:
    """The scene's description sentence (deterministic).

    Parameters
    ----------
    scene : Scene or dict
        A :class:`Scene`, or a CLEVR-format scene dict (objects with ``color``, ``size``,
        ``shape``, ``material``, ``3d_coords``; ground ``directions`` or a ``camera``
        when present, CLEVR's default camera otherwise).

    Returns
    -------
    str
        E.g. "a large gray metal cube at the back left and a small red rubber sphere on
        the right"; "an empty scene" when there are no objects.
    """
    objects, right, behind = _objects_and_directions(scene)
    placed = []
    for size, color, material, shape, x, y in objects:
        across = x * right[0] + y * right[1]
        depth = x * behind[0] + y * behind[1]
        place = PLACES[(_band(across, "left", "right"), _band(depth, "front", "behind"))]
        placed.append((across, depth, f"a {size} {color} {material} {shape} {place}"))
    if not placed:
        return "an empty scene"
    phrases = [phrase for _, _, phrase in sorted(placed)]
    if len(phrases) == 1:
        return phrases[0]
    return ", ".join(phrases[:-1]) + " and " + phrases[-1]
