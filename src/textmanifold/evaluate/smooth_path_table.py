"""Table 3: smooth shortest paths with image points only, plus random points, plus text.

Four vertex sets share the image vertices ``T(Psi)`` (aligned image embeddings):

- ``image``: the images alone;
- ``image_text``: the images plus the text points ``Phi``; a text vertex shows the scene
  it describes;
- ``image_random``: the images plus as many *random* points as there are text points,
  each standing for the same scene as the text point it replaces. A random point must
  lie within reach of the data, or it joins no edge and the control is won by default.
  Two samplers (:data:`SAMPLERS`):

  * ``"image-jitter"`` (default, :func:`random_near`): an image drawn uniformly, rotated
    in a uniformly random tangent direction through an angle drawn from the measured
    angles between each image and its own description (:func:`pair_angles`); the random
    points then lie as far from an image as the descriptions do, in distribution, so
    they can join edges at every threshold where descriptions do. (A single fixed
    angle, the median, isolated every random point at thresholds below it.)
  * ``"gaussian"`` (:func:`random_like`): a Gaussian with the text cloud's mean and
    covariance, put on the sphere. It spreads like the text but can lie beyond every
    threshold (the demo measured a median 0.70 rad from the nearest image).
- ``image_shuffled``: the images plus the real text points with their scenes permuted
  (:func:`shuffled_scenes`): the text's geometry without its meaning.

Each set gets a great-circle graph at every threshold and
:func:`textmanifold.manifold.paths.count_smooth_paths` counts its smooth paths between
image vertices under one rule (``literal`` by default). Values are ``log(1 + count)``:
the paper reports log counts, and ``1 +`` keeps a count of zero finite.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import scipy.sparse

from ..errors import InputError
from ..manifold.graph import great_circle_graph, mean_degree, threshold_for_degree
from ..manifold.paths import count_smooth_paths

KINDS = ("image", "image_random", "image_shuffled", "image_text")
SAMPLERS = ("image-jitter", "gaussian")
# Row key of the mean degree of each kind's added (non-image) vertices.
ADDED_DEGREE = {
    "image_random": "random_mean_degree",
    "image_shuffled": "shuffled_mean_degree",
    "image_text": "text_mean_degree",
}


def random_near(
    anchors: np.ndarray, n: int, angles: float | np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """``n`` unit rows, each a uniformly drawn anchor row rotated by a drawn angle.

    The direction is uniform on the tangent space at the anchor: a standard normal
    vector with its component along the anchor removed, normalised. The point is
    ``cos(angle) * a + sin(angle) * u``, so its great-circle distance to its anchor is
    exactly ``angle``.

    Parameters
    ----------
    anchors : array of shape (m, d)
        Unit rows (the aligned image embeddings).
    n : int
    angles : float or array of shape (k,)
        Radians, in [0, pi]. One angle for every point, or an empirical distribution:
        each point's angle is drawn uniformly (with replacement) from the ``k`` values.
    rng : numpy Generator

    Returns
    -------
    ndarray of shape (n, d), float32
    """
    anchors = np.asarray(anchors, dtype=np.float64)
    if anchors.ndim != 2 or len(anchors) < 1 or anchors.shape[1] < 2:
        raise InputError(
            f"random_near needs unit rows (m, d) with d >= 2, got shape {anchors.shape}"
        )
    angles = np.asarray(angles, dtype=np.float64)
    if angles.ndim > 1 or angles.size == 0 or not np.all((angles >= 0) & (angles <= np.pi)):
        raise InputError(
            "random_near: angles must be one value or a non-empty 1-D array, "
            "each in [0, pi] radians"
        )
    base = anchors[rng.integers(len(anchors), size=n)]
    if angles.ndim == 1:
        angles = angles[rng.integers(len(angles), size=n)][:, None]
    u = rng.standard_normal(base.shape)
    u -= np.sum(u * base, axis=1, keepdims=True) * base
    u /= np.linalg.norm(u, axis=1, keepdims=True)
    points = np.cos(angles) * base + np.sin(angles) * u
    return (points / np.linalg.norm(points, axis=1, keepdims=True)).astype(np.float32)


def pair_angles(image: np.ndarray, text: np.ndarray) -> np.ndarray:
    """Great-circle angles (radians) between paired unit rows ``image[i]``, ``text[i]``.

    Returns
    -------
    ndarray of shape (n,), float64
    """
    cos = np.clip(
        np.sum(np.asarray(image, np.float64) * np.asarray(text, np.float64), axis=1), -1.0, 1.0
    )
    if cos.size == 0:
        raise InputError("pair_angles: no (image, description) pair")
    return np.arccos(cos)


def shuffled_scenes(scenes: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """The text points' scenes, permuted uniformly (the shuffled-text control)."""
    return rng.permutation(np.asarray(scenes))


