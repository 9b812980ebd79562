"""Render CLEVR-style scenes with a vectorised numpy ray caster.

One ray per pixel centre meets the ground plane and the objects (``_raycast``); the
visible points are then lit by CLEVR's three lamps, simplified to directional lights:
the key lamp casts hard shadows onto the ground and the objects, the fill and back lamps
and a sky-like ambient term keep shadows from going black. Rubber is Lambertian with a
faint sheen; metal has a darker diffuse body, a tinted reflection of a sky-over-ground
environment and a sharp white highlight. There is no randomness: the same scene and size
give the same bytes.

The same cast gives the object masks, so placement rules ("every object shows at least
N pixels") and rendering share one intersection routine.
"""

from __future__ import annotations

import numpy as np

from ..errors import InputError
from . import _raycast as rc
from .scene import Camera, Scene

F32 = np.float32

MIN_WIDTH, MIN_HEIGHT = 40, 30  # see check_render_size
MAX_SIDE = 4096

# CLEVR's visibility rule: every object shows at least 200 pixels at 320x240.
CLEVR_MIN_PIXELS, CLEVR_PIXELS = 200, 320 * 240
MIN_PIXELS_FLOOR = 3


def _unit(v) -> np.ndarray:
    v = np.asarray(v, dtype=np.float64)
    return (v / np.linalg.norm(v)).astype(F32)


# Directions towards CLEVR's lamps (base_scene.blend positions, seen from the origin).
KEY_LIGHT = _unit((6.44671, -2.90517, 4.2584))
FILL_LIGHT = _unit((-4.67112, -4.0136, 3.01122))
BACK_LIGHT = _unit((-1.1685, 2.64602, 5.81574))

# Shading, in display units (1.0 shows an albedo as is); tuned by eye against CLEVR and so
# that an object's median colour stays nearest its CLEVR colour (tests/test_render.py).
AMBIENT, KEY, FILL, BACK = 0.42, 0.80, 0.20, 0.20  # sky-like ambient and the lamps
GROUND_ALBEDO = 0.50
FLOOR_SHADOWED = GROUND_ALBEDO * (AMBIENT + FILL * FILL_LIGHT[2] + BACK * BACK_LIGHT[2])
FLOOR_LIT = FLOOR_SHADOWED + GROUND_ALBEDO * KEY * KEY_LIGHT[2]
RUBBER_SHEEN, RUBBER_SHININESS = 0.06, 8.0  # a faint, broad key-light sheen
# Metal: a weak diffuse body plus a mirror of a studio environment (see _shade_objects).
METAL_DIFFUSE, METAL_REFLECT, METAL_GLINT = 0.15, 1.0, 0.45
METAL_HIGHLIGHT, METAL_SHININESS = 1.5, 200.0  # the key lamp's hot spot
SKY_BASE, SKY_ZENITH = 0.35, 0.8  # sky at the horizon, gain towards zenith
STUDIO_LAMPS = (
    (KEY_LIGHT, 1.6, 80.0),
    (FILL_LIGHT, 0.8, 80.0),  # (direction, strength,
    (BACK_LIGHT, 1.0, 3.0),
)  #  Phong exponent)
FLOOR_NEAR, FLOOR_FAR, FLOOR_FADE = 1.2, 0.5, 2.0  # floor in the mirror: near, far, fade
SHADOW_BIAS = F32(1e-3)  # lifts shadow-ray origins off their own surface


def check_render_size(width: int, height: int) -> None:
    """Raise InputError unless a ``width`` x ``height`` image can show CLEVR objects.

    The smallest object (a small sphere, radius 0.35) at the far corner of the world,
    15 units from CLEVR's camera, projects to a disc of radius 0.025 * width pixels:
    at width 40 one pixel, covering about 3 pixel centres (the visibility floor);
    narrower, small objects fall between pixel centres. Height 30 keeps CLEVR's 4:3
    framing at that width. Above ``MAX_SIDE`` the float32 work space (about 90 bytes a
    pixel) passes 1.5 GB.
    """
    if not (isinstance(width, int | np.integer) and isinstance(height, int | np.integer)):
        raise InputError(f"image size must be integers, got {width!r}x{height!r}")
    if width < MIN_WIDTH or height < MIN_HEIGHT:
        raise InputError(
            f"image size {width}x{height} is too small to see objects: "
            f"at least {MIN_WIDTH}x{MIN_HEIGHT}"
        )
    if width > MAX_SIDE or height > MAX_SIDE:
        raise InputError(f"image size {width}x{height} is too large: at most {MAX_SIDE} a side")


