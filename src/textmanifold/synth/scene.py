"""Scenes and objects of CLEVR-style worlds, and their CLEVR-format JSON.

The world follows CLEVR's conventions: the ground is the plane z = 0, objects stand on
it inside the square [-3, 3]^2, z points up, angles are in degrees. Every object carries
a persistent integer ``id`` that survives every change made to its scene, which is
what makes "reachable neighbours" (one object, one attribute) decidable.

Everything here is immutable: a change builds a new :class:`Scene`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from ..errors import DataFormatError

# CLEVR's vocabulary (CLEVR dataset generation, data/properties.json).
COLORS: dict[str, tuple[int, int, int]] = {
    "gray": (87, 87, 87),
    "red": (173, 35, 35),
    "blue": (42, 75, 215),
    "green": (29, 105, 20),
    "brown": (129, 74, 25),
    "purple": (129, 38, 192),
    "cyan": (41, 208, 208),
    "yellow": (255, 238, 51),
}
SHAPES: tuple[str, ...] = ("cube", "sphere", "cylinder")
MATERIALS: tuple[str, ...] = ("rubber", "metal")
SIZES: dict[str, float] = {"large": 0.7, "small": 0.35}  # radius in world units
ATTRIBUTES: tuple[str, ...] = ("color", "shape", "material", "size")

WORLD_HALF_WIDTH = 3.0  # objects stand inside [-3, 3]^2, as in CLEVR


@dataclass(frozen=True)
class Object:
    """One object on the ground plane.

    ``x``, ``y`` are world coordinates of its centre on the ground (z is its radius);
    ``rotation`` is about the vertical axis, in degrees.
    """

    id: int
    shape: str
    color: str
    material: str
    size: str
    x: float
    y: float
    rotation: float = 0.0

    def __post_init__(self) -> None:
        for name, value, allowed in (
            ("shape", self.shape, SHAPES),
            ("color", self.color, tuple(COLORS)),
            ("material", self.material, MATERIALS),
            ("size", self.size, tuple(SIZES)),
        ):
            if value not in allowed:
                raise DataFormatError(
                    f"object {self.id}: {name} {value!r} is not one of {', '.join(allowed)}"
                )

    @property
    def radius(self) -> float:
        return SIZES[self.size]

    @property
    def coords_3d(self) -> tuple[float, float, float]:
        """World centre. As in CLEVR, a cube's half-size (and so its centre height) is
        radius / sqrt(2), so that its footprint fits the same circle as a sphere's."""
        height = self.radius / math.sqrt(2) if self.shape == "cube" else self.radius
        return (self.x, self.y, height)

    @property
    def rgb(self) -> tuple[int, int, int]:
        return COLORS[self.color]

    def with_changes(self, **changes: Any) -> Object:
        """A copy with some fields replaced (the id is kept)."""
        return replace(self, **changes)