def random_like(X: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` unit rows drawn from a Gaussian with the mean and covariance of ``X``'s rows.

    Sampling as ``mean + z @ (X - mean) / sqrt(m - 1)`` with ``z`` standard normal gives
    exactly the sample covariance without forming the (d, d) matrix.

    Returns
    -------
    ndarray of shape (n, d), float32
    """
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2 or len(X) < 2:
        raise InputError(f"random_like needs at least two rows (n, d), got shape {X.shape}")
    mean = X.mean(axis=0)
    z = rng.standard_normal((n, len(X)))
    points = mean + z @ (X - mean) / np.sqrt(len(X) - 1)
    return (points / np.linalg.norm(points, axis=1, keepdims=True)).astype(np.float32)


def thresholds_for_degrees(X: np.ndarray, degrees: Sequence[float]) -> list[float]:
    """The thresholds at which the graph of ``X`` has each mean degree (ascending)."""
    return sorted(float(threshold_for_degree(X, d)) for d in degrees)


def vertex_sets(
    image: np.ndarray,
    text: np.ndarray,
    image_scene: np.ndarray,
    text_scene: np.ndarray,
    random_points: np.ndarray,
    shuffled_scene: np.ndarray | None = None,
) -> dict[str, tuple]:
    """``kind -> (vertices, vertex_scene, is_image)`` for the kinds of :data:`KINDS`.

    ``shuffled_scene`` (the text points' scenes, permuted; :func:`shuffled_scenes`) adds
    the ``image_shuffled`` kind; without it that kind is left out.
    """
    if len(random_points) != len(text):
        raise InputError(f"{len(random_points)} random points for {len(text)} text points")
    n_img, n_txt = len(image), len(text)
    image_only = (image, np.asarray(image_scene), np.ones(n_img, dtype=bool))
    is_image = np.concatenate([np.ones(n_img, dtype=bool), np.zeros(n_txt, dtype=bool)])
    scenes = np.concatenate([image_scene, text_scene])
    sets = {
        "image": image_only,
        "image_random": (np.concatenate([image, random_points]), scenes, is_image),
        "image_text": (np.concatenate([image, text]), scenes, is_image),
    }
    if shuffled_scene is not None:
        if len(shuffled_scene) != len(text):
            raise InputError(f"{len(shuffled_scene)} shuffled scenes for {len(text)} text points")
        sets["image_shuffled"] = (
            np.concatenate([image, text]),
            np.concatenate([image_scene, shuffled_scene]),
            is_image,
        )
    return {kind: sets[kind] for kind in KINDS if kind in sets}


def build_graphs(
    sets: dict[str, tuple], thresholds: Sequence[float], *, progress: bool = False
) -> dict[tuple[str, int], scipy.sparse.csr_matrix]:
    """``(kind, threshold index) -> great-circle graph`` of every vertex set."""
    from tqdm import tqdm

    graphs = {}
    with tqdm(
        total=len(thresholds) * len(sets),
        desc="graphs",
        unit="graph",
        disable=not progress,
        leave=False,
    ) as bar:
        for i, threshold in enumerate(thresholds):
            for kind in sets:
                if kind == "image_shuffled" and ("image_text", i) in graphs:
                    graphs[(kind, i)] = graphs[("image_text", i)]  # same points
                else:
                    graphs[(kind, i)] = great_circle_graph(sets[kind][0], threshold=threshold)
                bar.update(1)
    return graphs


def added_mean_degree(graph: scipy.sparse.spmatrix, is_image: np.ndarray) -> float:
    """Mean number of edges at the added (non-image) vertices; 0 when there are none."""
    added = ~np.asarray(is_image, dtype=bool)
    if not added.any():
        return 0.0
    degree = np.diff(scipy.sparse.csr_matrix(graph).indptr)
    return float(degree[added].mean())


def smooth_path_rows(
    graphs: dict[tuple[str, int], scipy.sparse.spmatrix],
    sets: dict[str, tuple],
    reachable: scipy.sparse.spmatrix,
    thresholds: Sequence[float],
    *,
    rule: str = "literal",
    progress: bool = False,
) -> list[dict]:
    """One row per threshold: log(1 + smooth paths), counts and mean degrees per kind.

    Parameters
    ----------
    graphs : dict
        :func:`build_graphs`'s output.
    sets : dict
        :func:`vertex_sets`'s output (gives each vertex's scene and kind).
    reachable : sparse bool matrix of shape (n_scenes, n_scenes)
    thresholds : sequence of float, radians
    rule : {"literal", "merged"}
        The smooth-path rule (:func:`textmanifold.manifold.paths.count_smooth_paths`).

    Returns
    -------
    list of dict
        ``threshold``, ``rule``, one log value per kind, ``<kind>_count`` and
        ``<kind>_degree`` (the whole graph's mean degree) for each kind, and the mean
        degree of the added vertices: ``random_mean_degree``, ``text_mean_degree`` (and
        ``shuffled_mean_degree``).
    """
    from tqdm import tqdm

    rows = []
    with tqdm(
        total=len(thresholds) * len(sets),
        desc="smooth paths",
        unit="graph",
        disable=not progress,
        leave=False,
    ) as bar:
        for i, threshold in enumerate(thresholds):
            row: dict = {"threshold": float(threshold), "rule": rule}
            for kind in sets:
                _, scene, is_image = sets[kind]
                graph = graphs[(kind, i)]
                count = count_smooth_paths(graph, scene, is_image, reachable, rule=rule).total
                row[kind] = float(np.log1p(count))
                row[f"{kind}_count"] = int(count)
                row[f"{kind}_degree"] = mean_degree(graph)
                if kind in ADDED_DEGREE:
                    row[ADDED_DEGREE[kind]] = added_mean_degree(graph, is_image)
                bar.update(1)
            rows.append(row)
    return rows