def min_visible_pixels(width: int, height: int) -> int:
    """Pixels an object must cover to count as visible: CLEVR's 200 px at 320x240,
    scaled with the pixel count, never below ``MIN_PIXELS_FLOOR``."""
    check_render_size(width, height)
    return max(MIN_PIXELS_FLOOR, round(CLEVR_MIN_PIXELS * width * height / CLEVR_PIXELS))


def object_masks(scene: Scene, width: int = 320, height: int = 240) -> np.ndarray:
    """Which object each pixel shows.

    Returns
    -------
    ndarray of int32, shape (height, width)
        The ``id`` of the object visible at each pixel, -1 for ground or background.
    """
    check_render_size(width, height)
    return _ids(scene, rc.cast(scene.objects, scene.camera, width, height))


def visible_pixel_counts(scene: Scene, width: int = 320, height: int = 240) -> dict[int, int]:
    """Object id -> number of pixels where that object is visible (0 if hidden)."""
    mask = object_masks(scene, width, height)
    return _counts(scene, mask)


def is_visible(scene: Scene, width: int = 320, height: int = 240) -> bool:
    """Whether every object covers at least :func:`min_visible_pixels` pixels."""
    threshold = min_visible_pixels(width, height)
    return all(n >= threshold for n in visible_pixel_counts(scene, width, height).values())


def render(scene: Scene, width: int = 320, height: int = 240) -> np.ndarray:
    """Render ``scene`` through its camera.

    Parameters
    ----------
    scene : Scene
    width, height : int
        Image size in pixels; see :func:`check_render_size` for the limits.

    Returns
    -------
    ndarray of uint8, shape (height, width, 3)
        RGB. The same scene and size give the same bytes (on one machine and numpy).
    """
    return render_with_mask(scene, width, height)[0]


def render_with_mask(
    scene: Scene, width: int = 320, height: int = 240
) -> tuple[np.ndarray, np.ndarray]:
    """The image and :func:`object_masks` from one cast (cheaper than both calls)."""
    check_render_size(width, height)
    cast = rc.cast(scene.objects, scene.camera, width, height)
    return _shade(scene, cast), _ids(scene, cast)


# ----------------------------------------------------------------------------- internals


def _ids(scene: Scene, cast: rc.Cast) -> np.ndarray:
    ids = np.array([o.id for o in scene.objects] + [-1], dtype=np.int32)
    return ids[cast.index]  # index -1 picks the trailing -1


def _counts(scene: Scene, mask: np.ndarray) -> dict[int, int]:
    return {o.id: int(np.count_nonzero(mask == o.id)) for o in scene.objects}


def _shade(scene: Scene, cast: rc.Cast) -> np.ndarray:
    dx, dy, dz = cast.dirs
    hit = np.isfinite(cast.t)
    t = np.where(hit, cast.t, F32(0))
    points = tuple(cast.origin[k] + t * d for k, d in enumerate(cast.dirs))
    normals = _normals(cast, points)
    shadow = _shadows(scene.camera, cast, points, normals, hit)

    # Ground and background: flat, so every lamp term is a constant.
    floor = np.where(shadow, F32(FLOOR_SHADOWED), F32(FLOOR_LIT))
    image = np.repeat(floor[:, :, None], 3, axis=2)

    on_object = cast.index >= 0
    if on_object.any():
        image[on_object] = _shade_objects(
            scene,
            cast.index[on_object],
            np.stack([dx[on_object], dy[on_object], dz[on_object]]),
            np.stack([n[on_object] for n in normals]),
            shadow[on_object],
            points[2][on_object],
        )
    return np.clip(image * F32(255) + F32(0.5), 0, 255).astype(np.uint8)


def _normals(cast: rc.Cast, points):
    """Surface normals per pixel, three (height, width) arrays; the ground's is +z."""
    shape = cast.t.shape
    normals = (np.zeros(shape, F32), np.zeros(shape, F32), np.ones(shape, F32))
    for k, (solid, box) in enumerate(zip(cast.solids, cast.boxes, strict=True)):
        if box is None:
            continue
        window = np.s_[box[0] : box[1], box[2] : box[3]]
        mine = cast.index[window] == k
        if not mine.any():
            continue
        values = rc.surface_normals(solid, *(p[window][mine] for p in points))
        for n, v in zip(normals, values, strict=True):
            n[window][mine] = v
    return normals


