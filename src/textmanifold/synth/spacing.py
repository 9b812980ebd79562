"""CLEVR's spacing rules, vectorised over many candidate positions at once.

:func:`textmanifold.synth.scene.is_free` checks one position and recomputes the camera's
ground directions on every call; drawing positions and re-checking whole layouts for
eleven thousand scenes calls it a few hundred thousand times. These functions apply the
same three rules (inside the world, ``MIN_GAP`` between footprints, ``DIRECTION_MARGIN``
along both ground directions) to arrays; a test checks they agree with ``is_free``.
"""

from __future__ import annotations

import numpy as np

from .scene import DIRECTION_MARGIN, MIN_GAP, WORLD_HALF_WIDTH, Scene


def free_mask(
    scene: Scene, xs, ys, radii, directions: dict[str, np.ndarray], ignore_id: int | None = None
) -> np.ndarray:
    """Which candidate positions keep the spacing rules against ``scene``'s objects.

    Parameters
    ----------
    scene : Scene
    xs, ys : array of shape (m,)
        Candidate ground positions (world units).
    radii : float or array of shape (m,)
        The candidate objects' radii.
    directions : dict
        The camera's ground directions (``Camera.ground_directions()``).
    ignore_id : int, optional
        An object of the scene to leave out (the one being moved).

    Returns
    -------
    ndarray of bool, shape (m,)
    """
    xs, ys = np.asarray(xs, dtype=float), np.asarray(ys, dtype=float)
    radii = np.broadcast_to(np.asarray(radii, dtype=float), xs.shape)
    limit = WORLD_HALF_WIDTH - radii * 0.5
    ok = (np.abs(xs) <= limit) & (np.abs(ys) <= limit)
    others = [o for o in scene.objects if o.id != ignore_id]
    if not others:
        return ok
    ox = np.array([o.x for o in others])
    oy = np.array([o.y for o in others])
    orad = np.array([o.radius for o in others])
    dx, dy = xs[:, None] - ox[None, :], ys[:, None] - oy[None, :]
    ok &= np.all(np.hypot(dx, dy) - radii[:, None] - orad[None, :] >= MIN_GAP, axis=1)
    for name in ("right", "behind"):
        along = dx * directions[name][0] + dy * directions[name][1]
        ok &= np.all(np.abs(along) >= DIRECTION_MARGIN, axis=1)
    return ok


def layout_ok(scene: Scene, directions: dict[str, np.ndarray] | None = None) -> bool:
    """Whether every object of ``scene`` keeps the spacing rules under its camera."""
    if not scene.objects:
        return True
    directions = directions if directions is not None else scene.camera.ground_directions()
    xs = np.array([o.x for o in scene.objects])
    ys = np.array([o.y for o in scene.objects])
    radii = np.array([o.radius for o in scene.objects])
    limit = WORLD_HALF_WIDTH - radii * 0.5
    if np.any(np.abs(xs) > limit) or np.any(np.abs(ys) > limit):
        return False
    pairs = ~np.eye(len(xs), dtype=bool)
    dx, dy = xs[:, None] - xs[None, :], ys[:, None] - ys[None, :]
    gaps = np.hypot(dx, dy) - radii[:, None] - radii[None, :]
    if np.any(gaps[pairs] < MIN_GAP):
        return False
    for name in ("right", "behind"):
        along = dx * directions[name][0] + dy * directions[name][1]
        if np.any(np.abs(along[pairs]) < DIRECTION_MARGIN):
            return False
    return True
