"""The numpy ray caster: colours, materials, masks, occlusion, shadows, visibility.

References: a scalar sphere-tracing renderer written here from signed distance functions
(independent of the analytic intersections under test), the camera's own projection,
and CLEVR's colour table.
"""

import math

import numpy as np
import pytest

from textmanifold.errors import InputError
from textmanifold.synth.render import (
    KEY_LIGHT,
    check_render_size,
    is_visible,
    min_visible_pixels,
    object_masks,
    render,
    render_with_mask,
    visible_pixel_counts,
)
from textmanifold.synth.scene import COLORS, SHAPES, SIZES, Camera, Object, Scene, random_scene

W, H = 320, 240
PALETTE_NAMES = list(COLORS)
PALETTE = np.array([COLORS[c] for c in PALETTE_NAMES], dtype=float)


def nearest_colour(rgb) -> str:
    return PALETTE_NAMES[int(np.argmin(((PALETTE - np.asarray(rgb, float)) ** 2).sum(axis=1)))]


def centre(obj: Object) -> np.ndarray:
    """The solid's true centre (a cube's half-size is radius / sqrt(2), as in CLEVR)."""
    half = obj.radius / math.sqrt(2) if obj.shape == "cube" else obj.radius
    return np.array([obj.x, obj.y, half])


def pixel_of(scene: Scene, point, width=W, height=H) -> tuple[int, int]:
    col, row, _ = scene.camera.project(np.asarray(point, float)[None], width, height)[0]
    return math.floor(row), math.floor(col)


def luma(pixels) -> np.ndarray:
    return np.asarray(pixels, float) @ np.array([0.299, 0.587, 0.114])


# ----------------------------------------------------------------------------- colours


@pytest.mark.parametrize("material", ["rubber", "metal"])
@pytest.mark.parametrize("shape", SHAPES)
def test_pixel_at_object_centre_has_the_object_colour(shape, material):
    for k, colour in enumerate(COLORS):
        for size in SIZES:
            obj = Object(
                0,
                shape,
                colour,
                material,
                size,
                x=-1.0 + 0.3 * k,
                y=0.5 - 0.2 * k,
                rotation=37.0 * k,
            )
            scene = Scene((obj,))
            image = render(scene, W, H)
            row, col = pixel_of(scene, centre(obj))
            assert nearest_colour(image[row, col]) == colour, (shape, material, colour, size)


def _unshadowed_unoccluded(scene, image, mask, obj) -> bool:
    """Whether ``obj`` looks in ``scene`` as it looks alone: no other object hides or
    shadows most of it. Chosen from the renders, not from the renderer's internals."""
    alone_image, alone_mask = render_with_mask(Scene((obj,), camera=scene.camera), W, H)
    own = alone_mask == obj.id
    same = (mask == obj.id) & own & np.all(image == alone_image, axis=2)
    return same.sum() >= 0.9 * own.sum()


def test_median_colour_of_each_clearly_seen_object_is_its_colour():
    checked = {"rubber": 0, "metal": 0}
    for seed in range(12):
        scene = random_scene(np.random.default_rng(seed), 4, 8)
        image, mask = render_with_mask(scene, W, H)
        for obj in scene.objects:
            if (mask == obj.id).sum() < 200 or not _unshadowed_unoccluded(scene, image, mask, obj):
                continue
            median = np.median(image[mask == obj.id], axis=0)
            assert nearest_colour(median) == obj.color, (seed, obj)
            checked[obj.material] += 1
    assert min(checked.values()) >= 10  # the filter kept a fair share of both materials


# ----------------------------------------------------------------------------- materials


@pytest.mark.parametrize("shape", SHAPES)
def test_metal_has_a_brighter_highlight_than_rubber(shape):
    for colour in COLORS:
        peaks = {}
        for material in ("rubber", "metal"):
            obj = Object(3, shape, colour, material, "large", 0.5, -0.5, rotation=20.0)
            image, mask = render_with_mask(Scene((obj,)), W, H)
            # Brightness as the channel mean: a white glint lifts it even where a
            # saturated colour (yellow) already fills its strongest channels.
            peaks[material] = image[mask == 3].mean(axis=1).max()
        assert peaks["metal"] > peaks["rubber"] + 15, (shape, colour, peaks)