def _shadows(camera: Camera, cast: rc.Cast, points, normals, hit) -> np.ndarray:
    """True where the key light is blocked by an object or the surface faces away from it;
    False for the background (rays that leave the world)."""
    lx, ly, lz = (F32(v) for v in KEY_LIGHT)
    light = KEY_LIGHT.astype(np.float64)
    facing = hit & (normals[0] * lx + normals[1] * ly + normals[2] * lz > 0)
    shadow = hit & ~facing
    # A point shadowed by a solid lies between it and its shadow on the ground, so it
    # projects inside the hull of the solid's corners and their shadows on the ground.
    hulls = []
    for solid in cast.solids:
        corners = solid.corners()
        hulls.append(np.vstack([corners, corners - corners[:, 2:3] / light[2] * light]))
    boxes = rc.pixel_boxes(camera, hulls, *cast.t.shape[::-1])
    for k, (solid, box) in enumerate(zip(cast.solids, boxes, strict=True)):
        if box is None:
            continue
        window = np.s_[box[0] : box[1], box[2] : box[3]]
        todo = facing[window] & ~shadow[window] & (cast.index[window] != k)
        if not todo.any():
            continue
        origin = [
            p[window][todo] + SHADOW_BIAS * n[window][todo]
            for p, n in zip(points, normals, strict=True)
        ]
        blocked = np.isfinite(rc.hit_distance(solid, *origin, lx, ly, lz))
        shadow[window][todo] = blocked
    return shadow


def _shade_objects(scene: Scene, index, d, n, shadow, height) -> np.ndarray:
    """Colours (m, 3) in display units of m object pixels.

    ``index`` (m,) which solid, ``d`` (3, m) view directions, ``n`` (3, m) normals,
    ``shadow`` (m,) key light blocked, ``height`` (m,) above the ground.
    """
    albedo = np.array([o.rgb for o in scene.objects], dtype=F32)[index] / F32(255)
    metal = np.array([o.material == "metal" for o in scene.objects])[index]
    lit = (~shadow).astype(F32)

    def toward(light):
        return np.maximum(light @ n, F32(0))

    upness = F32(0.5) + F32(0.5) * n[2]  # ambient from the sky: tops brighter than bottoms
    diffuse = (
        AMBIENT * (F32(0.6) + F32(0.4) * upness)
        + KEY * lit * toward(KEY_LIGHT)
        + FILL * toward(FILL_LIGHT)
        + BACK * toward(BACK_LIGHT)
    )
    reflected = d - F32(2) * np.sum(d * n, axis=0) * n
    along_key = np.maximum(KEY_LIGHT @ reflected, F32(0))

    sheen = RUBBER_SHEEN * lit * along_key**RUBBER_SHININESS
    rubber = albedo * diffuse[:, None] + sheen[:, None]
    # Metal mirrors a studio: a dim sky with bright lobes around the three lamps above the
    # horizon, the floor below it. The lamps' glints are partly untinted, as on CLEVR's
    # metals, so a face turned to a lamp flashes pale while the others stay dark.
    lamps = sum(
        strength * np.maximum(light @ reflected, F32(0)) ** spread
        for light, strength, spread in STUDIO_LAMPS
    )
    upward = reflected[2] > 0
    # The floor seen near the object is lit; further off it fades into a dark world, so
    # a vertical face shades from floor-bright at its foot to dark at its top.
    floor_distance = height / np.maximum(-reflected[2], F32(1e-3))
    floor = FLOOR_FAR + (FLOOR_NEAR - FLOOR_FAR) * np.exp(-floor_distance / FLOOR_FADE)
    environment = np.where(upward, SKY_BASE + SKY_ZENITH * reflected[2] + lamps, floor)
    glint = np.where(upward, METAL_GLINT * lamps, F32(0)) + (
        METAL_HIGHLIGHT * lit * along_key**METAL_SHININESS
    )
    shiny = (
        albedo * (METAL_DIFFUSE * diffuse + METAL_REFLECT * environment)[:, None] + glint[:, None]
    )
    return np.where(metal[:, None], shiny, rubber).astype(F32)
