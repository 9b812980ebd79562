"""Table 3: smooth shortest paths with image points only, plus random points, plus text.

Three vertex sets share the image vertices ``T(Psi)`` (aligned image embeddings):

- ``image``: the images alone;
- ``image_text``: the images plus the text points ``Phi``; a text vertex shows the scene
  it describes;
- ``image_random``: the images plus as many *random* points as there are text points,
  each standing for the same scene as the text point it replaces. The random points are
  drawn from a Gaussian with the text cloud's mean and covariance, then put on the
  sphere (:func:`random_like`): they spread like the text but carry no meaning. (Points
  uniform on a high-dimensional sphere would sit about pi/2 from everything, join no
  edge, and make the control trivially equal to ``image``.)

Each set gets a great-circle graph at every threshold and
:func:`textmanifold.manifold.paths.count_smooth_paths` counts its smooth paths between
image vertices. Values are ``log(1 + count)``: the paper reports log counts, and ``1 +``
keeps a count of zero finite.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import scipy.sparse

from ..errors import InputError
from ..manifold.graph import great_circle_graph, mean_degree, threshold_for_degree
from ..manifold.paths import count_smooth_paths

KINDS = ("image", "image_random", "image_text")


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


def vertex_sets(image: np.ndarray, text: np.ndarray, image_scene: np.ndarray,
                text_scene: np.ndarray, random_points: np.ndarray) -> dict[str, tuple]:
    """``kind -> (vertices, vertex_scene, is_image)`` for the three kinds of :data:`KINDS`."""
    if len(random_points) != len(text):
        raise InputError(f"{len(random_points)} random points for {len(text)} text points")
    n_img, n_txt = len(image), len(text)
    image_only = (image, np.asarray(image_scene), np.ones(n_img, dtype=bool))
    is_image = np.concatenate([np.ones(n_img, dtype=bool), np.zeros(n_txt, dtype=bool)])
    scenes = np.concatenate([image_scene, text_scene])
    return {
        "image": image_only,
        "image_random": (np.concatenate([image, random_points]), scenes, is_image),
        "image_text": (np.concatenate([image, text]), scenes, is_image),
    }


def build_graphs(sets: dict[str, tuple], thresholds: Sequence[float], *,
                 progress: bool = False) -> dict[tuple[str, int], scipy.sparse.csr_matrix]:
    """``(kind, threshold index) -> great-circle graph`` of every vertex set."""
    from tqdm import tqdm

    graphs = {}
    with tqdm(total=len(thresholds) * len(KINDS), desc="graphs", unit="graph",
              disable=not progress, leave=False) as bar:
        for i, threshold in enumerate(thresholds):
            for kind in KINDS:
                graphs[(kind, i)] = great_circle_graph(sets[kind][0], threshold=threshold)
                bar.update(1)
    return graphs


def smooth_path_rows(graphs: dict[tuple[str, int], scipy.sparse.spmatrix],
                     sets: dict[str, tuple], reachable: scipy.sparse.spmatrix,
                     thresholds: Sequence[float], *, progress: bool = False) -> list[dict]:
    """One row per threshold: log(1 + smooth paths), counts and mean degrees per kind.

    Parameters
    ----------
    graphs : dict
        :func:`build_graphs`'s output.
    sets : dict
        :func:`vertex_sets`'s output (gives each vertex's scene and kind).
    reachable : sparse bool matrix of shape (n_scenes, n_scenes)
    thresholds : sequence of float, radians

    Returns
    -------
    list of dict
        ``threshold``, ``image``, ``image_random``, ``image_text`` (log values), and
        ``<kind>_count``, ``<kind>_degree`` for each kind.
    """
    from tqdm import tqdm

    rows = []
    with tqdm(total=len(thresholds) * len(KINDS), desc="smooth paths", unit="graph",
              disable=not progress, leave=False) as bar:
        for i, threshold in enumerate(thresholds):
            row: dict = {"threshold": float(threshold)}
            for kind in KINDS:
                _, scene, is_image = sets[kind]
                graph = graphs[(kind, i)]
                count = count_smooth_paths(graph, scene, is_image, reachable).total
                row[kind] = float(np.log1p(count))
                row[f"{kind}_count"] = int(count)
                row[f"{kind}_degree"] = mean_degree(graph)
                bar.update(1)
            rows.append(row)
    return rows