def test_rubber_is_matte_metal_is_not():
    """Rubber's brightest pixel stays near its lit body; metal's goes far above it."""
    for material, lo, hi in (("rubber", 0.0, 1.35), ("metal", 1.6, np.inf)):
        obj = Object(0, "sphere", "blue", material, "large", 0.0, 0.0)
        image, mask = render_with_mask(Scene((obj,)), W, H)
        pixels = luma(image[mask == 0])
        assert lo <= pixels.max() / np.median(pixels) < hi, material


# ----------------------------------------------------------------------------- masks


def _centroid(mask, object_id):
    rows, cols = np.nonzero(mask == object_id)
    return rows.mean(), cols.mean()


@pytest.mark.parametrize("shape", SHAPES)
def test_moving_an_object_moves_its_mask(shape):
    camera = Camera()
    directions = camera.ground_directions()
    base = Object(7, shape, "red", "rubber", "large", 0.0, 0.0, rotation=10.0)
    row0, col0 = _centroid(object_masks(Scene((base,)), W, H), 7)
    for name, d_row, d_col in (
        ("right", 0, 1),
        ("left", 0, -1),
        ("behind", -1, 0),
        ("front", 1, 0),
    ):
        step = 1.5 * directions[name]
        moved = base.with_changes(x=base.x + step[0], y=base.y + step[1])
        row, col = _centroid(object_masks(Scene((moved,)), W, H), 7)
        expected = (
            camera.project(centre(moved)[None], W, H)[0]
            - camera.project(centre(base)[None], W, H)[0]
        )
        if d_col:
            assert np.sign(col - col0) == d_col and abs(col - col0) > 20, name
        if d_row:
            assert np.sign(row - row0) == d_row and abs(row - row0) > 10, name
        # The mask follows the projected centre to within a few pixels.
        assert abs((col - col0) - expected[0]) < 4 and abs((row - row0) - expected[1]) < 4


def test_mask_holds_object_ids_not_positions():
    scene = Scene(
        (
            Object(5, "sphere", "red", "rubber", "large", -1.5, 0.0),
            Object(9, "cube", "blue", "metal", "large", 1.5, 0.0),
        )
    )
    mask = object_masks(scene, W, H)
    assert mask.dtype == np.int32 and mask.shape == (H, W)
    assert set(np.unique(mask)) == {-1, 5, 9}
    assert mask[pixel_of(scene, centre(scene.objects[0]))] == 5


@pytest.mark.parametrize("near_shape", SHAPES)
def test_nearer_object_hides_farther_one(near_shape):
    camera = Camera()
    front = camera.ground_directions()["front"]
    far = Object(1, "sphere", "green", "rubber", "large", 0.0, 0.0)
    near = Object(2, near_shape, "red", "rubber", "large", *(1.8 * front[:2]), rotation=30.0)
    scene = Scene((far, near))
    depths = camera.project(np.stack([centre(far), centre(near)]), W, H)[:, 2]
    assert depths[1] < depths[0]
    far_alone = object_masks(Scene((far,)), W, H) == 1
    near_alone = object_masks(Scene((near,)), W, H) == 2
    overlap = far_alone & near_alone
    assert overlap.sum() > 50  # the construction really overlaps on screen
    mask = object_masks(scene, W, H)
    assert np.all(mask[overlap] == 2)
    assert np.all(mask[far_alone & ~near_alone] == 1)


# ----------------------------------------------------------------------------- reference


def _sdf(obj: Object, p: np.ndarray) -> float:
    c = centre(obj)
    q = p - c
    if obj.shape == "sphere":
        return float(np.linalg.norm(q)) - obj.radius
    if obj.shape == "cylinder":
        d = np.array([math.hypot(q[0], q[1]) - obj.radius, abs(q[2]) - obj.radius])
    else:
        a = math.radians(obj.rotation)
        local = np.array(
            [
                math.cos(a) * q[0] + math.sin(a) * q[1],
                -math.sin(a) * q[0] + math.cos(a) * q[1],
                q[2],
            ]
        )
        d = np.abs(local) - obj.radius / math.sqrt(2)
    return float(np.linalg.norm(np.maximum(d, 0)) + min(d.max(), 0.0))


