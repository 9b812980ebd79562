"""Ray casting for the CLEVR renderer: solids, analytic ray-solid hits, the primary cast.

Everything is vectorised over pixels with numpy in float32. A ray is an origin and a
unit direction, each given as three components (``x``, ``y``, ``z``) that broadcast
against each other: the primary rays share one origin (the camera) and have one
direction per pixel; the shadow rays have one origin per pixel and share one direction
(the key light). Every hit routine returns the distance to the first entry point, or
``inf`` where the ray misses; the solids are convex and the origins lie outside them,
so the first entry point is the visible surface.

Geometry follows CLEVR's Blender assets, scaled by the object's radius ``r``:
a sphere of radius ``r``; a cylinder of radius ``r`` and height ``2 r``; a cube of
half-size ``r / sqrt(2)`` (CLEVR divides a cube's scale by sqrt(2) so that its footprint
diagonal, not its side, matches the other shapes). Every solid stands on the ground.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .scene import Camera, Object

SPHERE, CYLINDER, CUBE = 0, 1, 2
_KINDS = {"sphere": SPHERE, "cylinder": CYLINDER, "cube": CUBE}

F32 = np.float32
INF = F32(np.inf)


@dataclass(frozen=True)
class Solid:
    """An object's geometry in world units.

    ``half_width`` is the sphere or cylinder radius, or the cube's half side;
    ``half_height`` the vertical half extent; ``cos``, ``sin`` the rotation about z.
    """

    kind: int
    centre: tuple[float, float, float]
    half_width: float
    half_height: float
    cos: float
    sin: float

    @classmethod
    def of(cls, obj: Object) -> Solid:
        kind = _KINDS[obj.shape]
        half = obj.radius / math.sqrt(2.0) if kind == CUBE else obj.radius
        angle = math.radians(obj.rotation)
        return cls(kind, (obj.x, obj.y, half), half, half, math.cos(angle), math.sin(angle))

    def corners(self) -> np.ndarray:
        """The 8 corners of a world-axis box that contains the solid, shape (8, 3)."""
        reach = self.half_width * (math.sqrt(2.0) if self.kind == CUBE else 1.0)
        half = np.array([reach, reach, self.half_height])
        signs = np.array([[i >> 2 & 1, i >> 1 & 1, i & 1] for i in range(8)]) * 2 - 1
        return np.asarray(self.centre) + signs * half


def hit_distance(solid: Solid, ox, oy, oz, dx, dy, dz) -> np.ndarray:
    """Distance along each ray to its entry into ``solid``; ``inf`` where it misses."""
    cx, cy, cz = (F32(v) for v in solid.centre)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        if solid.kind == SPHERE:
            return _hit_sphere(ox - cx, oy - cy, oz - cz, dx, dy, dz, F32(solid.half_width))
        if solid.kind == CYLINDER:
            return _hit_cylinder(
                ox - cx, oy - cy, oz - cz, dx, dy, dz, F32(solid.half_width), F32(solid.half_height)
            )
        return _hit_cube(ox - cx, oy - cy, oz - cz, dx, dy, dz, solid)


def _hit_sphere(ox, oy, oz, dx, dy, dz, r):
    # Unit directions: t^2 + 2 b t + c = 0.
    b = ox * dx + oy * dy + oz * dz
    c = ox * ox + oy * oy + oz * oz - r * r
    t = -b - np.sqrt(b * b - c)
    return np.where(t > 0, t, INF)  # NaN (no root) compares False


def _hit_cylinder(ox, oy, oz, dx, dy, dz, r, h):
    a = dx * dx + dy * dy
    b = ox * dx + oy * dy
    c = ox * ox + oy * oy - r * r
    side = (-b - np.sqrt(b * b - a * c)) / a
    z = oz + side * dz
    best = np.where((side > 0) & (np.abs(z) <= h), side, INF)
    for cap in (h, -h):
        t = (cap - oz) / dz
        px, py = ox + t * dx, oy + t * dy
        best = np.where((t > 0) & (px * px + py * py <= r * r) & (t < best), t, best)
    return best


def _hit_cube(ox, oy, oz, dx, dy, dz, solid: Solid):
    # Slab test in the cube's own frame (world rotated by -rotation about z).
    cos, sin, half = F32(solid.cos), F32(solid.sin), F32(solid.half_width)
    local = (
        (cos * ox + sin * oy, cos * dx + sin * dy),
        (cos * oy - sin * ox, cos * dy - sin * dx),
        (oz, dz),
    )
    near, far = None, None
    for o, d in local:
        inv = F32(1.0) / d
        t1, t2 = (-half - o) * inv, (half - o) * inv
        lo, hi = np.minimum(t1, t2), np.maximum(t1, t2)
        near = lo if near is None else np.maximum(near, lo)
        far = hi if far is None else np.minimum(far, hi)
    return np.where((near <= far) & (near > 0), near, INF)


def surface_normals(solid: Solid, px, py, pz) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Outward unit normals at surface points ``(px, py, pz)`` (1-d arrays) of ``solid``."""
    cx, cy, cz = (F32(v) for v in solid.centre)
    x, y, z = px - cx, py - cy, pz - cz
    w, h = F32(solid.half_width), F32(solid.half_height)
    if solid.kind == SPHERE:
        return x / w, y / w, z / w
    zero = np.zeros_like(x)
    if solid.kind == CYLINDER:
        radial = np.sqrt(x * x + y * y)
        on_cap = np.abs(z) / h > radial / w
        scale = np.where(on_cap, F32(0), F32(1) / np.maximum(radial, F32(1e-6)))
        return x * scale, y * scale, np.where(on_cap, np.sign(z), zero)
    # Cube: the face is the local axis where the point reaches furthest.
    cos, sin = F32(solid.cos), F32(solid.sin)
    lx, ly = cos * x + sin * y, cos * y - sin * x
    axis = np.argmax(np.abs(np.stack([lx, ly, z])), axis=0)
    nlx = np.where(axis == 0, np.sign(lx), zero)
    nly = np.where(axis == 1, np.sign(ly), zero)
    return cos * nlx - sin * nly, sin * nlx + cos * nly, np.where(axis == 2, np.sign(z), zero)