@dataclass(frozen=True)
class Camera:
    """A perspective camera orbiting the origin, looking at it.

    ``azimuth`` and ``elevation`` are in degrees, ``distance`` in world units,
    ``fov`` is the horizontal field of view in degrees. The defaults reproduce CLEVR's
    camera (location about (7.48, -6.51, 5.34), 35 mm lens on a 32 mm sensor).
    """

    azimuth: float = -41.02
    elevation: float = 28.31
    distance: float = 11.26
    fov: float = 49.13

    @property
    def location(self) -> np.ndarray:
        """Camera position, shape (3,)."""
        az, el = math.radians(self.azimuth), math.radians(self.elevation)
        return self.distance * np.array(
            [math.cos(el) * math.cos(az), math.cos(el) * math.sin(az), math.sin(el)]
        )

    def basis(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Unit vectors ``(forward, right, up)`` of the image frame, each shape (3,)."""
        forward = -self.location / np.linalg.norm(self.location)
        right = np.cross(forward, np.array([0.0, 0.0, 1.0]))
        right /= np.linalg.norm(right)
        up = np.cross(right, forward)
        return forward, right, up

    def ground_directions(self) -> dict[str, np.ndarray]:
        """CLEVR's ``directions``: unit vectors on the ground for left/right/front/behind."""
        forward, right, _ = self.basis()
        behind = np.array([forward[0], forward[1], 0.0])
        behind /= np.linalg.norm(behind)
        right_ground = np.array([right[0], right[1], 0.0])
        right_ground /= np.linalg.norm(right_ground)
        return {
            "behind": behind,
            "front": -behind,
            "right": right_ground,
            "left": -right_ground,
            "above": np.array([0.0, 0.0, 1.0]),
            "below": np.array([0.0, 0.0, -1.0]),
        }

    def project(self, points: np.ndarray, width: int, height: int) -> np.ndarray:
        """Project world points to pixels.

        Parameters
        ----------
        points : array of shape (n, 3)
        width, height : int
            Image size in pixels.

        Returns
        -------
        ndarray of shape (n, 3)
            ``(column, row, depth)``: pixel coordinates (origin top-left, may fall outside
            the image) and the distance along the viewing direction.
        """
        forward, right, up = self.basis()
        rel = np.asarray(points, dtype=np.float64) - self.location
        depth = rel @ forward
        focal = (width / 2.0) / math.tan(math.radians(self.fov) / 2.0)
        col = width / 2.0 + focal * (rel @ right) / depth
        row = height / 2.0 - focal * (rel @ up) / depth
        return np.stack([col, row, depth], axis=1)

    def jittered(self, rng: np.random.Generator, scale: float = 1.0) -> Camera:
        """A slightly moved camera: the distractor that makes every image unique."""
        return Camera(
            azimuth=self.azimuth + scale * rng.uniform(-3.0, 3.0),
            elevation=float(np.clip(self.elevation + scale * rng.uniform(-2.0, 2.0), 15, 60)),
            distance=float(np.clip(self.distance + scale * rng.uniform(-0.3, 0.3), 9.5, 13.0)),
            fov=self.fov,
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "azimuth": self.azimuth,
            "elevation": self.elevation,
            "distance": self.distance,
            "fov": self.fov,
            "location": [float(v) for v in self.location],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Camera:
        return cls(**{k: float(data[k]) for k in ("azimuth", "elevation", "distance", "fov")})


@dataclass(frozen=True)
class Scene:
    """Objects on the ground and the camera that sees them.

    ``next_id`` is the id the next added object receives; it only grows along a chain
    of changes, so an id is never reused for a different object within one lineage.
    """

    objects: tuple[Object, ...]
    camera: Camera = field(default_factory=Camera)
    next_id: int = -1

    def __post_init__(self) -> None:
        ids = [o.id for o in self.objects]
        if len(set(ids)) != len(ids):
            raise DataFormatError(f"scene has duplicate object ids: {sorted(ids)}")
        floor = max(ids, default=-1) + 1
        if self.next_id < floor:
            object.__setattr__(self, "next_id", floor)

    def object(self, object_id: int) -> Object:
        """The object with this id."""
        for obj in self.objects:
            if obj.id == object_id:
                return obj
        raise KeyError(object_id)

    def replace_object(self, new: Object) -> Scene:
        """A scene whose object with ``new.id`` is replaced by ``new``."""
        return replace(self, objects=tuple(new if o.id == new.id else o for o in self.objects))

    def add_object(self, obj: Object) -> Scene:
        """A scene with ``obj`` appended; ``obj.id`` must be ``self.next_id``."""
        if obj.id != self.next_id:
            raise ValueError(f"new object id must be {self.next_id}, got {obj.id}")
        return replace(self, objects=(*self.objects, obj), next_id=self.next_id + 1)

    def drop_object(self, object_id: int) -> Scene:
        """A scene without the object of this id (``next_id`` is kept)."""
        self.object(object_id)
        return replace(self, objects=tuple(o for o in self.objects if o.id != object_id))

    def with_camera(self, camera: Camera) -> Scene:
        return replace(self, camera=camera)

    def to_clevr_json(
        self, image_index: int, image_filename: str, width: int, height: int, split: str = "cci"
    ) -> dict[str, Any]:
        """The scene in CLEVR's JSON layout, plus ``id`` per object and ``camera``."""
        centres = np.array([o.coords_3d for o in self.objects], dtype=np.float64).reshape(-1, 3)
        pixels = self.camera.project(centres, width, height) if len(centres) else centres
        objects = []
        for obj, (col, row, depth) in zip(self.objects, pixels, strict=True):
            objects.append(
                {
                    "id": obj.id,
                    "shape": obj.shape,
                    "color": obj.color,
                    "material": obj.material,
                    "size": obj.size,
                    # Full precision: the JSON round-trips to the identical Scene.
                    "3d_coords": list(obj.coords_3d),
                    "rotation": obj.rotation,
                    # int(): round() of a numpy scalar is a float under numpy < 2.
                    "pixel_coords": [int(round(col)), int(round(row)), round(float(depth), 4)],  # noqa: RUF046
                }
            )
        directions = {
            k: [round(float(c), 6) for c in v] for k, v in self.camera.ground_directions().items()
        }
        return {
            "image_index": image_index,
            "image_filename": image_filename,
            "split": split,
            "objects": objects,
            "directions": directions,
            "camera": self.camera.to_json(),
            "next_id": self.next_id,
        }

    @classmethod
    def from_clevr_json(cls, data: dict[str, Any]) -> Scene:
        """Parse a scene written by :meth:`to_clevr_json`, or an original CLEVR scene.

        Original CLEVR objects have no ``id``: they get their list position. A missing
        ``camera`` gives CLEVR's default camera.
        """
        where = f"scene {data.get('image_index', '?')}"
        try:
            objects = tuple(
                Object(
                    id=int(o.get("id", i)),
                    shape=o["shape"],
                    color=o["color"],
                    material=o["material"],
                    size=o["size"],
                    x=float(o["3d_coords"][0]),
                    y=float(o["3d_coords"][1]),
                    rotation=float(o.get("rotation", 0.0)),
                )
                for i, o in enumerate(data["objects"])
            )
            camera = Camera.from_json(data["camera"]) if "camera" in data else Camera()
        except (KeyError, TypeError, IndexError, ValueError) as exc:
            raise DataFormatError(f"{where}: malformed CLEVR scene ({exc!r})") from None
        except DataFormatError as exc:
            raise DataFormatError(f"{where}: {exc}") from None
        return cls(objects=objects, camera=camera, next_id=int(data.get("next_id", -1)))


# ----------------------------------------------------------------------------- placement

MIN_GAP = 0.25  # CLEVR's min_dist: free space between two objects' footprints
DIRECTION_MARGIN = 0.4  # CLEVR's margin: keeps left/right/front/behind unambiguous


def is_free(scene: Scene, x: float, y: float, radius: float, ignore_id: int | None = None) -> bool:
    """Whether an object of ``radius`` at ``(x, y)`` keeps CLEVR's spacing rules.

    It must stand inside the world, leave ``MIN_GAP`` between footprints, and differ from
    every other object by at least ``DIRECTION_MARGIN`` along both ground directions, so
    that spatial relations ("left of") are never ambiguous.
    """
    limit = WORLD_HALF_WIDTH - radius * 0.5
    if abs(x) > limit or abs(y) > limit:
        return False
    dirs = scene.camera.ground_directions()
    for other in scene.objects:
        if other.id == ignore_id:
            continue
        dx, dy = x - other.x, y - other.y
        if math.hypot(dx, dy) - radius - other.radius < MIN_GAP:
            return False
        for name in ("right", "behind"):
            along = dx * dirs[name][0] + dy * dirs[name][1]
            if abs(along) < DIRECTION_MARGIN:
                return False
    return True


def free_position(
    rng: np.random.Generator,
    scene: Scene,
    radius: float,
    ignore_id: int | None = None,
    tries: int = 200,
) -> tuple[float, float] | None:
    """A random ``(x, y)`` where an object of ``radius`` fits, or None after ``tries``."""
    for _ in range(tries):
        x, y = rng.uniform(-WORLD_HALF_WIDTH, WORLD_HALF_WIDTH, size=2)
        if is_free(scene, float(x), float(y), radius, ignore_id):
            return float(x), float(y)
    return None


def random_object(rng: np.random.Generator, object_id: int) -> tuple[str, str, str, str, float]:
    """Random ``(shape, color, material, size, rotation)`` for a new object."""
    return (
        str(rng.choice(SHAPES)),
        str(rng.choice(list(COLORS))),
        str(rng.choice(MATERIALS)),
        str(rng.choice(list(SIZES))),
        float(rng.uniform(0.0, 360.0)),
    )


def random_scene(
    rng: np.random.Generator,
    min_objects: int = 3,
    max_objects: int = 6,
    camera: Camera | None = None,
    tries: int = 100,
) -> Scene:
    """A random scene with CLEVR's spacing rules (visibility is checked by the renderer).

    Raises
    ------
    RuntimeError
        If no layout is found in ``tries`` attempts (only with extreme object counts).
    """
    camera = camera or Camera()
    for _ in range(tries):
        n = int(rng.integers(min_objects, max_objects + 1))
        scene = Scene(objects=(), camera=camera)
        for object_id in range(n):
            shape, color, material, size, rotation = random_object(rng, object_id)
            spot = free_position(rng, scene, SIZES[size])
            if spot is None:
                break
            scene = scene.add_object(
                Object(object_id, shape, color, material, size, spot[0], spot[1], rotation)
            )
        else:
            return scene
    raise RuntimeError(f"could not place {min_objects}-{max_objects} objects in {tries} tries")