def _trace(scene: Scene, row: int, col: int, width: int, height: int):
    """Sphere-trace one pixel: the id hit (-1 for ground or sky), or None when the ray
    grazes an object so closely that the answer depends on rounding."""
    forward, right, up = scene.camera.basis()
    focal = (width / 2) / math.tan(math.radians(scene.camera.fov) / 2)
    d = forward * focal + right * (col + 0.5 - width / 2) - up * (row + 0.5 - height / 2)
    d /= np.linalg.norm(d)
    origin = scene.camera.location
    # The reference ray really passes through this pixel centre.
    assert np.allclose(
        scene.camera.project((origin + 5 * d)[None], width, height)[0, :2], [col + 0.5, row + 0.5]
    )
    t, closest = 0.0, np.full(len(scene.objects), np.inf)
    for _ in range(5000):
        p = origin + t * d
        dists = np.array([_sdf(o, p) for o in scene.objects] + [p[2]])
        closest = np.minimum(closest, dists[:-1])
        if dists.min() < 1e-6 or t > 100:
            answer = int(np.argmin(dists)) if dists.min() < 1e-6 else len(scene.objects)
            # Ambiguous if the ray grazed an object other than the one it ends on.
            others = np.delete(closest, answer) if answer < len(closest) else closest
            if np.any(others < 2e-3):
                return None
            return scene.objects[answer].id if answer < len(closest) else -1
        t += dists.min()
    return None


@pytest.mark.parametrize("seed", range(3))
def test_mask_matches_a_sphere_tracing_reference(seed):
    rng = np.random.default_rng(100 + seed)
    scene = random_scene(rng, 5, 8)
    width, height = 160, 120
    mask = object_masks(scene, width, height)
    pixels = [tuple(p) for p in rng.integers(0, [height, width], size=(60, 2))]
    for obj in scene.objects:  # pixels around every object, edges included
        r, c = pixel_of(scene, centre(obj), width, height)
        pixels += [
            (r + dr, c + dc)
            for dr in (-9, -4, 0, 4, 9)
            for dc in (-9, -4, 0, 4, 9)
            if 0 <= r + dr < height and 0 <= c + dc < width
        ]
    compared = 0
    for r, c in pixels:
        expected = _trace(scene, r, c, width, height)
        if expected is None:
            continue
        assert mask[r, c] == expected, (r, c)
        compared += 1
    assert compared > 0.9 * len(pixels)


def test_sphere_mask_matches_scalar_ray_sphere_reference():
    """Brute force for spheres alone: nearest root of |o + t d - c| = r per pixel."""
    scene = Scene(
        tuple(
            Object(i, "sphere", "gray", "rubber", size, x, y)
            for i, (size, x, y) in enumerate(
                [("large", 0.0, 0.0), ("small", 1.2, -1.6), ("large", -1.5, 1.7)]
            )
        )
    )
    width, height = 120, 90
    mask = object_masks(scene, width, height)
    forward, right, up = scene.camera.basis()
    focal = (width / 2) / math.tan(math.radians(scene.camera.fov) / 2)
    origin = scene.camera.location
    for r in range(0, height, 3):
        for c in range(0, width, 3):
            d = forward * focal + right * (c + 0.5 - width / 2) - up * (r + 0.5 - height / 2)
            d /= np.linalg.norm(d)
            best, best_t, margin = -1, np.inf, np.inf
            for obj in scene.objects:
                oc = origin - centre(obj)
                b, cc = float(oc @ d), float(oc @ oc) - obj.radius**2
                margin = min(margin, abs(b * b - cc))
                if b * b - cc >= 0 and (t := -b - math.sqrt(b * b - cc)) < best_t:
                    best, best_t = obj.id, t
            if margin > 1e-3:  # not a grazing ray
                assert mask[r, c] == best, (r, c)


# ----------------------------------------------------------------------------- shadows