def pixel_boxes(camera: Camera, hulls: list[np.ndarray], width: int, height: int):
    """For each point set in ``hulls`` (each (n, 3)), the pixels whose centres may see a
    point of its convex hull: ``(r0, r1, c0, c1)`` (half-open), or None if no pixel can."""
    if not hulls:
        return []
    projected = camera.project(np.vstack(hulls), width, height)
    ends = np.cumsum([len(h) for h in hulls])[:-1]
    return [_box(*part.T, width, height) for part in np.split(projected, ends)]


def _box(col, row, depth, width, height):
    if np.any(depth <= 1e-6):  # behind the camera: fall back to the whole image
        return 0, height, 0, width
    # Pixel j's centre is j + 0.5; one pixel of margin absorbs float32 rounding.
    c0, c1 = max(0, math.floor(col.min() - 1.5)), min(width, math.ceil(col.max() + 0.5))
    r0, r1 = max(0, math.floor(row.min() - 1.5)), min(height, math.ceil(row.max() + 0.5))
    if c0 >= c1 or r0 >= r1:
        return None
    return r0, r1, c0, c1


@dataclass
class Cast:
    """The primary rays of one image and what they hit.

    ``origin`` is the camera position (3,); ``dirs`` the unit ray directions, three
    (height, width) arrays; ``t`` the hit distance (inf where the ray leaves the world);
    ``index`` the position in ``solids`` of the object hit, -1 for ground or background.
    """

    origin: np.ndarray
    dirs: tuple[np.ndarray, np.ndarray, np.ndarray]
    t: np.ndarray
    index: np.ndarray
    solids: list[Solid]
    boxes: list[tuple[int, int, int, int] | None]


def primary_rays(camera: Camera, width: int, height: int):
    """Unit directions through every pixel centre, three (height, width) float32 arrays."""
    forward, right, up = camera.basis()
    focal = (width / 2.0) / math.tan(math.radians(camera.fov) / 2.0)
    cols = (np.arange(width) + 0.5 - width / 2.0)[None, :]
    rows = (np.arange(height) + 0.5 - height / 2.0)[:, None]
    comps = [(forward[k] * focal + right[k] * cols - up[k] * rows).astype(F32) for k in range(3)]
    norm = F32(1.0) / np.sqrt(comps[0] ** 2 + comps[1] ** 2 + comps[2] ** 2)
    return comps[0] * norm, comps[1] * norm, comps[2] * norm


def cast(objects, camera: Camera, width: int, height: int) -> Cast:
    """Cast one ray per pixel centre against the ground and ``objects``."""
    dx, dy, dz = primary_rays(camera, width, height)
    origin = camera.location.astype(F32)
    with np.errstate(divide="ignore"):
        t = np.where(dz < 0, -origin[2] / dz, INF).astype(F32)
    index = np.full((height, width), -1, dtype=np.int32)
    solids = [Solid.of(obj) for obj in objects]
    boxes = pixel_boxes(camera, [solid.corners() for solid in solids], width, height)
    for k, (solid, box) in enumerate(zip(solids, boxes, strict=True)):
        if box is None:
            continue
        window = np.s_[box[0] : box[1], box[2] : box[3]]
        hit = hit_distance(solid, *origin, dx[window], dy[window], dz[window])
        closer = hit < t[window]
        t[window] = np.where(closer, hit, t[window])
        index[window][closer] = k
    return Cast(origin, (dx, dy, dz), t, index, solids, boxes)