def test_shadow_darkens_ground_and_objects():
    # Look from the side so the shadow (thrown away from the key light) is not hidden.
    light = KEY_LIGHT.astype(float)
    camera = Camera(azimuth=math.degrees(math.atan2(light[1], light[0])) + 90.0)
    caster = Object(0, "cylinder", "gray", "rubber", "large", 0.0, 0.0)
    top = np.array([0.0, 0.0, 2 * caster.radius * 0.6])
    shaded = top - top[2] / light[2] * light  # ground point behind the caster
    lit = -shaded * np.array([1, 1, 0])  # its mirror in front of the caster
    image, mask = render_with_mask(Scene((caster,), camera=camera), W, H)
    empty = render(Scene((), camera=camera), W, H)
    (rs, cs), (rl, cl) = (
        pixel_of(Scene((), camera=camera), shaded),
        pixel_of(Scene((), camera=camera), lit),
    )
    assert mask[rs, cs] == -1 and mask[rl, cl] == -1  # both really show the ground
    assert luma(image[rs, cs]) < 0.8 * luma(image[rl, cl])
    assert luma(empty[rs, cs]) == luma(empty[rl, cl])  # without the caster: same light
    # A small object standing in the shadow is darker than the same object alone.
    small_at = shaded + 0.3 * light * np.array([1, 1, 0]) / np.hypot(*light[:2])
    small = Object(1, "sphere", "yellow", "rubber", "small", small_at[0], small_at[1])
    with_caster, masks = render_with_mask(Scene((caster, small), camera=camera), W, H)
    alone, alone_mask = render_with_mask(Scene((small,), camera=camera), W, H)
    seen = (masks == 1) & (alone_mask == 1)
    assert seen.sum() > 30
    assert luma(with_caster[seen]).mean() < 0.8 * luma(alone[seen]).mean()


# ----------------------------------------------------------------------------- contract


def test_same_scene_gives_same_bytes_and_right_format():
    scene = random_scene(np.random.default_rng(3), 6, 8)
    first = render(scene, W, H)
    again = render(Scene.from_clevr_json(scene.to_clevr_json(0, "x.png", W, H)), W, H)
    assert first.dtype == np.uint8 and first.shape == (H, W, 3)
    assert first.tobytes() == again.tobytes()
    other = render(random_scene(np.random.default_rng(4), 6, 8), W, H)
    assert first.tobytes() != other.tobytes()


def test_render_and_mask_agree_with_separate_calls():
    scene = random_scene(np.random.default_rng(8), 5, 8)
    image, mask = render_with_mask(scene, 128, 128)
    assert np.array_equal(image, render(scene, 128, 128))
    assert np.array_equal(mask, object_masks(scene, 128, 128))


@pytest.mark.parametrize("size", [(39, 30), (40, 29), (8, 6), (0, 0), (-320, 240), (5000, 240)])
def test_unusable_sizes_raise_input_error(size):
    with pytest.raises(InputError, match=f"{size[0]}x{size[1]}"):
        check_render_size(*size)
    with pytest.raises(InputError):
        render(Scene(()), *size)


def test_smallest_size_renders_and_non_integers_are_refused():
    assert render(random_scene(np.random.default_rng(0)), 40, 30).shape == (30, 40, 3)
    with pytest.raises(InputError, match="integers"):
        check_render_size(320.0, 240)


def test_visibility_threshold_scales_with_pixel_count():
    assert min_visible_pixels(320, 240) == 200
    assert min_visible_pixels(640, 480) == 800
    assert min_visible_pixels(128, 128) == round(200 * 128 * 128 / (320 * 240))
    assert min_visible_pixels(40, 30) == 3  # the floor


def test_visible_pixel_counts_and_hidden_objects():
    camera = Camera()
    front = camera.ground_directions()["front"]
    hidden = Object(0, "sphere", "red", "rubber", "small", 0.0, 0.0)
    blocker = Object(1, "cube", "blue", "rubber", "large", *(1.3 * front[:2]))
    aside = Object(2, "cylinder", "green", "metal", "large", 2.0, 1.0)
    scene = Scene((hidden, blocker, aside), camera=camera)
    counts = visible_pixel_counts(scene, W, H)
    mask = object_masks(scene, W, H)
    assert counts == {i: int((mask == i).sum()) for i in (0, 1, 2)}
    assert counts[0] < min_visible_pixels(W, H) <= min(counts[1], counts[2])
    assert not is_visible(scene, W, H)
    assert is_visible(Scene((blocker, aside), camera=camera), W, H)
